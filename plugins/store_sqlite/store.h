/* The plugin's state, shared by its files. Loop thread only, except what
 * writer.c and reader.c guard themselves. */
#ifndef STORE_SQLITE_STORE_H
#define STORE_SQLITE_STORE_H

#include <parley/plugin.h>

#include "pending.h"

struct writer;
struct reader;

struct store_config {
	char *path; /* resolved against data_dir; host->free */
	int synchronous_full;
	int busy_timeout_ms;
	int batch_max;
	int readers;
	int max_size_mb; /* 0: no cap */
};

struct store {
	const parley_host *host;
	parley_ctx *ctx;
	struct store_config cfg;
	char *rel_path; /* the configured path, as snapshot reports it */
	struct writer *writer;
	struct reader *reader;
	/* One for init, one per operation not yet finished: the state outlives
	 * fini while completions are still on their way back to the loop. */
	int refs;
	struct pending pending; /* the calls counted in refs, by name */
	int stopped;
	char why[256];                       /* ready()'s answer */
	parley_metric *m_batches, *m_writes; /* loop thread */
};

/* Loop thread: drops one reference; the last frees the store. */
void store_unref(struct store *st);
struct op;
/* Loop thread: op was handed to the writer or the pool; it holds a
 * reference and is counted pending until store_op_finish. */
void store_op_accepted(struct op *op);
/* Loop thread: hands op to the reader pool; PARLEY_PENDING, or an error
 * after freeing op (done is then never called). */
int store_submit_read(struct op *op);
/* Loop thread: calls op's done() and frees it, then uncounts the call and
 * drops its reference. */
void store_op_finish(struct op *op);

#endif
