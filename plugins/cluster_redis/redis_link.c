/* A hiredis async connection driven by host->fd_watch and host->timer_start
 * (hiredis's own libev adapter would need the raw loop, which plugins are
 * never given). See redis_link.h. */
#include "redis_link.h"

#include <stdio.h>
#include <string.h>

#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0

struct redis_link {
	const parley_host *host;
	parley_ctx *ctx;
	const char *name; /* "pub" | "sub", for logs */
	const struct redis_url *url;
	struct redis_link_ops ops;
	void *ud;
	redisAsyncContext *ac;
	parley_watch *rw, *ww;
	parley_timer *retry;
	double backoff;
	int closing;
};

static void link_connect(struct redis_link *l);

/* ---- the event adapter -------------------------------------------- */

static void on_readable(int fd, int revents, void *arg)
{
	(void)fd;
	(void)revents;
	struct redis_link *l = arg;
	if (l->ac)
		redisAsyncHandleRead(l->ac);
}

static void on_writable(int fd, int revents, void *arg)
{
	(void)fd;
	(void)revents;
	struct redis_link *l = arg;
	if (l->ac)
		redisAsyncHandleWrite(l->ac);
}

static void add_read(void *data)
{
	struct redis_link *l = data;
	if (!l->rw && l->ac)
		l->rw = l->host->fd_watch(l->ctx, l->ac->c.fd, PARLEY_FD_READ, on_readable, l);
}

static void del_read(void *data)
{
	struct redis_link *l = data;
	l->host->fd_unwatch(l->rw);
	l->rw = NULL;
}

static void add_write(void *data)
{
	struct redis_link *l = data;
	if (!l->ww && l->ac)
		l->ww = l->host->fd_watch(l->ctx, l->ac->c.fd, PARLEY_FD_WRITE, on_writable, l);
}

static void del_write(void *data)
{
	struct redis_link *l = data;
	l->host->fd_unwatch(l->ww);
	l->ww = NULL;
}

static void cleanup(void *data)
{
	del_read(data);
	del_write(data);
}

/* ---- connecting and reconnecting ------------------------------------ */

static void retry_fire(void *arg)
{
	struct redis_link *l = arg;
	l->retry = NULL; /* one-shot: the host frees it */
	link_connect(l);
}

static void schedule_retry(struct redis_link *l, const char *why)
{
	l->ac = NULL; /* hiredis frees the context after its callback */
	if (l->closing)
		return;
	if (l->ops.lost)
		l->ops.lost(l->ud, why);
	if (!l->retry)
		l->retry = l->host->timer_start(l->ctx, l->backoff, 0, retry_fire, l);
	l->backoff = l->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : l->backoff * 2;
}

static void auth_done(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply *reply = r;
	struct redis_link *l = privdata;
	if (reply && reply->type == REDIS_REPLY_ERROR) {
		l->host->log(l->ctx, PARLEY_LOG_ERROR, "redis_auth", "%s connection: AUTH: %s",
		             l->name, reply->str);
		redisAsyncDisconnect(ac);
	}
}

static void on_connect(const redisAsyncContext *cac, int status)
{
	struct redis_link *l = cac->ev.data;
	if (status != REDIS_OK) {
		schedule_retry(l, cac->errstr);
		return;
	}
	l->backoff = BACKOFF_MIN;
	l->host->log(l->ctx, PARLEY_LOG_INFO, "redis_connected", "%s connection to %s:%d", l->name,
	             l->url->host, l->url->port);
	if (l->ops.connected)
		l->ops.connected(l->ud, l->ac);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
	struct redis_link *l = cac->ev.data;
	(void)status;
	schedule_retry(l, cac->errstr[0] ? cac->errstr : "connection closed");
}

static void link_connect(struct redis_link *l)
{
	redisAsyncContext *ac = redisAsyncConnect(l->url->host, l->url->port);
	if (!ac)
		return schedule_retry(l, "out of memory");
	if (ac->err) {
		char why[128];
		snprintf(why, sizeof why, "%s", ac->errstr);
		redisAsyncFree(ac);
		return schedule_retry(l, why);
	}
	l->ac = ac;
	ac->ev.data = l;
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	ac->ev.cleanup = cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* Queued before anything the owner sends: Redis answers in order. */
	if (l->url->password[0])
		redisAsyncCommand(ac, auth_done, l, "AUTH %s", l->url->password);
	/* The connect is in progress: wait for writability, as hiredis expects. */
	add_write(l);
}

struct redis_link *redis_link_new(const parley_host *host, parley_ctx *ctx, const char *name,
                                  const struct redis_url *url, const struct redis_link_ops *ops,
                                  void *ud)
{
	struct redis_link *l = host->calloc(ctx, 1, sizeof *l);
	if (!l)
		return NULL;
	l->host = host;
	l->ctx = ctx;
	l->name = name;
	l->url = url;
	l->ops = *ops;
	l->ud = ud;
	l->backoff = BACKOFF_MIN;
	link_connect(l);
	return l;
}

redisAsyncContext *redis_link_ctx(struct redis_link *l)
{
	return l && l->ac && (l->ac->c.flags & REDIS_CONNECTED) ? l->ac : NULL;
}

void redis_link_free(struct redis_link *l)
{
	if (!l)
		return;
	l->closing = 1;
	if (l->retry)
		l->host->timer_stop(l->retry);
	if (l->ac)
		redisAsyncFree(l->ac); /* calls back with closing set: no retry */
	l->host->free(l->ctx, l);
}
