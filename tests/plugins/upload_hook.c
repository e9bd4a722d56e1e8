/* Test plugin: an upload hook, the place a virus scanner would take. It
 * refuses files whose first bytes are the EICAR test signature (reading
 * the stored file when the provider gives a local path, else the name),
 * and tags every other file with "scanned:<size>". */
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

#define EICAR_PREFIX "X5O!P%@AP"

struct scan_state {
	const parley_host *host;
	parley_ctx *ctx;
};

static int infected(const parley_hook_args *args)
{
	if (!args->upload_path)
		return strstr(args->upload->name, "eicar") != NULL;
	char head[16] = "";
	FILE *f = fopen(args->upload_path, "rb");
	if (!f)
		return 0;
	size_t n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = '\0';
	return strncmp(head, EICAR_PREFIX, strlen(EICAR_PREFIX)) == 0;
}

static int on_upload(void *ud, parley_hook_args *args)
{
	struct scan_state *st = ud;
	if (args->struct_size <
	        offsetof(parley_hook_args, upload_path) + sizeof args->upload_path ||
	    !args->upload)
		return PARLEY_OK;
	if (infected(args)) {
		st->host->hook_deny(args, "the file looks infected (EICAR test signature)");
		return PARLEY_DENY;
	}
	char tag[64];
	snprintf(tag, sizeof tag, "scanned:%lld", (long long)args->upload->size);
	st->host->hook_rewrite(args, tag);
	return PARLEY_REWRITE;
}

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct scan_state *st = host->calloc(ctx, 1, sizeof *st);
	if (!st)
		return PARLEY_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	*state = st;
	return host->hook(ctx, PARLEY_HOOK_UPLOAD, 0, on_upload, st);
}

static void fini(void *state)
{
	struct scan_state *st = state;
	if (st)
		st->host->free(st->ctx, st);
}

static const parley_plugin plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "upload_hook",
    .version = "0.1.0",
    .init = init,
    .fini = fini,
};

PARLEY_PLUGIN_DEFINE(plugin)
