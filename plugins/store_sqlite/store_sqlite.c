/* store_sqlite: the embedded store. SQLite in WAL mode with
 * synchronous=FULL; one writer thread group-commits every write (writer.c),
 * reads run on the host's worker pool over read-only connections
 * (reader.c), the schema is versioned (schema.c).
 *
 * This file is the plugin descriptor, its config section, and the vtable:
 * each call validates and copies its arguments into an op (op.c) on the
 * loop thread and hands it to the writer or to a reader; done() comes back
 * on the loop thread. Built against include/parley/plugin.h only. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <parley/plugin.h>

#include "access.h"
#include "accounts.h"
#include "cluster.h"
#include "kv.h"
#include "db.h"
#include "messages.h"
#include "op.h"
#include "pins.h"
#include "mentions.h"
#include "reader.h"
#include "retention.h"
#include "rooms.h"
#include "rows.h"
#include "schema.h"
#include "records.h"
#include "snapshot.h"
#include "search.h"
#include "threads.h"
#include "store.h"
#include "uploads.h"
#include "writer.h"

#define DEFAULT_PATH            "parley.db"
#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define DEFAULT_BATCH_MAX       512
#define DEFAULT_READERS         2
#define MAX_BUSY_TIMEOUT_MS     600000
#define MAX_BATCH               100000
#define MAX_READERS             64
#define MAX_SIZE_MB             (1 << 24) /* 16 TiB */

/* ------------------------------------------------------------------ */
/* Config                                                              */
/* ------------------------------------------------------------------ */

/* Reads an integer key within [lo, hi]; -1 after reporting a bad value. */
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

/* Reads (and so marks as known) every key of the section; the path stays
 * relative. Returns 0, or -1 after reporting each problem. */
static int config_read(const parley_host *h, parley_ctx *ctx, struct store_config *cfg,
                       const char **path)
{
	const parley_conf *c = h->conf(ctx);
	int bad = 0;
	*path = DEFAULT_PATH;
	cfg->synchronous_full = 1;
	cfg->busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
	cfg->batch_max = DEFAULT_BATCH_MAX;
	cfg->readers = DEFAULT_READERS;
	cfg->max_size_mb = 0;
	if (!c)
		return 0;
	int got = h->conf_str(c, "path", path);
	if (got < 0) {
		bad = 1;
	} else if (got > 0 && !**path) {
		h->conf_error(c, "path", "must not be empty");
		bad = 1;
	}
	const char *sync = NULL;
	got = h->conf_str(c, "synchronous", &sync);
	if (got < 0) {
		bad = 1;
	} else if (got > 0) {
		if (strcmp(sync, "full") == 0) {
			cfg->synchronous_full = 1;
		} else if (strcmp(sync, "normal") == 0) {
			cfg->synchronous_full = 0;
		} else {
			h->conf_error(c, "synchronous",
			              "must be \"full\" or \"normal\", not \"%s\"", sync);
			bad = 1;
		}
	}
	bad |= conf_range(h, c, "busy_timeout_ms", 0, MAX_BUSY_TIMEOUT_MS, &cfg->busy_timeout_ms);
	bad |= conf_range(h, c, "batch_max", 1, MAX_BATCH, &cfg->batch_max);
	bad |= conf_range(h, c, "readers", 1, MAX_READERS, &cfg->readers);
	bad |= conf_range(h, c, "max_size_mb", 0, MAX_SIZE_MB, &cfg->max_size_mb);
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

void store_unref(struct store *st)
{
	if (--st->refs > 0)
		return;
	reader_free(st->reader);
	st->host->free(st->ctx, st->cfg.path);
	free(st->rel_path);
	free(st);
}

void store_op_accepted(struct op *op)
{
	op->st->refs++;
	pending_add(&op->st->pending, op->name);
}

void store_op_finish(struct op *op)
{
	struct store *st = op->st;
	const char *name = op->name;
	op_finish(op);
	pending_remove(&st->pending, name);
	store_unref(st);
}

static int store_check(const parley_host *host, parley_ctx *ctx)
{
	struct store_config cfg;
	const char *path;
	return config_read(host, ctx, &cfg, &path) == 0 ? PARLEY_OK : PARLEY_EINVAL;
}

static const parley_store_vtable store_vtable;

/* 1 when path exists and has no bytes; a missing file is a fresh start. */
static int empty_file(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0;
}

static int store_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	char err[512];
	const char *path;
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		return PARLEY_ENOMEM;
	st->host = host;
	st->ctx = ctx;
	st->refs = 1;
	int rc = PARLEY_EINVAL;
	if (config_read(host, ctx, &st->cfg, &path) != 0)
		goto fail;
	rc = PARLEY_ENOMEM;
	if (!(st->cfg.path = host->data_path(ctx, path)) || !(st->rel_path = strdup(path)))
		goto fail;
	struct db_options o = {.path = st->cfg.path,
	                       .synchronous_full = st->cfg.synchronous_full,
	                       .busy_timeout_ms = st->cfg.busy_timeout_ms,
	                       .max_bytes = (int64_t)st->cfg.max_size_mb << 20};
	rc = PARLEY_EUNAVAIL;
	if (empty_file(st->cfg.path)) {
		/* SQLite would take it for a new database, and auth_local for a
		 * first start (a fresh admin invite): a truncated file or a
		 * failed copy must not become a new install. */
		host->log(ctx, PARLEY_LOG_ERROR, "store_open_failed",
		          "%s is empty (0 bytes): not a parley database. Restore it from a "
		          "backup, or remove it to start with no data",
		          st->cfg.path);
		goto fail;
	}
	if (!(st->writer = writer_start(st, &o, st->cfg.batch_max, err, sizeof err))) {
		host->log(ctx, PARLEY_LOG_ERROR, "store_open_failed", "%s: %s", st->cfg.path, err);
		goto fail;
	}
	o.readonly = 1;
	if (!(st->reader = reader_open(st, &o, st->cfg.readers, err, sizeof err))) {
		host->log(ctx, PARLEY_LOG_ERROR, "store_open_failed", "%s: %s", st->cfg.path, err);
		goto fail;
	}
	if ((rc = host->provide(ctx, PARLEY_PROVIDE_STORE, &store_vtable, st)) != PARLEY_OK)
		goto fail;
	if (PARLEY_HOST_HAS(host, counter)) {
		st->m_batches = host->counter(ctx, "batches_total", "write transactions committed");
		st->m_writes = host->counter(ctx, "writes_total", "write operations committed");
	}
	host->log(ctx, PARLEY_LOG_INFO, "store_open", "%s (schema version %d, synchronous=%s)",
	          st->cfg.path, schema_version(), st->cfg.synchronous_full ? "full" : "normal");
	*state = st;
	return PARLEY_OK;
fail:
	if (st->reader) {
		reader_close(st->reader);
	}
	writer_stop(st->writer);
	store_unref(st);
	return rc;
}

static void store_fini(void *state)
{
	struct store *st = state;
	st->stopped = 1;
	/* The host waits for every call to finish before fini (pending); any
	 * still counted here finishes after the host's leak check. */
	char kinds[512];
	int left = pending_describe(&st->pending, kinds, sizeof kinds);
	if (left)
		st->host->log(st->ctx, PARLEY_LOG_WARN, "store_calls_pending",
		              "%d store calls not finished at fini: %s", left, kinds);
	/* The read-only connections close first: SQLite checkpoints the WAL
	 * into parley.db and removes it only when the last connection to close
	 * can write, so parley.db alone is then a complete cold copy. Reads
	 * still in the pool, or asked for by a write's done(), finish with
	 * EUNAVAIL; every queued write is committed and its done() posted
	 * before writer_stop returns. */
	reader_close(st->reader);
	writer_stop(st->writer);
	st->writer = NULL;
	store_unref(st);
}

static int store_ready(void *state, const char **why)
{
	struct store *st = state;
	if (st->stopped) {
		*why = "stopped";
		return 0;
	}
	if (!writer_healthy(st->writer, st->why, sizeof st->why) ||
	    !reader_probe(st->reader, st->why, sizeof st->why)) {
		*why = st->why;
		return 0;
	}
	return 1;
}

static const parley_plugin store_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "store_sqlite",
    .version = "0.1.0",
    .check = store_check,
    .init = store_init,
    .fini = store_fini,
    .ready = store_ready,
};

/* The header's macro defines the entry without a prototype, which
 * -Wmissing-prototypes refuses: declare it first. */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(store_plugin)

/* ------------------------------------------------------------------ */
/* The vtable                                                          */
/* ------------------------------------------------------------------ */

static struct op *begin(void *self, const char *name, op_exec_fn exec, parley_store_done done,
                        void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return NULL;
	return op_new(st, name, exec, done, ud);
}

/* Hands op to the writer (write) or the pool; PENDING, or an error after
 * freeing op (done is then never called). */
static int submit(struct op *op, int write)
{
	if (!op)
		return PARLEY_EUNAVAIL;
	if (op->oom) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	struct store *st = op->st;
	int rc = write ? writer_submit(st->writer, op) : reader_submit(st->reader, op);
	if (rc != PARLEY_OK) {
		op_free(op);
		return rc;
	}
	store_op_accepted(op);
	return PARLEY_PENDING;
}

static int submit_write(struct op *op)
{
	return submit(op, 1);
}

int store_submit_read(struct op *op)
{
	return submit(op, 0);
}

static int bad_args(struct op *op)
{
	op_free(op);
	return PARLEY_EINVAL;
}

static int64_t now_or(const struct store *st, int64_t ts)
{
	return ts ? ts : st->host->now_ms();
}

static int v_append(void *self, const parley_message *m, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "append", messages_append, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!m || !rows_id_parse(m->room_id, 'r', &op->args.append.room) ||
	    !rows_id_parse(m->user_id, 'u', &op->args.append.user))
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
	return submit_write(op);
}

static int v_history(void *self, const char *room_id, int64_t before, int64_t after, int limit,
                     parley_store_done done, void *ud)
{
	struct op *op = begin(self, "history", messages_history, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.history.room) || limit < 1 ||
	    limit > MESSAGES_HISTORY_MAX || before < 0)
		return bad_args(op);
	op->args.history.before = before;
	op->args.history.after = before > 0 ? -1 : after;
	op->args.history.limit = limit;
	return store_submit_read(op);
}

/* Parses a (room, message) pair. */
static int room_msg(int64_t *room, int64_t *message, const char *room_id, const char *msg_id)
{
	return rows_id_parse(room_id, 'r', room) && rows_id_parse(msg_id, 'm', message);
}

static int v_message_get(void *self, const char *room_id, const char *msg_id,
                         parley_store_done done, void *ud)
{
	struct op *op = begin(self, "message_get", messages_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.message.room, &op->args.message.message, room_id, msg_id))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_message_edit(void *self, const char *room_id, const char *msg_id, const char *text,
                          const char *mentions_json, int64_t edited_ts, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "message_edit", messages_edit, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.edit.room, &op->args.edit.message, room_id, msg_id) || !text)
		return bad_args(op);
	op->args.edit.text = op_strdup(op, text);
	op->args.edit.mentions_json = op_strdup(op, mentions_json);
	op->args.edit.edited_ts = now_or(self, edited_ts);
	return submit_write(op);
}

static int v_message_delete(void *self, const char *room_id, const char *msg_id,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "message_delete", messages_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.message.room, &op->args.message.message, room_id, msg_id))
		return bad_args(op);
	return submit_write(op);
}

static int v_react(void *self, const char *room_id, const char *msg_id, const char *user_id,
                   const char *emoji, int on, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "react", messages_react, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.react.room, &op->args.react.message, room_id, msg_id) ||
	    !rows_id_parse(user_id, 'u', &op->args.react.user) || !emoji || !*emoji)
		return bad_args(op);
	op->args.react.emoji = op_strdup(op, emoji);
	op->args.react.on = on != 0;
	return submit_write(op);
}

/* An optional user id into *key (0 when NULL); 0 when malformed. */
static int opt_user(const char *id, int64_t *key)
{
	*key = 0;
	return !id || rows_id_parse(id, 'u', key);
}

static int v_room_create(void *self, const parley_room *r, const char *owner_role,
                         parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_create", rooms_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!r || !r->name || !*r->name || !opt_user(r->created_by, &op->args.room_create.creator))
		return bad_args(op);
	op->room.name = op_strdup(op, r->name);
	op->room.kind = op_strdup(op, r->kind ? r->kind : "public");
	op->room.topic = op_strdup(op, r->topic);
	op->room.created_ts = now_or(self, r->created_ts);
	op->args.room_create.owner_role = op_strdup(op, owner_role ? owner_role : "owner");
	return submit_write(op);
}

static int v_room_get(void *self, const char *room_id, const char *name, parley_store_done done,
                      void *ud)
{
	struct op *op = begin(self, "room_get", rooms_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (room_id ? !rows_id_parse(room_id, 'r', &op->args.lookup.key) : !name)
		return bad_args(op);
	op->args.lookup.name = op_strdup(op, name);
	return store_submit_read(op);
}

static int v_room_set_topic(void *self, const char *room_id, const char *topic,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_set_topic", rooms_set_topic, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.topic.room))
		return bad_args(op);
	op->args.topic.topic = op_strdup(op, topic);
	return submit_write(op);
}

static int v_rooms_list(void *self, parley_store_done done, void *ud)
{
	return store_submit_read(begin(self, "rooms_list", rooms_list, done, ud));
}

/* Parses a (room, user) pair into op->args.member. */
static int room_user(struct op *op, const char *room_id, const char *user_id)
{
	return rows_id_parse(room_id, 'r', &op->args.member.room) &&
	       rows_id_parse(user_id, 'u', &op->args.member.user);
}

static int v_member_set(void *self, const char *room_id, const char *user_id, const char *role,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "member_set", rooms_member_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_user(op, room_id, user_id))
		return bad_args(op);
	op->args.member.role = op_strdup(op, role ? role : "member");
	return submit_write(op);
}

static int v_member_remove(void *self, const char *room_id, const char *user_id,
                           parley_store_done done, void *ud)
{
	struct op *op = begin(self, "member_remove", rooms_member_remove, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_user(op, room_id, user_id))
		return bad_args(op);
	return submit_write(op);
}

static int v_members_list(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "members_list", rooms_members_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (room_id && !rows_id_parse(room_id, 'r', &op->args.members.room))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_read_set(void *self, const char *room_id, const char *user_id, int64_t seq,
                      parley_store_done done, void *ud)
{
	struct op *op = begin(self, "read_set", rooms_read_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.read_set.room) ||
	    !rows_id_parse(user_id, 'u', &op->args.read_set.user) || seq < 0)
		return bad_args(op);
	op->args.read_set.seq = seq;
	return submit_write(op);
}

/* Copies the user fields an update or create carries. */
static void copy_user(struct op *op, const parley_user *u)
{
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
	if (!op->user.role)
		op->user.role = op_strdup(op, "member");
	op->user.created_ts = now_or(self, u->created_ts);
	return submit_write(op);
}

static int v_user_get(void *self, const char *user_id, const char *name, parley_store_done done,
                      void *ud)
{
	struct op *op = begin(self, "user_get", accounts_user_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (user_id ? !rows_id_parse(user_id, 'u', &op->args.lookup.key) : !name)
		return bad_args(op);
	op->args.lookup.name = op_strdup(op, name);
	return store_submit_read(op);
}

static int v_user_update(void *self, const parley_user *u, int set_disabled, parley_store_done done,
                         void *ud)
{
	struct op *op = begin(self, "user_update", accounts_user_update, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!u || !rows_id_parse(u->id, 'u', &op->args.user_update.user) || (u->name && !*u->name))
		return bad_args(op);
	copy_user(op, u);
	op->args.user_update.set_disabled = set_disabled != 0;
	return submit_write(op);
}

static int v_users_list(void *self, parley_store_done done, void *ud)
{
	return store_submit_read(begin(self, "users_list", accounts_users_list, done, ud));
}

static int v_session_create(void *self, const parley_session *s, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_create", accounts_session_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!s || !s->token_hash || !rows_id_parse(s->user_id, 'u', &op->args.user.user))
		return bad_args(op);
	op->session.token_hash = op_strdup(op, s->token_hash);
	op->session.created_ts = now_or(self, s->created_ts);
	op->session.expires_ts = s->expires_ts;
	return submit_write(op);
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
	return store_submit_read(op);
}

static int v_session_delete(void *self, const char *token_hash, const char *user_id,
                            parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_delete", accounts_session_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if ((!token_hash && !user_id) || !opt_user(user_id, &op->args.session_delete.user))
		return bad_args(op);
	op->args.session_delete.token_hash = op_strdup(op, token_hash);
	return submit_write(op);
}

static int v_invite_create(void *self, const parley_invite *inv, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invite_create", accounts_invite_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!inv || !inv->token_hash || !opt_user(inv->created_by, &op->args.author.by))
		return bad_args(op);
	op->invite.token_hash = op_strdup(op, inv->token_hash);
	op->invite.role = op_strdup(op, inv->role ? inv->role : "member");
	op->invite.email = op_strdup(op, inv->email);
	op->invite.created_ts = now_or(self, inv->created_ts);
	op->invite.expires_ts = inv->expires_ts;
	return submit_write(op);
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
	return submit_write(op);
}

static int v_user_by_email(void *self, const char *email, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "user_by_email", access_user_by_email, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!email || !*email)
		return bad_args(op);
	op->args.by_email.email = op_strdup(op, email);
	return store_submit_read(op);
}

static int v_token_create(void *self, const char *kind, const char *token_hash, const char *user_id,
                          int64_t expires_ts, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "token_create", access_token_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !token_hash || !rows_id_parse(user_id, 'u', &op->args.token_create.user))
		return bad_args(op);
	op->args.token_create.kind = op_strdup(op, kind);
	op->args.token_create.token_hash = op_strdup(op, token_hash);
	op->args.token_create.expires_ts = expires_ts;
	op->args.token_create.created_ts = now_or(self, 0);
	return submit_write(op);
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
	return submit_write(op);
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
	return store_submit_read(op);
}

static int v_snapshot(void *self, const char *path, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "snapshot", snapshot_write, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!path || !*path)
		return bad_args(op);
	op->args.snapshot.path = op_strdup(op, path);
	return store_submit_read(op);
}

static int v_records_read(void *self, const char *kind, int64_t after, int limit,
                          parley_store_done done, void *ud)
{
	struct op *op = begin(self, "records_read", records_read, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !records_kind_known(kind) || after < 0 || limit < 1 || limit > 1000)
		return bad_args(op);
	op->args.records.kind = op_strdup(op, kind);
	op->args.records.after = after;
	op->args.records.limit = limit;
	return store_submit_read(op);
}

static int v_records_write(void *self, const char *kind, const char *records_json,
                           parley_store_done done, void *ud)
{
	struct op *op = begin(self, "records_write", records_write, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!kind || !records_kind_known(kind) || !records_json || records_json[0] != '[')
		return bad_args(op);
	op->args.records.kind = op_strdup(op, kind);
	op->args.records.json = op_strdup(op, records_json);
	return submit_write(op);
}

static int v_invites_list(void *self, int64_t now_ms, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invites_list", access_invites_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.invites_list.now_ms = now_ms;
	return store_submit_read(op);
}

static int v_invite_revoke(void *self, const char *token_hash, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "invite_revoke", access_invite_revoke, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!token_hash)
		return bad_args(op);
	op->args.invite_revoke.token_hash = op_strdup(op, token_hash);
	return submit_write(op);
}

static int v_audit_append(void *self, const parley_audit *a, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "audit_append", access_audit_append, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!a || !a->action || !opt_user(a->actor_id, &op->args.author.by))
		return bad_args(op);
	op->audit.ts = now_or(self, a->ts);
	op->audit.action = op_strdup(op, a->action);
	op->audit.target = op_strdup(op, a->target);
	op->audit.detail = op_strdup(op, a->detail);
	op->audit.client = op_strdup(op, a->client);
	return submit_write(op);
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
	return store_submit_read(op);
}

static int v_settings_get(void *self, const char *user_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "settings_get", access_settings_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(user_id, 'u', &op->args.user.user))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_settings_set(void *self, const char *user_id, const char *json, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "settings_set", access_settings_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!json || !rows_id_parse(user_id, 'u', &op->args.settings_set.user))
		return bad_args(op);
	op->args.settings_set.json = op_strdup(op, json);
	return submit_write(op);
}

static int v_session_create_scoped(void *self, const parley_session *s, const char *scopes,
                                   const char *rooms_json, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "session_create", accounts_session_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!s || !s->token_hash || !scopes || !rows_id_parse(s->user_id, 'u', &op->args.user.user))
		return bad_args(op);
	op->session.token_hash = op_strdup(op, s->token_hash);
	op->session.created_ts = now_or(self, s->created_ts);
	op->session.expires_ts = s->expires_ts;
	op->session.scopes = op_strdup(op, scopes);
	op->session.rooms_json = op_strdup(op, rooms_json);
	return submit_write(op);
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
	return store_submit_read(op);
}

static int v_kv_set(void *self, const char *owner, const char *key, const char *value,
                    parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_set", kv_set, owner, key, done, ud);
	if (op && (!owner || !key || !value))
		return bad_args(op);
	if (op)
		op->args.kv.value = op_strdup(op, value);
	return submit_write(op);
}

static int v_kv_delete(void *self, const char *owner, const char *key, parley_store_done done,
                       void *ud)
{
	struct op *op = kv_op(self, "kv_delete", kv_delete, owner, key, done, ud);
	if (op && (!owner || !key))
		return bad_args(op);
	return submit_write(op);
}

static int v_kv_incr(void *self, const char *owner, const char *key, int64_t delta,
                     parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_incr", kv_incr, owner, key, done, ud);
	if (op && (!owner || !key))
		return bad_args(op);
	if (op)
		op->args.kv.delta = delta;
	return submit_write(op);
}

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
	return submit_write(op);
}

static int v_upload_create(void *self, const parley_upload *u, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_create", uploads_create, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	/* room and message are kept when given (a copy of another store's
	 * records); 0 for none. */
	if (!u || !u->name || !u->type || !u->sha256 || !u->key || u->size < 0 ||
	    !rows_id_parse(u->user_id, 'u', &op->args.upload_create.user) ||
	    (u->room_id && !rows_id_parse(u->room_id, 'r', &op->args.upload_create.room)) ||
	    (u->message_id && !rows_id_parse(u->message_id, 'm', &op->args.upload_create.message)))
		return bad_args(op);
	op->upload.name = op_strdup(op, u->name);
	op->upload.type = op_strdup(op, u->type);
	op->upload.sha256 = op_strdup(op, u->sha256);
	op->upload.key = op_strdup(op, u->key);
	op->upload.tags = op_strdup(op, u->tags);
	op->upload.size = u->size;
	op->upload.created_ts = now_or(self, u->created_ts);
	return submit_write(op);
}

static int v_upload_get(void *self, const char *upload_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_get", uploads_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!uploads_id_parse(upload_id, &op->args.upload.upload))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_upload_attach(void *self, const char *upload_id, const char *user_id,
                           const char *room_id, const char *message_id, parley_store_done done,
                           void *ud)
{
	struct op *op = begin(self, "upload_attach", uploads_attach, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!uploads_id_parse(upload_id, &op->args.upload_attach.upload) ||
	    !rows_id_parse(user_id, 'u', &op->args.upload_attach.user) ||
	    (message_id && !rows_id_parse(message_id, 'm', &op->args.upload_attach.message)) ||
	    !rows_id_parse(room_id, 'r', &op->args.upload_attach.room))
		return bad_args(op);
	return submit_write(op);
}

static int v_upload_delete(void *self, const char *upload_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "upload_delete", uploads_delete, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!uploads_id_parse(upload_id, &op->args.upload.upload))
		return bad_args(op);
	return submit_write(op);
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
	return store_submit_read(op);
}

static int v_uploads_expire(void *self, int64_t before_ts, int limit, parley_store_done done,
                            void *ud)
{
	struct op *op = begin(self, "uploads_expire", uploads_expire, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (limit < 1 || limit > MESSAGES_HISTORY_MAX)
		return bad_args(op);
	op->args.unattached.before_ts = before_ts;
	op->args.unattached.limit = limit;
	return submit_write(op);
}

static int v_upload_usage(void *self, const char *user_id, int64_t since_ts, parley_store_done done,
                          void *ud)
{
	struct op *op = begin(self, "upload_usage", uploads_usage, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(user_id, 'u', &op->args.usage.user))
		return bad_args(op);
	op->args.usage.since_ts = since_ts;
	return store_submit_read(op);
}

static int v_prune(void *self, const char *room_id, int64_t before_ts, int limit, int dry_run,
                   parley_store_done done, void *ud)
{
	struct op *op = begin(self, "prune", retention_prune, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.prune.room) || limit < 1 ||
	    limit > RETENTION_PRUNE_MAX)
		return bad_args(op);
	op->args.prune.before_ts = before_ts;
	op->args.prune.limit = limit;
	op->args.prune.dry_run = dry_run != 0;
	return dry_run ? store_submit_read(op) : submit_write(op);
}

#define LEASE_NAME_MAX 128

static int v_lease(void *self, const char *name, const char *holder, int64_t ttl_ms, int64_t now_ms,
                   parley_store_done done, void *ud)
{
	struct op *op = begin(self, "lease", retention_lease, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!name || !*name || strlen(name) > LEASE_NAME_MAX || !holder || !*holder ||
	    strlen(holder) > LEASE_NAME_MAX || ttl_ms < 0)
		return bad_args(op);
	op->args.lease.name = op_strdup(op, name);
	op->args.lease.holder = op_strdup(op, holder);
	op->args.lease.ttl_ms = ttl_ms;
	op->args.lease.now_ms = now_or(self, now_ms);
	return submit_write(op);
}

/* Cluster state (issue 16): see plugin.h. */
static int v_kv_add(void *self, const char *owner, const char *key, const char *value,
                    parley_store_done done, void *ud)
{
	struct op *op = kv_op(self, "kv_add", cluster_kv_add, owner, key, done, ud);
	if (op && (!owner || !key || !value))
		return bad_args(op);
	if (op)
		op->args.kv.value = op_strdup(op, value);
	return submit_write(op);
}

#define COUNTER_NAME_MAX 256

static int v_counter_add(void *self, const char *name, int64_t delta, int64_t window_ms,
                         int64_t now_ms, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "counter_add", cluster_counter_add, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!name || !*name || strlen(name) > COUNTER_NAME_MAX || delta < 0 || window_ms < 0)
		return bad_args(op);
	op->args.counter.name = op_strdup(op, name);
	op->args.counter.delta = delta;
	op->args.counter.window_ms = window_ms;
	op->args.counter.now_ms = now_or(self, now_ms);
	return delta == 0 && window_ms > 0 ? store_submit_read(op) : submit_write(op);
}

static int v_calls_pending(void *self)
{
	const struct store *st = self;
	return st->pending.total;
}

static int v_room_retention_set(void *self, const char *room_id, int64_t retention_ms,
                                parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_retention_set", retention_room_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.retention.room) || retention_ms < 0)
		return bad_args(op);
	op->args.retention.ms = retention_ms;
	return submit_write(op);
}

static int v_room_retention_get(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_retention_get", retention_room_get, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.retention.room))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_edits_list(void *self, const char *room_id, const char *msg_id, parley_store_done done,
                        void *ud)
{
	struct op *op = begin(self, "edits_list", retention_edits_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.message.room, &op->args.message.message, room_id, msg_id))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_pin_set(void *self, const char *room_id, const char *msg_id, const char *user_id,
                     int on, int64_t ts, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "pin_set", pins_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.pin.room, &op->args.pin.message, room_id, msg_id) ||
	    (user_id && !rows_id_parse(user_id, 'u', &op->args.pin.user)))
		return bad_args(op);
	op->args.pin.on = on != 0;
	op->args.pin.ts = now_or(self, ts);
	return submit_write(op);
}

static int v_pins_list(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "pins_list", pins_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (room_id && !rows_id_parse(room_id, 'r', &op->args.pin.room))
		return bad_args(op);
	return store_submit_read(op);
}

static int v_notify_set(void *self, const char *room_id, const char *user_id, const char *level,
                        parley_store_done done, void *ud)
{
	struct op *op = begin(self, "notify_set", notify_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.notify.room) ||
	    !rows_id_parse(user_id, 'u', &op->args.notify.user) || !level ||
	    (strcmp(level, "all") != 0 && strcmp(level, "mentions") != 0 &&
	     strcmp(level, "none") != 0))
		return bad_args(op);
	op->args.notify.level = op_strdup(op, level);
	return submit_write(op);
}

static int v_notify_list(void *self, const char *user_id, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "notify_list", notify_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (user_id && !rows_id_parse(user_id, 'u', &op->args.notify.user))
		return bad_args(op);
	return store_submit_read(op);
}

/* Threads (threads.c). */
static int v_thread_append(void *self, const parley_message *m, const char *thread_id,
                           int also_room, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_append", threads_append, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!m || !rows_id_parse(m->room_id, 'r', &op->args.append.room) ||
	    !rows_id_parse(m->user_id, 'u', &op->args.append.user) ||
	    !rows_id_parse(thread_id, 'm', &op->args.append.thread))
		return bad_args(op);
	op->args.append.also_room = also_room != 0;
	op->msg.room_id = op_strdup(op, m->room_id);
	op->msg.user_id = op_strdup(op, m->user_id);
	op->msg.text = op_strdup(op, m->text);
	op->msg.client_id = op_strdup(op, m->client_id);
	op->msg.reply_to = op_strdup(op, m->reply_to);
	op->msg.mentions_json = op_strdup(op, m->mentions_json);
	op->msg.attachments_json = op_strdup(op, m->attachments_json);
	op->msg.ts = now_or(self, m->ts);
	if (op_reserve_messages(op, 2) != 0)
		op->oom = 1;
	return submit_write(op);
}

static int v_thread_history(void *self, const char *room_id, const char *root_id, int64_t before,
                            int64_t after, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_history", threads_history, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.thread.room, &op->args.thread.root, room_id, root_id) ||
	    limit < 1 || limit > MESSAGES_HISTORY_MAX || before < 0)
		return bad_args(op);
	op->args.thread.before = before;
	op->args.thread.after = before > 0 ? -1 : after;
	op->args.thread.limit = limit;
	return store_submit_read(op);
}

static int v_thread_follow(void *self, const char *room_id, const char *root_id,
                           const char *user_id, int on, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_follow", threads_follow, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.thread.room, &op->args.thread.root, room_id, root_id) ||
	    !rows_id_parse(user_id, 'u', &op->args.thread.user))
		return bad_args(op);
	op->args.thread.on = on != 0;
	return submit_write(op);
}

static int v_thread_read(void *self, const char *room_id, const char *root_id, const char *user_id,
                         int64_t seq, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "thread_read", threads_read, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!room_msg(&op->args.thread.room, &op->args.thread.root, room_id, root_id) ||
	    !rows_id_parse(user_id, 'u', &op->args.thread.user) || seq < 0)
		return bad_args(op);
	op->args.thread.seq = seq;
	return submit_write(op);
}

static int v_threads_list(void *self, const char *user_id, const char *room_ids_json,
                          const char *after, int limit, parley_store_done done, void *ud)
{
	struct op *op = begin(self, "threads_list", threads_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(user_id, 'u', &op->args.thread.user) || !room_ids_json ||
	    (after && !rows_id_parse(after, 'm', &op->args.thread.root)) || limit < 1 ||
	    limit > THREADS_LIST_MAX)
		return bad_args(op);
	op->args.thread.rooms_json = op_strdup(op, room_ids_json);
	op->args.thread.limit = limit;
	return store_submit_read(op);
}

static int v_room_rename(void *self, const char *room_id, const char *name, parley_store_done done,
                         void *ud)
{
	struct op *op = begin(self, "room_rename", rooms_rename, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &op->args.room_admin.room) || !name || !*name)
		return bad_args(op);
	op->args.room_admin.name = op_strdup(op, name);
	return submit_write(op);
}

static int v_room_settings_set(void *self, const char *room_id, const char *settings_json,
                               parley_store_done done, void *ud)
{
	struct op *op = begin(self, "room_settings_set", rooms_settings_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	/* Kept opaque, but it must be one JSON object: the list embeds it. */
	json_t *o = settings_json ? json_loads(settings_json, 0, NULL) : NULL;
	int object = json_is_object(o);
	json_decref(o);
	if (!rows_id_parse(room_id, 'r', &op->args.room_admin.room) || !object)
		return bad_args(op);
	op->args.room_admin.json = op_strdup(op, settings_json);
	return submit_write(op);
}

static int v_room_settings_list(void *self, parley_store_done done, void *ud)
{
	return store_submit_read(begin(self, "room_settings_list", rooms_settings_list, done, ud));
}

/* Deleting a room: its messages go first in chunks, oldest first, each
 * its own write with other writes between them (in one transaction a room
 * of 100,000 messages held the writer ~3 s: bench/room_delete_bench.c),
 * then the room with what is left, in one. Readers meanwhile find the
 * oldest messages gone (history starts later, no gap inside it); a stop
 * part-way leaves the room with its newest messages, and deleting it
 * again finishes. */
struct room_delete_run {
	struct store *st;
	int64_t room;
	parley_store_done done;
	void *ud;
};

static void room_delete_chunked(void *ud, const parley_store_result *res);

static int room_delete_submit(struct room_delete_run *run, int chunk)
{
	struct op *op = chunk ? begin(run->st, "room_delete_chunk", rooms_delete_chunk,
	                              room_delete_chunked, run)
	                      : begin(run->st, "room_delete", rooms_delete, run->done, run->ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.room_admin.room = run->room;
	return submit_write(op);
}

static void room_delete_chunked(void *ud, const parley_store_result *res)
{
	struct room_delete_run *run = ud;
	int more = res->rc == PARLEY_OK && res->value >= ROOMS_DELETE_CHUNK;
	if (res->rc != PARLEY_OK) {
		run->done(run->ud, res);
	} else {
		int rc = room_delete_submit(run, more);
		if (rc != PARLEY_PENDING) {
			more = 0;
			parley_store_result failed = {
			    .rc = rc, .error = "room_delete: the store refused a step"};
			run->done(run->ud, &failed);
		}
	}
	if (!more)
		free(run);
}

static int v_room_delete(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct store *st = self;
	int64_t room;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	if (!rows_id_parse(room_id, 'r', &room))
		return PARLEY_EINVAL;
	struct room_delete_run *run = malloc(sizeof *run);
	if (!run)
		return PARLEY_ENOMEM;
	*run = (struct room_delete_run){.st = st, .room = room, .done = done, .ud = ud};
	int rc = room_delete_submit(run, 1);
	if (rc != PARLEY_PENDING)
		free(run);
	return rc;
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
    .token_peek = v_token_peek,
    .snapshot = v_snapshot,
    .records_read = v_records_read,
    .records_write = v_records_write,
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
    .prune = v_prune,
    .lease = v_lease,
    .room_retention_set = v_room_retention_set,
    .room_retention_get = v_room_retention_get,
    .edits_list = v_edits_list,
    .pin_set = v_pin_set,
    .pins_list = v_pins_list,
    .notify_set = v_notify_set,
    .notify_list = v_notify_list,
    .search = search_call,
    .thread_append = v_thread_append,
    .thread_history = v_thread_history,
    .thread_follow = v_thread_follow,
    .thread_read = v_thread_read,
    .threads_list = v_threads_list,
    .uploads_expire = v_uploads_expire,
    .room_rename = v_room_rename,
    .room_settings_set = v_room_settings_set,
    .room_settings_list = v_room_settings_list,
    .room_delete = v_room_delete,
    .kv_add = v_kv_add,
    .counter_add = v_counter_add,
    .calls_pending = v_calls_pending,
    .mentions_unread = mentions_unread_call,
};
