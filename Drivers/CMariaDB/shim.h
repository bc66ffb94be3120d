#ifndef CMARIADB_SHIM_H
#define CMARIADB_SHIM_H
#include <stddef.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

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
#endif
