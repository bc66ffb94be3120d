/* The floor of a TLS PostgreSQL probe's client CPU with the system OpenSSL, from one shared
   context set up as the engine's (no verification, P-256 key share first, read-ahead).

     pg_tls_loop PORT N                          N times: TCP connect to 127.0.0.1, SSLRequest,
                                                 the TLS handshake, close.
     pg_tls_loop PORT N DATABASE USER PASSWORD   N times the whole repeated check the engine
                                                 makes: the above, then StartupMessage,
                                                 SCRAM-SHA-256-PLUS (tls-server-end-point) with
                                                 the salted password derived once and kept,
                                                 the last SCRAM message with SELECT 1 and
                                                 Terminate behind it, read to the end, close.

   Blocking I/O, no error classification, no timers: about the least a client can do. SCRAM's
   hashing is the engine's own (Drivers/CTLS), so the two differ only in what surrounds it:
     cc -O2 -I Drivers/CTLS/include scripts/pg_tls_loop.c Drivers/CTLS/ctls.c -lssl -lcrypto
   Prints the process CPU per iteration. */
#include "ctls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "pg_tls_loop: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* One backend message at a time from the TLS session: its type, and its body in `body`. */
struct reader {
    SSL *session;
    unsigned char buffer[16384];
    size_t start, end;
};

static int fill(struct reader *r) {
    if (r->start > 0) {
        memmove(r->buffer, r->buffer + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    int got = SSL_read(r->session, r->buffer + r->end, (int)(sizeof r->buffer - r->end));
    if (got <= 0) return 0;
    r->end += (size_t)got;
    return 1;
}

static char next_message(struct reader *r, unsigned char **body, uint32_t *length) {
    while (r->end - r->start < 5)
        if (!fill(r)) return 0;
    uint32_t size;
    memcpy(&size, r->buffer + r->start + 1, 4);
    size = ntohl(size);
    if (size < 4 || size > sizeof r->buffer - 1) fail("message too long");
    while (r->end - r->start < size + 1)
        if (!fill(r)) return 0;
    char type = (char)r->buffer[r->start];
    *body = r->buffer + r->start + 5;
    *length = size - 4;
    r->start += size + 1;
    return type;
}

static size_t put32(unsigned char *at, uint32_t value) {
    value = htonl(value);
    memcpy(at, &value, 4);
    return 4;
}

static size_t put_text(unsigned char *at, const char *text) {
    size_t length = strlen(text) + 1;
    memcpy(at, text, length);
    return length;
}

static int base64(const unsigned char *data, size_t length, char *out) { return EVP_EncodeBlock((unsigned char *)out, data, (int)length); }

/* The value of attribute `name` (e.g. "s=") in a SCRAM message, up to the next comma. */
static const char *attribute(const char *message, const char *name, size_t *length) {
    for (const char *at = message; at != NULL; at = strchr(at, ',')) {
        if (*at == ',') at++;
        if (strncmp(at, name, 2) == 0) {
            const char *end = strchr(at, ',');
            *length = end != NULL ? (size_t)(end - at - 2) : strlen(at + 2);
            return at + 2;
        }
    }
    fail("SCRAM attribute missing");
    return NULL;
}

/* The salted password, derived the first time and kept, as the engine's key cache does. */
static unsigned char salted[32];
static int have_salted = 0;

static void login(SSL *session, const char *database, const char *user, const char *password) {
    struct reader r = {.session = session};
    unsigned char out[2048], *body;
    uint32_t length;
    size_t at = 0;

    /* StartupMessage. */
    at += 4;
    at += put32(out + at, 196608);
    at += put_text(out + at, "user");
    at += put_text(out + at, user);
    at += put_text(out + at, "database");
    at += put_text(out + at, database);
    at += put_text(out + at, "application_name");
    at += put_text(out + at, "floor");
    out[at++] = 0;
    put32(out, (uint32_t)at);
    if (SSL_write(session, out, (int)at) <= 0) fail("write");
    if (next_message(&r, &body, &length) != 'R' || length < 4 || body[3] != 10) fail("no SASL request");

    /* client-first-message, with channel binding. */
    unsigned char nonce_bytes[18];
    char nonce[32], first_bare[64], first[96];
    if (!ctls_random_bytes(nonce_bytes, sizeof nonce_bytes)) fail("no random bytes");
    base64(nonce_bytes, sizeof nonce_bytes, nonce);
    snprintf(first_bare, sizeof first_bare, "n=,r=%s", nonce);
    snprintf(first, sizeof first, "p=tls-server-end-point,,%s", first_bare);
    at = 0;
    out[at++] = 'p';
    at += 4;
    at += put_text(out + at, "SCRAM-SHA-256-PLUS");
    at += put32(out + at, (uint32_t)strlen(first));
    memcpy(out + at, first, strlen(first));
    at += strlen(first);
    put32(out + 1, (uint32_t)at - 1);
    if (SSL_write(session, out, (int)at) <= 0) fail("write");

    /* server-first-message. */
    if (next_message(&r, &body, &length) != 'R' || length < 4 || body[3] != 11) fail("no SASLContinue");
    char server_first[512];
    if (length - 4 >= sizeof server_first) fail("server-first too long");
    memcpy(server_first, body + 4, length - 4);
    server_first[length - 4] = 0;
    size_t nonce_length, salt_length, count_length;
    const char *server_nonce = attribute(server_first, "r=", &nonce_length);
    const char *salt_text = attribute(server_first, "s=", &salt_length);
    const char *count_text = attribute(server_first, "i=", &count_length);
    if (!have_salted) {
        unsigned char salt[128];
        int salt_bytes = EVP_DecodeBlock(salt, (const unsigned char *)salt_text, (int)salt_length);
        if (salt_bytes < 0) fail("bad salt");
        while (salt_length > 0 && salt_text[salt_length - 1] == '=') salt_length--, salt_bytes--;
        if (!ctls_pbkdf2_sha256(password, strlen(password), salt, (size_t)salt_bytes, atoi(count_text), salted, sizeof salted)) fail("PBKDF2");
        have_salted = 1;
    }

    /* client-final-message: the binding is the SHA-256 of the server's certificate. */
    unsigned char binding[64], hash[EVP_MAX_MD_SIZE];
    unsigned int hash_length = 0;
    const char *header = "p=tls-server-end-point,,";
    size_t header_length = strlen(header);
    memcpy(binding, header, header_length);
    if (X509_digest(SSL_get0_peer_certificate(session), EVP_sha256(), hash, &hash_length) != 1) fail("no certificate");
    memcpy(binding + header_length, hash, hash_length);
    char binding_text[128], without_proof[256], auth_message[1024];
    base64(binding, header_length + hash_length, binding_text);
    snprintf(without_proof, sizeof without_proof, "c=%s,r=%.*s", binding_text, (int)nonce_length, server_nonce);
    snprintf(auth_message, sizeof auth_message, "%s,%s,%s", first_bare, server_first, without_proof);
    unsigned char client_key[32], stored_key[32], signature[32], proof[32];
    ctls_hmac_sha256(salted, sizeof salted, "Client Key", 10, client_key);
    ctls_sha256(client_key, sizeof client_key, stored_key);
    ctls_hmac_sha256(stored_key, sizeof stored_key, auth_message, strlen(auth_message), signature);
    for (int i = 0; i < 32; i++) proof[i] = client_key[i] ^ signature[i];
    char proof_text[64], final[512];
    base64(proof, sizeof proof, proof_text);
    snprintf(final, sizeof final, "%s,p=%s", without_proof, proof_text);

    /* SASLResponse, SELECT 1 and Terminate in one write. */
    at = 0;
    out[at++] = 'p';
    at += put32(out + at, (uint32_t)(4 + strlen(final)));
    memcpy(out + at, final, strlen(final));
    at += strlen(final);
    out[at++] = 'Q';
    at += put32(out + at, 4 + 9);
    at += put_text(out + at, "SELECT 1");
    out[at++] = 'X';
    at += put32(out + at, 4);
    if (SSL_write(session, out, (int)at) <= 0) fail("write");

    /* server-final-message: its signature checked, then read to the query's ReadyForQuery. */
    if (next_message(&r, &body, &length) != 'R' || length < 4 || body[3] != 12) fail("no SASLFinal");
    unsigned char server_key[32], expected[32];
    char expected_text[64];
    ctls_hmac_sha256(salted, sizeof salted, "Server Key", 10, server_key);
    ctls_hmac_sha256(server_key, sizeof server_key, auth_message, strlen(auth_message), expected);
    base64(expected, sizeof expected, expected_text);
    if (length - 4 < 2 + strlen(expected_text) || memcmp(body + 4 + 2, expected_text, strlen(expected_text)) != 0) fail("server signature");
    int ready = 0;
    char type;
    while (ready < 2 && (type = next_message(&r, &body, &length)) != 0) {
        if (type == 'E') fail("error response");
        if (type == 'Z') ready++;
    }
    if (ready < 2) fail("closed early");
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 6) {
        fprintf(stderr, "usage: %s PORT N [DATABASE USER PASSWORD]\n", argv[0]);
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
        int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
        /* As libpq and the engine: no Nagle delay for the second of two small writes. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        char answer = 0;
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 || write(fd, ssl_request, sizeof ssl_request) != 8 || read(fd, &answer, 1) != 1 ||
            answer != 'S') {
            fprintf(stderr, "no TLS at port %d\n", port);
            return 1;
        }
        SSL *session = SSL_new(context);
        SSL_set_fd(session, fd);
        if (SSL_connect(session) != 1) fail("handshake");
        if (argc == 6) login(session, argv[3], argv[4], argv[5]);
        SSL_free(session);
        close(fd);
    }
    printf("%.3f ms of client CPU per %s (%d)\n", (cpu_seconds() - started) * 1000 / count,
           argc == 6 ? "repeated TLS + SCRAM login, SELECT 1" : "SSLRequest and TLS handshake", count);
    return 0;
}
