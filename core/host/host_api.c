/* The parley_host table: what a plugin may call. Every member is a thin
 * adapter over a core module (log, conf, config, hooks, workers, loop,
 * curl_loop, metrics), tagging what it does with the plugin's ctx.
 *
 * Accounted allocation puts a small header before each block holding the
 * size and the owning ctx, so free() and realloc() know whom to charge
 * even when called with another ctx, and the count per plugin is exact.
 * Counts are atomic (work functions allocate on worker threads); the
 * gauge is refreshed from the loop thread only, as metrics require.
 *
 * Timers and fd watchers are wrapped so a plugin never sees the raw loop,
 * and are kept on per-plugin lists so the host can stop what a plugin
 * forgot before its code is unloaded. */
#include "host/host_api.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/config.h"
#include "net/listener.h"
#include "base/curl_loop.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/workers.h"

#ifndef PARLEY_VERSION
#define PARLEY_VERSION "0"
#endif

/* Longest formatted conf_error message and metric name. */
#define HOST_MSG_MAX      1024
#define HOST_NAME_MAX_    200
#define HOST_URL_MAX      512
#define HOST_MEM_GAUGE    "parley_plugin_memory_bytes"
#define HOST_MEM_HELP     "Bytes allocated by each plugin through the host"
#define HOST_NAME_DEFAULT "parley"

/* Aligned like malloc's own result, so the block after it is too. */
union alloc_hdr {
	struct {
		size_t size;
		parley_ctx *ctx;
	} h;
	max_align_t align;
};

struct parley_timer {
	ev_timer w;
	parley_ctx *ctx;
	void (*cb)(void *arg);
	void *arg;
	struct parley_timer *next, **pprev;
	int firing;  /* inside cb: a stop only marks it */
	int stopped; /* stopped during cb: free after it */
};

struct parley_watch {
	ev_io w;
	parley_ctx *ctx;
	void (*cb)(int fd, int revents, void *arg);
	void *arg;
	struct parley_watch *next, **pprev;
};

static const struct config *cfg;
static int admin_mode;
static pthread_t loop_thread;
static int loop_thread_set;
static const struct plugin_core_ops *core_ops;
static const struct plugin_app_ops *app_ops;
static char public_url_buf[HOST_URL_MAX];

void host_api_configure(const struct config *c, int admin_command)
{
	cfg = c;
	admin_mode = admin_command;
	loop_thread = pthread_self();
	loop_thread_set = 1;
	public_url_buf[0] = '\0';
}

static int on_loop_thread(void)
{
	return loop_thread_set && pthread_equal(pthread_self(), loop_thread);
}

/* ---- logging ------------------------------------------------------- */

static int clamp_level(int level)
{
	return level < PARLEY_LOG_DEBUG   ? PARLEY_LOG_DEBUG
	       : level > PARLEY_LOG_ERROR ? PARLEY_LOG_ERROR
	                                  : level;
}

static int h_log_enabled(parley_ctx *ctx, int level)
{
	return clamp_level(level) >= log_min_level;
}

__attribute__((format(printf, 4, 5))) static void h_log(parley_ctx *ctx, int level,
                                                        const char *event, const char *fmt, ...)
{
	level = clamp_level(level);
	if (level < log_min_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_writev(level, event ? event : "plugin", ctx ? ctx->log_ctx : NULL, fmt, ap);
	va_end(ap);
}

/* ---- accounted allocation ------------------------------------------ */

static void account(parley_ctx *ctx, long long delta)
{
	if (!ctx)
		return;
	long long now = __atomic_add_fetch(&ctx->bytes, delta, __ATOMIC_RELAXED);
	if (ctx->mem_gauge && on_loop_thread())
		metric_set(ctx->mem_gauge, (double)now);
}

static void *h_alloc(parley_ctx *ctx, size_t n)
{
	if (n > SIZE_MAX - sizeof(union alloc_hdr))
		return NULL;
	union alloc_hdr *h = malloc(sizeof *h + n);
	if (!h)
		return NULL;
	h->h.size = n;
	h->h.ctx = ctx;
	account(ctx, (long long)n);
	return h + 1;
}

static void *h_calloc(parley_ctx *ctx, size_t n, size_t size)
{
	if (size && n > (SIZE_MAX - sizeof(union alloc_hdr)) / size)
		return NULL;
	union alloc_hdr *h = calloc(1, sizeof *h + n * size);
	if (!h)
		return NULL;
	h->h.size = n * size;
	h->h.ctx = ctx;
	account(ctx, (long long)(n * size));
	return h + 1;
}

static void h_free(parley_ctx *ctx, void *p)
{
	if (!p)
		return;
	union alloc_hdr *h = (union alloc_hdr *)p - 1;
	account(h->h.ctx, -(long long)h->h.size);
	free(h);
}

static void *h_realloc(parley_ctx *ctx, void *p, size_t n)
{
	if (!p)
		return h_alloc(ctx, n);
	if (n == 0) {
		h_free(ctx, p);
		return NULL;
	}
	if (n > SIZE_MAX - sizeof(union alloc_hdr))
		return NULL;
	union alloc_hdr *h = (union alloc_hdr *)p - 1;
	size_t old = h->h.size;
	union alloc_hdr *nh = realloc(h, sizeof *nh + n);
	if (!nh)
		return NULL;
	nh->h.size = n;
	account(nh->h.ctx, (long long)n - (long long)old);
	return nh + 1;
}

static char *h_strdup(parley_ctx *ctx, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = h_alloc(ctx, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- configuration --------------------------------------------------- */

static const parley_conf *h_conf(parley_ctx *ctx)
{
	if (ctx->spec && ctx->spec->section)
		return ctx->spec->section;
	return ctx->empty_conf;
}

static int h_conf_str(const parley_conf *c, const char *key, const char **out)
{
	return conf_get_str(c, key, out);
}

static int h_conf_int(const parley_conf *c, const char *key, int64_t *out)
{
	return conf_get_int(c, key, out);
}

static int h_conf_num(const parley_conf *c, const char *key, double *out)
{
	return conf_get_num(c, key, out);
}

static int h_conf_bool(const parley_conf *c, const char *key, int *out)
{
	return conf_get_bool(c, key, out);
}

static int h_conf_table(const parley_conf *c, const char *key, const parley_conf **out)
{
	return conf_get_table(c, key, out);
}

static size_t h_conf_len(const parley_conf *c)
{
	return c && c->type == CONF_TABLE ? c->n_list : 0;
}

static int h_conf_index_str(const parley_conf *c, size_t i, const char **out)
{
	if (!c || c->type != CONF_TABLE || i >= c->n_list)
		return 0;
	const conf_node *n = conf_at(c, i);
	if (!n)
		return 0;
	if (n->type != CONF_STR) {
		conf_error(n, NULL, "expected a string");
		return -1;
	}
	*out = n->str;
	return 1;
}

__attribute__((format(printf, 3, 4))) static void
h_conf_error(const parley_conf *c, const char *key, const char *fmt, ...)
{
	char msg[HOST_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	conf_error(c, key, "%s", msg);
}

static char *h_data_path(parley_ctx *ctx, const char *relative)
{
	if (!relative || !cfg)
		return NULL;
	const char *base = cfg->data_dir ? cfg->data_dir : cfg->base_dir;
	char *full = config_resolve(base ? base : ".", relative);
	if (!full)
		return NULL;
	/* The plugin frees it with host->free: hand over an accounted copy. */
	char *out = h_strdup(ctx, full);
	free(full);
	return out;
}

static int is_wildcard(const char *host)
{
	return !host || !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

static const char *h_public_url(parley_ctx *ctx)
{
	/* Not cached: with port 0 in the config the bound port is known only
	 * once the listeners run. */
	if (cfg && cfg->public_url) {
		snprintf(public_url_buf, sizeof public_url_buf, "%s", cfg->public_url);
	} else if (cfg && cfg->n_listen) {
		const struct listen_spec *l = &cfg->listen[0];
		const char *host = l->host;
		/* A wildcard bind is reachable on loopback at least. */
		if (is_wildcard(host))
			host = host && strchr(host, ':') ? "::1" : "127.0.0.1";
		const char *scheme = l->tls_cert ? "https" : "http";
		int port = l->port ? l->port : listener_port(0);
		if (port < 0)
			port = l->port;
		if (strchr(host, ':'))
			snprintf(public_url_buf, sizeof public_url_buf, "%s://[%s]:%d", scheme,
			         host, port);
		else
			snprintf(public_url_buf, sizeof public_url_buf, "%s://%s:%d", scheme, host,
			         port);
	} else {
		return "";
	}
	size_t n = strlen(public_url_buf);
	while (n > 0 && public_url_buf[n - 1] == '/')
		public_url_buf[--n] = '\0';
	return public_url_buf;
}

/* ---- providers, hooks, commands ------------------------------------- */

static int h_hook(parley_ctx *ctx, int event, int priority, parley_hook_fn fn, void *ud)
{
	int rc = hooks_add(event, priority, fn, ud, ctx ? ctx->name : NULL);
	if (rc == PARLEY_OK && ctx)
		ctx->n_hooks++;
	return rc;
}

/* Commands registered before the chat layer set its ops (plugins init
 * before chat starts) wait here and are handed over when it does. */
struct pending_cmd {
	struct pending_cmd *next;
	char *name, *help;
	parley_command_fn fn;
	void *ud;
	parley_ctx *ctx;
};
static struct pending_cmd *pending_cmds, **pending_tail = &pending_cmds;

static void pending_free(struct pending_cmd *p)
{
	free(p->name);
	free(p->help);
	free(p);
}

static int h_command(parley_ctx *ctx, const char *name, const char *help, parley_command_fn fn,
                     void *ud)
{
	if (!name || !*name || !fn)
		return PARLEY_EINVAL;
	if (core_ops && core_ops->command)
		return core_ops->command(name, help, fn, ud, ctx);
	struct pending_cmd *p = calloc(1, sizeof *p);
	if (!p || !(p->name = strdup(name)) || !(p->help = strdup(help ? help : ""))) {
		if (p)
			pending_free(p);
		return PARLEY_ENOMEM;
	}
	p->fn = fn;
	p->ud = ud;
	p->ctx = ctx;
	*pending_tail = p;
	pending_tail = &p->next;
	return PARLEY_OK;
}

void host_api_reset(void)
{
	while (pending_cmds) {
		struct pending_cmd *p = pending_cmds;
		pending_cmds = p->next;
		pending_free(p);
	}
	pending_tail = &pending_cmds;
}

void plugins_set_app_ops(const struct plugin_app_ops *ops)
{
	app_ops = ops;
}

void plugins_set_core_ops(const struct plugin_core_ops *ops)
{
	core_ops = ops;
	if (!ops || !ops->command)
		return;
	while (pending_cmds) {
		struct pending_cmd *p = pending_cmds;
		pending_cmds = p->next;
		int rc = ops->command(p->name, p->help, p->fn, p->ud, p->ctx);
		if (rc != PARLEY_OK)
			log_error("plugin_command", p->ctx ? p->ctx->log_ctx : NULL,
			          "cannot register the command /%s: error %d", p->name, rc);
		pending_free(p);
	}
	pending_tail = &pending_cmds;
}

static int h_command_reply(const parley_command_args *cmd, const char *bot_name, const char *text)
{
	if (!core_ops || !core_ops->command_reply)
		return PARLEY_EUNAVAIL;
	return core_ops->command_reply(cmd, bot_name, text);
}

static int h_send_message(parley_ctx *ctx, const char *room_id, const char *bot_name,
                          const char *text)
{
	if (!core_ops || !core_ops->send_message)
		return PARLEY_EUNAVAIL;
	/* A plugin's own send starts a chain: depth 0. */
	return core_ops->send_message(room_id, bot_name, text, 0);
}

/* ---- work off the loop ------------------------------------------------ */

static int h_submit(parley_ctx *ctx, void (*work)(void *arg),
                    void (*done)(void *arg, int cancelled), void *arg)
{
	return workers_submit(work, done, arg) == 0 ? PARLEY_OK : PARLEY_EUNAVAIL;
}

static void h_post(parley_ctx *ctx, void (*fn)(void *arg), void *arg)
{
	loop_post(fn, arg);
}

static int h_curl_add(parley_ctx *ctx, void *easy,
                      void (*done)(void *easy, int curlcode, void *arg), void *arg)
{
	return curl_loop_add(easy, done, arg) == 0 ? PARLEY_OK : PARLEY_EUNAVAIL;
}

static void h_curl_remove(parley_ctx *ctx, void *easy)
{
	curl_loop_remove(easy);
}

/* ---- timers and fd watchers ----------------------------------------- */

static void timer_unlink_free(parley_timer *t)
{
	ev_timer_stop(loop_ev, &t->w);
	if (t->pprev) {
		*t->pprev = t->next;
		if (t->next)
			t->next->pprev = t->pprev;
	}
	free(t);
}

static void timer_fire(struct ev_loop *l, ev_timer *w, int revents)
{
	parley_timer *t = (parley_timer *)w;
	int one_shot = t->w.repeat == 0.;
	t->firing = 1;
	t->cb(t->arg);
	t->firing = 0;
	if (one_shot || t->stopped)
		timer_unlink_free(t);
}

static parley_timer *h_timer_start(parley_ctx *ctx, double after, double repeat,
                                   void (*cb)(void *arg), void *arg)
{
	if (!ctx || !cb || after < 0 || repeat < 0 || !loop_ev)
		return NULL;
	parley_timer *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ctx = ctx;
	t->cb = cb;
	t->arg = arg;
	t->next = ctx->timers;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = &ctx->timers;
	ctx->timers = t;
	ev_timer_init(&t->w, timer_fire, after, repeat);
	ev_timer_start(loop_ev, &t->w);
	return t;
}

static void h_timer_stop(parley_timer *t)
{
	if (!t)
		return;
	if (t->firing) {
		ev_timer_stop(loop_ev, &t->w);
		t->stopped = 1;
		return;
	}
	timer_unlink_free(t);
}

static void watch_fire(struct ev_loop *l, ev_io *w, int revents)
{
	parley_watch *pw = (parley_watch *)w;
	int ev = 0;
	if (revents & EV_READ)
		ev |= PARLEY_FD_READ;
	if (revents & EV_WRITE)
		ev |= PARLEY_FD_WRITE;
	/* Last use of pw: the callback may unwatch (free) it. */
	pw->cb(pw->w.fd, ev, pw->arg);
}

static parley_watch *h_fd_watch(parley_ctx *ctx, int fd, int events,
                                void (*cb)(int fd, int revents, void *arg), void *arg)
{
	int ev = 0;
	if (events & PARLEY_FD_READ)
		ev |= EV_READ;
	if (events & PARLEY_FD_WRITE)
		ev |= EV_WRITE;
	if (!ctx || !cb || fd < 0 || !ev || !loop_ev)
		return NULL;
	parley_watch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->ctx = ctx;
	w->cb = cb;
	w->arg = arg;
	w->next = ctx->watches;
	if (w->next)
		w->next->pprev = &w->next;
	w->pprev = &ctx->watches;
	ctx->watches = w;
	ev_io_init(&w->w, watch_fire, fd, ev);
	ev_io_start(loop_ev, &w->w);
	return w;
}

static void h_fd_unwatch(parley_watch *w)
{
	if (!w)
		return;
	ev_io_stop(loop_ev, &w->w);
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	free(w);
}

void host_api_ctx_release(parley_ctx *ctx)
{
	while (ctx->timers)
		timer_unlink_free(ctx->timers);
	while (ctx->watches)
		h_fd_unwatch(ctx->watches);
	long long left = __atomic_load_n(&ctx->bytes, __ATOMIC_RELAXED);
	if (ctx->mem_gauge)
		metric_set(ctx->mem_gauge, (double)left);
	if (left)
		log_warn("plugin_leak", ctx->log_ctx, "%lld bytes still allocated after fini",
		         left);
}

/* ---- metrics --------------------------------------------------------- */

/* parley_plugin_<plugin>_<name>, with anything Prometheus rejects as '_'. */
static void metric_name(char *out, size_t n, const parley_ctx *ctx, const char *name)
{
	snprintf(out, n, "parley_plugin_%s_%s", ctx->name, name);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			*p = '_';
}

static parley_metric *h_counter(parley_ctx *ctx, const char *name, const char *help)
{
	if (!ctx || !name)
		return NULL;
	char full[HOST_NAME_MAX_];
	metric_name(full, sizeof full, ctx, name);
	return (parley_metric *)metric_counter(full, help ? help : name, NULL);
}

static parley_metric *h_gauge(parley_ctx *ctx, const char *name, const char *help)
{
	if (!ctx || !name)
		return NULL;
	char full[HOST_NAME_MAX_];
	metric_name(full, sizeof full, ctx, name);
	return (parley_metric *)metric_gauge(full, help ? help : name, NULL);
}

static void h_metric_add(parley_metric *m, double v)
{
	if (m)
		metric_add((metric *)m, v);
}

static void h_metric_set(parley_metric *m, double v)
{
	if (m)
		metric_set((metric *)m, v);
}

void host_api_ctx_open(parley_ctx *ctx)
{
	char esc[HOST_NAME_MAX_];
	char label[HOST_NAME_MAX_ + 16];
	log_escape(esc, sizeof esc, ctx->name);
	snprintf(label, sizeof label, "plugin=\"%s\"", esc);
	ctx->mem_gauge = metric_gauge(HOST_MEM_GAUGE, HOST_MEM_HELP, label);
}

/* ---- clock, randomness, the rest -------------------------------------- */

static int64_t h_now_ms(void)
{
	return (int64_t)loop_now_ms();
}

static int h_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return PARLEY_ERR;
		}
		p += got;
		n -= (size_t)got;
	}
	return PARLEY_OK;
}

static const parley_store_vtable *h_store(parley_ctx *ctx, void **self)
{
	if (!plugins_started())
		return NULL;
	return plugins_store(self);
}

static const char *h_server_name(parley_ctx *ctx)
{
	return cfg && cfg->server_name ? cfg->server_name : HOST_NAME_DEFAULT;
}

static int h_is_admin_command(parley_ctx *ctx)
{
	return admin_mode;
}

static void h_user_created(parley_ctx *ctx, const parley_user *user)
{
	if (core_ops && core_ops->user_created && user)
		core_ops->user_created(user);
}

static void h_user_revoked(parley_ctx *ctx, const char *user_id)
{
	if (core_ops && core_ops->user_revoked && user_id)
		core_ops->user_revoked(user_id);
}

/* One notify call fanned out to every provider; done after the last. */
struct notify_fanout {
	parley_notify_done done;
	void *ud;
	size_t waiting;
	int rc;
	char error[160];
};

static void notify_one_done(void *ud, int rc, const char *error)
{
	struct notify_fanout *nf = ud;
	if (rc != PARLEY_OK && nf->rc == PARLEY_OK) {
		nf->rc = rc;
		snprintf(nf->error, sizeof nf->error, "%s", error ? error : "notify failed");
	}
	if (--nf->waiting == 0) {
		if (nf->done)
			nf->done(nf->ud, nf->rc, nf->rc == PARLEY_OK ? NULL : nf->error);
		free(nf);
	}
}

static int h_notify(parley_ctx *ctx, const parley_notify_msg *msg, parley_notify_done done,
                    void *ud)
{
	const struct provider *provs;
	size_t n = plugins_notify(&provs);
	if (!msg)
		return PARLEY_EINVAL;
	if (n == 0)
		return PARLEY_EUNAVAIL;
	struct notify_fanout *nf = calloc(1, sizeof *nf);
	if (!nf)
		return PARLEY_ENOMEM;
	nf->done = done;
	nf->ud = ud;
	nf->waiting = n + 1; /* +1 until every provider was asked */
	for (size_t i = 0; i < n; i++) {
		const parley_notify_vtable *vt = provs[i].vtable;
		int rc =
		    vt->send ? vt->send(provs[i].self, msg, notify_one_done, nf) : PARLEY_EUNAVAIL;
		if (rc != PARLEY_PENDING && rc != PARLEY_OK)
			notify_one_done(nf, rc, "the notify provider refused the message");
	}
	notify_one_done(nf, PARLEY_OK, NULL);
	return PARLEY_PENDING;
}

static int h_user_online(parley_ctx *ctx, const char *user_id)
{
	return core_ops && core_ops->user_online && user_id ? core_ops->user_online(user_id) : 0;
}

static int h_unsubscribe_link(parley_ctx *ctx, const char *user_id, char *out, size_t n)
{
	if (!user_id || !out || admin_mode)
		return -1;
	if (!app_ops || !app_ops->unsubscribe_link)
		return -1;
	return app_ops->unsubscribe_link(h_public_url(ctx), user_id, out, n);
}

static int h_script_function(parley_ctx *ctx, const char *name, parley_script_fn fn, void *ud)
{
	int rc = app_ops && app_ops->script_function ? app_ops->script_function(name, fn, ud)
	                                             : PARLEY_EUNAVAIL;
	if (rc != PARLEY_OK)
		h_log(ctx, PARLEY_LOG_WARN, "script_function", "cannot add parley.%s: %s",
		      name ? name : "?",
		      rc == PARLEY_ECONFLICT  ? "the name is taken"
		      : rc == PARLEY_EUNAVAIL ? "no script host in this process"
		                              : "bad name");
	return rc;
}

static const parley_host host = {
    .struct_size = sizeof(parley_host),
    .abi = PARLEY_PLUGIN_ABI,
    .version = PARLEY_VERSION,
    .log_enabled = h_log_enabled,
    .log = h_log,
    .alloc = h_alloc,
    .calloc = h_calloc,
    .realloc = h_realloc,
    .free = h_free,
    .strdup = h_strdup,
    .conf = h_conf,
    .conf_str = h_conf_str,
    .conf_int = h_conf_int,
    .conf_num = h_conf_num,
    .conf_bool = h_conf_bool,
    .conf_table = h_conf_table,
    .conf_len = h_conf_len,
    .conf_index_str = h_conf_index_str,
    .conf_error = h_conf_error,
    .data_path = h_data_path,
    .public_url = h_public_url,
    .provide = plugins_provide,
    .hook = h_hook,
    .hook_deny = hooks_deny,
    .hook_rewrite = hooks_rewrite,
    .command = h_command,
    .command_reply = h_command_reply,
    .send_message = h_send_message,
    .submit = h_submit,
    .post = h_post,
    .curl_add = h_curl_add,
    .curl_remove = h_curl_remove,
    .timer_start = h_timer_start,
    .timer_stop = h_timer_stop,
    .fd_watch = h_fd_watch,
    .fd_unwatch = h_fd_unwatch,
    .counter = h_counter,
    .gauge = h_gauge,
    .metric_add = h_metric_add,
    .metric_set = h_metric_set,
    .now_ms = h_now_ms,
    .random = h_random,
    .store = h_store,
    .server_name = h_server_name,
    .is_admin_command = h_is_admin_command,
    .user_created = h_user_created,
    .user_revoked = h_user_revoked,
    .notify = h_notify,
    .user_online = h_user_online,
    .unsubscribe_link = h_unsubscribe_link,
    .script_function = h_script_function,
};

const parley_host *host_api_table(void)
{
	return &host;
}
