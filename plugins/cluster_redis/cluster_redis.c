/* cluster_redis: the cluster provider over Redis pub/sub (issue 16).
 *
 * Two connections: `pub` sends PUBLISH, `sub` holds the subscriptions (a
 * Redis connection in subscribe mode can send nothing else). Both live on
 * the host's loop through redis_link.c and reconnect by themselves; the
 * subscriptions are remembered here and sent again on every reconnect.
 * The bus is "up" once both are connected and the re-subscription is
 * confirmed; the core is told of every change (it repairs from the store
 * what travelled while the bus was down). */
#include <stdio.h>
#include <string.h>

#include <hiredis/async.h>
#include <parley/plugin.h>

#include "redis_link.h"
#include "redis_url.h"

#define PREFIX_MAX      64     /* bytes of the channel prefix */
#define CHANNEL_MAX     200    /* bytes of a core channel name */
#define PUBLISH_PENDING 100000 /* PUBLISHes not yet answered: more are dropped */
#define SUBSCRIBE_BATCH 256    /* channels per SUBSCRIBE on reconnect */

struct cluster_redis {
	const parley_host *host;
	parley_ctx *ctx;
	struct redis_url url;
	char prefix[PREFIX_MAX + 2]; /* "parley:" */
	size_t prefix_len;
	char node_id[33];
	struct redis_link *pub, *sub;
	int pub_up, sub_up, up;
	size_t confirms_pending; /* subscribe replies awaited after a reconnect */
	char **channels;         /* our subscriptions (full names) */
	size_t n_channels, cap_channels;
	size_t publishes_pending;
	parley_cluster_message_fn on_message;
	parley_cluster_state_fn on_state;
	void *ud;
	parley_metric *m_up, *m_published, *m_received, *m_bytes_out, *m_bytes_in, *m_dropped,
	    *m_reconnects;
};

/* ---- configuration --------------------------------------------------- */

static int read_conf(const parley_host *host, parley_ctx *ctx, struct redis_url *url,
                     const char **prefix)
{
	const parley_conf *c = host->conf(ctx);
	const char *u = "redis://127.0.0.1:6379", *password = NULL;
	*prefix = "parley";
	if (host->conf_str(c, "url", &u) < 0 || host->conf_str(c, "prefix", prefix) < 0 ||
	    host->conf_str(c, "password", &password) < 0)
		return PARLEY_EINVAL;
	char err[256];
	if (redis_url_parse(u, url, err, sizeof err) < 0) {
		host->conf_error(c, "url", "%s", err);
		return PARLEY_EINVAL;
	}
	size_t n = strlen(*prefix);
	if (n == 0 || n > PREFIX_MAX || strpbrk(*prefix, " *?[]\r\n")) {
		host->conf_error(c, "prefix",
		                 "must be 1 to %d bytes without spaces or pattern characters",
		                 PREFIX_MAX);
		return PARLEY_EINVAL;
	}
	if (password) {
		if (strlen(password) > REDIS_PASS_MAX) {
			host->conf_error(c, "password", "at most %d bytes", REDIS_PASS_MAX);
			return PARLEY_EINVAL;
		}
		if (url->password[0]) {
			host->conf_error(c, "password", "given twice: in url and as password");
			return PARLEY_EINVAL;
		}
		snprintf(url->password, sizeof url->password, "%s", password);
	}
	return PARLEY_OK;
}

static int cr_check(const parley_host *host, parley_ctx *ctx)
{
	struct redis_url url;
	const char *prefix;
	return read_conf(host, ctx, &url, &prefix);
}

/* ---- state ------------------------------------------------------------ */

static void set_up(struct cluster_redis *cr)
{
	int up = cr->pub_up && cr->sub_up && cr->confirms_pending == 0;
	if (up == cr->up)
		return;
	cr->up = up;
	cr->host->metric_set(cr->m_up, up);
	cr->host->log(cr->ctx, up ? PARLEY_LOG_INFO : PARLEY_LOG_WARN, "cluster_bus",
	              up ? "bus up" : "bus down");
	if (cr->on_state)
		cr->on_state(cr->ud, up);
}

static void pub_connected(void *ud, redisAsyncContext *ac)
{
	(void)ac;
	struct cluster_redis *cr = ud;
	cr->pub_up = 1;
	set_up(cr);
}

static void pub_lost(void *ud, const char *why)
{
	struct cluster_redis *cr = ud;
	if (cr->pub_up || cr->up)
		cr->host->log(cr->ctx, PARLEY_LOG_WARN, "redis_lost", "pub connection: %s", why);
	cr->pub_up = 0;
	cr->publishes_pending = 0; /* their callbacks ran with no reply */
	cr->host->metric_add(cr->m_reconnects, 1);
	set_up(cr);
}

/* Every reply on the sub connection: subscribe confirmations and messages. */
static void sub_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	(void)ac;
	struct cluster_redis *cr = privdata;
	redisReply *reply = r;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	const char *kind = reply->element[0]->str;
	if (strcmp(kind, "subscribe") == 0) {
		if (cr->confirms_pending && --cr->confirms_pending == 0)
			set_up(cr);
		return;
	}
	if (strcmp(kind, "message") != 0)
		return;
	redisReply *ch = reply->element[1], *payload = reply->element[2];
	if (ch->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING ||
	    ch->len <= cr->prefix_len || memcmp(ch->str, cr->prefix, cr->prefix_len) != 0)
		return;
	cr->host->metric_add(cr->m_received, 1);
	cr->host->metric_add(cr->m_bytes_in, (double)payload->len);
	if (cr->on_message)
		cr->on_message(cr->ud, ch->str + cr->prefix_len, payload->str, payload->len);
}

/* SUBSCRIBE channels[from..from+n) in one command. */
static void send_subscribe(struct cluster_redis *cr, redisAsyncContext *ac, size_t from, size_t n)
{
	const char *argv[SUBSCRIBE_BATCH + 1];
	argv[0] = "SUBSCRIBE";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = cr->channels[from + i];
	redisAsyncCommandArgv(ac, sub_reply, cr, (int)n + 1, argv, NULL);
}

static void sub_connected(void *ud, redisAsyncContext *ac)
{
	struct cluster_redis *cr = ud;
	cr->sub_up = 1;
	cr->confirms_pending = cr->n_channels;
	for (size_t i = 0; i < cr->n_channels; i += SUBSCRIBE_BATCH) {
		size_t n = cr->n_channels - i;
		send_subscribe(cr, ac, i, n > SUBSCRIBE_BATCH ? SUBSCRIBE_BATCH : n);
	}
	set_up(cr);
}

static void sub_lost(void *ud, const char *why)
{
	struct cluster_redis *cr = ud;
	if (cr->sub_up || cr->up)
		cr->host->log(cr->ctx, PARLEY_LOG_WARN, "redis_lost", "sub connection: %s", why);
	cr->sub_up = 0;
	set_up(cr);
}

/* ---- the vtable --------------------------------------------------------- */

static int cr_start(void *self, parley_cluster_message_fn on_message,
                    parley_cluster_state_fn on_state, void *ud)
{
	struct cluster_redis *cr = self;
	cr->on_message = on_message;
	cr->on_state = on_state;
	cr->ud = ud;
	return PARLEY_OK;
}

static int full_name(const struct cluster_redis *cr, const char *channel, char *out, size_t n)
{
	if (!channel || !*channel || strlen(channel) > CHANNEL_MAX)
		return PARLEY_EINVAL;
	snprintf(out, n, "%s%s", cr->prefix, channel);
	return PARLEY_OK;
}

static void published(redisAsyncContext *ac, void *r, void *privdata)
{
	(void)ac;
	(void)r;
	struct cluster_redis *cr = privdata;
	if (cr->publishes_pending)
		cr->publishes_pending--;
}

static int cr_publish(void *self, const char *channel, const char *payload, size_t len)
{
	struct cluster_redis *cr = self;
	char name[PREFIX_MAX + CHANNEL_MAX + 2];
	if (full_name(cr, channel, name, sizeof name) != PARLEY_OK)
		return PARLEY_EINVAL;
	redisAsyncContext *ac = redis_link_ctx(cr->pub);
	if (!ac || !cr->pub_up || cr->publishes_pending >= PUBLISH_PENDING) {
		cr->host->metric_add(cr->m_dropped, 1);
		return PARLEY_EUNAVAIL;
	}
	if (redisAsyncCommand(ac, published, cr, "PUBLISH %s %b", name, payload, len) != REDIS_OK) {
		cr->host->metric_add(cr->m_dropped, 1);
		return PARLEY_EUNAVAIL;
	}
	cr->publishes_pending++;
	cr->host->metric_add(cr->m_published, 1);
	cr->host->metric_add(cr->m_bytes_out, (double)len);
	return PARLEY_OK;
}

static ptrdiff_t find_channel(const struct cluster_redis *cr, const char *name)
{
	for (size_t i = 0; i < cr->n_channels; i++)
		if (strcmp(cr->channels[i], name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static int cr_subscribe(void *self, const char *channel)
{
	struct cluster_redis *cr = self;
	char name[PREFIX_MAX + CHANNEL_MAX + 2];
	if (full_name(cr, channel, name, sizeof name) != PARLEY_OK)
		return PARLEY_EINVAL;
	if (find_channel(cr, name) >= 0)
		return PARLEY_OK;
	if (cr->n_channels == cr->cap_channels) {
		size_t cap = cr->cap_channels ? cr->cap_channels * 2 : 64;
		char **c = cr->host->realloc(cr->ctx, cr->channels, cap * sizeof *c);
		if (!c)
			return PARLEY_ENOMEM;
		cr->channels = c;
		cr->cap_channels = cap;
	}
	char *copy = cr->host->strdup(cr->ctx, name);
	if (!copy)
		return PARLEY_ENOMEM;
	cr->channels[cr->n_channels++] = copy;
	redisAsyncContext *ac = redis_link_ctx(cr->sub);
	if (ac && cr->sub_up)
		send_subscribe(cr, ac, cr->n_channels - 1, 1);
	return PARLEY_OK;
}

static int cr_unsubscribe(void *self, const char *channel)
{
	struct cluster_redis *cr = self;
	char name[PREFIX_MAX + CHANNEL_MAX + 2];
	if (full_name(cr, channel, name, sizeof name) != PARLEY_OK)
		return PARLEY_EINVAL;
	ptrdiff_t i = find_channel(cr, name);
	if (i < 0)
		return PARLEY_OK;
	redisAsyncContext *ac = redis_link_ctx(cr->sub);
	if (ac && cr->sub_up)
		redisAsyncCommand(ac, NULL, NULL, "UNSUBSCRIBE %s", name);
	cr->host->free(cr->ctx, cr->channels[i]);
	cr->channels[i] = cr->channels[--cr->n_channels];
	return PARLEY_OK;
}

static int cr_up(void *self)
{
	return ((struct cluster_redis *)self)->up;
}

static const char *cr_node_id(void *self)
{
	return ((struct cluster_redis *)self)->node_id;
}

static const parley_cluster_vtable cluster_redis_vtable = {
    .struct_size = sizeof(parley_cluster_vtable),
    .start = cr_start,
    .publish = cr_publish,
    .subscribe = cr_subscribe,
    .unsubscribe = cr_unsubscribe,
    .up = cr_up,
    .node_id = cr_node_id,
};

/* ---- life cycle ---------------------------------------------------------- */

static void cr_fini(void *state);

static int cr_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct cluster_redis *cr = host->calloc(ctx, 1, sizeof *cr);
	if (!cr)
		return PARLEY_ENOMEM;
	cr->host = host;
	cr->ctx = ctx;
	const char *prefix;
	if (read_conf(host, ctx, &cr->url, &prefix) != PARLEY_OK) {
		host->free(ctx, cr);
		return PARLEY_EINVAL;
	}
	snprintf(cr->prefix, sizeof cr->prefix, "%s:", prefix);
	cr->prefix_len = strlen(cr->prefix);
	unsigned char rnd[16];
	if (host->random(rnd, sizeof rnd) != 0) {
		host->free(ctx, cr);
		return PARLEY_ERR;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(cr->node_id + 2 * i, 3, "%02x", rnd[i]);
	*state = cr;
	/* Admin commands (parley user add …) do not chat: no bus. */
	if (host->is_admin_command(ctx))
		return PARLEY_OK;
	cr->m_up = host->gauge(ctx, "up", "1 while connected to Redis (both connections)");
	cr->m_published = host->counter(ctx, "published_total", "Messages published");
	cr->m_received = host->counter(ctx, "received_total", "Messages received");
	cr->m_bytes_out = host->counter(ctx, "published_bytes_total", "Payload bytes published");
	cr->m_bytes_in = host->counter(ctx, "received_bytes_total", "Payload bytes received");
	cr->m_dropped = host->counter(ctx, "dropped_total",
	                              "Publishes dropped while Redis was down or too far behind");
	cr->m_reconnects = host->counter(ctx, "disconnects_total", "Lost or failed connections");
	static const struct redis_link_ops pub_ops = {pub_connected, pub_lost};
	static const struct redis_link_ops sub_ops = {sub_connected, sub_lost};
	cr->pub = redis_link_new(host, ctx, "pub", &cr->url, &pub_ops, cr);
	cr->sub = redis_link_new(host, ctx, "sub", &cr->url, &sub_ops, cr);
	if (!cr->pub || !cr->sub) {
		cr_fini(cr);
		*state = NULL;
		return PARLEY_ENOMEM;
	}
	return host->provide(ctx, PARLEY_PROVIDE_CLUSTER, &cluster_redis_vtable, cr);
}

static void cr_fini(void *state)
{
	struct cluster_redis *cr = state;
	if (!cr)
		return;
	cr->on_state = NULL;
	cr->on_message = NULL;
	redis_link_free(cr->pub);
	redis_link_free(cr->sub);
	for (size_t i = 0; i < cr->n_channels; i++)
		cr->host->free(cr->ctx, cr->channels[i]);
	cr->host->free(cr->ctx, cr->channels);
	cr->host->free(cr->ctx, cr);
}

static const parley_plugin cluster_redis_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "cluster_redis",
    .version = "0.1.0",
    .check = cr_check,
    .init = cr_init,
    .fini = cr_fini,
};

PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(cluster_redis_plugin)
