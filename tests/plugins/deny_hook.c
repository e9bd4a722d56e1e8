/* Test plugin: a before_message hook at priority 0 that denies any text
 * containing its `word` (default "forbidden") and, when `rewrite` is true,
 * rewrites every "cat" into "dog". Its state comes from the host's
 * accounted allocator, so tests can watch the plugin's memory. */
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

#define DENY_DEFAULT_WORD "forbidden"
#define DENY_REASON_MAX   256
#define REWRITE_FROM      "cat"
#define REWRITE_TO        "dog" /* same length as REWRITE_FROM */

struct deny_state {
	const parley_host *host;
	parley_ctx *ctx;
	char *word;
	int rewrite;
};

static int check(const parley_host *host, parley_ctx *ctx)
{
	const parley_conf *c = host->conf(ctx);
	const char *word;
	int rewrite;
	int rc = PARLEY_OK;
	if (host->conf_str(c, "word", &word) == 1 && !*word) {
		host->conf_error(c, "word", "must not be empty");
		rc = PARLEY_EINVAL;
	}
	if (host->conf_bool(c, "rewrite", &rewrite) < 0)
		rc = PARLEY_EINVAL;
	return rc;
}

static int before_message(void *ud, parley_hook_args *args)
{
	struct deny_state *st = ud;
	const char *text = args->message ? args->message->text : NULL;
	if (!text)
		return PARLEY_OK;
	if (strstr(text, st->word)) {
		char reason[DENY_REASON_MAX];
		snprintf(reason, sizeof reason, "the word %s is not allowed here", st->word);
		st->host->hook_deny(args, reason);
		return PARLEY_DENY;
	}
	if (!st->rewrite || !strstr(text, REWRITE_FROM))
		return PARLEY_OK;
	char *copy = st->host->strdup(st->ctx, text);
	if (!copy)
		return PARLEY_OK;
	for (char *p = copy; (p = strstr(p, REWRITE_FROM)); p += strlen(REWRITE_TO))
		memcpy(p, REWRITE_TO, strlen(REWRITE_TO));
	st->host->hook_rewrite(args, copy);
	st->host->free(st->ctx, copy);
	return PARLEY_REWRITE;
}

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	const parley_conf *c = host->conf(ctx);
	const char *word = DENY_DEFAULT_WORD;
	int rewrite = 0;
	host->conf_str(c, "word", &word);
	host->conf_bool(c, "rewrite", &rewrite);
	struct deny_state *st = host->calloc(ctx, 1, sizeof *st);
	if (!st)
		return PARLEY_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	st->rewrite = rewrite;
	st->word = host->strdup(ctx, word);
	if (!st->word) {
		host->free(ctx, st);
		return PARLEY_ENOMEM;
	}
	int rc = host->hook(ctx, PARLEY_HOOK_BEFORE_MESSAGE, 0, before_message, st);
	if (rc != PARLEY_OK) {
		host->free(ctx, st->word);
		host->free(ctx, st);
		return rc;
	}
	*state = st;
	return PARLEY_OK;
}

static void fini(void *state)
{
	struct deny_state *st = state;
	if (!st)
		return;
	st->host->free(st->ctx, st->word);
	st->host->free(st->ctx, st);
}

static const parley_plugin deny_hook = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "deny_hook",
    .version = "0.0.1",
    .check = check,
    .init = init,
    .fini = fini,
};

/* PARLEY_PLUGIN_DEFINE declares no prototype (-Wmissing-prototypes). */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(deny_hook)
