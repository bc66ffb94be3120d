#ifndef CONNECTOR_ENGINE_RESOLVER_H
#define CONNECTOR_ENGINE_RESOLVER_H

/// Until resolver_pin_clear() on the calling thread, getaddrinfo() of `host` (compared without
/// case) answers with the numeric address `numeric` instead of asking DNS. For drivers that
/// resolve a name themselves but must connect to an address the engine approved.
/// The strings must outlive the pin.
void resolver_pin_set(const char *host, const char *numeric);

/// Ends the calling thread's pin.
void resolver_pin_clear(void);

#include <netdb.h>

/// A name lookup running on the C library's own threads (getaddrinfo_a), so that a slow
/// resolver never holds a thread of ours past the caller's deadline.
typedef struct resolver_lookup resolver_lookup;

/// Starts looking up the TCP addresses of `host`; NULL when it cannot start.
resolver_lookup *resolver_lookup_start(const char *host);

/// Waits at most `timeout_ms` for the lookup; 1 once it has ended, 0 while it still runs.
int resolver_lookup_wait(resolver_lookup *lookup, int timeout_ms);

/// The ended lookup's getaddrinfo status (0 or an EAI_ code) and, for 0, its address list
/// (owned by the lookup).
int resolver_lookup_status(const resolver_lookup *lookup);
const struct addrinfo *resolver_lookup_addresses(const resolver_lookup *lookup);

/// Releases the lookup: at once when it has ended or can be cancelled, otherwise as soon as the
/// C library finishes it (checked whenever a lookup starts).
void resolver_lookup_release(resolver_lookup *lookup);

#endif
