/* A small pool of worker threads for blocking work (SQLite reads, Argon2,
 * mongo-c-driver). A finished job goes on a mutex-guarded done list and the
 * loop is woken with loop_post; `done` always runs on the loop thread. */
#ifndef PARLEY_WORKERS_H
#define PARLEY_WORKERS_H

#include <stddef.h>

typedef void (*worker_fn)(void *arg);
typedef void (*worker_done_fn)(void *arg, int cancelled);

/* Starts n threads (n >= 1). 0 or -1. */
int workers_start(int n);
/* Queues work; done(arg, 0) on the loop thread after work(arg) ran.
 * Returns 0, or -1 when stopped (done is not called). */
int workers_submit(worker_fn work, worker_done_fn done, void *arg);
/* Jobs waiting for a thread. */
size_t workers_queued(void);
/* Jobs waiting or running; a running job's done is posted before it stops
 * counting. */
size_t workers_busy(void);
/* Lets running jobs finish, cancels queued ones (done(arg, 1)), joins. */
void workers_stop(void);

#endif
