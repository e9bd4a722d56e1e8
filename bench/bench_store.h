/* What the store benches share: a temp folder, the real host loading one
 * store plugin (store_sqlite, or store_mongo on PARLEY_BENCH_MONGO_URI)
 * beside auth_local, and setup calls made one at a time. */
#ifndef PARLEY_BENCH_STORE_H
#define PARLEY_BENCH_STORE_H

#include <stddef.h>

#include "base/config.h"
#include "parley/plugin.h"

struct bench_store {
	char dir[256];         /* the temp folder: base_dir and data_dir */
	const char *mongo_uri; /* PARLEY_BENCH_MONGO_URI, or NULL */
	const char *plugin;    /* "store_mongo" or "store_sqlite" */
	struct config cfg;
	const parley_store_vtable *S;
	void *self;
};

/* ../plugins next to this binary (the build tree), in buf. */
const char *bench_default_plugin_dir(char *buf, size_t size);

/* Names the bench in messages (prog), makes the temp folder
 * TMPDIR/parley-<tag>-XXXXXX and picks the store; exits on failure. */
void bench_store_begin(struct bench_store *b, const char *prog, const char *tag);

/* Loads the store from store_conf ("store = { ... }") and auth_local on
 * its defaults, as an admin command would; exits on failure. */
void bench_store_load(struct bench_store *b, const char *plugin_dir, const char *store_conf);

/* bench_store_load with the usual store section: store_mongo on the
 * database <database><pid> (a 60 s timeout), or store_sqlite on
 * sqlite_path (NULL: bench.db in the temp folder). */
void bench_store_open(struct bench_store *b, const char *plugin_dir, const char *database,
                      const char *sqlite_path);

/* Unloads the plugins and removes the temp folder: 0 if that worked. */
int bench_store_end(struct bench_store *b);

/* A setup call, one at a time: the loop turns until it is done. */
struct bench_call {
	int fired, rc;
	char id[32]; /* the first user's or room's id in the result */
};

void bench_call_done(void *ud, const parley_store_result *res);
/* rc: what the store call returned; exits unless the call succeeded. */
void bench_call_wait(struct bench_call *c, int rc, const char *what);

double bench_now_s(void);
int bench_cmp_double(const void *a, const void *b);

#endif
