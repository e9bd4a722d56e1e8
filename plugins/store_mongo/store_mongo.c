/* store_mongo: the store on MongoDB (mongo-c-driver). Every call runs on
 * the plugin's own threads (lanes.c) over a mongoc_client_pool_t and comes
 * back to the loop with host->post; a monitor (health.c) connects, sets
 * the schema up (schema.c) and answers ready(). An unreachable database
 * does not stop the server from starting: calls fail with EUNAVAIL until
 * the monitor sees it again.
 *
 * This file is the plugin descriptor, its config section and the vtable:
 * each call validates and copies its arguments into an op (the op of
 * store_sqlite, ../store_sqlite/op.c) on the loop thread and queues it on
 * the lane of its room or user. Built against include/parley/plugin.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>
#include <parley/plugin.h>

#include "access.h"
#include "accounts.h"
#include "health.h"
#include "ids.h"
#include "calls.h"
#include "cluster.h"
#include "kv.h"
#include "lifecycle.h"
#include "lanes.h"
#include "threads.h"
#include "mdb.h"
#include "messages.h"
#include "mentions.h"
#include "notify.h"
#include "pins.h"
#include "room_delete.h"
#include "room_settings.h"
#include "rooms.h"
#include "schema.h"
#include "search.h"
#include "store.h"
#include "upload_expiry.h"
#include "uploads.h"
#include "vtable.h"

#define DEFAULT_URI        "mongodb://127.0.0.1:27017"
#define DEFAULT_DATABASE   "parley"
#define DEFAULT_POOL_MAX   4
#define DEFAULT_TIMEOUT_S  5
#define DEFAULT_HOLE_AFTER 60
#define MAX_POOL           100
#define MAX_TIMEOUT_S      600
#define MAX_W              50

/* ------------------------------------------------------------------ */
/* Config                                                              */
/* ------------------------------------------------------------------ */

static int conf_range(const parley_host *h, const parley_conf *c, const char *key, int64_t lo,
                      int64_t hi, int *out)
{
	int64_t v;
	int got = h->conf_int(c, key, &v);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	if (v < lo || v > hi) {
		h->conf_error(c, key, "must be between %lld and %lld", (long long)lo,
		              (long long)hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* MongoDB's rules for database names: 1..63 bytes, none of /\. "$ */
static int database_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < 64 && !strpbrk(s, "/\\. \"$");
}

/* Reads (and so marks as known) every key of the section and parses the
 * URI without connecting. 0, or -1 after reporting each problem. *uri is
 * the parsed URI when out_uri is given (caller destroys). */
static int config_read(const parley_host *h, parley_ctx *ctx, struct store_config *cfg,
                       mongoc_uri_t **out_uri)
{
	const parley_conf *c = h->conf(ctx);
	int bad = 0;
	cfg->uri = DEFAULT_URI;
	cfg->database = DEFAULT_DATABASE;
	cfg->write_concern = "majority";
	cfg->journal = 1;
	cfg->pool_max = DEFAULT_POOL_MAX;
	cfg->timeout_s = DEFAULT_TIMEOUT_S;
	cfg->hole_after_s = DEFAULT_HOLE_AFTER;
	if (c) {
		if (h->conf_str(c, "uri", &cfg->uri) < 0)
			bad = 1;
		if (h->conf_str(c, "database", &cfg->database) < 0) {
			bad = 1;
		} else if (!database_name_ok(cfg->database)) {
			h->conf_error(c, "database",
			              "must be 1 to 63 characters without / \\ . space \" or $");
			bad = 1;
		}
		int got = h->conf_str(c, "write_concern", &cfg->write_concern);
		if (got < 0) {
			bad = 1;
		} else if (got > 0 && strcmp(cfg->write_concern, "majority") != 0) {
			char *end = NULL;
			long w = strtol(cfg->write_concern, &end, 10);
			if (!*cfg->write_concern || *end || w < 1 || w > MAX_W) {
				h->conf_error(c, "write_concern",
				              "must be \"majority\" or a number of nodes (1..%d), "
				              "not \"%s\"",
				              MAX_W, cfg->write_concern);
				bad = 1;
			}
		}
		if (h->conf_bool(c, "journal", &cfg->journal) < 0)
			bad = 1;
		bad |= conf_range(h, c, "pool_max", 1, MAX_POOL, &cfg->pool_max);
		bad |= conf_range(h, c, "timeout", 1, MAX_TIMEOUT_S, &cfg->timeout_s);
		bad |= conf_range(h, c, "seq_hole_after", 1, 86400, &cfg->hole_after_s);
	}
	bson_error_t err;
	mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->uri, &err);
	if (!uri) {
		if (c)
			h->conf_error(c, "uri", "not a MongoDB URI: %s", err.message);
		else
			h->log(ctx, PARLEY_LOG_ERROR, "config", "uri: %s", err.message);
		return -1;
	}
	if (out_uri && !bad)
		*out_uri = uri;
	else
		mongoc_uri_destroy(uri);
	return bad ? -1 : 0;
}

/* The config's durability and timeouts on the URI, which every client of
 * the pool (and the monitor's) inherits. */
static void uri_apply(mongoc_uri_t *uri, const struct store_config *cfg)
{
	int32_t ms = cfg->timeout_s * 1000;
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, cfg->pool_max);
	mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true);
	mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS, true);
	if (!mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_APPNAME, NULL))
		mongoc_uri_set_appname(uri, "parley");
	mongoc_write_concern_t *wc = mongoc_write_concern_new();
	if (strcmp(cfg->write_concern, "majority") == 0)
		mongoc_write_concern_set_wmajority(wc, ms);
	else {
		mongoc_write_concern_set_w(wc, (int32_t)atoi(cfg->write_concern));
		mongoc_write_concern_set_wtimeout_int64(wc, ms);
	}
	mongoc_write_concern_set_journal(wc, cfg->journal != 0);
	mongoc_uri_set_write_concern(uri, wc);
	mongoc_write_concern_destroy(wc);
	/* Reads see what a majority acknowledged: what was acked survives a
	 * failover, so history never shows a message that later vanishes. */
	mongoc_read_concern_t *rc = mongoc_read_concern_new();
	mongoc_read_concern_set_level(rc, MONGOC_READ_CONCERN_LEVEL_MAJORITY);
	if (strcmp(cfg->write_concern, "majority") == 0)
		mongoc_uri_set_read_concern(uri, rc);
	mongoc_read_concern_destroy(rc);
}

/* ------------------------------------------------------------------ */
/* Logging from any thread                                             */
/* ------------------------------------------------------------------ */

struct log_line {
	struct store *st;
	int level;
	char event[32];
	char text[];
};

static void log_on_loop(void *arg)
{
	struct log_line *l = arg;
	l->st->host->log(l->st->ctx, l->level, l->event, "%s", l->text);
	store_unref(l->st);
	free(l);
}

void store_log(struct store *st, int level, const char *event, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	size_t n = strlen(text) + 1;
	struct log_line *l = malloc(sizeof *l + n);
	if (!l)
		return;
	l->st = st;
	l->level = level;
	snprintf(l->event, sizeof l->event, "%s", event);
	memcpy(l->text, text, n);
	__atomic_add_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
	st->host->post(st->ctx, log_on_loop, l);
}

/* mongoc's own log lines (its threads too) into parley's JSON log. The
 * handler is process-wide: one store_mongo per process owns it. */
static void mongoc_logged(mongoc_log_level_t level, const char *domain, const char *message,
                          void *ud)
{
	int ours;
	switch (level) {
	case MONGOC_LOG_LEVEL_ERROR:
	case MONGOC_LOG_LEVEL_CRITICAL:
		ours = PARLEY_LOG_ERROR;
		break;
	case MONGOC_LOG_LEVEL_WARNING:
		ours = PARLEY_LOG_WARN;
		break;
	case MONGOC_LOG_LEVEL_MESSAGE:
	case MONGOC_LOG_LEVEL_INFO:
		ours = PARLEY_LOG_INFO;
		break;
	default:
		return; /* debug and trace: the driver's own tracing builds only */
	}
	store_log(ud, ours, "mongoc", "%s: %s", domain, message);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

void store_unref(struct store *st)
{
	if (__atomic_sub_fetch(&st->refs, 1, __ATOMIC_SEQ_CST) > 0)
		return;
	if (st->pool)
		mongoc_client_pool_destroy(st->pool);
	if (st->uri)
		mongoc_uri_destroy(st->uri);
	free(st->database);
	free(st);
}

static int store_check(const parley_host *host, parley_ctx *ctx)
{
	struct store_config cfg;
	mongoc_init();
	return config_read(host, ctx, &cfg, NULL) == 0 ? PARLEY_OK : PARLEY_EINVAL;
}

static const parley_store_vtable store_vtable;

/* One try at the schema at start: a newer schema refuses the start; an
 * unreachable database does not (the monitor keeps trying). 1 done, 0 not
 * yet, -1 refused. */
static int schema_at_start(struct store *st)
{
	char err[300];
	mongoc_client_t *client = mongoc_client_new_from_uri(st->uri);
	if (!client)
		return 0;
	int rc = schema_setup(client, st->database, err, sizeof err);
	mongoc_client_destroy(client);
	if (rc == PARLEY_OK)
		return 1;
	if (rc == PARLEY_EINVAL) {
		st->host->log(st->ctx, PARLEY_LOG_ERROR, "schema_refused", "%s", err);
		return -1;
	}
	st->host->log(st->ctx, PARLEY_LOG_WARN, "database_down",
	              "%s; starting anyway, store calls answer unavailable until it is reachable",
	              err);
	return 0;
}

static void stop_threads(struct store *st)
{
	lanes_stop(st->lanes);
	st->lanes = NULL;
	if (st->health) {
		int holes = health_holes(st->health);
		if (holes)
			st->host->log(st->ctx, PARLEY_LOG_WARN, "seq_holes_left",
			              "%d seq holes not filled yet (the database was down)", holes);
		health_stop(st->health);
		st->health = NULL;
	}
	mongoc_log_set_handler(NULL, NULL);
}

static int store_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	char err[256];
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		return PARLEY_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	st->refs = 1;
	mongoc_init();
	int rc = PARLEY_EINVAL;
	if (config_read(host, ctx, &st->cfg, &st->uri) != 0)
		goto fail;
	uri_apply(st->uri, &st->cfg);
	rc = PARLEY_ENOMEM;
	if (!(st->database = strdup(st->cfg.database)))
		goto fail;
	mongoc_log_set_handler(mongoc_logged, st);
	rc = PARLEY_EUNAVAIL;
	if (!(st->pool = mongoc_client_pool_new(st->uri)))
		goto fail;
	mongoc_client_pool_set_error_api(st->pool, MONGOC_ERROR_API_VERSION_2);
	int schema = schema_at_start(st);
	rc = PARLEY_EINVAL;
	if (schema < 0)
		goto fail;
	rc = PARLEY_EUNAVAIL;
	if (!(st->health = health_start(st, schema)))
		goto fail;
	if (!(st->lanes = lanes_start(st, st->cfg.pool_max, err, sizeof err))) {
		host->log(ctx, PARLEY_LOG_ERROR, "store_open_failed", "%s", err);
		goto fail;
	}
	if ((rc = host->provide(ctx, PARLEY_PROVIDE_STORE, &store_vtable, st)) != PARLEY_OK)
		goto fail;
	if (PARLEY_HOST_HAS(host, counter)) {
		st->m_ops = host->counter(ctx, "ops_total", "store calls finished");
		st->m_unavailable = host->counter(ctx, "unavailable_total",
		                                  "store calls failed: database unavailable");
	}
	host->log(ctx, PARLEY_LOG_INFO, "store_open",
	          "database %s (schema version %d, write concern %s, journal %s, %d threads)",
	          st->database, schema_version(), st->cfg.write_concern,
	          st->cfg.journal ? "on" : "off", st->cfg.pool_max);
	*state = st;
	return PARLEY_OK;
fail:
	stop_threads(st);
	store_unref(st);
	return rc;
}

static void store_fini(void *state)
{
	struct store *st = state;
	st->stopped = 1;
	/* Every queued op runs and posts its done() before this returns; the
	 * host drains those posts before it unloads the plugin. */
	stop_threads(st);
	store_unref(st);
}

static int store_ready(void *state, const char **why)
{
	struct store *st = state;
	if (st->stopped) {
		*why = "stopped";
		return 0;
	}
	if (!health_ok(st->health, st->why, sizeof st->why)) {
		*why = st->why;
		return 0;
	}
	return 1;
}

static const parley_plugin store_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "store_mongo",
    .version = "0.1.0",
    .check = store_check,
    .init = store_init,
    .fini = store_fini,
    .ready = store_ready,
};

PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(store_plugin)

/* ------------------------------------------------------------------ */
/* The vtable                                                          */
/* ------------------------------------------------------------------ */

struct op *begin(void *self, const char *name, op_exec_fn exec, parley_store_done done, void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return NULL;
	return op_new(st, name, exec, done, ud);
}

/* submit and submit_long: the long lane when long_lane, else key's. */
static int queue(struct op *op, const char *key, int long_lane)
{
	if (!op)
		return PARLEY_EUNAVAIL;
	if (op->oom) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	struct store *st = op->st;
	__atomic_add_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
	int rc = long_lane ? lanes_submit_long(st->lanes, op) : lanes_submit(st->lanes, op, key);
	if (rc != PARLEY_OK) {
		__atomic_sub_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
		op_free(op);
		return rc;
	}
	return PARLEY_PENDING;
}

int submit(struct op *op, const char *key)
{
	return queue(op, key, 0);
}

int submit_long(struct op *op)
{
	return queue(op, NULL, 1);
}

struct op *store_op_begin(void *self, const char *name, op_exec_fn exec, parley_store_done done,
                          void *ud)
{
	return begin(self, name, exec, done, ud);
}

int store_op_submit(struct op *op, const char *key)
{
	return submit(op, key);
}

int bad_args(struct op *op)
{
	op_free(op);
	return PARLEY_EINVAL;
}

static int64_t now_or(const struct store *st, int64_t ts)
{
	return ts ? ts : st->host->now_ms();
}

static int is_id(const char *s, const char *prefix)
{
	int64_t n;
	return ids_parse(s, prefix, &n);
}

static int v_append(void *self, const parley_message *m, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "append", messages_append, done, ud);
	int64_t user;
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!m || !ids_parse(m->room_id, "r", &op->args.append.room_n) ||
	    !ids_parse(m->user_id, "u", &user))
		return bad_args(op);
	op->msg.room_id = op_strdup(op, m->room_id);
	op->msg.user_id = op_strdup(op, m->user_id);
	op->msg.text = op_strdup(op, m->text);
	op->msg.client_id = op_strdup(op, m->client_id);
	op->msg.reply_to = op_strdup(op, m->reply_to);
	op->msg.mentions_json = op_strdup(op, m->mentions_json);
	op->msg.attachments_json = op_strdup(op, m->attachments_json);
	op->msg.ts = now_or(self, m->ts);
	if (op_reserve_messages(op, 1) != 0)
		op->oom = 1;
	return submit(op, m->room_id);
}

static int v_history(void *self, const char *room_id, int64_t before, int64_t after, int limit,
                     parley_store_done done, void *ud)
{
	struct op *op = begin(self, "history", messages_history, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r") || limit < 1 || limit > MESSAGES_HISTORY_MAX || before < 0)
		return bad_args(op);
	op->args.history.room = op_strdup(op, room_id);
	op->args.history.before = before;
	op->args.history.after = before > 0 ? -1 : after;
	op->args.history.limit = limit;
	return submit(op, room_id);
}

/* 1 when room_id and msg_id are well-formed ids. */
static int room_msg_ok(const char *room_id, const char *msg_id)
{
	return is_id(room_id, "r") && is_id(msg_id, "m");
}

static void message_args(struct op *op, const char *room_id, const char *msg_id)
{
	op->args.message.room = op_strdup(op, room_id);
	op->args.message.message = op_strdup(op, msg_id);
}

static int v_message_get(void *self, const char *room_id, const char *msg_id,
                         parley_store_done done, void *ud)
{
	struct op *op = begin(self, "message_get", messages_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg_ok(room_id, msg_id))
		return bad_args(op);
	message_args(op, room_id, msg_id);
	return submit(op, room_id);
}

static int v_message_edit(void *self, const char *room_id, const char *msg_id, const char *text,
                          const char *mentions_json, int64_t edited_ts, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "message_edit", lifecycle_edit, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg_ok(room_id, msg_id) || !text)
		return bad_args(op);
	op->args.edit.room = op_strdup(op, room_id);
	op->args.edit.message = op_strdup(op, msg_id);
	op->args.edit.text = op_strdup(op, text);
	op->args.edit.mentions_json = op_strdup(op, mentions_json);
	op->args.edit.edited_ts = now_or(self, edited_ts);
	return submit(op, room_id);
}

static int v_message_delete(void *self, const char *room_id, const char *msg_id,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "message_delete", messages_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg_ok(room_id, msg_id))
		return bad_args(op);
	message_args(op, room_id, msg_id);
	return submit(op, room_id);
}

static int v_react(void *self, const char *room_id, const char *msg_id, const char *user_id,
                   const char *emoji, int on, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "react", messages_react, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg_ok(room_id, msg_id) || !is_id(user_id, "u") || !emoji || !*emoji)
		return bad_args(op);
	op->args.react.room = op_strdup(op, room_id);
	op->args.react.message = op_strdup(op, msg_id);
	op->args.react.user = op_strdup(op, user_id);
	op->args.react.emoji = op_strdup(op, emoji);
	op->args.react.on = on != 0;
	return submit(op, room_id);
}

static int v_room_create(void *self, const parley_room *r, const char *owner_role,
                         parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_create", rooms_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!r || !r->name || !*r->name || (r->created_by && !is_id(r->created_by, "u")))
		return bad_args(op);
	op->room.name = op_strdup(op, r->name);
	op->room.kind = op_strdup(op, r->kind ? r->kind : "public");
	op->room.topic = op_strdup(op, r->topic);
	op->room.created_ts = now_or(self, r->created_ts);
	op->args.room_create.owner_role = op_strdup(op, owner_role ? owner_role : "owner");
	op->args.room_create.creator = op_strdup(op, r->created_by);
	return submit(op, NULL);
}

static int v_room_get(void *self, const char *room_id, const char *name, parley_store_done done,
                      void *ud)
{
	struct op *op = begin(self, "room_get", rooms_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (room_id ? !is_id(room_id, "r") : !name)
		return bad_args(op);
	op->args.lookup.id = op_strdup(op, room_id);
	op->args.lookup.name = op_strdup(op, name);
	return submit(op, room_id);
}

static int v_room_set_topic(void *self, const char *room_id, const char *topic,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_set_topic", rooms_set_topic, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r"))
		return bad_args(op);
	op->args.topic.room = op_strdup(op, room_id);
	op->args.topic.topic = op_strdup(op, topic);
	return submit(op, room_id);
}

static int v_rooms_list(void *self, parley_store_done done, void *ud)
{
	return submit(begin(self, "rooms_list", rooms_list, done, ud), NULL);
}

/* A (room, user) pair into the member args, with their numbers; 0 when
 * malformed. */
static int member_args(struct op *op, const char *room_id, const char *user_id)
{
	if (!ids_parse(room_id, "r", &op->args.member.room_n) ||
	    !ids_parse(user_id, "u", &op->args.member.user_n))
		return 0;
	op->args.member.room = op_strdup(op, room_id);
	op->args.member.user = op_strdup(op, user_id);
	return 1;
}

static int v_member_set(void *self, const char *room_id, const char *user_id, const char *role,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "member_set", rooms_member_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!member_args(op, room_id, user_id))
		return bad_args(op);
	op->args.member.role = op_strdup(op, role ? role : "member");
	return submit(op, room_id);
}

static int v_member_remove(void *self, const char *room_id, const char *user_id,
                           parley_store_done done, void *ud)
{
	struct op *op = begin(self, "member_remove", rooms_member_remove, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!member_args(op, room_id, user_id))
		return bad_args(op);
	return submit(op, room_id);
}

static int v_members_list(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "members_list", rooms_members_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (room_id && !is_id(room_id, "r"))
		return bad_args(op);
	op->args.members.room = op_strdup(op, room_id);
	return submit(op, room_id);
}

static int v_read_set(void *self, const char *room_id, const char *user_id, int64_t seq,
                      parley_store_done done, void *ud)
{
	struct op *op = begin(self, "read_set", rooms_read_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r") || !is_id(user_id, "u") || seq < 0)
		return bad_args(op);
	op->args.read_set.room = op_strdup(op, room_id);
	op->args.read_set.user = op_strdup(op, user_id);
	op->args.read_set.seq = seq;
	return submit(op, room_id);
}

static void copy_user(struct op *op, const parley_user *u)
{
	op->user.id = op_strdup(op, u->id);
	op->user.name = op_strdup(op, u->name);
	op->user.display_name = op_strdup(op, u->display_name);
	op->user.role = op_strdup(op, u->role);
	op->user.email = op_strdup(op, u->email);
	op->user.password_hash = op_strdup(op, u->password_hash);
	op->user.disabled = u->disabled;
	op->user.created_ts = u->created_ts;
}

static int v_user_create(void *self, const parley_user *u, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "user_create", accounts_user_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!u || !u->name || !*u->name)
		return bad_args(op);
	copy_user(op, u);
	op->user.id = NULL;
	if (!op->user.role)
		op->user.role = op_strdup(op, "member");
	op->user.created_ts = now_or(self, u->created_ts);
	return submit(op, NULL);
}

static int v_user_get(void *self, const char *user_id, const char *name, parley_store_done done,
                      void *ud)
{
	struct op *op = begin(self, "user_get", accounts_user_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (user_id ? !is_id(user_id, "u") : !name)
		return bad_args(op);
	op->args.lookup.id = op_strdup(op, user_id);
	op->args.lookup.name = op_strdup(op, name);
	return submit(op, user_id);
}

static int v_user_update(void *self, const parley_user *u, int set_disabled, parley_store_done done,
                         void *ud)
{
	struct op *op = begin(self, "user_update", accounts_user_update, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!u || !is_id(u->id, "u") || (u->name && !*u->name))
		return bad_args(op);
	copy_user(op, u);
	op->args.user_update.set_disabled = set_disabled != 0;
	return submit(op, u->id);
}

static int v_users_list(void *self, parley_store_done done, void *ud)
{
	return submit(begin(self, "users_list", accounts_users_list, done, ud), NULL);
}

static int session_op(struct op *op, const parley_session *s, const char *scopes,
                      const char *rooms_json)
{
	if (!s || !s->token_hash || !is_id(s->user_id, "u"))
		return bad_args(op);
	op->session.token_hash = op_strdup(op, s->token_hash);
	op->session.user_id = op_strdup(op, s->user_id);
	op->session.created_ts = now_or(op->st, s->created_ts);
	op->session.expires_ts = s->expires_ts;
	op->session.scopes = op_strdup(op, scopes);
	op->session.rooms_json = op_strdup(op, rooms_json);
	return submit(op, s->token_hash);
}

static int v_session_create(void *self, const parley_session *s, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_create", accounts_session_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	return session_op(op, s, NULL, NULL);
}

static int v_session_create_scoped(void *self, const parley_session *s, const char *scopes,
                                   const char *rooms_json, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_create", accounts_session_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!scopes)
		return bad_args(op);
	return session_op(op, s, scopes, rooms_json);
}

static int v_session_get(void *self, const char *token_hash, int64_t now_ms, parley_store_done done,
                         void *ud)
{
	struct op *op = begin(self, "session_get", accounts_session_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!token_hash)
		return bad_args(op);
	op->args.token_at.token_hash = op_strdup(op, token_hash);
	op->args.token_at.now_ms = now_ms;
	return submit(op, token_hash);
}

static int v_session_delete(void *self, const char *token_hash, const char *user_id,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_delete", accounts_session_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if ((!token_hash && !user_id) || (user_id && !is_id(user_id, "u")))
		return bad_args(op);
	op->args.session_delete.token_hash = op_strdup(op, token_hash);
	op->args.session_delete.user = op_strdup(op, user_id);
	return submit(op, token_hash ? token_hash : user_id);
}

static int v_invite_create(void *self, const parley_invite *inv, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invite_create", accounts_invite_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!inv || !inv->token_hash || (inv->created_by && !is_id(inv->created_by, "u")))
		return bad_args(op);
	op->invite.token_hash = op_strdup(op, inv->token_hash);
	op->invite.role = op_strdup(op, inv->role ? inv->role : "member");
	op->invite.email = op_strdup(op, inv->email);
	op->invite.created_by = op_strdup(op, inv->created_by);
	op->invite.created_ts = now_or(self, inv->created_ts);
	op->invite.expires_ts = inv->expires_ts;
	return submit(op, inv->token_hash);
}

static int v_invite_use(void *self, const char *token_hash, int64_t now_ms, parley_store_done done,
                        void *ud)
{
	struct op *op = begin(self, "invite_use", accounts_invite_use, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	/* used_ts = now_ms marks it used: 0 would leave it usable. */
	if (!token_hash || now_ms <= 0)
		return bad_args(op);
	op->args.token_at.token_hash = op_strdup(op, token_hash);
	op->args.token_at.now_ms = now_ms;
	return submit(op, token_hash);
}

static int v_user_by_email(void *self, const char *email, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "user_by_email", access_user_by_email, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!email || !*email)
		return bad_args(op);
	op->args.by_email.email = op_strdup(op, email);
	return submit(op, NULL);
}

static int v_token_create(void *self, const char *kind, const char *token_hash, const char *user_id,
                          int64_t expires_ts, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "token_create", access_token_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !token_hash || !is_id(user_id, "u"))
		return bad_args(op);
	op->args.token_create.kind = op_strdup(op, kind);
	op->args.token_create.token_hash = op_strdup(op, token_hash);
	op->args.token_create.user = op_strdup(op, user_id);
	op->args.token_create.expires_ts = expires_ts;
	op->args.token_create.created_ts = now_or(self, 0);
	return submit(op, token_hash);
}

static int v_token_use(void *self, const char *kind, const char *token_hash, int64_t now_ms,
                       parley_store_done done, void *ud)
{
	struct op *op = begin(self, "token_use", access_token_use, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !token_hash || now_ms <= 0)
		return bad_args(op);
	op->args.token_use.kind = op_strdup(op, kind);
	op->args.token_use.token_hash = op_strdup(op, token_hash);
	op->args.token_use.now_ms = now_ms;
	return submit(op, token_hash);
}

static int v_token_peek(void *self, const char *kind, const char *token_hash, int64_t now_ms,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "token_peek", access_token_peek, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !token_hash || now_ms <= 0)
		return bad_args(op);
	op->args.token_use.kind = op_strdup(op, kind);
	op->args.token_use.token_hash = op_strdup(op, token_hash);
	op->args.token_use.now_ms = now_ms;
	return submit(op, token_hash);
}

static int v_invites_list(void *self, int64_t now_ms, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invites_list", access_invites_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.invites_list.now_ms = now_ms;
	return submit(op, NULL);
}

static int v_invite_revoke(void *self, const char *token_hash, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invite_revoke", access_invite_revoke, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!token_hash)
		return bad_args(op);
	op->args.invite_revoke.token_hash = op_strdup(op, token_hash);
	return submit(op, token_hash);
}

static int v_audit_append(void *self, const parley_audit *a, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "audit_append", access_audit_append, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!a || !a->action || (a->actor_id && !is_id(a->actor_id, "u")))
		return bad_args(op);
	op->audit.ts = now_or(self, a->ts);
	op->audit.actor_id = op_strdup(op, a->actor_id);
	op->audit.action = op_strdup(op, a->action);
	op->audit.target = op_strdup(op, a->target);
	op->audit.detail = op_strdup(op, a->detail);
	op->audit.client = op_strdup(op, a->client);
	return submit(op, NULL);
}

static int v_audit_list(void *self, int64_t before, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "audit_list", access_audit_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (before < 0 || limit < 1 || limit > 500)
		return bad_args(op);
	op->args.audit_list.before = before;
	op->args.audit_list.limit = limit;
	return submit(op, NULL);
}

static int v_settings_get(void *self, const char *user_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "settings_get", access_settings_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(user_id, "u"))
		return bad_args(op);
	op->args.user.user = op_strdup(op, user_id);
	return submit(op, user_id);
}

static int v_settings_set(void *self, const char *user_id, const char *json, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "settings_set", access_settings_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!json || !is_id(user_id, "u"))
		return bad_args(op);
	op->args.settings_set.user = op_strdup(op, user_id);
	op->args.settings_set.json = op_strdup(op, json);
	return submit(op, user_id);
}

/* kv: owner and key are the script's name and its own key (text). */
static struct op *kv_op(void *self, const char *name, op_exec_fn exec, const char *owner,
                        const char *key, parley_store_done done, void *ud)
{
	struct op *op = begin(self, name, exec, done, ud);
	if (op) {
		op->args.kv.owner = op_strdup(op, owner);
		op->args.kv.key = op_strdup(op, key);
	}
	return op;
}

static int v_kv_get(void *self, const char *owner, const char *key, parley_store_done done,
                    void *ud)
{
	struct op *op = kv_op(self, "kv_get", kv_get, owner, key, done, ud);
	if (op && (!owner || !key))
		return bad_args(op);
	return submit(op, key);
}

static int v_kv_set(void *self, const char *owner, const char *key, const char *value,
                    parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_set", kv_set, owner, key, done, ud);
	if (op && (!owner || !key || !value))
		return bad_args(op);
	if (op)
		op->args.kv.value = op_strdup(op, value);
	return submit(op, key);
}

static int v_kv_delete(void *self, const char *owner, const char *key, parley_store_done done,
                       void *ud)
{
	struct op *op = kv_op(self, "kv_delete", kv_delete, owner, key, done, ud);
	if (op && (!owner || !key))
		return bad_args(op);
	return submit(op, key);
}

static int v_kv_incr(void *self, const char *owner, const char *key, int64_t delta,
                     parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_incr", kv_incr, owner, key, done, ud);
	if (op && (!owner || !key))
		return bad_args(op);
	if (op)
		op->args.kv.delta = delta;
	return submit(op, key);
}

/* On the owner's lane, not the key's: capped writes of one owner run one
 * at a time on this node (kv.c). */
static int v_kv_put_capped(void *self, const char *owner, const char *key, const char *value,
                           int64_t delta, int64_t max_keys, int64_t max_bytes,
                           parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_put_capped", kv_put_capped, owner, key, done, ud);
	if (op && (!owner || !key || max_keys < 0 || max_bytes < 0))
		return bad_args(op);
	if (op) {
		op->args.kv.value = value ? op_strdup(op, value) : NULL;
		op->args.kv.delta = delta;
		op->args.kv.max_keys = max_keys;
		op->args.kv.max_bytes = max_bytes;
	}
	return submit(op, owner);
}

static int v_upload_create(void *self, const parley_upload *u, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_create", uploads_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!u || !u->name || !u->type || !u->sha256 || !u->key || u->size < 0 ||
	    !is_id(u->user_id, "u") || (u->room_id && !is_id(u->room_id, "r")) ||
	    (u->message_id && !is_id(u->message_id, "m")))
		return bad_args(op);
	op->upload.user_id = op_strdup(op, u->user_id);
	op->upload.room_id = op_strdup(op, u->room_id);
	op->upload.message_id = op_strdup(op, u->message_id);
	op->upload.name = op_strdup(op, u->name);
	op->upload.type = op_strdup(op, u->type);
	op->upload.sha256 = op_strdup(op, u->sha256);
	op->upload.key = op_strdup(op, u->key);
	op->upload.tags = op_strdup(op, u->tags);
	op->upload.size = u->size;
	op->upload.created_ts = now_or(self, u->created_ts);
	return submit(op, u->user_id);
}

static int v_upload_get(void *self, const char *upload_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_get", uploads_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(upload_id, "up"))
		return bad_args(op);
	op->args.upload.upload = op_strdup(op, upload_id);
	return submit(op, upload_id);
}

static int v_upload_attach(void *self, const char *upload_id, const char *user_id,
                           const char *room_id, const char *message_id, parley_store_done done,
                           void *ud)
{
	struct op *op = begin(self, "upload_attach", uploads_attach, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(upload_id, "up") || !is_id(user_id, "u") ||
	    (message_id && !is_id(message_id, "m")) || !is_id(room_id, "r"))
		return bad_args(op);
	op->args.upload_attach.upload = op_strdup(op, upload_id);
	op->args.upload_attach.user = op_strdup(op, user_id);
	op->args.upload_attach.room = op_strdup(op, room_id);
	op->args.upload_attach.message = op_strdup(op, message_id);
	return submit(op, upload_id);
}

static int v_upload_delete(void *self, const char *upload_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_delete", uploads_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(upload_id, "up"))
		return bad_args(op);
	op->args.upload.upload = op_strdup(op, upload_id);
	return submit(op, upload_id);
}

static int v_uploads_unattached(void *self, int64_t before_ts, int limit, parley_store_done done,
                                void *ud)
{
	struct op *op = begin(self, "uploads_unattached", uploads_unattached, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (limit < 1 || limit > MESSAGES_HISTORY_MAX)
		return bad_args(op);
	op->args.unattached.before_ts = before_ts;
	op->args.unattached.limit = limit;
	return submit(op, NULL);
}

static int v_upload_usage(void *self, const char *user_id, int64_t since_ts, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "upload_usage", uploads_usage, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(user_id, "u"))
		return bad_args(op);
	op->args.usage.user = op_strdup(op, user_id);
	op->args.usage.since_ts = since_ts;
	return submit(op, user_id);
}

/* Rooms an owner can run (room_settings.c). */
static int v_room_rename(void *self, const char *room_id, const char *name, parley_store_done done,
                         void *ud)
{
	struct op *op = begin(self, "room_rename", room_admin_rename, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!is_id(room_id, "r") || !name || !*name)
		return bad_args(op);
	op->args.room_admin.room = op_strdup(op, room_id);
	op->args.room_admin.name = op_strdup(op, name);
	return submit(op, room_id);
}

static int v_room_settings_set(void *self, const char *room_id, const char *settings_json,
                               parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_settings_set", room_admin_settings_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	/* Kept opaque, but one JSON object: the list embeds it. */
	bson_error_t err;
	bson_t *o =
	    settings_json ? bson_new_from_json((const uint8_t *)settings_json, -1, &err) : NULL;
	int object = o && settings_json[strspn(settings_json, " \t\r\n")] == '{';
	if (o)
		bson_destroy(o);
	if (!is_id(room_id, "r") || !object)
		return bad_args(op);
	op->args.room_admin.room = op_strdup(op, room_id);
	op->args.room_admin.json = op_strdup(op, settings_json);
	return submit(op, room_id);
}

static int v_room_settings_list(void *self, parley_store_done done, void *ud)
{
	return submit(begin(self, "room_settings_list", room_admin_settings_list, done, ud), NULL);
}

/* Cluster state (issue 16): cluster.c. */
static int v_kv_add(void *self, const char *owner, const char *key, const char *value,
                    parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_add", cluster_kv_add, owner, key, done, ud);
	if (op && (!owner || !key || !value))
		return bad_args(op);
	if (op)
		op->args.kv.value = op_strdup(op, value);
	return submit(op, key);
}

#define CLUSTER_NAME_MAX 256

static int v_counter_add(void *self, const char *name, int64_t delta, int64_t window_ms,
                         int64_t now_ms, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "counter_add", cluster_counter_add, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!name || !*name || strlen(name) > CLUSTER_NAME_MAX || delta < 0 || window_ms < 0)
		return bad_args(op);
	op->args.counter.name = op_strdup(op, name);
	op->args.counter.delta = delta;
	op->args.counter.window_ms = window_ms;
	op->args.counter.now_ms = now_or(self, now_ms);
	return submit(op, name);
}

static int v_lease(void *self, const char *name, const char *holder, int64_t ttl_ms, int64_t now_ms,
                   parley_store_done done, void *ud)
{
	struct op *op = begin(self, "lease", cluster_lease, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!name || !*name || strlen(name) > CLUSTER_NAME_MAX || !holder || !*holder ||
	    strlen(holder) > CLUSTER_NAME_MAX || ttl_ms < 0)
		return bad_args(op);
	op->args.lease.name = op_strdup(op, name);
	op->args.lease.holder = op_strdup(op, holder);
	op->args.lease.ttl_ms = ttl_ms;
	op->args.lease.now_ms = now_or(self, now_ms);
	return submit(op, name);
}

static const parley_store_vtable store_vtable = {
    .struct_size = sizeof(parley_store_vtable),
    .append = v_append,
    .history = v_history,
    .message_get = v_message_get,
    .message_edit = v_message_edit,
    .message_delete = v_message_delete,
    .react = v_react,
    .room_create = v_room_create,
    .room_get = v_room_get,
    .room_set_topic = v_room_set_topic,
    .rooms_list = v_rooms_list,
    .member_set = v_member_set,
    .member_remove = v_member_remove,
    .members_list = v_members_list,
    .read_set = v_read_set,
    .user_create = v_user_create,
    .user_get = v_user_get,
    .user_update = v_user_update,
    .users_list = v_users_list,
    .session_create = v_session_create,
    .session_get = v_session_get,
    .session_delete = v_session_delete,
    .invite_create = v_invite_create,
    .invite_use = v_invite_use,
    .user_by_email = v_user_by_email,
    .token_create = v_token_create,
    .token_use = v_token_use,
    .invites_list = v_invites_list,
    .invite_revoke = v_invite_revoke,
    .audit_append = v_audit_append,
    .audit_list = v_audit_list,
    .settings_get = v_settings_get,
    .settings_set = v_settings_set,
    .session_create_scoped = v_session_create_scoped,
    .kv_get = v_kv_get,
    .kv_set = v_kv_set,
    .kv_delete = v_kv_delete,
    .kv_incr = v_kv_incr,
    .upload_create = v_upload_create,
    .upload_get = v_upload_get,
    .upload_attach = v_upload_attach,
    .upload_delete = v_upload_delete,
    .uploads_unattached = v_uploads_unattached,
    .upload_usage = v_upload_usage,
    .kv_put_capped = v_kv_put_capped,
    .token_peek = v_token_peek,
    /* Find and follow (issue 15) */
    .pin_set = pins_call_set,
    .pins_list = pins_call_list,
    .notify_set = notify_call_set,
    .notify_list = notify_call_list,
    .search = search_call,
    /* The data lifecycle (vtable_lifecycle.c). */
    .snapshot = vtable_snapshot,
    .prune = vtable_prune,
    .room_retention_set = vtable_room_retention_set,
    .room_retention_get = vtable_room_retention_get,
    .edits_list = vtable_edits_list,
    .records_read = vtable_records_read,
    .records_write = vtable_records_write,
    .thread_append = mongo_thread_append,
    .thread_history = mongo_thread_history,
    .thread_follow = mongo_thread_follow,
    .thread_read = mongo_thread_read,
    .threads_list = mongo_threads_list,
    .room_rename = v_room_rename,
    .room_settings_set = v_room_settings_set,
    .room_settings_list = v_room_settings_list,
    .room_delete = mongo_room_delete,
    .lease = v_lease,
    .kv_add = v_kv_add,
    .counter_add = v_counter_add,
    .calls_pending = store_calls_pending,
    /* Upload retention (issue 17) */
    .uploads_expire = upload_expiry_call,
    .mentions_unread = mentions_call_unread,
};
