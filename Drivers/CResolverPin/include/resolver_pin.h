#ifndef CONNECTOR_ENGINE_RESOLVER_PIN_H
#define CONNECTOR_ENGINE_RESOLVER_PIN_H

/// Until resolver_pin_clear() on the calling thread, getaddrinfo() of `host` (compared without
/// case) answers with the numeric address `numeric` instead of asking DNS. For drivers that
/// resolve a name themselves but must connect to an address the engine approved.
/// The strings must outlive the pin.
void resolver_pin_set(const char *host, const char *numeric);

/// Ends the calling thread's pin.
void resolver_pin_clear(void);

#endif
