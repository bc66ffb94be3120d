// Asynchronous name lookups over glibc's getaddrinfo_a. A lookup abandoned while glibc still
// works on it is kept on a list and freed once glibc is done with it.
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "resolver.h"

struct resolver_lookup {
    struct gaicb request;
    struct addrinfo hints;
    char *host;
    struct resolver_lookup *next_abandoned;
};

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct resolver_lookup *abandoned;

static void lookup_free(struct resolver_lookup *lookup) {
    if (lookup->request.ar_result != NULL) freeaddrinfo(lookup->request.ar_result);
    free(lookup->host);
    free(lookup);
}

/// Frees the abandoned lookups glibc has finished.
static void reap_abandoned(void) {
    pthread_mutex_lock(&abandoned_lock);
    struct resolver_lookup **link = &abandoned;
    while (*link != NULL) {
        struct resolver_lookup *lookup = *link;
        if (gai_error(&lookup->request) != EAI_INPROGRESS) {
            *link = lookup->next_abandoned;
            lookup_free(lookup);
        } else {
            link = &lookup->next_abandoned;
        }
    }
    pthread_mutex_unlock(&abandoned_lock);
}

resolver_lookup *resolver_lookup_start(const char *host) {
    reap_abandoned();
    struct resolver_lookup *lookup = calloc(1, sizeof *lookup);
    if (lookup == NULL) return NULL;
    lookup->host = strdup(host);
    if (lookup->host == NULL) {
        free(lookup);
        return NULL;
    }
    lookup->hints.ai_family = AF_UNSPEC;
    lookup->hints.ai_socktype = SOCK_STREAM;
    lookup->request.ar_name = lookup->host;
    lookup->request.ar_request = &lookup->hints;
    struct gaicb *list[1] = {&lookup->request};
    struct sigevent none;
    memset(&none, 0, sizeof none);
    none.sigev_notify = SIGEV_NONE;
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, &none) != 0) {
        lookup_free(lookup);
        return NULL;
    }
    return lookup;
}

int resolver_lookup_wait(resolver_lookup *lookup, int timeout_ms) {
    struct timespec now, until;
    clock_gettime(CLOCK_MONOTONIC, &now);
    until.tv_sec = now.tv_sec + timeout_ms / 1000;
    until.tv_nsec = now.tv_nsec + (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    const struct gaicb *list[1] = {&lookup->request};
    while (gai_error(&lookup->request) == EAI_INPROGRESS) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ns = (until.tv_sec - now.tv_sec) * 1000000000L + (until.tv_nsec - now.tv_nsec);
        if (left_ns <= 0) return 0;
        struct timespec left = {left_ns / 1000000000L, left_ns % 1000000000L};
        int status = gai_suspend(list, 1, &left);
        if (status == EAI_AGAIN) return gai_error(&lookup->request) != EAI_INPROGRESS;
    }
    return 1;
}

int resolver_lookup_status(const resolver_lookup *lookup) {
    return gai_error((struct gaicb *)&lookup->request);
}

const struct addrinfo *resolver_lookup_addresses(const resolver_lookup *lookup) {
    return lookup->request.ar_result;
}

void resolver_lookup_release(resolver_lookup *lookup) {
    if (lookup == NULL) return;
    if (gai_error(&lookup->request) == EAI_INPROGRESS && gai_cancel(&lookup->request) == EAI_NOTCANCELED) {
        pthread_mutex_lock(&abandoned_lock);
        lookup->next_abandoned = abandoned;
        abandoned = lookup;
        pthread_mutex_unlock(&abandoned_lock);
        return;
    }
    lookup_free(lookup);
}
