/* The plugin's state, shared by its files. Loop thread only, except what
 * writer.c and reader.c guard themselves. */
#ifndef STORE_SQLITE_STORE_H
#define STORE_SQLITE_STORE_H

#include <parley/plugin.h>

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
	struct writer *writer;
	struct reader *reader;
	/* One for init, one per operation not yet finished: the state outlives
	 * fini while completions are still on their way back to the loop. */
	int refs;
	int stopped;
	char why[256];                       /* ready()'s answer */
	parley_metric *m_batches, *m_writes; /* loop thread */
};

/* Loop thread: drops one reference; the last frees the store. */
void store_unref(struct store *st);

#endif
