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
   the chain must verify to `ca_pem` (PEM text, may be NULL) and, with use_system_roots, the
   system's CA directory. NULL on failure, with a reason in `error`. */
void *ctls_context_new(const char *ca_pem, size_t ca_length, int use_system_roots, int verify_peer, char *error, size_t error_length);
void ctls_context_free(void *context);

/* A session on connected socket `fd`; `server_name` (may be NULL) is sent as SNI. The session
   is an `SSL *` (CCertificate reads its peer certificate's expiry). */
void *ctls_session_new(void *context, int fd, const char *server_name);
void ctls_session_free(void *session);

/* 0 when the handshake is done, else CTLS_WANT_READ, CTLS_WANT_WRITE or CTLS_FAILED. */
int ctls_handshake(void *session);
/* X509_V_OK (0) or the chain verification error of the handshake. */
long ctls_verify_result(void *session);
/* A short reason for the last failure of this thread (OpenSSL's error queue, then cleared). */
void ctls_last_error(char *buffer, size_t length);

/* Bytes read (> 0) or written, or CTLS_WANT_READ, CTLS_WANT_WRITE, CTLS_CLOSED, CTLS_FAILED. */
long ctls_read(void *session, void *buffer, size_t length);
long ctls_write(void *session, const void *buffer, size_t length);

/* The tls-server-end-point hash of the server certificate (RFC 5929): SHA-256 for MD5 and SHA-1
   signatures, else the signature's own hash. Its length, or -1. `out` holds at least 64 bytes. */
int ctls_end_point_hash(void *session, unsigned char *out);

/* The server certificate's subjectAltName entries: for index 0, 1, ... the type (2 DNS, 7 IP
   address, other GEN_* values as they are) and its bytes copied into `out`; the length copied,
   or -1 past the last entry or without a certificate. A DNS name with a NUL byte keeps it. */
int ctls_peer_alt_name(void *session, int index, int *type, unsigned char *out, size_t capacity);
/* The certificate's last subject Common Name as bytes; its length, or -1 when there is none. */
int ctls_peer_common_name(void *session, unsigned char *out, size_t capacity);

/* PBKDF2-HMAC-SHA-256 with OpenSSL's one-shot: 1 on success. */
int ctls_pbkdf2_sha256(const void *password, size_t password_length, const void *salt, size_t salt_length, int iterations,
                       unsigned char *out, size_t out_length);

#endif
