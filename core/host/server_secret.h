/* The server secret of a cluster: one key in the store, so that a link
 * signed by one node verifies on every other (base/secret.h signs). */
#ifndef PARLEY_SERVER_SECRET_H
#define PARLEY_SERVER_SECRET_H

/* Settles the key, running the loop until the store answers (start-up,
 * before anything serves). With a store that has kv_add: the key the
 * store holds, put there by the first node to start (this node's own
 * server.key when it has one, so its links keep working; random
 * otherwise). Without: data_dir/server.key as before. 0, or -1 logged. */
int server_secret_load(const char *data_dir);

#endif
