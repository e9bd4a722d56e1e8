/* The writer thread: owns the one write connection and commits groups.
 *
 * Every write operation is queued here. The thread takes every queued
 * operation at once (up to batch_max) and runs them in one transaction
 * (BEGIN IMMEDIATE ... COMMIT), each inside its own savepoint so a failing
 * one (a taken name) fails alone. Only after COMMIT returns is the batch
 * posted to the loop, where each op's done() runs: a done() reporting OK
 * always follows a durable commit. */
#ifndef STORE_SQLITE_WRITER_H
#define STORE_SQLITE_WRITER_H

#include <stddef.h>

struct store;
struct op;
struct db_options;

/* Opens the write connection, migrates the schema, starts the thread.
 * NULL with the reason in err. */
struct writer *writer_start(struct store *st, const struct db_options *o, int batch_max, char *err,
                            size_t errlen);
/* Queues a write; PARLEY_OK, or EUNAVAIL once stopping. */
int writer_submit(struct writer *w, struct op *op);
/* 1 when healthy; else 0 and the last error in buf. */
int writer_healthy(struct writer *w, char *buf, size_t len);
/* Commits everything queued, posts every completion, joins, closes. */
void writer_stop(struct writer *w);

#endif
