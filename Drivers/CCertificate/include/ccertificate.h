#ifndef CCERTIFICATE_H
#define CCERTIFICATE_H

/* When the peer certificate of an OpenSSL session (an `SSL *`, as libpq's PQsslStruct and
   libcurl's CURLINFO_TLS_SSL_PTR hand it out) stops being valid: its notAfter in seconds since
   1970, or -1 without a session or a certificate. */
long long ccertificate_peer_not_after(const void *ssl);

#endif
