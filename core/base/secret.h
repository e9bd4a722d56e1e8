/* The server's own secret: 32 random bytes kept in data_dir/server.key
 * (mode 0600, made on first start). It signs links that must work without
 * a session — the unsubscribe link of a notification e-mail — so they
 * cannot be forged for another user and need no stored token. */
#ifndef PARLEY_SECRET_H
#define PARLEY_SECRET_H

#include <stddef.h>

#define SECRET_SIG_HEX 64 /* hex HMAC-SHA256 */

/* Loads or creates the key; 0, or -1 with the reason logged. */
int secret_init(const char *data_dir);
/* hex HMAC-SHA256(key, purpose ":" msg) into out (SECRET_SIG_HEX + 1). */
void secret_sign(const char *purpose, const char *msg, char *out);
/* 1 when sig is the signature of msg (compared in constant time). */
int secret_verify(const char *purpose, const char *msg, const char *sig);

#endif
