/* Reads on the host's worker pool, over a small pool of read-only
 * connections (WAL lets them read while the writer commits). Each read
 * runs in one read transaction, so a multi-statement read (history with
 * its reactions) sees one snapshot. */
#ifndef STORE_SQLITE_READER_H
#define STORE_SQLITE_READER_H

#include <stddef.h>

struct store;
struct op;
struct db_options;

/* Opens n read connections; NULL with the reason in err. */
struct reader *reader_open(struct store *st, const struct db_options *o, int n, char *err,
                           size_t errlen);
/* Runs op on a worker; its done() comes back on the loop. PARLEY_OK or an
 * error (done is then not called). */
int reader_submit(struct reader *r, struct op *op);
/* 1 when a trivial query answers; else 0 and the reason in buf. */
int reader_probe(struct reader *r, char *buf, size_t len);
/* Waits for connections in use, closes them all; later reads fail with
 * EUNAVAIL. The struct stays until reader_free (operations may still be
 * on their way through the pool). */
void reader_close(struct reader *r);
void reader_free(struct reader *r);

#endif
