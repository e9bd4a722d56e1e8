/* The server's own secret: 32 random bytes, held in the store so that
 * every node of a cluster signs alike (host/server_secret.c), or kept in
 * data_dir/server.key (mode 0600, made on first start) by a store that
 * cannot hold it. It signs links that must work without
 * a session — the unsubscribe link of a notification e-mail — so they
 * cannot be forged for another user and need no stored token. */
#ifndef PARLEY_SECRET_H
#define PARLEY_SECRET_H

#include <stddef.h>

#define SECRET_SIG_HEX 64 /* hex HMAC-SHA256 */
#define SECRET_BYTES   32

/* Loads or creates the key; 0, or -1 with the reason logged. */
int secret_init(const char *data_dir);
/* Reads data_dir/server.key into key without creating it: 1 read, 0 no
 * such file, -1 unreadable or short (logged). */
int secret_file_read(const char *data_dir, unsigned char key[SECRET_BYTES]);
/* Signs with key from now on (the cluster's key, held in the store). */
void secret_set(const unsigned char key[SECRET_BYTES]);
/* A key that signed before (this node's own server.key, when the cluster
 * settled on another node's): its signatures still verify, nothing new is
 * signed with it. */
void secret_set_previous(const unsigned char key[SECRET_BYTES]);
/* hex HMAC-SHA256(key, purpose ":" msg) into out (SECRET_SIG_HEX + 1). */
void secret_sign(const char *purpose, const char *msg, char *out);
/* 1 when sig is the signature of msg (compared in constant time). */
int secret_verify(const char *purpose, const char *msg, const char *sig);

#endif
