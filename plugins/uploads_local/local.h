/* uploads_local's state and the pieces its files share. */
#ifndef UPLOADS_LOCAL_H
#define UPLOADS_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

/* Bytes accepted ahead of the disk before write() says "behind", and the
 * level under which a waiting writer is told to go on. */
#define LOCAL_HIGH_WATER (1024 * 1024)
#define LOCAL_LOW_WATER  (256 * 1024)

struct local {
	const parley_host *host;
	parley_ctx *ctx;
	char *dir; /* absolute or data_dir-relative, resolved; host->free */
	char why[256];
	/* One for init, one per job on the worker pool: the state outlives
	 * fini while cancelled jobs still come back (workers stop after). */
	int refs;
};

/* Takes / drops a reference; the last one frees l. Loop thread. */
void local_ref(struct local *l);
void local_unref(struct local *l);

/* A key as the core makes them ("up_" and hex): nothing that could leave
 * the directory. */
int local_key_ok(const char *key);
/* dir/key plus suffix, host->alloc'ed; NULL without memory. */
char *local_path(struct local *l, const char *key, const char *suffix);

/* writer.c: the streaming write of one object. */
int local_begin(void *self, const char *key, const char *type, const char *disposition,
                int64_t size, void **handle);
int local_write(void *handle, const void *data, size_t len, parley_upload_done done, void *ud);
int local_finish(void *handle, parley_upload_done done, void *ud);
void local_abort(void *handle);

/* files.c: reads and removals, each one job on the worker pool. */
int local_read(void *self, const char *key, int64_t offset, size_t len,
               parley_upload_read_done done, void *ud);
int local_remove(void *self, const char *key, parley_upload_done done, void *ud);
char *local_file_path(void *self, const char *key);

#endif
