/* The floor of a TLS PostgreSQL login's client CPU with the system OpenSSL: N times, a TCP
   connect, SSLRequest, and an OpenSSL handshake from one shared context set up as the engine's
   (no verification, P-256 key share first, read-ahead), then close. Prints the process CPU per iteration. Usage: pg_tls_loop PORT N (127.0.0.1). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT N\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), count = atoi(argv[2]);
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set1_groups_list(context, "P-256:X25519:X448:P-521:P-384:ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192");
    SSL_CTX_set_read_ahead(context, 1);
    /* SSLRequest: its length (8) and the request code 1234 << 16 | 5679, both big-endian. */
    const uint32_t ssl_request[2] = {htonl(8), htonl(1234u << 16 | 5679u)};
    double started = cpu_seconds();
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        char answer = 0;
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 || write(fd, ssl_request, sizeof ssl_request) != 8 || read(fd, &answer, 1) != 1 ||
            answer != 'S') {
            fprintf(stderr, "no TLS at port %d\n", port);
            return 1;
        }
        SSL *session = SSL_new(context);
        SSL_set_fd(session, fd);
        if (SSL_connect(session) != 1) ERR_print_errors_fp(stderr);
        SSL_free(session);
        close(fd);
    }
    printf("%.3f ms of client CPU per SSLRequest and TLS handshake (%d)\n", (cpu_seconds() - started) * 1000 / count, count);
    return 0;
}
