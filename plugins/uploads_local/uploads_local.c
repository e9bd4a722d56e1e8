/* uploads_local: the embedded uploads provider. Each object is one file,
 * <data_dir>/<dir>/<key>, written as <key>.part on the host's worker pool
 * and renamed into place once it is complete and fsync'ed; so a crash or
 * an abort never leaves a file that looks whole. Reads are pread() calls on
 * the worker pool too. Built against include/parley/plugin.h only. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

#define DEFAULT_DIR "uploads"

int local_key_ok(const char *key)
{
	if (!key || strncmp(key, "up_", 3) != 0 || !key[3] || strlen(key) > 64)
		return 0;
	for (const char *p = key + 3; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

char *local_path(struct local *l, const char *key, const char *suffix)
{
	size_t n = strlen(l->dir) + strlen(key) + strlen(suffix) + 2;
	char *p = l->host->alloc(l->ctx, n);
	if (p)
		snprintf(p, n, "%s/%s%s", l->dir, key, suffix);
	return p;
}

void local_ref(struct local *l)
{
	l->refs++;
}

void local_unref(struct local *l)
{
	if (--l->refs > 0)
		return;
	l->host->free(l->ctx, l->dir);
	l->host->free(l->ctx, l);
}

static int check(const parley_host *host, parley_ctx *ctx)
{
	const parley_conf *c = host->conf(ctx);
	const char *dir = DEFAULT_DIR;
	if (c && host->conf_str(c, "dir", &dir) > 0 && !*dir) {
		host->conf_error(c, "dir", "must not be empty");
		return PARLEY_EINVAL;
	}
	return PARLEY_OK;
}

static const parley_uploads_vtable vtable = {
    .struct_size = sizeof(parley_uploads_vtable),
    .begin = local_begin,
    .write = local_write,
    .finish = local_finish,
    .abort = local_abort,
    .read = local_read,
    .remove = local_remove,
    .local_path = local_file_path,
};

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	const parley_conf *c = host->conf(ctx);
	const char *dir = DEFAULT_DIR;
	if (c)
		host->conf_str(c, "dir", &dir);
	struct local *l = host->calloc(ctx, 1, sizeof *l);
	if (!l)
		return PARLEY_ENOMEM;
	l->host = host;
	l->ctx = ctx;
	l->refs = 1;
	if (!(l->dir = host->data_path(ctx, dir))) {
		host->free(ctx, l);
		return PARLEY_ENOMEM;
	}
	/* The admin CLI never stores files: no directory for it. */
	if (!host->is_admin_command(ctx) && mkdir(l->dir, 0700) < 0 && errno != EEXIST) {
		host->log(ctx, PARLEY_LOG_ERROR, "uploads_dir", "cannot create %s: %s", l->dir,
		          strerror(errno));
		host->free(ctx, l->dir);
		host->free(ctx, l);
		return PARLEY_ERR;
	}
	*state = l;
	return host->provide(ctx, PARLEY_PROVIDE_UPLOADS, &vtable, l);
}

static void fini(void *state)
{
	struct local *l = state;
	if (l)
		local_unref(l);
}

static int ready(void *state, const char **why)
{
	struct local *l = state;
	if (access(l->dir, W_OK | X_OK) == 0)
		return 1;
	snprintf(l->why, sizeof l->why, "uploads directory %s is not writable: %s", l->dir,
	         strerror(errno));
	*why = l->why;
	return 0;
}

static const parley_plugin plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "uploads_local",
    .version = "0.1.0",
    .check = check,
    .init = init,
    .fini = fini,
    .ready = ready,
};

PARLEY_PLUGIN_DEFINE(plugin)
