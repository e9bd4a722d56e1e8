/* One server per data dir: the serving process holds an exclusive flock on
 * DATA_DIR/parley.lock for its whole life (released by the kernel when it
 * exits, however it exits). Admin commands do not take it, so they keep
 * working beside a running server. No command replaces the data today; one
 * that did (a restore) would take this same lock first, and so refuse
 * while a server holds it. */
#ifndef PARLEY_DATA_LOCK_H
#define PARLEY_DATA_LOCK_H

#include <stddef.h>

#define DATA_LOCK_FILE "parley.lock"

/* Takes the lock; 0, or -1 with why (naming the data dir) in err. */
int data_lock_take(const char *data_dir, char *err, size_t n);
/* Drops it (at the end of server_run). */
void data_lock_release(void);
#endif
