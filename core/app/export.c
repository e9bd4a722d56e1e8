/* parley export (see export.h): an admin command that reads through the
 * store vtable only (users_list, rooms_list, history), so it works for
 * every store and beside a running server. */
#include "app/export.h"
#include "app/cli_runtime.h"
#include "app/export_files.h"
#include "app/export_zip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <mbedtls/sha256.h>

#include "base/config.h"
#include "base/secret.h"
#include "host/server_secret.h"
#include "host/plugin_host.h"

#define EXPORT_WORKERS 2
#define EXPORT_PAGE    1000 /* history's largest page */
#define EXPORT_PATH    4096

struct xroom {
	char *id, *name, *kind;
	json_t *info; /* topic, created_by, created_ts, members */
	int64_t last_seq, first, last, count;
};

static struct {
	const struct export_options *o;
	json_t *names; /* user id -> name */
	json_t *users; /* the user records, for users.jsonl */
	json_t *page;  /* the history page being written */
	json_t *files; /* upload id -> null (wanted), then its manifest entry */
	struct xroom *rooms;
	size_t n_rooms;
	FILE *out;
	mbedtls_sha256_context sha;
	int64_t total;
	int pending, rc;
	int64_t after; /* history paging: the last seq written */
	int more;
	struct xroom *cur;
	char error[256];
} ex;

static void xfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void xfail(const char *fmt, ...)
{
	va_list ap;
	fputs("parley: export: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Runs one store call to its done (which clears ex.pending). */
static int wait_call(int rc)
{
	if (rc != PARLEY_PENDING) {
		ex.rc = rc;
		return rc;
	}
	cli_runtime_wait(&ex.pending);
	return ex.rc;
}

static void set_result(const parley_store_result *res)
{
	ex.pending = 0;
	ex.rc = res->rc;
	if (res->rc != PARLEY_OK)
		snprintf(ex.error, sizeof ex.error, "%s", res->error ? res->error : "failed");
}

static void users_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	set_result(res);
	for (size_t i = 0; res->rc == PARLEY_OK && i < res->n_users; i++) {
		const parley_user *u = &res->users[i];
		json_object_set_new(ex.names, u->id, json_string(u->name));
		json_array_append_new(
		    ex.users,
		    json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:b, s:I}", "id", u->id, "name", u->name,
		              "display_name", u->display_name, "role", u->role, "email", u->email,
		              "disabled", u->disabled, "created_ts", (json_int_t)u->created_ts));
	}
}

static int wanted(const char *name, const char *kind)
{
	if (ex.o->n_rooms == 0)
		return strcmp(kind, "dm") != 0;
	for (size_t i = 0; i < ex.o->n_rooms; i++)
		if (strcmp(ex.o->rooms[i], name) == 0)
			return 1;
	return 0;
}

static void rooms_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	set_result(res);
	if (res->rc != PARLEY_OK)
		return;
	ex.rooms = calloc(res->n_rooms ? res->n_rooms : 1, sizeof *ex.rooms);
	for (size_t i = 0; ex.rooms && i < res->n_rooms; i++) {
		const parley_room *r = &res->rooms[i];
		if (!wanted(r->name, r->kind))
			continue;
		struct xroom *x = &ex.rooms[ex.n_rooms++];
		x->id = strdup(r->id);
		x->name = strdup(r->name);
		x->kind = strdup(r->kind);
		x->last_seq = r->last_seq;
		x->info = json_pack("{s:s?, s:s?, s:I}", "topic", r->topic, "created_by",
		                    r->created_by, "created_ts", (json_int_t)r->created_ts);
		if (!x->id || !x->name || !x->kind || !x->info)
			ex.rc = PARLEY_ENOMEM;
	}
	if (!ex.rooms)
		ex.rc = PARLEY_ENOMEM;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct xroom *)a)->name, ((const struct xroom *)b)->name);
}

/* A person as the export shows them: id and name, or a stable pseudonym
 * (a keyed hash of the id: the same person is the same pseudonym in every
 * export of this server, and nobody without the server key can reverse it). */
static json_t *person(const char *user_id)
{
	if (!user_id)
		return json_null();
	if (ex.o->pseudonymise) {
		char sig[SECRET_SIG_HEX + 1], p[32];
		secret_sign("export.pseudonym", user_id, sig);
		snprintf(p, sizeof p, "person-%.12s", sig);
		return json_pack("{s:s, s:s}", "id", p, "name", p);
	}
	const char *name = json_string_value(json_object_get(ex.names, user_id));
	return json_pack("{s:s, s:s?}", "id", user_id, "name", name);
}

/* A JSON text the store keeps opaque, parsed (null when empty or bad). */
static json_t *parsed(const char *text)
{
	json_t *v = text && *text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

static json_t *mentions(const char *text)
{
	json_t *v = parsed(text);
	if (!ex.o->pseudonymise || !json_is_array(v))
		return v;
	json_t *out = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(v, i, m) json_array_append_new(out, person(json_string_value(m)));
	json_decref(v);
	return out;
}

/* Reactions {"emoji": ["u_1", …]} with people pseudonymised too. */
static json_t *reactions(const char *text)
{
	json_t *v = parsed(text);
	if (!ex.o->pseudonymise || !json_is_object(v))
		return v;
	const char *emoji;
	json_t *who;
	json_object_foreach(v, emoji, who)
	{
		json_t *list = json_array();
		size_t i;
		json_t *u;
		json_array_foreach(who, i, u)
		{
			json_t *p = person(json_string_value(u));
			json_array_append(list, json_object_get(p, "id"));
			json_decref(p);
		}
		json_object_set_new(v, emoji, list);
	}
	return v;
}

/* A DM's name holds its people's ids: a pseudonymised export says "dm". */
static const char *room_label(const struct xroom *r)
{
	return ex.o->pseudonymise && strcmp(r->kind, "dm") == 0 ? "dm" : r->name;
}

/* The page's messages become lines first: edit history and files need
 * more store calls, made after the page's callback returned. */
static json_t *message_line(const parley_message *m)
{
	return json_pack("{s:s, s:I, s:s, s:o, s:I, s:s?, s:I, s:b, s:s?, s:o, s:o, s:o}", "room",
	                 room_label(ex.cur), "seq", (json_int_t)m->seq, "id", m->id, "user",
	                 person(m->user_id), "ts", (json_int_t)m->ts, "text",
	                 m->deleted ? NULL : m->text, "edited_ts", (json_int_t)m->edited_ts,
	                 "deleted", m->deleted, "reply_to", m->reply_to, "mentions",
	                 mentions(m->mentions_json), "reactions", reactions(m->reactions_json),
	                 "attachments", parsed(m->attachments_json));
}

static int write_line(json_t *line)
{
	char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!text)
		return -1;
	size_t n = strlen(text);
	text[n] = '\n';
	int rc = fwrite(text, 1, n + 1, ex.out) == n + 1 ? 0 : -1;
	mbedtls_sha256_update_ret(&ex.sha, (const unsigned char *)text, n + 1);
	free(text);
	return rc;
}

static void history_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	set_result(res);
	ex.more = 0;
	if (res->rc != PARLEY_OK)
		return;
	struct xroom *r = ex.cur;
	for (size_t i = 0; i < res->n_messages; i++) {
		const parley_message *m = &res->messages[i];
		if (m->seq > r->last_seq)
			return; /* written after the export began */
		ex.after = m->seq;
		if ((ex.o->since_ms >= 0 && m->ts < ex.o->since_ms) ||
		    (ex.o->until_ms >= 0 && m->ts > ex.o->until_ms))
			continue;
		json_t *line = message_line(m);
		if (!line || json_array_append_new(ex.page, line) < 0) {
			ex.rc = PARLEY_ENOMEM;
			snprintf(ex.error, sizeof ex.error, "out of memory");
			return;
		}
		if (r->count++ == 0)
			r->first = m->seq;
		r->last = m->seq;
		ex.total++;
	}
	ex.more = res->n_messages > 0 && ex.after < r->last_seq;
}

static void edits_done(void *ud, const parley_store_result *res)
{
	json_t *line = ud;
	set_result(res);
	if (res->rc != PARLEY_OK)
		return;
	json_t *versions = json_array();
	/* Every version but the current one (the line's text). */
	for (size_t i = 0; i + 1 < res->n_messages; i++)
		json_array_append_new(versions,
		                      json_pack("{s:s?, s:I}", "text", res->messages[i].text, "ts",
		                                (json_int_t)res->messages[i].ts));
	json_object_set_new(line, "edits", versions);
}

/* Earlier versions of edited messages; files wanted by --with-files. */
static int complete_line(const parley_store_vtable *st, void *self, json_t *line)
{
	json_int_t edited = json_integer_value(json_object_get(line, "edited_ts"));
	if (edited > 0 && !json_is_true(json_object_get(line, "deleted")) &&
	    PARLEY_HAS(parley_store_vtable, st, edits_list)) {
		ex.pending = 1;
		int rc = wait_call(st->edits_list(self, ex.cur->id,
		                                  json_string_value(json_object_get(line, "id")),
		                                  edits_done, line));
		if (rc != PARLEY_OK && rc != PARLEY_ENOTFOUND)
			return -1;
	}
	json_t *atts = json_object_get(line, "attachments");
	size_t i;
	json_t *a;
	if (ex.o->with_files && json_is_array(atts))
		json_array_foreach(atts, i, a)
		{
			const char *id = json_string_value(json_object_get(a, "id"));
			if (id && !json_is_true(json_object_get(a, "expired")))
				json_object_set_new(ex.files, id, json_null());
		}
	return 0;
}

static int export_room(const parley_store_vtable *st, void *self, struct xroom *r)
{
	ex.cur = r;
	ex.after = 0;
	do {
		json_array_clear(ex.page);
		ex.pending = 1;
		if (wait_call(st->history(self, r->id, 0, ex.after, EXPORT_PAGE, history_done,
		                          NULL)) != PARLEY_OK)
			return -1;
		size_t i;
		json_t *line;
		json_array_foreach(ex.page, i, line)
		{
			if (complete_line(st, self, line) < 0)
				return -1;
			if (write_line(line) < 0) {
				snprintf(ex.error, sizeof ex.error,
				         "cannot write messages.jsonl: %s", strerror(errno));
				return -1;
			}
		}
	} while (ex.more);
	return 0;
}

static void members_done(void *ud, const parley_store_result *res)
{
	struct xroom *r = ud;
	set_result(res);
	json_t *list = json_array();
	for (size_t i = 0; res->rc == PARLEY_OK && i < res->n_members; i++) {
		const parley_member *m = &res->members[i];
		json_t *who = person(m->user_id);
		json_array_append_new(list, json_pack("{s:O, s:s, s:I}", "user",
		                                      json_object_get(who, "id"), "role", m->role,
		                                      "read_seq", (json_int_t)m->read_seq));
		json_decref(who);
	}
	json_object_set_new(r->info, "members", list);
}

/* users.jsonl: everyone (an import needs the authors), never a password;
 * pseudonymised: the pseudonym alone. */
static int write_users(const char *dir, char *sha_hex)
{
	char path[EXPORT_PATH];
	FILE *f;
	if (snprintf(path, sizeof path, "%s/users.jsonl", dir) >= (int)sizeof path ||
	    !(f = fopen(path, "wx")))
		return -1;
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	size_t i;
	json_t *u;
	int rc = 0;
	json_array_foreach(ex.users, i, u)
	{
		json_t *line = json_deep_copy(u);
		if (ex.o->pseudonymise) {
			json_t *p = person(json_string_value(json_object_get(u, "id")));
			json_object_set(line, "id", json_object_get(p, "id"));
			json_object_set(line, "name", json_object_get(p, "name"));
			json_object_del(line, "display_name");
			json_object_del(line, "email");
			json_decref(p);
		}
		char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(line);
		if (!text) {
			rc = -1;
			break;
		}
		size_t n = strlen(text);
		text[n] = '\n';
		if (fwrite(text, 1, n + 1, f) != n + 1)
			rc = -1;
		mbedtls_sha256_update_ret(&sha, (const unsigned char *)text, n + 1);
		free(text);
	}
	unsigned char digest[32];
	mbedtls_sha256_finish_ret(&sha, digest);
	mbedtls_sha256_free(&sha);
	for (size_t k = 0; k < sizeof digest; k++)
		snprintf(sha_hex + 2 * k, 3, "%02x", digest[k]);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int write_manifest(const char *dir, const char *sha_hex, const char *users_sha)
{
	char path[EXPORT_PATH];
	json_t *rooms = json_array();
	for (size_t i = 0; i < ex.n_rooms; i++) {
		struct xroom *r = &ex.rooms[i];
		json_t *room =
		    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "name", room_label(r), "id",
		              r->id, "kind", r->kind, "messages", (json_int_t)r->count, "first_seq",
		              (json_int_t)r->first, "last_seq", (json_int_t)r->last,
		              "last_seq_at_start", (json_int_t)r->last_seq);
		json_object_update(room, r->info);
		if (ex.o->pseudonymise && json_is_string(json_object_get(r->info, "created_by"))) {
			json_t *p =
			    person(json_string_value(json_object_get(r->info, "created_by")));
			json_object_set(room, "created_by", json_object_get(p, "id"));
			json_decref(p);
		}
		json_array_append_new(rooms, room);
	}
	json_t *m =
	    json_pack("{s:s, s:i, s:b, s:o, s:o, s:o, s:I, s:s}", "format", EXPORT_FORMAT,
	              "version", EXPORT_FORMAT_VER, "pseudonymised", ex.o->pseudonymise, "since_ms",
	              ex.o->since_ms >= 0 ? json_integer(ex.o->since_ms) : json_null(), "until_ms",
	              ex.o->until_ms >= 0 ? json_integer(ex.o->until_ms) : json_null(), "rooms",
	              rooms, "messages", (json_int_t)ex.total, "messages_sha256", sha_hex);
	json_object_set_new(m, "users", json_integer((json_int_t)json_array_size(ex.users)));
	json_object_set_new(m, "users_sha256", json_string(users_sha));
	json_object_set_new(m, "with_files", json_boolean(ex.o->with_files));
	if (ex.o->with_files)
		json_object_set(m, "files", ex.files);
	int rc = -1;
	if (m && snprintf(path, sizeof path, "%s/manifest.json", dir) < (int)sizeof path)
		rc = json_dump_file(m, path, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(m);
	return rc;
}

/* Writes the export into dir (a new folder). */
static int export_into(const parley_store_vtable *st, void *self, const char *dir)
{
	char path[EXPORT_PATH];
	unsigned char digest[32];
	char sha_hex[65], users_sha[65];
	if (mkdir(dir, 0700) < 0) {
		xfail("cannot create %s: %s%s", dir, strerror(errno),
		      errno == EEXIST ? " (an export goes into a new folder)" : "");
		return -1;
	}
	for (size_t i = 0; i < ex.n_rooms; i++) {
		ex.pending = 1;
		if (wait_call(st->members_list(self, ex.rooms[i].id, members_done, &ex.rooms[i])) !=
		    PARLEY_OK) {
			xfail("members of %s: %s", ex.rooms[i].name, ex.error);
			return -1;
		}
	}
	if (write_users(dir, users_sha) < 0) {
		xfail("cannot write %s/users.jsonl: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(path, sizeof path, "%s/messages.jsonl", dir) >= (int)sizeof path ||
	    !(ex.out = fopen(path, "wx"))) {
		xfail("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	mbedtls_sha256_init(&ex.sha);
	mbedtls_sha256_starts_ret(&ex.sha, 0);
	for (size_t i = 0; i < ex.n_rooms; i++)
		if (export_room(st, self, &ex.rooms[i]) < 0) {
			xfail("room %s: %s", ex.rooms[i].name, ex.error);
			return -1;
		}
	mbedtls_sha256_finish_ret(&ex.sha, digest);
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(sha_hex + 2 * i, 3, "%02x", digest[i]);
	int bad = fflush(ex.out) != 0 || ferror(ex.out);
	if (fclose(ex.out) != 0 || bad) {
		ex.out = NULL;
		xfail("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	ex.out = NULL;
	if (ex.o->with_files && export_files_fetch(dir, ex.files, ex.error, sizeof ex.error) < 0) {
		xfail("files: %s", ex.error);
		return -1;
	}
	if (write_manifest(dir, sha_hex, users_sha) < 0) {
		xfail("cannot write %s/manifest.json", dir);
		return -1;
	}
	return 0;
}

static int run_export(const struct export_options *o)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!st) {
		xfail("no store is configured");
		return -1;
	}
	ex.pending = 1;
	if (wait_call(st->users_list(self, users_done, NULL)) != PARLEY_OK) {
		xfail("cannot list users: %s", ex.error);
		return -1;
	}
	ex.pending = 1;
	if (wait_call(st->rooms_list(self, rooms_done, NULL)) != PARLEY_OK) {
		xfail("cannot list rooms: %s", ex.error);
		return -1;
	}
	for (size_t i = 0; i < o->n_rooms; i++) {
		size_t k = 0;
		while (k < ex.n_rooms && strcmp(ex.rooms[k].name, o->rooms[i]) != 0)
			k++;
		if (k == ex.n_rooms) {
			xfail("no room named '%s'", o->rooms[i]);
			return -1;
		}
	}
	qsort(ex.rooms, ex.n_rooms, sizeof *ex.rooms, by_name);
	if (!export_is_zip(o->out)) {
		if (export_into(st, self, o->out) < 0)
			return -1;
	} else {
		/* A zip: the folder first, beside it, then one archive of it. */
		char dir[EXPORT_PATH];
		struct stat sb;
		if (stat(o->out, &sb) == 0) {
			xfail("%s exists (an export goes into a new file)", o->out);
			return -1;
		}
		if (snprintf(dir, sizeof dir, "%s.partial", o->out) >= (int)sizeof dir)
			return -1;
		int rc = export_into(st, self, dir);
		if (rc == 0 && export_zip_write(dir, o->out, ex.error, sizeof ex.error) < 0) {
			xfail("%s: %s", o->out, ex.error);
			rc = -1;
		}
		export_dir_remove(dir);
		if (rc < 0)
			return -1;
	}
	fprintf(stderr, "parley: export: %lld messages of %zu rooms, %zu users%s into %s\n",
	        (long long)ex.total, ex.n_rooms, json_array_size(ex.users),
	        ex.o->with_files ? " and their files" : "", o->out);
	return 0;
}

int export_main(struct config *cfg, const struct export_options *o)
{
	struct cli_runtime rt = {0};
	int status = 1;
	memset(&ex, 0, sizeof ex);
	ex.o = o;
	if (!(ex.names = json_object()) || !(ex.users = json_array()) ||
	    !(ex.page = json_array()) || !(ex.files = json_object())) {
		json_decref(ex.names);
		json_decref(ex.users);
		json_decref(ex.page);
		return 1;
	}
	int started = cli_runtime_start(&rt, cfg, NULL, EXPORT_WORKERS, CLI_PLUGINS_ALL);
	if (started == CLI_RUNTIME_EPLUGINS)
		xfail("cannot start the plugins");
	if (started < 0)
		goto done;
	/* Pseudonyms are keyed with the server key, the cluster's when the
	 * store holds it: every node's export names a person alike. */
	if (o->pseudonymise && server_secret_load(cfg->data_dir) < 0) {
		xfail("cannot read the server key");
		goto done;
	}
	status = run_export(o) == 0 ? 0 : 1;
done:
	if (ex.out)
		fclose(ex.out);
	mbedtls_sha256_free(&ex.sha);
	cli_runtime_stop(&rt);
	for (size_t i = 0; i < ex.n_rooms; i++) {
		free(ex.rooms[i].id);
		free(ex.rooms[i].name);
		free(ex.rooms[i].kind);
		json_decref(ex.rooms[i].info);
	}
	free(ex.rooms);
	json_decref(ex.names);
	json_decref(ex.users);
	json_decref(ex.page);
	json_decref(ex.files);
	return status;
}

int export_is_zip(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && strcasecmp(path + n - 4, ".zip") == 0;
}
