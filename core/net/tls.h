/* TLS for listeners with a certificate (mbedTLS 2.28).
 *
 * A tls_server is one listener's settings: its mbedtls_ssl_config with the
 * certificate chain and key. It is refcounted: the listener holds one
 * reference and every connection accepted with it holds one, so a reload
 * (SIGHUP) can swap in a new tls_server for new connections while open
 * ones keep theirs until they close.
 *
 * A tls_conn is one connection's mbedtls_ssl_context, talking to its
 * nonblocking socket through bio callbacks. Every call here returns at
 * once: TLS_AGAIN means "call again when the socket is readable (or
 * writable, when tls_conn_wants_write says so)". conn.c drives it from its
 * libev watchers; nothing above conn.c knows TLS is there. */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_server;
struct tls_conn;

/* tls_conn_* results besides byte counts. */
enum { TLS_ERROR = -1, TLS_AGAIN = -2 };

/* Checks that cert (a PEM chain, leaf first) and key (PEM or DER, not
 * password-protected) can be read, parse, and belong together. 0, or
 * TLS_BAD_CERT / TLS_BAD_KEY (which file to blame; a pair that does not
 * match blames the key) with a human message in err (size n). Used by
 * config validation. */
enum { TLS_BAD_CERT = -1, TLS_BAD_KEY = -2 };
int tls_check_files(const char *cert, const char *key, char *err, size_t n);

struct config;
/* Loads every TLS listener's certificate and key to check them (readable,
 * parseable, a matching pair); each problem is reported at the tls
 * table's line. Serving and check-config run it; config_load does not, so
 * admin commands and reloads need no access to the key. Returns the
 * number of problems. */
int tls_check_config(const struct config *cfg);

/* Loads cert and key into a new server config (refcount 1). NULL with a
 * message in err when they cannot be used. */
struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t n);
struct tls_server *tls_server_ref(struct tls_server *s);
/* Drops a reference; the last one frees the config, chain and key. NULL ok. */
void tls_server_unref(struct tls_server *s);
/* The leaf certificate's subject and expiry, for logs: "CN=…, until 2027-…". */
void tls_server_describe(const struct tls_server *s, char *out, size_t n);

/* A session on the nonblocking socket fd (not owned), holding a reference
 * to s. NULL when out of memory. */
struct tls_conn *tls_conn_new(struct tls_server *s, int fd);
void tls_conn_free(struct tls_conn *t); /* NULL ok; does not close fd */

/* Advances the handshake: 1 done, TLS_AGAIN, or TLS_ERROR (the reason is
 * kept for tls_conn_error). */
int tls_conn_handshake(struct tls_conn *t);
int tls_conn_handshake_done(const struct tls_conn *t);
/* Decrypts into buf: bytes (> 0), 0 when the peer closed (close_notify or
 * EOF), TLS_AGAIN, or TLS_ERROR. Reads at most one record from the socket. */
ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t len);
/* Encrypts up to one record of buf: bytes taken (> 0), TLS_AGAIN or
 * TLS_ERROR. After TLS_AGAIN, call again with the same bytes and length:
 * mbedTLS has sent part of that record already. */
ssize_t tls_conn_write(struct tls_conn *t, const void *buf, size_t len);
/* The most bytes one tls_conn_write takes. */
size_t tls_conn_max_write(struct tls_conn *t);
/* After TLS_AGAIN: 1 when the socket must become writable, 0 readable. */
int tls_conn_wants_write(const struct tls_conn *t);
/* Sends close_notify, best effort (never waits). */
void tls_conn_close_notify(struct tls_conn *t);
/* The last error, as mbedTLS words it ("SSL - ..."); "" when none. */
const char *tls_conn_error(const struct tls_conn *t);

/* Frees the shared random generator at exit (after every server is gone). */
void tls_module_fini(void);

#endif
