/* parley import (see import.h). Steps: unpack (a zip), check the manifest
 * and every checksum, take the data dir's lock, start the plugins, check
 * the store is empty, then write users, rooms, members, messages (with
 * reactions, edit history and upload records) in batches through
 * records_write, then reset links and an audit entry. */
#include "app/import.h"
#include "app/import_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#include "api/upload_headers.h"
#include "app/admin_internal.h"
#include "app/data_lock.h"
#include "app/export.h"
#include "app/export_zip.h"
#include "app/import_source.h"
#include "base/config.h"
#include "base/loop.h"
#include "base/token_hash.h"
#include "host/plugin_host.h"

#define IMPORT_PATH 4096

static struct {
	const char *dir;
	json_t *manifest;
	const parley_store_vtable *st;
	void *self;
	int pending, rc;
	char error[300];
	int64_t value;
	json_t *batch[IMPORT_N_KINDS]; /* per kind, records waiting to be written */
	int64_t written[IMPORT_N_KINDS];
	json_t *users; /* id -> {name, role, disabled} */
	int with_files;
} im;

/* Parents before children: a flush writes them in this order (enum
 * import_kind). */
static const char *const KIND[] = {"users",     "rooms", "members",       "messages",
                                   "reactions", "edits", "room_settings", "thread_follows"};
#define N_KINDS     IMPORT_N_KINDS
#define K_USERS     IMPORT_USERS
#define K_ROOMS     IMPORT_ROOMS
#define K_MEMBERS   IMPORT_MEMBERS
#define K_MESSAGES  IMPORT_MESSAGES
#define K_REACTIONS IMPORT_REACTIONS
#define K_EDITS     IMPORT_EDITS

#define ifail import_fail
void import_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("parley: import: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void call_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	im.pending = 0;
	im.rc = res->rc;
	im.value = res->value;
	if (res->rc == PARLEY_OK && ud) {
		/* users_list / rooms_list: is anything there? */
		int64_t *count = ud;
		*count = (int64_t)res->n_users;
		for (size_t i = 0; i < res->n_rooms; i++)
			if (res->rooms[i].last_seq > 0)
				++*count;
	}
	snprintf(im.error, sizeof im.error, "%s",
	         res->rc == PARLEY_OK ? "" : (res->error ? res->error : "store error"));
}

static int wait_call(int rc)
{
	if (rc != PARLEY_PENDING) {
		snprintf(im.error, sizeof im.error, "the store refused the call");
		return rc < 0 ? rc : PARLEY_EUNAVAIL;
	}
	cli_runtime_wait(&im.pending);
	return im.rc;
}

/* "u_12" -> 12 (prefix 'u'); 0 when it is not such an id. */
static json_int_t key_of(const char *id, char prefix)
{
	if (!id || id[0] != prefix || id[1] != '_' || id[2] < '1' || id[2] > '9')
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(id + 2, &end, 10);
	return errno || *end || v <= 0 ? 0 : (json_int_t)v;
}

static json_t *key_or_null(const char *id, char prefix)
{
	json_int_t k = key_of(id, prefix);
	return k ? json_integer(k) : json_null();
}

/* ------------------------------------------------------------------ */
/* Checks before anything is written                                   */
/* ------------------------------------------------------------------ */

static int sha256_file(const char *path, char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	unsigned char buf[65536], digest[32];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		mbedtls_sha256_update_ret(&sha, buf, n);
	int bad = ferror(f);
	fclose(f);
	mbedtls_sha256_finish_ret(&sha, digest);
	mbedtls_sha256_free(&sha);
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return bad ? -1 : 0;
}

static int check_sum(const char *name, const char *want)
{
	char path[IMPORT_PATH], hex[65];
	snprintf(path, sizeof path, "%s/%s", im.dir, name);
	if (!want) {
		ifail("the manifest has no checksum for %s", name);
		return -1;
	}
	if (sha256_file(path, hex) < 0) {
		ifail("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (strcmp(hex, want) != 0) {
		ifail("%s does not match the manifest's SHA-256 (damaged or changed)", name);
		return -1;
	}
	return 0;
}

static int check_manifest(void)
{
	char path[IMPORT_PATH];
	struct stat sb;
	json_error_t je;
	snprintf(path, sizeof path, "%s/manifest.json", im.dir);
	if (stat(path, &sb) < 0 || sb.st_size > IMPORT_MANIFEST_MAX) {
		ifail("%s: %s", path, errno ? strerror(errno) : "larger than 64 MiB");
		return -1;
	}
	if (!(im.manifest = json_load_file(path, JSON_REJECT_DUPLICATES, &je))) {
		ifail("%s: line %d: %s", path, je.line, je.text);
		return -1;
	}
	json_t *m = im.manifest;
	if (strcmp(json_string_value(json_object_get(m, "format")) ?: "", EXPORT_FORMAT) != 0 ||
	    json_integer_value(json_object_get(m, "version")) != EXPORT_FORMAT_VER) {
		ifail("not a parley export of format version %d", EXPORT_FORMAT_VER);
		return -1;
	}
	if (json_is_true(json_object_get(m, "pseudonymised"))) {
		ifail("a pseudonymised export cannot be imported (its people are hashes): export "
		      "without --pseudonymise");
		return -1;
	}
	if (!json_is_array(json_object_get(m, "rooms"))) {
		ifail("the manifest lists no rooms");
		return -1;
	}
	if (check_sum("messages.jsonl", json_string_value(json_object_get(m, "messages_sha256"))) <
	        0 ||
	    check_sum("users.jsonl", json_string_value(json_object_get(m, "users_sha256"))) < 0)
		return -1;
	im.with_files = json_is_true(json_object_get(m, "with_files"));
	const char *id;
	json_t *f;
	json_object_foreach(json_object_get(m, "files"), id, f)
	{
		char name[64];
		if (strncmp(id, "up_", 3) != 0 || strlen(id) > 24 || !id[3] ||
		    strspn(id + 3, "0123456789") != strlen(id + 3)) {
			ifail("the manifest names a file '%.40s' an export does not have", id);
			return -1;
		}
		snprintf(name, sizeof name, "files/%.40s", id);
		if (check_sum(name, json_string_value(json_object_get(f, "sha256"))) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static int flush_kind(int k)
{
	if (json_array_size(im.batch[k]) == 0)
		return 0;
	char *text = json_dumps(im.batch[k], JSON_COMPACT);
	if (!text)
		return -1;
	im.pending = 1;
	int rc = wait_call(im.st->records_write(im.self, KIND[k], text, call_done, NULL));
	free(text);
	if (rc != PARLEY_OK) {
		ifail("writing %s: %s", KIND[k], im.error);
		return -1;
	}
	im.written[k] += (int64_t)json_array_size(im.batch[k]);
	json_array_clear(im.batch[k]);
	return 0;
}

static int flush_all(void)
{
	for (int k = 0; k < N_KINDS; k++)
		if (flush_kind(k) < 0)
			return -1;
	return 0;
}

static int add(int k, json_t *record)
{
	if (!record || json_array_append_new(im.batch[k], record) < 0) {
		ifail(
		    "a record of %s could not be built (out of memory, or text that is not UTF-8)",
		    KIND[k]);
		return -1;
	}
	return json_array_size(im.batch[k]) >= IMPORT_BATCH ? flush_all() : 0;
}

int import_add(enum import_kind k, json_t *record)
{
	return add((int)k, record);
}

int import_flush(void)
{
	return flush_all();
}

int64_t import_written(enum import_kind k)
{
	return im.written[k];
}

/* Reads a JSON-lines file, one object a line, into each(). */
static int each_line(const char *name, int (*each)(json_t *line, size_t n))
{
	char path[IMPORT_PATH];
	snprintf(path, sizeof path, "%s/%s", im.dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		ifail("%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	int rc = 0;
	while (rc == 0 && (len = getline(&buf, &cap, f)) > 0) {
		n++;
		json_error_t je;
		json_t *line = len <= IMPORT_LINE_MAX ? json_loadb(buf, (size_t)len, 0, &je) : NULL;
		if (!json_is_object(line)) {
			ifail("%s line %zu: %s", name, n,
			      len > IMPORT_LINE_MAX ? "longer than 16 MiB"
			                            : (line ? "not an object" : je.text));
			rc = -1;
		} else {
			rc = each(line, n);
		}
		json_decref(line);
	}
	free(buf);
	fclose(f);
	return rc;
}

static int user_line(json_t *u, size_t n)
{
	const char *id = json_string_value(json_object_get(u, "id"));
	const char *name = json_string_value(json_object_get(u, "name"));
	const char *role = json_string_value(json_object_get(u, "role"));
	if (!key_of(id, 'u') || !name || !role) {
		ifail("users.jsonl line %zu: a person needs an id (u_N), a name and a role", n);
		return -1;
	}
	json_object_set_new(im.users, id,
	                    json_pack("{s:s, s:s, s:b}", "name", name, "role", role, "disabled",
	                              json_is_true(json_object_get(u, "disabled"))));
	return add(K_USERS,
	           json_pack("{s:I, s:s, s:O?, s:s, s:O?, s:n, s:i, s:I}", "id", key_of(id, 'u'),
	                     "name", name, "display_name", json_object_get(u, "display_name"),
	                     "role", role, "email", json_object_get(u, "email"), "password_hash",
	                     "disabled", json_is_true(json_object_get(u, "disabled")), "created_ts",
	                     json_integer_value(json_object_get(u, "created_ts"))));
}

static int rooms(void)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(im.manifest, "rooms"), i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!key_of(id, 'r') || !name || !kind) {
			ifail("manifest room %zu: needs an id (r_N), a name and a kind", i + 1);
			return -1;
		}
		if (add(K_ROOMS,
		        json_pack(
		            "{s:I, s:s, s:s, s:O?, s:o, s:I, s:I, s:i, s:i}", "id", key_of(id, 'r'),
		            "name", name, "kind", kind, "topic", json_object_get(r, "topic"),
		            "created_by",
		            key_or_null(json_string_value(json_object_get(r, "created_by")), 'u'),
		            "created_ts", json_integer_value(json_object_get(r, "created_ts")),
		            "last_seq", json_integer_value(json_object_get(r, "last_seq_at_start")),
		            "pruned_seq", 0, "retention_ms", 0)) < 0)
			return -1;
	}
	if (flush_all() < 0)
		return -1;
	json_array_foreach(json_object_get(im.manifest, "rooms"), i, r)
	{
		size_t k;
		json_t *m;
		json_int_t room = key_of(json_string_value(json_object_get(r, "id")), 'r');
		json_array_foreach(json_object_get(r, "members"), k, m)
		{
			json_int_t user =
			    key_of(json_string_value(json_object_get(m, "user")), 'u');
			const char *role = json_string_value(json_object_get(m, "role"));
			if (!user || !role) {
				ifail("room %s: a member without user or role",
				      json_string_value(json_object_get(r, "id")));
				return -1;
			}
			if (add(K_MEMBERS,
			        json_pack("{s:I, s:I, s:s, s:I}", "room", room, "user", user,
			                  "role", role, "read_seq",
			                  json_integer_value(json_object_get(m, "read_seq")))) < 0)
				return -1;
		}
	}
	return flush_all();
}

/* ---- files: the object through the uploads provider, then the record -- */

struct put {
	int pending, rc;
};

static void put_done(void *ud, int rc, const char *error)
{
	struct put *p = ud;
	p->pending = 0;
	p->rc = rc;
	if (rc != PARLEY_OK)
		snprintf(im.error, sizeof im.error, "%s", error ? error : "write failed");
}

static void put_wait(struct put *p)
{
	cli_runtime_wait(&p->pending);
}

/* Writes files/<id> as a new object; its key into key. */
static int put_object(const char *id, json_t *file, char key[40])
{
	void *self;
	const parley_uploads_vtable *vt = plugins_uploads(&self);
	char path[IMPORT_PATH], disp[UPLOAD_NAME_MAX * 4 + 64];
	unsigned char rnd[16];
	if (!vt) {
		ifail("the export has files but no uploads provider is configured");
		return -1;
	}
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return -1;
	memcpy(key, "up_", 3);
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(key + 3 + 2 * i, 3, "%02x", rnd[i]);
	if (vt->local_path) {
		/* A provider on local files makes its folder when a server starts;
		 * an import into a data dir never served comes first. */
		char *where = vt->local_path(self, key);
		char *slash = where ? strrchr(where, '/') : NULL;
		if (slash) {
			*slash = '\0';
			mkdir(where, 0700);
		}
		if (where)
			plugins_host()->free(NULL, where);
	}
	const char *name = json_string_value(json_object_get(file, "name"));
	const char *type = json_string_value(json_object_get(file, "type"));
	if (upload_content_disposition(disp, sizeof disp, upload_type_inline(type ?: ""),
	                               name ?: "file") < 0)
		snprintf(disp, sizeof disp, "attachment");
	snprintf(path, sizeof path, "%s/files/%s", im.dir, id);
	FILE *f = fopen(path, "rb");
	void *h = NULL;
	if (!f || vt->begin(self, key, type ?: "application/octet-stream", disp,
	                    json_integer_value(json_object_get(file, "size")), &h) != PARLEY_OK) {
		ifail("%s: %s", id, f ? "the uploads provider refused it" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	static char buf[1024 * 1024];
	size_t n;
	struct put p = {0};
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		p.pending = 1;
		int rc = vt->write(h, buf, n, put_done, &p);
		if (rc == PARLEY_PENDING)
			put_wait(&p);
		else if (rc != PARLEY_OK)
			p.rc = rc;
		if (rc != PARLEY_PENDING)
			p.pending = 0;
		if (p.rc != PARLEY_OK) {
			vt->abort(h);
			fclose(f);
			ifail("%s: %s", id, im.error);
			return -1;
		}
	}
	fclose(f);
	p.pending = 1;
	if (vt->finish(h, put_done, &p) != PARLEY_PENDING) {
		ifail("%s: the uploads provider cannot finish it", id);
		return -1;
	}
	put_wait(&p);
	if (p.rc != PARLEY_OK) {
		ifail("%s: %s", id, im.error);
		return -1;
	}
	return 0;
}

static json_t *uploads_batch;

/* A message's attachments: with the file in the export, its object and
 * record come back (same id, a new key); without, it shows expired. */
static json_t *attachments(json_t *msg)
{
	json_t *list = json_object_get(msg, "attachments");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return json_null();
	json_t *files = json_object_get(im.manifest, "files");
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		const char *id = json_string_value(json_object_get(a, "id"));
		json_t *file = id ? json_object_get(files, id) : NULL;
		char key[40];
		json_int_t up = 0;
		if (id && strncmp(id, "up_", 3) == 0)
			up = (json_int_t)strtoll(id + 3, NULL, 10);
		if (!file || up <= 0 || json_is_true(json_object_get(a, "expired"))) {
			json_object_del(a, "url");
			json_object_set_new(a, "expired", json_true());
			continue;
		}
		if (put_object(id, file, key) < 0)
			return NULL;
		json_array_append_new(
		    uploads_batch,
		    json_pack("{s:I, s:I, s:O, s:O, s:O, s:O, s:s, s:n, s:I, s:I, s:O}", "id", up,
		              "user",
		              key_of(json_string_value(
		                         json_object_get(json_object_get(msg, "user"), "id")),
		                     'u'),
		              "name", json_object_get(file, "name"), "type",
		              json_object_get(file, "type"), "size", json_object_get(file, "size"),
		              "sha256", json_object_get(file, "sha256"), "key", key, "tags", "room",
		              key_of(json_string_value(json_object_get(msg, "room_id")), 'r'),
		              "message", key_of(json_string_value(json_object_get(msg, "id")), 'm'),
		              "created_ts", json_object_get(msg, "ts")));
	}
	return json_incref(list);
}

static char *dumps_or_null(json_t *v)
{
	return json_is_null(v) || !v ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The room's id by the export's room label (the name). */
static json_t *room_ids;

static int message_line(json_t *m, size_t n)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *room_name = json_string_value(json_object_get(m, "room"));
	const char *room_id =
	    room_name ? json_string_value(json_object_get(room_ids, room_name)) : NULL;
	const char *user = json_string_value(json_object_get(json_object_get(m, "user"), "id"));
	json_int_t key = key_of(id, 'm'), seq = json_integer_value(json_object_get(m, "seq"));
	if (!key || !room_id || !key_of(user, 'u') || seq <= 0) {
		ifail(
		    "messages.jsonl line %zu: needs an id (m_N), a known room, an author and a seq",
		    n);
		return -1;
	}
	json_object_set_new(m, "room_id", json_string(room_id));
	json_t *atts = attachments(m);
	if (!atts)
		return -1;
	char *mentions = dumps_or_null(json_object_get(m, "mentions"));
	char *att_text = dumps_or_null(atts);
	json_decref(atts);
	int rc = add(
	    K_MESSAGES,
	    json_pack("{s:I, s:I, s:I, s:I, s:O?, s:O, s:n, s:O?, s:s?, s:s?, s:O, s:i}", "id", key,
	              "room", key_of(room_id, 'r'), "seq", seq, "user", key_of(user, 'u'), "text",
	              json_object_get(m, "text"), "ts", json_object_get(m, "ts"), "client_id",
	              "reply_to", json_object_get(m, "reply_to"), "mentions_json", mentions,
	              "attachments_json", att_text, "edited_ts", json_object_get(m, "edited_ts"),
	              "deleted", json_is_true(json_object_get(m, "deleted"))));
	free(mentions);
	free(att_text);
	if (rc < 0)
		return -1;
	const char *emoji;
	json_t *who;
	json_object_foreach(json_object_get(m, "reactions"), emoji, who)
	{
		size_t i;
		json_t *u;
		json_array_foreach(who, i, u)
		{
			json_int_t uk = key_of(json_string_value(u), 'u');
			if (uk && add(K_REACTIONS, json_pack("{s:I, s:I, s:s}", "message", key,
			                                     "user", uk, "emoji", emoji)) < 0)
				return -1;
		}
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "edits"), i, e)
	{
		if (add(K_EDITS, json_pack("{s:n, s:I, s:O?, s:n, s:O}", "id", "message", key,
		                           "text", json_object_get(e, "text"), "mentions_json",
		                           "ts", json_object_get(e, "ts"))) < 0)
			return -1;
	}
	return 0;
}

static int write_uploads(void)
{
	if (json_array_size(uploads_batch) == 0)
		return 0;
	char *text = json_dumps(uploads_batch, JSON_COMPACT);
	im.pending = 1;
	int rc = text ? wait_call(im.st->records_write(im.self, "uploads", text, call_done, NULL))
	              : PARLEY_ENOMEM;
	free(text);
	if (rc != PARLEY_OK) {
		ifail("writing uploads: %s", im.error);
		return -1;
	}
	return 0;
}

/* ---- reset links and the audit entry -------------------------------- */

int import_reset_links(struct config *cfg, json_t *users)
{
	const char *id;
	json_t *u;
	int64_t now = loop_now_ms();
	int n = 0;
	json_object_foreach(users, id, u)
	{
		if (json_is_true(json_object_get(u, "disabled")) ||
		    strcmp(json_string_value(json_object_get(u, "role")), "bot") == 0)
			continue;
		/* The form auth_local's links have: 32 random bytes, base64url. */
		unsigned char rnd[32];
		char token[64], hash[TOKEN_HASH_HEX + 1];
		size_t len = 0;
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd ||
		    mbedtls_base64_encode((unsigned char *)token, sizeof token, &len, rnd,
		                          sizeof rnd) != 0)
			return -1;
		for (size_t i = 0; i < len; i++)
			token[i] = token[i] == '+' ? '-' : token[i] == '/' ? '_' : token[i];
		while (len && token[len - 1] == '=')
			len--;
		token[len] = '\0';
		token_hash_hex(token, hash);
		im.pending = 1;
		if (wait_call(im.st->token_create(im.self, "password_reset", hash, id,
		                                  now + IMPORT_RESET_TTL_S * 1000LL, call_done,
		                                  NULL)) != PARLEY_OK) {
			ifail("reset link for %s: %s", id, im.error);
			return -1;
		}
		printf("reset %s %s/#reset=%s\n", json_string_value(json_object_get(u, "name")),
		       cfg->public_url ? cfg->public_url : "", token);
		n++;
	}
	return n;
}

void import_audit(json_t *detail_json)
{
	if (!PARLEY_HAS(parley_store_vtable, im.st, audit_append)) {
		json_decref(detail_json);
		return;
	}
	char *detail = detail_json ? json_dumps(detail_json, JSON_COMPACT) : NULL;
	json_decref(detail_json);
	parley_audit a = {
	    .ts = loop_now_ms(), .action = "data.import", .detail = detail, .client = "cli"};
	im.pending = 1;
	if (wait_call(im.st->audit_append(im.self, &a, call_done, NULL)) != PARLEY_OK)
		ifail("the audit entry was not written: %s", im.error);
	free(detail);
}

static void audit(void)
{
	json_t *d = json_pack("{s:I, s:I, s:I, s:I, s:b}", "users", (json_int_t)im.written[K_USERS],
	                      "rooms", (json_int_t)im.written[K_ROOMS], "messages",
	                      (json_int_t)im.written[K_MESSAGES], "files",
	                      (json_int_t)json_object_size(json_object_get(im.manifest, "files")),
	                      "with_files", im.with_files);
	import_audit(d);
}

int import_open_store(void)
{
	int64_t found = 0;
	im.st = plugins_store(&im.self);
	if (!PARLEY_HAS(parley_store_vtable, im.st, records_write)) {
		ifail("this store cannot import (it has no records_write)");
		return -1;
	}
	im.pending = 1;
	if (wait_call(im.st->users_list(im.self, call_done, &found)) != PARLEY_OK)
		return -1;
	im.pending = 1;
	if (wait_call(im.st->rooms_list(im.self, call_done, &found)) != PARLEY_OK)
		return -1;
	if (found) {
		ifail("the store is not empty (it has people or messages): import into a new data "
		      "dir");
		return -1;
	}
	return 0;
}

void import_begin(void)
{
	memset(&im, 0, sizeof im);
	for (int k = 0; k < N_KINDS; k++)
		im.batch[k] = json_array();
}

void import_end(void)
{
	for (int k = 0; k < N_KINDS; k++) {
		json_decref(im.batch[k]);
		im.batch[k] = NULL;
	}
}

static int run_import(struct config *cfg)
{
	if (import_open_store() < 0)
		return -1;
	room_ids = json_object();
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(im.manifest, "rooms"), i, r)
	    json_object_set(room_ids, json_string_value(json_object_get(r, "name")) ?: "",
	                    json_object_get(r, "id"));
	uploads_batch = json_array();
	if (each_line("users.jsonl", user_line) < 0 || flush_all() < 0 || rooms() < 0 ||
	    each_line("messages.jsonl", message_line) < 0 || flush_all() < 0 || write_uploads() < 0)
		return -1;
	int links = import_reset_links(cfg, im.users);
	if (links < 0)
		return -1;
	audit();
	fprintf(stderr,
	        "parley: import: %lld people, %lld rooms, %lld messages, %lld reactions, %lld "
	        "earlier versions, %zu files; %d reset links printed (valid %d days)%s\n",
	        (long long)im.written[K_USERS], (long long)im.written[K_ROOMS],
	        (long long)im.written[K_MESSAGES], (long long)im.written[K_REACTIONS],
	        (long long)im.written[K_EDITS], json_array_size(uploads_batch), links,
	        IMPORT_RESET_TTL_S / 86400,
	        cfg->public_url ? "" : " (no server.public_url: the links lack the address)");
	return 0;
}

int import_main(struct config *cfg, const char *path)
{
	struct import_source src;
	struct cli_runtime rt = {0};
	char err[300];
	int status = 1;
	/* Like a restore: never under a running server. */
	if (data_lock_take(cfg->data_dir, err, sizeof err) < 0) {
		ifail("%s", err);
		return 1;
	}
	import_begin();
	if (import_source_open(&src, path, cfg->data_dir, "import", EXPORT_ZIP_MAX_ENTRIES,
	                       EXPORT_ZIP_MAX_BYTES, err, sizeof err) < 0) {
		ifail("%s: %s", path, err);
		goto done;
	}
	im.dir = src.dir;
	im.users = json_object();
	if (check_manifest() < 0)
		goto done;
	if (admin_start(cfg, "import", &rt) < 0)
		goto done;
	status = run_import(cfg) == 0 ? 0 : 1;
done:
	fflush(stdout);
	admin_stop(&rt);
	import_source_close(&src);
	import_end();
	json_decref(im.users);
	json_decref(im.manifest);
	json_decref(room_ids);
	json_decref(uploads_batch);
	room_ids = uploads_batch = NULL;
	data_lock_release();
	return status;
}
