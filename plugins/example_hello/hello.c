/* example_hello: the template plugin. Copy this folder to start your own.
 *
 * It registers the slash command /hello, which answers in the room as the
 * bot "hello" with "<greeting>, <display name>!", and counts the greetings
 * it sent in /metrics (parley_plugin_example_hello_greetings_total).
 *
 * It uses nothing but the host table from <parley/plugin.h>: a plugin never
 * links against the server, and every call into the host goes through
 * `host`. */
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

#define HELLO_BOT              "hello"
#define HELLO_DEFAULT_GREETING "Hello"
#define HELLO_GREETING_MAX     200 /* bytes of the configured greeting */
#define HELLO_REPLY_MAX        512

struct hello {
	const parley_host *host;
	parley_ctx *ctx;
	char *greeting;
	parley_metric *greetings;
};

/* check: validate the section with no side effects. Keys this function
 * does not read are reported by the host as unknown once it returns. */
static int hello_check(const parley_host *host, parley_ctx *ctx)
{
	const parley_conf *c = host->conf(ctx);
	const char *greeting;
	int found = host->conf_str(c, "greeting", &greeting);
	if (found < 0)
		return PARLEY_EINVAL; /* wrong type: the host already reported it */
	if (found == 1 && (!*greeting || strlen(greeting) > HELLO_GREETING_MAX)) {
		host->conf_error(c, "greeting", "must be 1 to %d bytes long", HELLO_GREETING_MAX);
		return PARLEY_EINVAL;
	}
	return PARLEY_OK;
}

/* A /hello in some room: answer there as the bot. Runs on the loop thread;
 * cmd and what it points to are valid only during the call. */
static void hello_command(void *ud, const parley_command_args *cmd)
{
	struct hello *h = ud;
	const char *who = "you";
	if (cmd->user && cmd->user->display_name && *cmd->user->display_name)
		who = cmd->user->display_name;
	else if (cmd->user && cmd->user->name)
		who = cmd->user->name;
	char reply[HELLO_REPLY_MAX];
	snprintf(reply, sizeof reply, "%s, %s!", h->greeting, who);
	int rc = h->host->command_reply(cmd, HELLO_BOT, reply);
	if (rc < 0) {
		h->host->log(h->ctx, PARLEY_LOG_WARN, "hello_reply", "cannot answer /hello: %d",
		             rc);
		return;
	}
	h->host->metric_add(h->greetings, 1);
}

/* parley.greeting(name) in every script: "<greeting>, <name>!". Arguments
 * arrive as a JSON array and the result goes back as one JSON value; a
 * plugin needs no Lua header for this. */
static int hello_greeting(void *ud, const char *script, const char *args_json, char *out,
                          size_t out_len)
{
	struct hello *h = ud;
	(void)script;
	/* The one argument is a JSON string: take it between its quotes, and
	 * refuse escapes rather than decode them (a template keeps it short). */
	const char *q = strchr(args_json, '"');
	const char *end = q ? strchr(q + 1, '"') : NULL;
	if (!q || !end || memchr(q + 1, '\\', (size_t)(end - q - 1))) {
		snprintf(out, out_len, "greeting: expected one plain string");
		return PARLEY_EINVAL;
	}
	snprintf(out, out_len, "\"%s, %.*s!\"", h->greeting, (int)(end - q - 1), q + 1);
	return PARLEY_OK;
}

/* init: read the (already checked) config, make the state, register. */
static int hello_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	const parley_conf *c = host->conf(ctx);
	const char *greeting = HELLO_DEFAULT_GREETING;
	host->conf_str(c, "greeting", &greeting);

	struct hello *h = host->calloc(ctx, 1, sizeof *h);
	if (!h)
		return PARLEY_ENOMEM;
	h->host = host;
	h->ctx = ctx;
	h->greeting = host->strdup(ctx, greeting);
	if (!h->greeting)
		goto error;
	h->greetings = host->counter(ctx, "greetings_total", "Greetings sent by /hello");
	/* Admin commands (parley user add …) do not chat: nothing to register. */
	if (!host->is_admin_command(ctx) &&
	    host->command(ctx, "hello", "Say hello", hello_command, h) != PARLEY_OK)
		goto error;
	/* Since ABI 1 (appended): test for the member before using it. */
	if (PARLEY_HOST_HAS(host, script_function))
		host->script_function(ctx, "greeting", hello_greeting, h);
	host->log(ctx, PARLEY_LOG_INFO, "hello_ready", "/hello answers with \"%s\"", h->greeting);
	*state = h;
	return PARLEY_OK;
error:
	host->free(ctx, h->greeting);
	host->free(ctx, h);
	return PARLEY_ERR;
}

/* fini: free what init allocated; called after the server stopped serving. */
static void hello_fini(void *state)
{
	struct hello *h = state;
	if (!h)
		return;
	h->host->free(h->ctx, h->greeting);
	h->host->free(h->ctx, h);
}

static const parley_plugin hello_plugin = {
    .abi = PARLEY_PLUGIN_ABI, /* the loader refuses any other ABI */
    .name = "example_hello",
    .version = "0.1.0",
    .check = hello_check,
    .init = hello_init,
    .fini = hello_fini,
};

/* The one exported symbol. PARLEY_PLUGIN_DEFINE declares no prototype of
 * its own, which -Wmissing-prototypes would flag. */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(hello_plugin)
