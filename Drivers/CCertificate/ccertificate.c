#define _DEFAULT_SOURCE
#include "ccertificate.h"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>

long long ccertificate_peer_not_after(const void *ssl) {
    if (ssl == NULL) return -1;
    X509 *certificate = SSL_get1_peer_certificate((const SSL *)ssl);
    if (certificate == NULL) return -1;
    long long seconds = -1;
    struct tm parts;
    const ASN1_TIME *notAfter = X509_get0_notAfter(certificate);
    if (notAfter != NULL && ASN1_TIME_to_tm(notAfter, &parts) == 1) seconds = (long long)timegm(&parts);
    X509_free(certificate);
    return seconds;
}
