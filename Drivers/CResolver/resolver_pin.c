// getaddrinfo() with a per-thread pin, defined in the executable so that shared libraries
// (MariaDB Connector/C) that call getaddrinfo() reach it first; every call without a pin, or for
// another name, goes on to the C library's getaddrinfo() unchanged.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stddef.h>
#include <strings.h>

#include "resolver.h"

typedef int (*getaddrinfo_function)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static __thread const char *pinned_host;
static __thread const char *pinned_numeric;

void resolver_pin_set(const char *host, const char *numeric) {
    pinned_host = host;
    pinned_numeric = numeric;
}

void resolver_pin_clear(void) {
    pinned_host = NULL;
    pinned_numeric = NULL;
}

static getaddrinfo_function next_getaddrinfo(void) {
    static getaddrinfo_function next;
    getaddrinfo_function found = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (found == NULL) {
        found = (getaddrinfo_function)dlsym(RTLD_NEXT, "getaddrinfo");
        __atomic_store_n(&next, found, __ATOMIC_RELEASE);
    }
    return found;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **result) {
    getaddrinfo_function next = next_getaddrinfo();
    if (next == NULL) return EAI_SYSTEM;
    if (pinned_host != NULL && node != NULL && strcasecmp(node, pinned_host) == 0) {
        struct addrinfo numeric_hints = {0};
        if (hints != NULL) numeric_hints = *hints;
        numeric_hints.ai_flags |= AI_NUMERICHOST;
        return next(pinned_numeric, service, &numeric_hints, result);
    }
    return next(node, service, hints, result);
}
