#ifndef CTLS_H
#define CTLS_H

#include <stddef.h>

/* A TLS client over a non-blocking socket with the system OpenSSL, for drivers that speak a
   protocol themselves. A context holds one trust configuration and is shared by every session
   that has it; a session is one connection's TLS state. */

/* Results of ctls_handshake, ctls_read and ctls_write besides a byte count. */
enum {
    CTLS_WANT_READ = -1,
    CTLS_WANT_WRITE = -2,
    CTLS_FAILED = -3,
    CTLS_CLOSED = -4
};

/* A client context: TLS 1.2 or newer, no compression, no session tickets. With verify_peer,
   the chain must verify to `ca_pem` (PEM text, may be NULL) or to the CA bundle file
   `system_bundle` (may be NULL). NULL on failure, with a reason in `error`. */
void *ctls_context_new(const char *ca_pem, size_t ca_length, const char *system_bundle, int verify_peer, char *error, size_t error_length);
void ctls_context_free(void *context);

/* A session on connected socket `fd`; `server_name` (may be NULL) is sent as SNI. The session
   is an `SSL *` (CCertificate reads its peer certificate's expiry). */
void *ctls_session_new(void *context, int fd, const char *server_name);
void ctls_session_free(void *session);

/* 0 when the handshake is done, else CTLS_WANT_READ, CTLS_WANT_WRITE or CTLS_FAILED. */
int ctls_handshake(void *session);
/* 1 when the session holds bytes read from the socket that ctls_read has not returned yet. */
int ctls_has_pending(void *session);
/* X509_V_OK (0) or the chain verification error of the handshake. */
long ctls_verify_result(void *session);

/* Bytes read (> 0) or written, or CTLS_WANT_READ, CTLS_WANT_WRITE, CTLS_CLOSED, CTLS_FAILED. */
long ctls_read(void *session, void *buffer, size_t length);
long ctls_write(void *session, const void *buffer, size_t length);

/* The tls-server-end-point hash of the server certificate (RFC 5929): SHA-256 for MD5 and SHA-1
   signatures, else the signature's own hash. Its length, or -1. `out` holds at least 64 bytes. */
int ctls_end_point_hash(void *session, unsigned char *out);

/* The type given to the Common Name by ctls_peer_names (GEN_DNS is 2, GEN_IPADD 7). */
enum { CTLS_COMMON_NAME = 100 };

/* The server certificate's names, in order: its subjectAltName entries of type DNS (2) and IP
   address (7), then its first subject Common Name (CTLS_COMMON_NAME). Entry i has type
   types[i] and the next lengths[i] bytes of `out` (a name keeps a NUL byte it holds). At most
   max_names entries and `capacity` bytes. The number of entries, or -1 without a certificate. */
int ctls_peer_names(void *session, int *types, int *lengths, unsigned char *out, size_t capacity, int max_names);

/* PBKDF2-HMAC-SHA-256 with OpenSSL's one-shot: 1 on success. */
int ctls_pbkdf2_sha256(const void *password, size_t password_length, const void *salt, size_t salt_length, int iterations,
                       unsigned char *out, size_t out_length);

/* SHA-256 and HMAC-SHA-256 (RFC 2104) of short inputs, 32 bytes into `out`: SCRAM's per-login
   hashing, without the generic layers a Swift crypto library puts around each call. */
void ctls_sha256(const void *data, size_t length, unsigned char *out);
void ctls_hmac_sha256(const void *key, size_t key_length, const void *message, size_t message_length, unsigned char *out);

/* `length` bytes from OpenSSL's seeded generator (no system call per draw): 1 on success. */
int ctls_random_bytes(unsigned char *out, size_t length);

#endif
