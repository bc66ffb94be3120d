#define _DEFAULT_SOURCE
/* SHA256_Init and friends: deprecated in OpenSSL 3.0 for the EVP interface, whose per-call
   algorithm fetch costs more than the few blocks SCRAM hashes per login. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "ctls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void copy_reason(char *error, size_t length, const char *fallback) {
    if (error == NULL || length == 0) return;
    unsigned long code = ERR_get_error();
    if (code != 0) {
        ERR_error_string_n(code, error, length);
    } else {
        snprintf(error, length, "%s", fallback);
    }
    ERR_clear_error();
}

void *ctls_context_new(const char *ca_pem, size_t ca_length, const char *system_bundle, int verify_peer, char *error, size_t error_length) {
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (context == NULL) {
        copy_reason(error, error_length, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* PostgreSQL servers take P-256 by default (ssl_ecdh_curve; PostgreSQL 18's ssl_groups also
       lists it), while OpenSSL's own order sends an X25519 key share first, which such a server
       answers with a HelloRetryRequest: a round trip and a second key. OpenSSL 3.0's default
       groups, P-256 first; where a group is not available (a FIPS provider) the default stays. */
    if (SSL_CTX_set1_groups_list(context, "P-256:X25519:X448:P-521:P-384:ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192") != 1) {
        ERR_clear_error();
    }
    /* Whole records per read() rather than a header and then a body. */
    SSL_CTX_set_read_ahead(context, 1);
    if (verify_peer) {
        if (ca_pem != NULL && ca_length > 0) {
            BIO *bio = BIO_new_mem_buf(ca_pem, (int)ca_length);
            X509_STORE *store = SSL_CTX_get_cert_store(context);
            int added = 0;
            X509 *certificate;
            while (bio != NULL && (certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
                if (X509_STORE_add_cert(store, certificate) == 1) added++;
                X509_free(certificate);
            }
            BIO_free(bio);
            ERR_clear_error(); /* the end of the PEM text reads as an error */
            if (added == 0) {
                copy_reason(error, error_length, "no certificate in the CA text");
                SSL_CTX_free(context);
                return NULL;
            }
        }
        if (system_bundle != NULL && SSL_CTX_load_verify_locations(context, system_bundle, NULL) != 1) {
            copy_reason(error, error_length, "cannot use the system CA bundle");
            SSL_CTX_free(context);
            return NULL;
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    }
    return context;
}

void ctls_context_free(void *context) { SSL_CTX_free((SSL_CTX *)context); }

void *ctls_session_new(void *context, int fd, const char *server_name) {
    SSL *session = SSL_new((SSL_CTX *)context);
    if (session == NULL) return NULL;
    if (SSL_set_fd(session, fd) != 1 || (server_name != NULL && SSL_set_tlsext_host_name(session, server_name) != 1)) {
        SSL_free(session);
        return NULL;
    }
    SSL_set_connect_state(session);
    return session;
}

void ctls_session_free(void *session) { SSL_free((SSL *)session); }

/* What a failed OpenSSL call means; the thread's error queue is left empty (libpq, libcurl and
   MariaDB share the reactor threads and read it). */
static long outcome(SSL *session, int result) {
    long meaning;
    switch (SSL_get_error(session, result)) {
    case SSL_ERROR_WANT_READ: meaning = CTLS_WANT_READ; break;
    case SSL_ERROR_WANT_WRITE: meaning = CTLS_WANT_WRITE; break;
    case SSL_ERROR_ZERO_RETURN: meaning = CTLS_CLOSED; break;
    case SSL_ERROR_SYSCALL:
        /* An EOF without close_notify is how servers end a session that failed. */
        meaning = ERR_peek_error() == 0 ? CTLS_CLOSED : CTLS_FAILED;
        break;
    default: meaning = CTLS_FAILED; break;
    }
    ERR_clear_error();
    return meaning;
}

int ctls_handshake(void *session) {
    ERR_clear_error();
    int result = SSL_do_handshake((SSL *)session);
    return result == 1 ? 0 : (int)outcome((SSL *)session, result);
}

long ctls_verify_result(void *session) { return SSL_get_verify_result((SSL *)session); }

int ctls_has_pending(void *session) { return SSL_has_pending((SSL *)session); }


long ctls_read(void *session, void *buffer, size_t length) {
    ERR_clear_error();
    size_t done = 0;
    int result = SSL_read_ex((SSL *)session, buffer, length, &done);
    return result == 1 ? (long)done : outcome((SSL *)session, result);
}

long ctls_write(void *session, const void *buffer, size_t length) {
    ERR_clear_error();
    size_t done = 0;
    int result = SSL_write_ex((SSL *)session, buffer, length, &done);
    return result == 1 ? (long)done : outcome((SSL *)session, result);
}

int ctls_end_point_hash(void *session, unsigned char *out) {
    X509 *certificate = SSL_get1_peer_certificate((SSL *)session);
    if (certificate == NULL) return -1;
    int algorithm = 0;
    const EVP_MD *digest = NULL;
    if (X509_get_signature_info(certificate, &algorithm, NULL, NULL, NULL) == 1) {
        switch (algorithm) {
        case NID_md5:
        case NID_sha1: digest = EVP_sha256(); break;
        default: digest = EVP_get_digestbynid(algorithm); break;
        }
    }
    unsigned int length = 0;
    int result = digest != NULL && X509_digest(certificate, digest, out, &length) == 1 ? (int)length : -1;
    X509_free(certificate);
    return result;
}

int ctls_peer_names(void *session, int *types, int *lengths, unsigned char *out, size_t capacity, int max_names) {
    X509 *certificate = SSL_get1_peer_certificate((SSL *)session);
    if (certificate == NULL) return -1;
    STACK_OF(GENERAL_NAME) *names = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    int count = 0;
    size_t used = 0;
    int total = names == NULL ? 0 : sk_GENERAL_NAME_num(names);
    for (int index = 0; index < total && count < max_names; index++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
        const ASN1_STRING *value = NULL;
        if (name->type == GEN_DNS) value = name->d.dNSName;
        else if (name->type == GEN_IPADD) value = name->d.iPAddress;
        if (value == NULL) continue;
        size_t length = (size_t)ASN1_STRING_length(value);
        if (length > capacity - used) break;
        memcpy(out + used, ASN1_STRING_get0_data(value), length);
        types[count] = name->type;
        lengths[count] = (int)length;
        used += length;
        count++;
    }
    GENERAL_NAMES_free(names);
    /* The first Common Name, as libpq reads it, last. */
    const X509_NAME *subject = X509_get_subject_name(certificate);
    int position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (position >= 0 && count < max_names) {
        const ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, position));
        size_t length = (size_t)ASN1_STRING_length(value);
        if (length <= capacity - used) {
            memcpy(out + used, ASN1_STRING_get0_data(value), length);
            types[count] = CTLS_COMMON_NAME;
            lengths[count] = (int)length;
            count++;
        }
    }
    X509_free(certificate);
    return count;
}

int ctls_pbkdf2_sha256(const void *password, size_t password_length, const void *salt, size_t salt_length, int iterations,
                       unsigned char *out, size_t out_length) {
    return PKCS5_PBKDF2_HMAC((const char *)password, (int)password_length, (const unsigned char *)salt, (int)salt_length, iterations,
                             EVP_sha256(), (int)out_length, out);
}

void ctls_sha256(const void *data, size_t length, unsigned char *out) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, length);
    SHA256_Final(out, &context);
    OPENSSL_cleanse(&context, sizeof context);
}

void ctls_hmac_sha256(const void *key, size_t key_length, const void *message, size_t message_length, unsigned char *out) {
    unsigned char block[SHA256_CBLOCK] = {0};
    if (key_length > SHA256_CBLOCK) {
        ctls_sha256(key, key_length, block);
    } else if (key_length > 0) {
        memcpy(block, key, key_length);
    }
    unsigned char pad[SHA256_CBLOCK], inner[SHA256_DIGEST_LENGTH];
    SHA256_CTX context;
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, sizeof pad);
    SHA256_Update(&context, message, message_length);
    SHA256_Final(inner, &context);
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, sizeof pad);
    SHA256_Update(&context, inner, sizeof inner);
    SHA256_Final(out, &context);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&context, sizeof context);
}

int ctls_random_bytes(unsigned char *out, size_t length) { return RAND_bytes(out, (int)length) == 1; }
