/* The baseline for `make bench`: a plain sequential libpq loop (connect, SELECT 1, finish), half
 * of the probes with a wrong password, reporting the client CPU per probe. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CONNINFO PASSWORD N\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[3]), ok = 0, failed = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    double cpu_start = cpu_seconds();
    for (int i = 0; i < n; i++) {
        char conninfo[1024];
        snprintf(conninfo, sizeof conninfo, "%s password=%s", argv[1], (i % 2) ? "wrong-password" : argv[2]);
        PGconn *conn = PQconnectdb(conninfo);
        if (PQstatus(conn) == CONNECTION_OK) {
            PGresult *result = PQexec(conn, "SELECT 1");
            if (PQresultStatus(result) == PGRES_TUPLES_OK) ok++;
            PQclear(result);
        } else {
            failed++;
        }
        PQfinish(conn);
    }
    double cpu = cpu_seconds() - cpu_start;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double wall = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%d probes sequential: %.2f s wall, %.1f probes/s, client CPU %.2f s (%.3f ms/probe); ok=%d failed=%d\n", n, wall,
           n / wall, cpu, cpu * 1000 / n, ok, failed);
    return 0;
}
