#ifndef CMARIADB_SHIM_H
#define CMARIADB_SHIM_H
#include <stddef.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <string.h>
/* ma_pvio.h declares the PVIO's TLS container as void unless HAVE_TLS says it has one, and
   ma_tls.h uses Connector/C's own byte type (C11 allows the same typedef twice). */
typedef unsigned char uchar;
#ifndef HAVE_TLS
#define HAVE_TLS 1
#define CMARIADB_DEFINED_HAVE_TLS
#endif
#include <ma_pvio.h>
#ifdef CMARIADB_DEFINED_HAVE_TLS
#undef HAVE_TLS
#undef CMARIADB_DEFINED_HAVE_TLS
#endif

/* Typed wrappers: mysql_options takes a void pointer whose type depends on the option. */
static inline int cmariadb_options_bool(MYSQL *mysql, enum mysql_option option, int value) {
    my_bool flag = value ? 1 : 0;
    return mysql_options(mysql, option, &flag);
}
static inline int cmariadb_options_uint(MYSQL *mysql, enum mysql_option option, unsigned int value) {
    return mysql_options(mysql, option, &value);
}
static inline int cmariadb_options_string(MYSQL *mysql, enum mysql_option option, const char *value) {
    return mysql_options(mysql, option, value);
}
static inline int cmariadb_options_size(MYSQL *mysql, enum mysql_option option, size_t value) {
    return mysql_options(mysql, option, &value);
}
/* mysql_library_init is a macro Swift does not import. */
static inline int cmariadb_library_init(void) {
    return mysql_server_init(0, NULL, NULL);
}
/* The connection's TLS session as an OpenSSL `SSL *`, or NULL without TLS or when the library
   was built on another TLS backend. ma_pvio.h and ma_tls.h are installed headers: the session
   is reached through the connection's PVIO, which Connector/C 3.3 gives no getter for. */
static inline const void *cmariadb_openssl_session(MYSQL *mysql) {
    const char *library = NULL;
    if (mariadb_get_infov(mysql, MARIADB_TLS_LIBRARY, &library) != 0 || library == NULL) return NULL;
    if (strncmp(library, "OpenSSL", 7) != 0) return NULL;
    MARIADB_PVIO *pvio = mysql->net.pvio;
    if (pvio == NULL || pvio->ctls == NULL) return NULL;
    return pvio->ctls->ssl;
}
#endif
