/* The plugin loader and provider registry.
 *
 * plugins_load: for each plugin of the config, in order: dlopen, find
 * parley_plugin_entry, refuse another ABI, run check() and report the keys
 * it did not read. Every plugin is tried so that one run shows every
 * problem; then any problem fails the load. plugins_init runs init() in
 * config order and, on a failure, fini()s those already started in reverse.
 * Providers register through host->provide while init runs; after the last
 * init the host demands one store and at least one auth provider.
 *
 * The registry is plain arrays: a handful of plugins, looked up on the loop
 * thread only. */
#include "host/host_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/curl_loop.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/workers.h"

#define PLUGIN_SUFFIX ".so"
/* How long shutdown waits for the store's calls and the pool's jobs in
 * flight (a store that does not answer must not hang the exit), and the
 * wake-up between checks. */
#define DRAIN_MS      10000
#define DRAIN_POLL_MS 50

static parley_ctx *ctxs[CONFIG_MAX_PLUGINS];
static int n_ctxs;
static int n_started; /* how many init()s succeeded, in order */
static int started;   /* every init ran */
static const struct config *cur_cfg;

/* Providers: store, uploads and cluster take one; auth and notify many. */
static struct provider single[PARLEY_PROVIDE__COUNT];
static struct provider auth_chain[CONFIG_MAX_PLUGINS];
static size_t n_auth;
static struct provider notify[CONFIG_MAX_PLUGINS];
static size_t n_notify;
static int provide_failed;

static const char *const kind_names[PARLEY_PROVIDE__COUNT] = {"store", "auth", "uploads", "notify",
                                                              "cluster"};

static void registry_reset(void)
{
	memset(single, 0, sizeof single);
	memset(auth_chain, 0, sizeof auth_chain);
	memset(notify, 0, sizeof notify);
	n_auth = n_notify = 0;
	provide_failed = 0;
}

static void ctx_free(parley_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->dl)
		dlclose(ctx->dl);
	conf_free(ctx->empty_conf);
	free(ctx->path);
	free(ctx->name);
	free(ctx);
}

/* Unloads everything (after fini where init ran). */
static void unload_all(void)
{
	for (int i = n_ctxs - 1; i >= 0; i--) {
		ctx_free(ctxs[i]);
		ctxs[i] = NULL;
	}
	n_ctxs = 0;
	n_started = 0;
	started = 0;
	registry_reset();
}

static parley_ctx *ctx_new(const struct config *cfg, const struct plugin_spec *spec, int index)
{
	parley_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return NULL;
	ctx->spec = spec;
	ctx->index = index;
	ctx->name = strdup(spec->name ? spec->name : "?");
	if (spec->path) {
		ctx->path = config_resolve(cfg->base_dir ? cfg->base_dir : ".", spec->path);
	} else {
		const char *dir = cfg->plugin_dir ? cfg->plugin_dir : ".";
		size_t n =
		    strlen(dir) + 1 + strlen(ctx->name ? ctx->name : "") + sizeof PLUGIN_SUFFIX;
		ctx->path = malloc(n);
		if (ctx->path)
			snprintf(ctx->path, n, "%s/%s%s", dir, ctx->name, PLUGIN_SUFFIX);
	}
	if (!spec->section)
		ctx->empty_conf = conf_empty(cfg->file);
	if (!ctx->name || !ctx->path || (!spec->section && !ctx->empty_conf)) {
		ctx_free(ctx);
		return NULL;
	}
	char esc[64];
	log_escape(esc, sizeof esc, ctx->name);
	snprintf(ctx->log_ctx, sizeof ctx->log_ctx, "\"plugin\":\"%s\"", esc);
	return ctx;
}

/* dlopen, entry point, ABI. 0 or -1 (reported). */
static int plugin_open(const struct config *cfg, parley_ctx *ctx)
{
	ctx->dl = dlopen(ctx->path, RTLD_NOW | RTLD_LOCAL);
	if (!ctx->dl) {
		const char *why = dlerror();
		const char *dir = cfg->plugin_dir ? cfg->plugin_dir : "unset";
		/* With a config entry, name its file, line and key path. */
		if (ctx->spec->section)
			conf_error(ctx->spec->section, NULL,
			           "plugin %s: cannot load %s: %s (is server.plugin_dir right? it "
			           "is %s)",
			           ctx->name, ctx->path, why ? why : "unknown error", dir);
		else
			log_error(
			    "plugin_load", ctx->log_ctx,
			    "plugin %s: cannot load %s: %s (is server.plugin_dir right? it is "
			    "%s)",
			    ctx->name, ctx->path, why ? why : "unknown error", dir);
		return -1;
	}
	dlerror();
	parley_plugin_entry_fn entry;
	/* POSIX blesses this cast of dlsym's object pointer. */
	*(void **)&entry = dlsym(ctx->dl, PARLEY_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		log_error("plugin_load", ctx->log_ctx,
		          "plugin %s (%s): no symbol %s: not a parley plugin (define it with "
		          "PARLEY_PLUGIN_DEFINE)",
		          ctx->name, ctx->path, PARLEY_PLUGIN_ENTRY_SYMBOL);
		return -1;
	}
	const parley_plugin *p = entry();
	if (!p) {
		log_error("plugin_load", ctx->log_ctx, "plugin %s (%s): %s returned NULL",
		          ctx->name, ctx->path, PARLEY_PLUGIN_ENTRY_SYMBOL);
		return -1;
	}
	if (p->abi != PARLEY_PLUGIN_ABI) {
		log_error("plugin_load", ctx->log_ctx,
		          "plugin %s (%s): built for plugin ABI %u, this server speaks ABI %u",
		          ctx->name, ctx->path, (unsigned)p->abi, (unsigned)PARLEY_PLUGIN_ABI);
		return -1;
	}
	if (!p->init) {
		log_error("plugin_load", ctx->log_ctx, "plugin %s (%s): it has no init function",
		          ctx->name, ctx->path);
		return -1;
	}
	ctx->plugin = p;
	return 0;
}

/* check() and the unknown keys of the section. 0 or -1 (reported). */
static int plugin_check(const struct config *cfg, parley_ctx *ctx)
{
	const parley_conf *section = plugins_host()->conf(ctx);
	int before = cfg->root ? conf_error_count(cfg->root) : 0;
	int rc = PARLEY_OK;
	if (ctx->plugin->check)
		rc = ctx->plugin->check(plugins_host(), ctx);
	int after = cfg->root ? conf_error_count(cfg->root) : 0;
	if (rc != PARLEY_OK || after > before) {
		log_error("plugin_check", ctx->log_ctx, "plugin %s: check failed", ctx->name);
		return -1;
	}
	if (conf_report_unread(section) > 0)
		return -1;
	return 0;
}

/* Plugins that cannot serve several nodes, refused beside a cluster
 * provider (cluster_*): each keeps its data on one machine's disk. */
static const struct {
	const char *name, *why;
} single_node_plugins[] = {
    {"store_sqlite", "its database is a file on one machine, not a store the nodes share; "
                     "use store_mongo"},
    {"uploads_local", "it keeps files on one node's disk, where the other nodes cannot read "
                      "them; use uploads_s3"},
};

static int cluster_conflicts(const struct config *cfg)
{
	const char *cluster = NULL;
	for (size_t i = 0; i < cfg->n_plugins && i < CONFIG_MAX_PLUGINS; i++)
		if (cfg->plugins[i].name && strncmp(cfg->plugins[i].name, "cluster_", 8) == 0)
			cluster = cfg->plugins[i].name;
	if (!cluster)
		return 0;
	int bad = 0;
	for (size_t i = 0; i < cfg->n_plugins && i < CONFIG_MAX_PLUGINS; i++)
		for (size_t k = 0; k < sizeof single_node_plugins / sizeof *single_node_plugins;
		     k++)
			if (cfg->plugins[i].name &&
			    strcmp(cfg->plugins[i].name, single_node_plugins[k].name) == 0) {
				log_error("plugin_check", NULL,
				          "plugin %s cannot run with %s (several nodes): %s",
				          single_node_plugins[k].name, cluster,
				          single_node_plugins[k].why);
				bad = 1;
			}
	return bad ? -1 : 0;
}

int plugins_load(const struct config *cfg, int admin_command)
{
	if (n_ctxs)
		return -1; /* already loaded */
	cur_cfg = cfg;
	host_api_configure(cfg, admin_command);
	registry_reset();
	int failed = 0;
	for (size_t i = 0; i < cfg->n_plugins && i < CONFIG_MAX_PLUGINS; i++) {
		parley_ctx *ctx = ctx_new(cfg, &cfg->plugins[i], (int)i);
		if (!ctx) {
			log_error("plugin_load", NULL, "out of memory loading plugin %s",
			          cfg->plugins[i].name ? cfg->plugins[i].name : "?");
			failed = 1;
			continue;
		}
		ctxs[n_ctxs++] = ctx;
		if (plugin_open(cfg, ctx) != 0 || plugin_check(cfg, ctx) != 0)
			failed = 1;
	}
	if (cluster_conflicts(cfg) != 0)
		failed = 1;
	if (failed) {
		unload_all();
		return -1;
	}
	for (int i = 0; i < n_ctxs; i++)
		host_api_ctx_open(ctxs[i]);
	return 0;
}

/* fini of the started plugins, last first. */
static void fini_started(void)
{
	for (int i = n_started - 1; i >= 0; i--) {
		parley_ctx *ctx = ctxs[i];
		if (ctx->plugin->fini)
			ctx->plugin->fini(ctx->state);
		ctx->state = NULL;
		host_api_ctx_release(ctx);
	}
	n_started = 0;
	started = 0;
	/* Hooks and waiting commands point into code about to be unloaded. */
	hooks_clear();
	host_api_reset();
	registry_reset();
}

static const char *config_file_name(void)
{
	return cur_cfg && cur_cfg->file ? cur_cfg->file : "the config file";
}

/* One start-up line per plugin: name, version and kind (what it provides,
 * or "hooks" for one that only listens), so an admin sees what runs. */
static void log_loaded(const parley_ctx *ctx)
{
	char kinds[128] = "", lctx[320], ver[64];
	size_t n = 0;
	for (int k = 0; k < PARLEY_PROVIDE__COUNT; k++)
		if (ctx->provides & (1u << k))
			n += (size_t)snprintf(kinds + n, sizeof kinds - n, "%s%s", n ? "+" : "",
			                      kind_names[k]);
	if (!n)
		snprintf(kinds, sizeof kinds, "%s", ctx->n_hooks ? "hooks" : "none");
	log_escape(ver, sizeof ver, ctx->plugin->version ? ctx->plugin->version : "?");
	snprintf(lctx, sizeof lctx, "%s,\"version\":\"%s\",\"kind\":\"%s\"", ctx->log_ctx, ver,
	         kinds);
	log_info("plugin_loaded", lctx, "plugin %s %s (%s) from %s", ctx->name, ver, kinds,
	         ctx->path);
}

static int init_started(int need_core_providers);

int plugins_init(void)
{
	return init_started(1);
}

int plugins_init_alone(void)
{
	return init_started(0);
}

static int init_started(int need_core_providers)
{
	const parley_host *host = plugins_host();
	for (int i = n_started; i < n_ctxs; i++) {
		parley_ctx *ctx = ctxs[i];
		int rc = ctx->plugin->init(host, ctx, &ctx->state);
		if (rc != PARLEY_OK) {
			log_error("plugin_init", ctx->log_ctx, "plugin %s: init failed (%d)",
			          ctx->name, rc);
			goto error;
		}
		n_started++;
	}
	if (provide_failed)
		goto error;
	if (need_core_providers && !single[PARLEY_PROVIDE_STORE].vtable) {
		log_error("plugin_init", NULL,
		          "no store provider: add { \"store_sqlite\" } to plugins in %s",
		          config_file_name());
		goto error;
	}
	if (need_core_providers && !n_auth) {
		log_error("plugin_init", NULL,
		          "no auth provider: add { \"auth_local\" } to plugins in %s",
		          config_file_name());
		goto error;
	}
	started = 1;
	for (int i = 0; i < n_ctxs; i++)
		log_loaded(ctxs[i]);
	return 0;
error:
	fini_started();
	return -1;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void plugins_drain(void)
{
	if (!started)
		return;
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int counted = PARLEY_HAS(parley_store_vtable, st, calls_pending);
	long long deadline = monotonic_ms() + DRAIN_MS;
	/* The writer's batches, the pool's reads and other jobs (auth_local's
	 * Argon2) come back as posts; their done()s may make further calls and
	 * jobs, waited for too. The pool is looked at before the posts are run:
	 * a job posts before it stops counting as busy. */
	for (;;) {
		size_t busy = workers_busy();
		loop_drain_posts();
		int calls = counted ? st->calls_pending(self) : 0;
		if (!busy && !calls && !workers_busy())
			return;
		if (monotonic_ms() >= deadline) {
			log_warn("store_calls_pending", NULL,
			         "%d store calls and %zu worker jobs still unfinished after %d ms: "
			         "stopping the plugins anyway",
			         calls, busy, DRAIN_MS);
			return;
		}
		loop_wait_posts(DRAIN_POLL_MS);
	}
}

void plugins_fini(void)
{
	/* Transfers still running belong to plugins (scripts have stopped):
	 * their done callbacks run now, aborted, while each plugin's state and
	 * code are still there, not after fini or the dlclose. */
	curl_loop_abort_all();
	/* Store calls and pool jobs in flight finish before any fini: their
	 * done()s run into the core and the plugins (auth_local's requests)
	 * while those are still there, and the store's last reference is
	 * dropped by its own fini, before the host's leak check. */
	plugins_drain();
	fini_started();
	/* fini may have posted completions (the store's writer finishing its
	 * queue) and reads may still run on the pool: both execute plugin
	 * code, so they finish before any plugin is unloaded. */
	if (loop_ev)
		loop_drain_posts();
	workers_stop();
	unload_all();
	cur_cfg = NULL;
}

void plugins_reload(void)
{
	for (int i = 0; i < n_started; i++) {
		parley_ctx *ctx = ctxs[i];
		if (!ctx->plugin->reload)
			continue;
		int rc = ctx->plugin->reload(ctx->state);
		if (rc != PARLEY_OK) {
			log_warn("plugin_reload", ctx->log_ctx, "plugin %s: reload failed (%d)",
			         ctx->name, rc);
			if (core_metrics.plugin_errors)
				metric_add(core_metrics.plugin_errors, 1);
		}
	}
}

int plugins_ready(char *buf, size_t len)
{
	int ok = 1;
	size_t used = 0;
	if (buf && len)
		buf[0] = '\0';
	for (int i = 0; i < n_started; i++) {
		parley_ctx *ctx = ctxs[i];
		if (!ctx->plugin->ready)
			continue;
		const char *why = NULL;
		if (ctx->plugin->ready(ctx->state, &why) == 1)
			continue;
		ok = 0;
		if (buf && used < len) {
			int n = snprintf(buf + used, len - used, "%s%s: %s", used ? "; " : "",
			                 ctx->name, why ? why : "not ready");
			if (n > 0)
				used += (size_t)n;
		}
	}
	if (!started) {
		ok = 0;
		if (buf && used < len)
			snprintf(buf + used, len - used, "%splugins not started", used ? "; " : "");
	}
	return ok;
}

/* The members a provider of each kind has had since ABI 1's first
 * release. Members appended later are optional: callers test them with
 * PARLEY_HAS and answer `unavailable` without them. */
#define BASE(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))
#define NEED(type, m)                                                                              \
	{                                                                                          \
#m, offsetof(type, m)                                                              \
	}
struct required {
	const char *name;
	size_t offset;
};
static const struct required store_needs[] = {
    NEED(parley_store_vtable, append),         NEED(parley_store_vtable, history),
    NEED(parley_store_vtable, message_get),    NEED(parley_store_vtable, message_edit),
    NEED(parley_store_vtable, message_delete), NEED(parley_store_vtable, react),
    NEED(parley_store_vtable, room_create),    NEED(parley_store_vtable, room_get),
    NEED(parley_store_vtable, room_set_topic), NEED(parley_store_vtable, rooms_list),
    NEED(parley_store_vtable, member_set),     NEED(parley_store_vtable, member_remove),
    NEED(parley_store_vtable, members_list),   NEED(parley_store_vtable, read_set),
    NEED(parley_store_vtable, user_create),    NEED(parley_store_vtable, user_get),
    NEED(parley_store_vtable, user_update),    NEED(parley_store_vtable, users_list),
    NEED(parley_store_vtable, session_create), NEED(parley_store_vtable, session_get),
    NEED(parley_store_vtable, session_delete), NEED(parley_store_vtable, invite_create),
    NEED(parley_store_vtable, invite_use)};
static const struct required auth_needs[] = {NEED(parley_auth_vtable, authenticate)};
static const struct required uploads_needs[] = {
    NEED(parley_uploads_vtable, begin), NEED(parley_uploads_vtable, write),
    NEED(parley_uploads_vtable, finish), NEED(parley_uploads_vtable, abort),
    NEED(parley_uploads_vtable, remove)};
static const struct required notify_needs[] = {NEED(parley_notify_vtable, send)};
static const struct required cluster_needs[] = {
    NEED(parley_cluster_vtable, start),     NEED(parley_cluster_vtable, publish),
    NEED(parley_cluster_vtable, subscribe), NEED(parley_cluster_vtable, unsubscribe),
    NEED(parley_cluster_vtable, up),        NEED(parley_cluster_vtable, node_id)};

static const struct {
	size_t base_size; /* struct_size of the first ABI 1 table */
	const struct required *needs;
	size_t n_needs;
} kind_rules[PARLEY_PROVIDE__COUNT] = {
    [PARLEY_PROVIDE_STORE] = {BASE(parley_store_vtable, invite_use), store_needs,
                              sizeof store_needs / sizeof *store_needs},
    [PARLEY_PROVIDE_AUTH] = {BASE(parley_auth_vtable, invite_create), auth_needs,
                             sizeof auth_needs / sizeof *auth_needs},
    [PARLEY_PROVIDE_UPLOADS] = {BASE(parley_uploads_vtable, local_path), uploads_needs,
                                sizeof uploads_needs / sizeof *uploads_needs},
    [PARLEY_PROVIDE_NOTIFY] = {BASE(parley_notify_vtable, send), notify_needs,
                               sizeof notify_needs / sizeof *notify_needs},
    [PARLEY_PROVIDE_CLUSTER] = {BASE(parley_cluster_vtable, node_id), cluster_needs,
                                sizeof cluster_needs / sizeof *cluster_needs},
};

/* Refuses a table that is too short or lacks a base member, naming the
 * plugin and the member, instead of crashing on the first call. */
static int provider_valid(const parley_ctx *ctx, int kind, const void *vtable)
{
	size_t size;
	memcpy(&size, vtable, sizeof size); /* every table begins with struct_size */
	if (size < kind_rules[kind].base_size) {
		log_error("plugin_provide", ctx->log_ctx,
		          "plugin %s: its %s table is %zu bytes, shorter than ABI %d's %zu "
		          "(struct_size not set?)",
		          ctx->name, kind_names[kind], size, PARLEY_PLUGIN_ABI,
		          kind_rules[kind].base_size);
		return 0;
	}
	for (size_t i = 0; i < kind_rules[kind].n_needs; i++) {
		void *fn;
		memcpy(&fn, (const char *)vtable + kind_rules[kind].needs[i].offset, sizeof fn);
		if (!fn) {
			log_error(
			    "plugin_provide", ctx->log_ctx,
			    "plugin %s: its %s table has no %s, which every %s provider must have",
			    ctx->name, kind_names[kind], kind_rules[kind].needs[i].name,
			    kind_names[kind]);
			return 0;
		}
	}
	if (kind == PARLEY_PROVIDE_UPLOADS) {
		const parley_uploads_vtable *u = vtable;
		if (!u->read && !u->presign) {
			log_error("plugin_provide", ctx->log_ctx,
			          "plugin %s: an uploads provider needs read or presign, and it "
			          "has neither",
			          ctx->name);
			return 0;
		}
		/* The object store for backups (issue 17) is all or nothing: the
		 * core tests one member and then calls the others. */
		int objects = PARLEY_HAS(parley_uploads_vtable, u, put_object) +
		              PARLEY_HAS(parley_uploads_vtable, u, get_object) +
		              PARLEY_HAS(parley_uploads_vtable, u, list_objects) +
		              PARLEY_HAS(parley_uploads_vtable, u, delete_object);
		if (objects != 0 && objects != 4) {
			log_error("plugin_provide", ctx->log_ctx,
			          "plugin %s: its uploads table has %d of the four object members "
			          "(put_object, get_object, list_objects, delete_object): all or "
			          "none",
			          ctx->name, objects);
			return 0;
		}
	}
	return 1;
}

int plugins_provide(parley_ctx *ctx, int kind, const void *vtable, void *self)
{
	if (!ctx || !vtable || kind < 0 || kind >= PARLEY_PROVIDE__COUNT)
		return PARLEY_EINVAL;
	if (!provider_valid(ctx, kind, vtable)) {
		provide_failed = 1;
		return PARLEY_EINVAL;
	}
	struct provider p = {.ctx = ctx, .vtable = vtable, .self = self};
	if (kind == PARLEY_PROVIDE_AUTH || kind == PARLEY_PROVIDE_NOTIFY) {
		struct provider *list = kind == PARLEY_PROVIDE_AUTH ? auth_chain : notify;
		size_t *n = kind == PARLEY_PROVIDE_AUTH ? &n_auth : &n_notify;
		if (*n == CONFIG_MAX_PLUGINS)
			return PARLEY_ETOOLARGE;
		list[(*n)++] = p;
		ctx->provides |= 1u << kind;
		return PARLEY_OK;
	}
	if (single[kind].vtable) {
		log_error("plugin_provide", ctx->log_ctx,
		          "plugin %s: only one %s provider may be loaded, and plugin %s is one; "
		          "remove one of them from plugins in %s",
		          ctx->name, kind_names[kind], single[kind].ctx->name, config_file_name());
		provide_failed = 1;
		return PARLEY_ECONFLICT;
	}
	single[kind] = p;
	ctx->provides |= 1u << kind;
	return PARLEY_OK;
}

int plugins_started(void)
{
	return started;
}

const parley_store_vtable *plugins_uploads_store(void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	return PARLEY_HAS(parley_store_vtable, st, upload_usage) && st->upload_create ? st : NULL;
}

const parley_uploads_vtable *plugins_uploads(void **self)
{
	const struct provider *p = plugins_provider(PARLEY_PROVIDE_UPLOADS);
	void *st_self;
	if (!p || !plugins_uploads_store(&st_self))
		return NULL;
	*self = p->self;
	return p->vtable;
}

const parley_store_vtable *plugins_store(void **self)
{
	const struct provider *p = &single[PARLEY_PROVIDE_STORE];
	if (self)
		*self = p->self;
	return p->vtable;
}

int plugins_has_provider(int kind)
{
	if (kind < 0 || kind >= PARLEY_PROVIDE__COUNT)
		return 0;
	if (kind == PARLEY_PROVIDE_AUTH)
		return n_auth > 0;
	if (kind == PARLEY_PROVIDE_NOTIFY)
		return n_notify > 0;
	return single[kind].vtable != NULL;
}

const struct provider *plugins_provider(int kind)
{
	if (kind < 0 || kind >= PARLEY_PROVIDE__COUNT || !single[kind].vtable)
		return NULL;
	return &single[kind];
}

size_t plugins_notify(const struct provider **out)
{
	if (out)
		*out = notify;
	return n_notify;
}

size_t plugins_auth(const struct provider **out)
{
	if (out)
		*out = auth_chain;
	return n_auth;
}

const parley_host *plugins_host(void)
{
	return host_api_table();
}
