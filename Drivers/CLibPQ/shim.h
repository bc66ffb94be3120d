#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>

/* Typed wrappers for what Swift cannot import directly (character-literal macros). */
static inline const char *clibpq_result_sqlstate(const PGresult *result) {
    return PQresultErrorField(result, PG_DIAG_SQLSTATE);
}

/* When the server's certificate stops being valid (notAfter), in seconds since 1970; -1 without
   TLS or a certificate. Reads the OpenSSL session libpq holds (PQsslStruct). */
static inline long long clibpq_peer_certificate_not_after(PGconn *connection) {
    SSL *ssl = (SSL *)PQsslStruct(connection, "OpenSSL");
    if (ssl == NULL) return -1;
    X509 *certificate = SSL_get1_peer_certificate(ssl);
    if (certificate == NULL) return -1;
    long long seconds = -1;
    struct tm parts;
    const ASN1_TIME *notAfter = X509_get0_notAfter(certificate);
    if (notAfter != NULL && ASN1_TIME_to_tm(notAfter, &parts) == 1) seconds = (long long)timegm(&parts);
    X509_free(certificate);
    return seconds;
}
#endif
