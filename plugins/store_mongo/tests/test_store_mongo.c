/* store_mongo through the real host, against the database at
 * PARLEY_TEST_MONGO_URI: CongoDB started by tests/mongo/congo.py (which
 * runs this program), or a real MongoDB. Config sections from conf_load,
 * plugins_load + plugins_init dlopen the built plugin (with auth_local,
 * which the host requires beside a store), the vtable from
 * plugins_store(), and the loop turned until each done() fires. Each test
 * uses a database of its own, dropped at teardown.
 *
 * The store semantics are store_sqlite's (tests/unit/test_store_sqlite.c,
 * same cases); added here: the schema document and indexes, config
 * checks, two processes appending to one room, an unreachable database at
 * start that the store recovers from, and a database restart (CongoDB in
 * file mode; these need PARLEY_TEST_CONGO, set by congo.py, and are
 * skipped against a real server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/loop.h"
#include "host/plugin_host.h"
#include "base/workers.h"

/* Records a result keeps; more are counted but not copied. */
#define KEEP 1100
#define STR  160

struct msg_copy {
	char id[32], room_id[32], user_id[32], text[STR], client_id[64], reactions[STR];
	int64_t seq, edited_ts;
	int deleted, has_text;
};

struct res {
	int fired, rc, more, duplicate;
	int64_t value;
	size_t n_messages, n_rooms, n_members, n_users;
	struct msg_copy msgs[KEEP];
	struct {
		char id[32], name[64], topic[STR];
		int64_t last_seq;
	} rooms[16];
	struct {
		char room_id[32], user_id[32], role[32];
		int64_t read_seq;
	} members[16];
	struct {
		char id[32], name[64], display_name[64];
		int disabled, has_hash;
	} users[16];
	char session_user[32];
	int has_session;
	int64_t invite_used_ts;
	int has_invite;
	size_t n_invites, n_audit;
	char text[STR], session_scopes[64], session_rooms[64];
	int has_text;
	struct {
		int64_t id;
		char action[32], actor[32], target[32], client[32];
	} audit[8];
};

static void cp(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static void on_done(void *ud, const parley_store_result *r)
{
	struct res *o = ud;
	o->fired++;
	o->rc = r->rc;
	o->more = r->more;
	o->duplicate = r->duplicate;
	o->value = r->value;
	o->n_messages = r->n_messages;
	o->n_rooms = r->n_rooms;
	o->n_members = r->n_members;
	o->n_users = r->n_users;
	for (size_t i = 0; i < r->n_messages && i < KEEP; i++) {
		const parley_message *m = &r->messages[i];
		struct msg_copy *c = &o->msgs[i];
		cp(c->id, sizeof c->id, m->id);
		cp(c->room_id, sizeof c->room_id, m->room_id);
		cp(c->user_id, sizeof c->user_id, m->user_id);
		cp(c->text, sizeof c->text, m->text);
		cp(c->client_id, sizeof c->client_id, m->client_id);
		cp(c->reactions, sizeof c->reactions, m->reactions_json);
		c->has_text = m->text != NULL;
		c->seq = m->seq;
		c->edited_ts = m->edited_ts;
		c->deleted = m->deleted;
	}
	for (size_t i = 0; i < r->n_rooms && i < 16; i++) {
		cp(o->rooms[i].id, sizeof o->rooms[i].id, r->rooms[i].id);
		cp(o->rooms[i].name, sizeof o->rooms[i].name, r->rooms[i].name);
		cp(o->rooms[i].topic, sizeof o->rooms[i].topic, r->rooms[i].topic);
		o->rooms[i].last_seq = r->rooms[i].last_seq;
	}
	for (size_t i = 0; i < r->n_members && i < 16; i++) {
		cp(o->members[i].room_id, 32, r->members[i].room_id);
		cp(o->members[i].user_id, 32, r->members[i].user_id);
		cp(o->members[i].role, 32, r->members[i].role);
		o->members[i].read_seq = r->members[i].read_seq;
	}
	for (size_t i = 0; i < r->n_users && i < 16; i++) {
		cp(o->users[i].id, 32, r->users[i].id);
		cp(o->users[i].name, 64, r->users[i].name);
		cp(o->users[i].display_name, 64, r->users[i].display_name);
		o->users[i].disabled = r->users[i].disabled;
		o->users[i].has_hash = r->users[i].password_hash != NULL;
	}
	o->has_session = r->session != NULL;
	if (r->session)
		cp(o->session_user, sizeof o->session_user, r->session->user_id);
	o->has_invite = r->invite != NULL;
	if (r->invite)
		o->invite_used_ts = r->invite->used_ts;
	if (r->session) {
		cp(o->session_scopes, sizeof o->session_scopes, r->session->scopes);
		cp(o->session_rooms, sizeof o->session_rooms, r->session->rooms_json);
	}
	o->n_invites = r->n_invites;
	o->n_audit = r->n_audit;
	o->has_text = r->text != NULL;
	cp(o->text, sizeof o->text, r->text);
	for (size_t i = 0; i < r->n_audit && i < 8; i++) {
		o->audit[i].id = r->audit[i].id;
		cp(o->audit[i].action, 32, r->audit[i].action);
		cp(o->audit[i].actor, 32, r->audit[i].actor_id);
		cp(o->audit[i].target, 32, r->audit[i].target);
		cp(o->audit[i].client, 32, r->audit[i].client);
	}
}

static void keepalive_cb(struct ev_loop *l, ev_timer *w, int revents) {}

/* Turns the loop until every one of n results fired. */
static void wait_all(struct res *r, size_t n)
{
	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++)
			left += r[i].fired ? 0 : 1;
		if (!left)
			break;
		ev_run(loop_ev, EVRUN_ONCE);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(r[i].fired, 1);
}

/* Issues a call that must go pending, then waits for it; the result's rc. */
#define DO(r, call)                                                                                \
	do {                                                                                       \
		memset((r), 0, sizeof *(r));                                                       \
		assert_int_equal((call), PARLEY_PENDING);                                          \
		wait_all((r), 1);                                                                  \
	} while (0)

static char tmpdir[256];
static char dbname[64];
static int db_pid; /* set at setup: a forked child names the same databases */
static struct config cfg;
static const parley_store_vtable *S;
static void *self;
static ev_timer keepalive;
static int opened;

static const char *test_uri(void)
{
	return getenv("PARLEY_TEST_MONGO_URI");
}

/* Drops the test's database, straight through the driver. */
static void drop_database(const char *uri, const char *name)
{
	mongoc_client_t *client = mongoc_client_new(uri);
	if (!client)
		return;
	mongoc_database_t *db = mongoc_client_get_database(client, name);
	mongoc_database_drop(db, NULL);
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
}

/* Loads the plugins with a store section for database `name` (made
 * unique per process) at uri (NULL: the test server); extra: more keys
 * (", timeout = 1"). 0, or -1 if loading or init failed. */
static int store_open_at(const char *uri, const char *name, const char *extra)
{
	char src[1024], err[256];
	static char plugin_dir[512];
	snprintf(dbname, sizeof dbname, "t%d_%.*s", db_pid, (int)strcspn(name, "."), name);
	snprintf(src, sizeof src, "store = { uri = \"%s\", database = \"%s\"%s }\n",
	         uri ? uri : test_uri(), dbname, extra ? extra : "");
	snprintf(plugin_dir, sizeof plugin_dir, "%s/plugins", PARLEY_BUILD_DIR);
	memset(&cfg, 0, sizeof cfg);
	cfg.root = conf_load("test.conf", src, err, sizeof err);
	assert_non_null(cfg.root);
	cfg.base_dir = tmpdir;
	cfg.data_dir = tmpdir;
	cfg.plugin_dir = plugin_dir;
	cfg.plugins[0].name = "store_mongo";
	cfg.plugins[0].section = conf_get(cfg.root, "store");
	cfg.plugins[1].name = "auth_local";
	cfg.n_plugins = 2;
	assert_int_equal(loop_init(), 0);
	assert_int_equal(workers_start(2), 0);
	ev_timer_init(&keepalive, keepalive_cb, 0.05, 0.05);
	ev_timer_start(loop_ev, &keepalive);
	opened = 1;
	/* As an admin command: auth_local then leaves the store alone. */
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0)
		return -1;
	S = plugins_store(&self);
	assert_non_null(S);
	return 0;
}

static int store_open(const char *name, const char *extra)
{
	return store_open_at(NULL, name, extra);
}

static void store_close(void)
{
	if (!opened)
		return;
	plugins_fini();
	workers_stop();
	ev_timer_stop(loop_ev, &keepalive);
	loop_fini();
	conf_free(cfg.root);
	S = NULL;
	opened = 0;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/parley-mongo-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	dbname[0] = '\0';
	db_pid = (int)getpid();
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	store_close();
	if (dbname[0])
		drop_database(test_uri(), dbname);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Turns the loop until ready() says yes (want 1) or no (want 0), at most
 * secs seconds; 1 when it did. */
static int wait_ready(int want, int secs, char *why, size_t n)
{
	time_t end = time(NULL) + secs;
	while (time(NULL) < end) {
		if (plugins_ready(why, n) == want)
			return 1;
		ev_run(loop_ev, EVRUN_ONCE);
	}
	return 0;
}

/* ---- helpers that create records -------------------------------------- */

static void mk_user(const char *name, char *id_out)
{
	struct res r;
	parley_user u = {.name = name, .role = "member", .password_hash = "$argon2id$x"};
	DO(&r, S->user_create(self, &u, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	strcpy(id_out, r.users[0].id);
}

static void mk_room(const char *name, const char *creator, char *id_out)
{
	struct res r;
	parley_room room = {.name = name, .kind = "public", .created_by = creator};
	DO(&r, S->room_create(self, &room, "owner", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	strcpy(id_out, r.rooms[0].id);
}

static int append(const char *room, const char *user, const char *text, const char *client_id,
                  struct res *r)
{
	parley_message m = {.room_id = room, .user_id = user, .text = text, .client_id = client_id};
	memset(r, 0, sizeof *r);
	return S->append(self, &m, on_done, r);
}

/* ---- tests -------------------------------------------------------------- */

static void test_users(void **state)
{
	static struct res r;
	char alice[32], bob[32];
	assert_int_equal(store_open("users.db", NULL), 0);
	mk_user("alice", alice);
	mk_user("bob", bob);
	assert_string_equal(alice, "u_1");

	parley_user dup = {.name = "ALICE"};
	DO(&r, S->user_create(self, &dup, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ECONFLICT);

	DO(&r, S->user_get(self, NULL, "Alice", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.users[0].id, alice);
	assert_true(r.users[0].has_hash);
	DO(&r, S->user_get(self, "u_99", NULL, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	assert_int_equal(S->user_get(self, "x_1", NULL, on_done, &r), PARLEY_EINVAL);

	parley_user up = {.id = bob, .display_name = "Bob B.", .disabled = 1};
	DO(&r, S->user_update(self, &up, 1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.users[0].display_name, "Bob B.");
	assert_string_equal(r.users[0].name, "bob");
	assert_int_equal(r.users[0].disabled, 1);
	parley_user rename = {.id = bob, .name = "Alice"};
	DO(&r, S->user_update(self, &rename, 0, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ECONFLICT);

	DO(&r, S->users_list(self, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_int_equal(r.n_users, 2);
	assert_false(r.users[0].has_hash);
	assert_int_equal(r.users[1].disabled, 1);

	char why[256];
	assert_int_equal(plugins_ready(why, sizeof why), 1);
}

static void test_rooms_members(void **state)
{
	static struct res r;
	char alice[32], bob[32], room[32];
	assert_int_equal(store_open("rooms.db", NULL), 0);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);

	parley_room dup = {.name = "General"};
	DO(&r, S->room_create(self, &dup, NULL, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ECONFLICT);
	DO(&r, S->room_get(self, NULL, "GENERAL", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.rooms[0].id, room);
	DO(&r, S->room_set_topic(self, room, "hello", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->room_get(self, room, NULL, on_done, &r));
	assert_string_equal(r.rooms[0].topic, "hello");
	DO(&r, S->room_set_topic(self, "r_42", "x", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->rooms_list(self, on_done, &r));
	assert_int_equal(r.n_rooms, 1);

	/* The creator is the owner; bob joins, then is promoted. */
	DO(&r, S->member_set(self, room, bob, "member", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->member_set(self, room, bob, "moderator", on_done, &r));
	assert_string_equal(r.members[0].role, "moderator");
	DO(&r, S->member_set(self, room, "u_77", "member", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->members_list(self, room, on_done, &r));
	assert_int_equal(r.n_members, 2);
	assert_string_equal(r.members[0].user_id, alice);
	assert_string_equal(r.members[0].role, "owner");
	assert_string_equal(r.members[1].role, "moderator");

	/* read_set: forward only, never past the last message. */
	struct res a;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(append(room, alice, "hi", NULL, &a), PARLEY_PENDING);
		wait_all(&a, 1);
	}
	DO(&r, S->read_set(self, room, bob, 3, on_done, &r));
	assert_int_equal(r.value, 3);
	DO(&r, S->read_set(self, room, bob, 2, on_done, &r));
	assert_int_equal(r.value, 3);
	DO(&r, S->read_set(self, room, bob, 99, on_done, &r));
	assert_int_equal(r.value, 5);
	DO(&r, S->members_list(self, NULL, on_done, &r));
	assert_int_equal(r.members[1].read_seq, 5);
	/* Role change keeps read_seq. */
	DO(&r, S->member_set(self, room, bob, "member", on_done, &r));
	assert_int_equal(r.members[0].read_seq, 5);

	DO(&r, S->member_remove(self, room, bob, on_done, &r));
	assert_int_equal(r.value, 1);
	DO(&r, S->member_remove(self, room, bob, on_done, &r));
	assert_int_equal(r.value, 0);
	DO(&r, S->read_set(self, room, bob, 1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
}

static void test_append_dedup_history(void **state)
{
	static struct res r, a;
	char alice[32], room[32];
	assert_int_equal(store_open("history.db", NULL), 0);
	mk_user("alice", alice);
	mk_room("general", alice, room);

	DO(&r, S->history(self, room, 0, -1, 10, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_int_equal(r.n_messages, 0);
	assert_int_equal(r.more, 0);

	for (int i = 1; i <= 25; i++) {
		char text[16], cid[16];
		snprintf(text, sizeof text, "m%d", i);
		snprintf(cid, sizeof cid, "c%d", i);
		assert_int_equal(append(room, alice, text, cid, &a), PARLEY_PENDING);
		wait_all(&a, 1);
		assert_int_equal(a.rc, PARLEY_OK);
		assert_int_equal(a.msgs[0].seq, i);
		assert_int_equal(a.duplicate, 0);
	}
	/* A resent client_id reports the original and stores nothing. */
	assert_int_equal(append(room, alice, "again", "c7", &a), PARLEY_PENDING);
	wait_all(&a, 1);
	assert_int_equal(a.rc, PARLEY_OK);
	assert_int_equal(a.duplicate, 1);
	assert_int_equal(a.msgs[0].seq, 7);
	assert_string_equal(a.msgs[0].text, "m7");
	DO(&r, S->room_get(self, room, NULL, on_done, &r));
	assert_int_equal(r.rooms[0].last_seq, 25);

	/* Newest, returned oldest first. */
	DO(&r, S->history(self, room, 0, -1, 10, on_done, &r));
	assert_int_equal(r.n_messages, 10);
	assert_int_equal(r.more, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.msgs[i].seq, 16 + i);
	/* Back from 16, newest first, to the start. */
	DO(&r, S->history(self, room, 16, -1, 10, on_done, &r));
	assert_int_equal(r.n_messages, 10);
	assert_int_equal(r.more, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.msgs[i].seq, 15 - i);
	DO(&r, S->history(self, room, 6, -1, 10, on_done, &r));
	assert_int_equal(r.n_messages, 5);
	assert_int_equal(r.more, 0);
	assert_int_equal(r.msgs[4].seq, 1);
	/* Forward, oldest first. */
	DO(&r, S->history(self, room, 0, 0, 10, on_done, &r));
	assert_int_equal(r.n_messages, 10);
	assert_int_equal(r.more, 1);
	assert_int_equal(r.msgs[0].seq, 1);
	DO(&r, S->history(self, room, 0, 20, 10, on_done, &r));
	assert_int_equal(r.n_messages, 5);
	assert_int_equal(r.more, 0);
	assert_int_equal(r.msgs[0].seq, 21);
	assert_string_equal(r.msgs[4].text, "m25");
	/* Exactly the limit: nothing more. */
	DO(&r, S->history(self, room, 0, 15, 10, on_done, &r));
	assert_int_equal(r.n_messages, 10);
	assert_int_equal(r.more, 0);

	assert_int_equal(S->history(self, room, 0, -1, 0, on_done, &r), PARLEY_EINVAL);
	assert_int_equal(S->history(self, room, 0, -1, 1001, on_done, &r), PARLEY_EINVAL);
	DO(&r, S->history(self, "r_9", 0, -1, 10, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	assert_int_equal(append("r_9", alice, "x", NULL, &a), PARLEY_PENDING);
	wait_all(&a, 1);
	assert_int_equal(a.rc, PARLEY_ENOTFOUND);
}

static void test_edit_delete_react(void **state)
{
	static struct res r, a;
	char alice[32], bob[32], room[32], msg[32];
	assert_int_equal(store_open("react.db", NULL), 0);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("general", alice, room);
	assert_int_equal(append(room, alice, "hello", NULL, &a), PARLEY_PENDING);
	wait_all(&a, 1);
	strcpy(msg, a.msgs[0].id);

	DO(&r, S->react(self, room, msg, alice, "👍", 1, on_done, &r));
	DO(&r, S->react(self, room, msg, bob, "🎉", 1, on_done, &r));
	DO(&r, S->react(self, room, msg, bob, "👍", 1, on_done, &r));
	DO(&r, S->react(self, room, msg, bob, "👍", 1, on_done, &r)); /* idempotent */
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.msgs[0].reactions, "{\"👍\":[\"u_1\",\"u_2\"],\"🎉\":[\"u_2\"]}");
	DO(&r, S->react(self, room, msg, bob, "🎉", 0, on_done, &r));
	assert_string_equal(r.msgs[0].reactions, "{\"👍\":[\"u_1\",\"u_2\"]}");
	DO(&r, S->history(self, room, 0, -1, 10, on_done, &r));
	assert_string_equal(r.msgs[0].reactions, "{\"👍\":[\"u_1\",\"u_2\"]}");
	DO(&r, S->react(self, room, "m_99", bob, "🎉", 1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	DO(&r, S->message_edit(self, room, msg, "hello, world", "[\"u_2\"]", 1234, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.msgs[0].text, "hello, world");
	assert_int_equal(r.msgs[0].edited_ts, 1234);
	DO(&r, S->message_get(self, room, msg, on_done, &r));
	assert_string_equal(r.msgs[0].text, "hello, world");
	assert_int_equal(r.msgs[0].seq, 1);
	/* The wrong room does not find it. */
	char other[32];
	mk_room("other", NULL, other);
	DO(&r, S->message_get(self, other, msg, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	DO(&r, S->message_delete(self, room, msg, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->history(self, room, 0, -1, 10, on_done, &r));
	assert_int_equal(r.n_messages, 1);
	assert_int_equal(r.msgs[0].deleted, 1);
	assert_false(r.msgs[0].has_text);
	assert_int_equal(r.msgs[0].seq, 1);
	DO(&r, S->message_edit(self, room, msg, "back", NULL, 0, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->react(self, room, msg, bob, "👍", 1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
}

/* Many appends in flight at once across rooms, a failing op in the same
 * batches: seq strictly +1 per room, only the bad op fails. */
static void test_concurrent_seq(void **state)
{
	enum { ROOMS = 20, PER = 50 };
	static struct res a[ROOMS * PER + 1];
	static struct res bad;
	char alice[32], rooms[ROOMS][32];
	assert_int_equal(store_open("seq.db", NULL), 0);
	mk_user("alice", alice);
	for (int i = 0; i < ROOMS; i++) {
		char name[16];
		snprintf(name, sizeof name, "room%d", i);
		mk_room(name, alice, rooms[i]);
	}
	for (int k = 0; k < PER; k++)
		for (int i = 0; i < ROOMS; i++)
			assert_int_equal(append(rooms[i], alice, "x", NULL, &a[k * ROOMS + i]),
			                 PARLEY_PENDING);
	parley_room dup = {.name = "ROOM3"};
	memset(&bad, 0, sizeof bad);
	assert_int_equal(S->room_create(self, &dup, NULL, on_done, &bad), PARLEY_PENDING);
	assert_int_equal(append(rooms[0], alice, "last", NULL, &a[ROOMS * PER]), PARLEY_PENDING);
	wait_all(a, ROOMS * PER + 1);
	wait_all(&bad, 1);
	assert_int_equal(bad.rc, PARLEY_ECONFLICT);
	for (int i = 0; i < ROOMS; i++) {
		for (int k = 0; k < PER; k++) {
			struct res *x = &a[k * ROOMS + i];
			assert_int_equal(x->rc, PARLEY_OK);
			/* Submitted in order, so committed in order. */
			assert_int_equal(x->msgs[0].seq, k + 1);
		}
	}
	assert_int_equal(a[ROOMS * PER].msgs[0].seq, PER + 1);
	static struct res r;
	DO(&r, S->history(self, rooms[5], 0, 0, 1000, on_done, &r));
	assert_int_equal(r.n_messages, PER);
	for (int k = 0; k < PER; k++)
		assert_int_equal(r.msgs[k].seq, k + 1);
}

static void test_sessions_invites(void **state)
{
	static struct res r;
	char alice[32];
	assert_int_equal(store_open("auth.db", NULL), 0);
	mk_user("alice", alice);

	parley_session s1 = {
	    .token_hash = "h1", .user_id = alice, .created_ts = 1000, .expires_ts = 5000};
	parley_session s2 = {
	    .token_hash = "h2", .user_id = alice, .created_ts = 1000, .expires_ts = 9000};
	DO(&r, S->session_create(self, &s1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->session_create(self, &s2, on_done, &r));
	DO(&r, S->session_create(self, &s2, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ECONFLICT);
	parley_session nobody = {.token_hash = "h3", .user_id = "u_50", .expires_ts = 9000};
	DO(&r, S->session_create(self, &nobody, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	DO(&r, S->session_get(self, "h1", 4999, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_true(r.has_session);
	assert_string_equal(r.session_user, alice);
	assert_string_equal(r.users[0].name, "alice");
	DO(&r, S->session_get(self, "h1", 5000, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->session_get(self, "nope", 1, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	/* Every session of alice but h2, then h2 itself. */
	DO(&r, S->session_delete(self, "h2", alice, on_done, &r));
	assert_int_equal(r.value, 1);
	DO(&r, S->session_get(self, "h2", 10, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->session_delete(self, "h2", NULL, on_done, &r));
	assert_int_equal(r.value, 1);
	DO(&r, S->session_create(self, &s1, on_done, &r));
	DO(&r, S->session_delete(self, NULL, alice, on_done, &r));
	assert_int_equal(r.value, 1);

	parley_invite inv = {
	    .token_hash = "i1", .role = "admin", .created_ts = 100, .expires_ts = 1000};
	DO(&r, S->invite_create(self, &inv, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_true(r.has_invite);
	parley_invite old = {.token_hash = "i2", .created_by = alice, .expires_ts = 50};
	DO(&r, S->invite_create(self, &old, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->invite_use(self, "i2", 60, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	/* Two uses racing in one batch: exactly one wins. */
	static struct res u[2];
	memset(u, 0, sizeof u);
	assert_int_equal(S->invite_use(self, "i1", 500, on_done, &u[0]), PARLEY_PENDING);
	assert_int_equal(S->invite_use(self, "i1", 501, on_done, &u[1]), PARLEY_PENDING);
	wait_all(u, 2);
	assert_int_equal(u[0].rc, PARLEY_OK);
	assert_int_equal(u[0].invite_used_ts, 500);
	assert_int_equal(u[1].rc, PARLEY_ENOTFOUND);
}

/* Reset tokens, invite administration, the audit log, settings, scoped
 * sessions and lookup by e-mail. */
static void test_access(void **state)
{
	static struct res r;
	char alice[32], bob[32];
	assert_int_equal(store_open("access.db", NULL), 0);
	mk_user("alice", alice);
	parley_user b = {.name = "bob", .email = "Bob@Example.org"};
	DO(&r, S->user_create(self, &b, on_done, &r));
	strcpy(bob, r.users[0].id);

	DO(&r, S->user_by_email(self, "bob@example.ORG", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.users[0].id, bob);
	DO(&r, S->user_by_email(self, "carol@example.org", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	/* A token is spent once, only before it expires, only as its kind. */
	DO(&r, S->token_create(self, "password_reset", "t1", bob, 1000, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->token_use(self, "other", "t1", 10, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->token_use(self, "password_reset", "t1", 1000, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->token_use(self, "password_reset", "t1", 999, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.users[0].id, bob);
	DO(&r, S->token_use(self, "password_reset", "t1", 999, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	/* Invites: listed while usable, revoked once. */
	parley_invite i1 = {.token_hash = "i1", .created_by = alice, .expires_ts = 5000};
	parley_invite i2 = {.token_hash = "i2", .expires_ts = 50};
	DO(&r, S->invite_create(self, &i1, on_done, &r));
	DO(&r, S->invite_create(self, &i2, on_done, &r));
	DO(&r, S->invites_list(self, 100, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_int_equal(r.n_invites, 1);
	DO(&r, S->invite_revoke(self, "i1", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->invite_revoke(self, "i1", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->invite_use(self, "i1", 100, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);

	/* The audit log pages newest first. */
	for (int i = 0; i < 3; i++) {
		parley_audit a = {.actor_id = alice,
		                  .action = i == 2 ? "user.disable" : "invite.create",
		                  .target = bob,
		                  .client = "127.0.0.1"};
		DO(&r, S->audit_append(self, &a, on_done, &r));
		assert_int_equal(r.rc, PARLEY_OK);
	}
	parley_audit cli = {.action = "user.add"};
	DO(&r, S->audit_append(self, &cli, on_done, &r));
	DO(&r, S->audit_list(self, 0, 2, on_done, &r));
	assert_int_equal(r.n_audit, 2);
	assert_true(r.more);
	assert_string_equal(r.audit[0].action, "user.add");
	assert_string_equal(r.audit[0].actor, "");
	assert_string_equal(r.audit[1].action, "user.disable");
	assert_string_equal(r.audit[1].actor, alice);
	assert_string_equal(r.audit[1].client, "127.0.0.1");
	int64_t before = r.audit[1].id;
	DO(&r, S->audit_list(self, before, 10, on_done, &r));
	assert_int_equal(r.n_audit, 2);
	assert_false(r.more);
	assert_int_equal(S->audit_list(self, 0, 0, on_done, &r), PARLEY_EINVAL);

	/* Settings: none, then set, then replaced. */
	DO(&r, S->settings_get(self, bob, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_false(r.has_text);
	DO(&r, S->settings_set(self, bob, "{\"email_digest\":false}", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->settings_set(self, bob, "{\"email_digest\":true}", on_done, &r));
	DO(&r, S->settings_get(self, bob, on_done, &r));
	assert_string_equal(r.text, "{\"email_digest\":true}");

	/* A scoped session carries its scopes back. */
	parley_session s = {.token_hash = "bot1", .user_id = bob, .expires_ts = INT64_MAX};
	DO(&r, S->session_create_scoped(self, &s, "read,post", "[\"r_1\"]", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->session_get(self, "bot1", 10, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.session_scopes, "read,post");
	assert_string_equal(r.session_rooms, "[\"r_1\"]");
	store_close();
}

static void test_kv(void **state)
{
	static struct res r;
	assert_int_equal(store_open("kv.db", NULL), 0);
	assert_true(S->struct_size >= offsetof(parley_store_vtable, kv_incr) + sizeof S->kv_incr);
	DO(&r, S->kv_get(self, "dice", "k", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	DO(&r, S->kv_set(self, "dice", "k", "{\"a\":1}", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->kv_set(self, "poll", "k", "other", on_done, &r));
	DO(&r, S->kv_get(self, "dice", "k", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_true(r.has_text);
	assert_string_equal(r.text, "{\"a\":1}");
	DO(&r, S->kv_set(self, "dice", "k", "2", on_done, &r));
	DO(&r, S->kv_get(self, "dice", "k", on_done, &r));
	assert_string_equal(r.text, "2");
	/* Owners are separate spaces. */
	DO(&r, S->kv_get(self, "poll", "k", on_done, &r));
	assert_string_equal(r.text, "other");
	DO(&r, S->kv_incr(self, "dice", "n", 5, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_int_equal(r.value, 5);
	DO(&r, S->kv_incr(self, "dice", "n", -2, on_done, &r));
	assert_int_equal(r.value, 3);
	DO(&r, S->kv_get(self, "dice", "n", on_done, &r));
	assert_string_equal(r.text, "3");
	DO(&r, S->kv_delete(self, "dice", "n", on_done, &r));
	assert_int_equal(r.value, 1);
	DO(&r, S->kv_delete(self, "dice", "n", on_done, &r));
	assert_int_equal(r.value, 0);
	DO(&r, S->kv_get(self, "dice", "n", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	assert_int_equal(S->kv_get(self, NULL, "n", on_done, &r), PARLEY_EINVAL);
	store_close();
	(void)state;
}

/* ---- store_mongo's own --------------------------------------------------- */

/* Upload results, read in a callback of their own. */
static struct {
	int fired, rc;
	char id[32], room[32], msg[32];
	size_t n;
	int64_t value;
} up_res;

static void upload_done(void *ud, const parley_store_result *res)
{
	up_res.fired++;
	up_res.rc = res->rc;
	up_res.n = res->n_uploads;
	up_res.value = res->value;
	if (res->n_uploads) {
		snprintf(up_res.id, sizeof up_res.id, "%s", res->uploads[0].id);
		snprintf(up_res.room, sizeof up_res.room, "%s", res->uploads[0].room_id ?: "");
		snprintf(up_res.msg, sizeof up_res.msg, "%s", res->uploads[0].message_id ?: "");
	}
}

/* Uploads: ids, attach once, detach by a tombstone, usage. */
static void test_uploads(void **state)
{
	static struct res r;
	char alice[32], bob[32], room[32], msg[32];
	assert_int_equal(store_open("uploads.db", NULL), 0);
	mk_user("alice", alice);
	mk_user("bob", bob);
	mk_room("files", alice, room);
#define UDO(call)                                                                                  \
	do {                                                                                       \
		memset(&up_res, 0, sizeof up_res);                                                 \
		assert_int_equal((call), PARLEY_PENDING);                                          \
		while (!up_res.fired)                                                              \
			ev_run(loop_ev, EVRUN_ONCE);                                               \
	} while (0)
	parley_upload up = {.user_id = alice,
	                    .name = "a.png",
	                    .type = "image/png",
	                    .sha256 = "ab",
	                    .key = "up_k1",
	                    .size = 100,
	                    .created_ts = 1000};
	UDO(S->upload_create(self, &up, upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_OK);
	assert_string_equal(up_res.id, "up_1");
	UDO(S->upload_create(self, &up, upload_done, NULL)); /* the same key */
	assert_int_equal(up_res.rc, PARLEY_ECONFLICT);
	parley_upload up2 = up;
	up2.key = "up_k2";
	up2.size = 50;
	up2.created_ts = 3000;
	UDO(S->upload_create(self, &up2, upload_done, NULL));
	assert_string_equal(up_res.id, "up_3"); /* the conflict took an id: ids only grow */
	UDO(S->upload_usage(self, alice, 0, upload_done, NULL));
	assert_int_equal(up_res.value, 150);
	UDO(S->upload_usage(self, alice, 2000, upload_done, NULL));
	assert_int_equal(up_res.value, 50);

	UDO(S->uploads_unattached(self, 5000, 10, upload_done, NULL));
	assert_int_equal(up_res.n, 2);
	assert_string_equal(up_res.id, "up_1"); /* oldest first */
	/* Someone else's upload is not attachable. */
	UDO(S->upload_attach(self, "up_1", bob, room, NULL, upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_ENOTFOUND);
	UDO(S->upload_attach(self, "up_1", alice, room, NULL, upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_OK);
	assert_string_equal(up_res.room, room);
	assert_int_equal(append(room, alice, "see file", NULL, &r), PARLEY_PENDING);
	wait_all(&r, 1);
	strcpy(msg, r.msgs[0].id);
	UDO(S->upload_attach(self, "up_1", alice, room, msg, upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_OK);
	assert_string_equal(up_res.msg, msg);
	UDO(S->upload_attach(self, "up_1", alice, room, msg, upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_ENOTFOUND); /* attached already */
	UDO(S->uploads_unattached(self, 5000, 10, upload_done, NULL));
	assert_int_equal(up_res.n, 1);
	/* The message's tombstone detaches it. */
	DO(&r, S->message_delete(self, room, msg, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	UDO(S->upload_get(self, "up_1", upload_done, NULL));
	assert_string_equal(up_res.msg, "");
	assert_string_equal(up_res.room, "");
	UDO(S->upload_delete(self, "up_1", upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_OK);
	UDO(S->upload_get(self, "up_1", upload_done, NULL));
	assert_int_equal(up_res.rc, PARLEY_ENOTFOUND);
	assert_int_equal(S->upload_get(self, "u_1", upload_done, NULL), PARLEY_EINVAL);
#undef UDO
}

/* The schema document, the unique indexes, and refusal of a newer schema. */
static void test_schema(void **state)
{
	assert_int_equal(store_open("schema.db", NULL), 0);
	store_close();
	mongoc_client_t *client = mongoc_client_new(test_uri());
	assert_non_null(client);
	mongoc_collection_t *meta = mongoc_client_get_collection(client, dbname, "meta");
	bson_t *q = BCON_NEW("key", BCON_UTF8("schema"));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(meta, q, NULL, NULL);
	const bson_t *doc;
	bson_iter_t it;
	assert_true(mongoc_cursor_next(cur, &doc));
	assert_true(bson_iter_init_find(&it, doc, "version"));
	int64_t version = bson_iter_as_int64(&it);
	assert_true(version >= 1);
	mongoc_cursor_destroy(cur);

	/* The dedup index: unique, on (user, client_id), strings only. */
	mongoc_collection_t *msgs = mongoc_client_get_collection(client, dbname, "messages");
	cur = mongoc_collection_find_indexes_with_opts(msgs, NULL);
	int found = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		if (bson_iter_init_find(&it, doc, "name") &&
		    strcmp(bson_iter_utf8(&it, NULL), "user_client") == 0) {
			found = 1;
			assert_true(bson_iter_init_find(&it, doc, "unique") &&
			            bson_iter_as_bool(&it));
		}
	}
	mongoc_cursor_destroy(cur);
	assert_true(found);
	mongoc_collection_destroy(msgs);

	/* Opening again keeps the version; a newer one is refused, left as is. */
	char name[64];
	snprintf(name, sizeof name, "%s", dbname + strcspn(dbname, "_") + 1);
	assert_int_equal(store_open(name, NULL), 0);
	store_close();
	bson_t *u = BCON_NEW("$set", "{", "version", BCON_INT64(99), "}");
	assert_true(mongoc_collection_update_one(meta, q, u, NULL, NULL, NULL));
	assert_int_equal(store_open(name, NULL), -1);
	store_close();
	cur = mongoc_collection_find_with_opts(meta, q, NULL, NULL);
	assert_true(mongoc_cursor_next(cur, &doc));
	assert_true(bson_iter_init_find(&it, doc, "version"));
	assert_int_equal(bson_iter_as_int64(&it), 99);
	mongoc_cursor_destroy(cur);
	bson_destroy(u);
	bson_destroy(q);
	mongoc_collection_destroy(meta);
	mongoc_client_destroy(client);
}

/* A version 1 database (room names unique among all rooms, by name_lc)
 * opened by this parley (upgraded to the newest, 4): version 2 gives its rooms unique_name_lc,
 * drops the old unique index, and a private room may then share a public name. */
static void test_schema_upgrade_v1(void **state)
{
	/* The name is made unique the way store_open makes it. */
	snprintf(dbname, sizeof dbname, "t%d_%s", db_pid, "upgrade");
	mongoc_client_t *client = mongoc_client_new(test_uri());
	assert_non_null(client);
	mongoc_database_t *db = mongoc_client_get_database(client, dbname);
	bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8("rooms"), "indexes", "[", "{", "key", "{",
	                       "name_lc", BCON_INT32(1), "}", "name", BCON_UTF8("name_lc"),
	                       "unique", BCON_BOOL(true), "}", "]");
	assert_true(mongoc_database_write_command_with_opts(db, cmd, NULL, NULL, NULL));
	bson_destroy(cmd);
	mongoc_collection_t *rooms = mongoc_client_get_collection(client, dbname, "rooms");
	bson_t *room =
	    BCON_NEW("n", BCON_INT64(1), "id", BCON_UTF8("r_1"), "name", BCON_UTF8("General"),
	             "name_lc", BCON_UTF8("general"), "kind", BCON_UTF8("public"), "created_ts",
	             BCON_INT64(1), "last_seq", BCON_INT64(0));
	assert_true(mongoc_collection_insert_one(rooms, room, NULL, NULL, NULL));
	bson_destroy(room);
	mongoc_collection_t *coll = mongoc_client_get_collection(client, dbname, "counters");
	bson_t *counter = BCON_NEW("name", BCON_UTF8("room"), "n", BCON_INT64(1));
	assert_true(mongoc_collection_insert_one(coll, counter, NULL, NULL, NULL));
	bson_destroy(counter);
	mongoc_collection_destroy(coll);
	coll = mongoc_client_get_collection(client, dbname, "meta");
	bson_t *meta = BCON_NEW("key", BCON_UTF8("schema"), "version", BCON_INT64(1));
	assert_true(mongoc_collection_insert_one(coll, meta, NULL, NULL, NULL));
	bson_destroy(meta);

	assert_int_equal(store_open("upgrade", NULL), 0);
	struct res r;
	DO(&r, S->room_get(self, NULL, "GENERAL", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_string_equal(r.rooms[0].id, "r_1");
	parley_room twin = {.name = "general", .kind = "private"};
	DO(&r, S->room_create(self, &twin, "owner", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	parley_room dup = {.name = "general", .kind = "public"};
	DO(&r, S->room_create(self, &dup, "owner", on_done, &r));
	assert_int_equal(r.rc, PARLEY_ECONFLICT);
	store_close();

	bson_t *q = BCON_NEW("key", BCON_UTF8("schema"));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, q, NULL, NULL);
	const bson_t *doc;
	bson_iter_t it;
	assert_true(mongoc_cursor_next(cur, &doc));
	assert_true(bson_iter_init_find(&it, doc, "version"));
	assert_int_equal(bson_iter_as_int64(&it),
	                 4); /* the newest: 3 (search, pins), 4 (records' n) */
	mongoc_cursor_destroy(cur);
	bson_destroy(q);
	int old = 0, unique = 0;
	cur = mongoc_collection_find_indexes_with_opts(rooms, NULL);
	while (mongoc_cursor_next(cur, &doc))
		if (bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
			old |= strcmp(bson_iter_utf8(&it, NULL), "name_lc") == 0;
			unique |= strcmp(bson_iter_utf8(&it, NULL), "unique_name_lc") == 0;
		}
	mongoc_cursor_destroy(cur);
	assert_false(old);
	assert_true(unique);
	mongoc_collection_destroy(coll);
	mongoc_collection_destroy(rooms);
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
}

/* A version 2 database (messages without `words`) opened by this parley:
 * version 3 gives every message its words, so older messages are found;
 * a tombstone stays out. */
static void test_schema_upgrade_v2(void **state)
{
	(void)state;
	static struct res r;
	assert_int_equal(store_open("upgrade2", NULL), 0);
	parley_user u = {.name = "alice"};
	DO(&r, S->user_create(self, &u, on_done, &r));
	char alice[32], room[32], gone[32];
	snprintf(alice, sizeof alice, "%s", r.users[0].id);
	parley_room rm = {.name = "general", .created_by = alice};
	DO(&r, S->room_create(self, &rm, "owner", on_done, &r));
	snprintf(room, sizeof room, "%s", r.rooms[0].id);
	parley_message m = {.room_id = room, .user_id = alice, .text = "Autoclave schedule"};
	DO(&r, S->append(self, &m, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	m.text = "autoclave gone";
	DO(&r, S->append(self, &m, on_done, &r));
	snprintf(gone, sizeof gone, "%s", r.msgs[0].id);
	DO(&r, S->message_delete(self, room, gone, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	store_close();

	/* Back to version 2: no words on any message. */
	mongoc_client_t *client = mongoc_client_new(test_uri());
	mongoc_collection_t *msgs = mongoc_client_get_collection(client, dbname, "messages");
	mongoc_collection_t *meta = mongoc_client_get_collection(client, dbname, "meta");
	bson_t *all = bson_new();
	bson_t *unset = BCON_NEW("$unset", "{", "words", BCON_UTF8(""), "}");
	assert_true(mongoc_collection_update_many(msgs, all, unset, NULL, NULL, NULL));
	bson_t *q = BCON_NEW("key", BCON_UTF8("schema"));
	bson_t *v2 = BCON_NEW("$set", "{", "version", BCON_INT64(2), "}");
	assert_true(mongoc_collection_update_one(meta, q, v2, NULL, NULL, NULL));

	assert_int_equal(store_open("upgrade2", NULL), 0);
	const char *rooms[] = {room};
	parley_search_term t = {.kind = PARLEY_TERM_WORD, .text = "autoclave"};
	parley_search_query sq = {.struct_size = sizeof sq,
	                          .terms = &t,
	                          .n_terms = 1,
	                          .room_ids = rooms,
	                          .n_rooms = 1,
	                          .sort = PARLEY_SEARCH_RECENT,
	                          .limit = 10};
	DO(&r, S->search(self, &sq, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_int_equal(r.n_messages, 1);
	assert_string_equal(r.msgs[0].text, "Autoclave schedule");
	store_close();

	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(meta, q, NULL, NULL);
	const bson_t *doc;
	bson_iter_t it;
	assert_true(mongoc_cursor_next(cur, &doc));
	assert_true(bson_iter_init_find(&it, doc, "version"));
	assert_int_equal(bson_iter_as_int64(&it), 4); /* upgraded to the newest */
	mongoc_cursor_destroy(cur);
	/* The tombstone's words are empty, the live message's are folded. */
	cur = mongoc_collection_find_with_opts(msgs, all, NULL, NULL);
	int seen = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t w;
		assert_true(bson_iter_init_find(&it, doc, "words") && BSON_ITER_HOLDS_ARRAY(&it));
		assert_true(bson_iter_recurse(&it, &w));
		int deleted = bson_iter_init_find(&it, doc, "deleted") && bson_iter_as_int64(&it);
		if (deleted) {
			assert_false(bson_iter_next(&w));
		} else {
			assert_true(bson_iter_next(&w));
			assert_string_equal(bson_iter_utf8(&w, NULL), "autoclave");
			assert_true(bson_iter_next(&w));
			assert_string_equal(bson_iter_utf8(&w, NULL), "schedule");
		}
		seen++;
	}
	assert_int_equal(seen, 2);
	mongoc_cursor_destroy(cur);
	bson_destroy(all);
	bson_destroy(unset);
	bson_destroy(q);
	bson_destroy(v2);
	mongoc_collection_destroy(meta);
	mongoc_collection_destroy(msgs);
	mongoc_client_destroy(client);
}

/* check-config: the URI is parsed, never connected to. */
static void test_config(void **state)
{
	const char *bad[] = {
	    ", write_concern = \"most\"",
	    ", write_concern = \"0\"",
	    ", pool_max = 0",
	    ", timeout = 0",
	    ", journal = \"yes\"",
	    ", uri2 = \"x\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(store_open("cfg.db", bad[i]), -1);
		store_close();
	}
	assert_int_equal(store_open_at("http://127.0.0.1:1", "cfg.db", NULL), -1);
	store_close();
	assert_int_equal(store_open_at("mongodb://127.0.0.1:1/?tls=maybe", "cfg.db", NULL), -1);
	store_close();
	assert_int_equal(store_open_at(NULL, "cfg.db", NULL), 0);
	store_close();
	assert_int_equal(store_open("cfg.db",
	                            ", write_concern = \"1\", journal = false, pool_max = 2,"
	                            " timeout = 2"),
	                 0);
}

/* ---- two processes, one room ---------------------------------------------- */

#define TWO_EACH 150

/* Appends TWO_EACH messages (8 in flight) and writes each acked seq to fd. */
static int two_out, two_sent, two_acked;
static char two_room[32], two_user[32];
static void two_done(void *ud, const parley_store_result *res);

static void two_send(void)
{
	parley_message m = {.room_id = two_room, .user_id = two_user, .text = "both"};
	if (two_sent < TWO_EACH && S->append(self, &m, two_done, NULL) == PARLEY_PENDING)
		two_sent++;
}

static void two_done(void *ud, const parley_store_result *res)
{
	if (res->rc != PARLEY_OK)
		_exit(3);
	int64_t seq = res->messages[0].seq;
	if (write(two_out, &seq, sizeof seq) != sizeof seq)
		_exit(4);
	two_acked++;
	two_send();
}

static void two_run(const char *name)
{
	assert_int_equal(store_open(name, NULL), 0);
	for (int i = 0; i < 8; i++)
		two_send();
	while (two_acked < TWO_EACH)
		ev_run(loop_ev, EVRUN_ONCE);
}

/* Two processes (two nodes) append to one room at once: every acked seq
 * is unique and together they are 1..2N with no gap. */
static void test_two_writers(void **state)
{
	assert_int_equal(store_open("two.db", NULL), 0);
	mk_user("alice", two_user);
	mk_room("shared", two_user, two_room);
	store_close();
	char name[64];
	snprintf(name, sizeof name, "%s", dbname + strcspn(dbname, "_") + 1);
	char parent_db[64];
	snprintf(parent_db, sizeof parent_db, "%s", dbname);

	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(fds[0]);
		two_out = fds[1];
		/* Same database name: the child's pid would make another one. */
		two_run(name);
		store_close();
		_exit(0);
	}
	close(fds[1]);
	int mine[2];
	assert_int_equal(pipe(mine), 0);
	two_out = mine[1];
	/* dbname carries the parent's pid; the child got the same (before fork). */
	two_run(name);
	assert_string_equal(dbname, parent_db);
	/* libev's SIGCHLD watcher may have reaped the child already (ECHILD):
	 * its acked seqs below tell whether it did its part. */
	int status;
	if (waitpid(child, &status, 0) == child)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	else
		assert_int_equal(errno, ECHILD);

	static char seen[2 * TWO_EACH + 1];
	int n = 0;
	int64_t seq;
	close(mine[1]);
	for (int k = 0; k < 2; k++) {
		int fd = k ? mine[0] : fds[0];
		while (read(fd, &seq, sizeof seq) == sizeof seq) {
			assert_true(seq >= 1 && seq <= 2 * TWO_EACH);
			assert_int_equal(seen[seq], 0); /* unique */
			seen[seq] = 1;
			n++;
		}
		close(fd);
	}
	assert_int_equal(n, 2 * TWO_EACH); /* dense: 2N distinct in 1..2N */
	static struct res r;
	DO(&r, S->history(self, two_room, 0, 0, 1000, on_done, &r));
	assert_int_equal(r.n_messages, 2 * TWO_EACH);
	for (int i = 0; i < 2 * TWO_EACH; i++)
		assert_int_equal(r.msgs[i].seq, i + 1);
}

/* ---- a database that is not there, then is ------------------------------ */

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Starts the test server (PARLEY_TEST_CONGO) on port; extra: more
 * arguments ("--storage file --path DIR"). Its pid, once it listens. */
static pid_t congo_start(int port, const char *extra)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "exec %s --port %d %s", getenv("PARLEY_TEST_CONGO"), port,
	         extra ? extra : "");
	int out[2], in[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(in[0], 0);
		close(out[0]);
		close(in[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(in[0]); /* in[1] stays open in this process: the server lives */
	char line[128] = "";
	FILE *f = fdopen(out[0], "r");
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_true(strncmp(line, "ready ", 6) == 0);
	return pid;
}

static void congo_stop(pid_t pid, int sig)
{
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}

/* Starts on a port where nothing listens: init succeeds, ready() says
 * why not, calls answer unavailable; once a server listens there the
 * store recovers by itself; a restart of the database (file mode, data
 * kept) is survived the same way. */
static void test_unreachable_recovers(void **state)
{
	if (!getenv("PARLEY_TEST_CONGO")) {
		skip(); /* a real server cannot be stopped from here */
		return;
	}
	static struct res r, a;
	char why[512], uri[128], args[512];
	int port = free_port();
	snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d", port);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_open_at(uri, "down.db", ", timeout = 1"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec <= 3); /* a bounded wait at start */
	assert_true(wait_ready(0, 5, why, sizeof why));
	assert_non_null(strstr(why, "store_mongo"));
	parley_user someone = {.name = "alice"};
	DO(&r, S->user_create(self, &someone, on_done, &r));
	assert_int_equal(r.rc, PARLEY_EUNAVAIL);

	snprintf(args, sizeof args, "--storage file --path %s/congo", tmpdir);
	pid_t db = congo_start(port, args);
	assert_true(wait_ready(1, 20, why, sizeof why));
	char alice[32], room[32];
	mk_user("alice", alice);
	mk_room("general", alice, room);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(append(room, alice, "before", NULL, &a), PARLEY_PENDING);
		wait_all(&a, 1);
		assert_int_equal(a.rc, PARLEY_OK);
		assert_int_equal(a.msgs[0].seq, i);
	}

	/* The database goes away: calls fail unavailable, nothing is acked. */
	congo_stop(db, SIGTERM);
	int unavailable = 0;
	for (int i = 0; i < 20 && !unavailable; i++) {
		assert_int_equal(append(room, alice, "lost?", "c-down", &a), PARLEY_PENDING);
		wait_all(&a, 1);
		unavailable = a.rc == PARLEY_EUNAVAIL;
		assert_true(a.rc == PARLEY_EUNAVAIL || a.rc == PARLEY_OK);
	}
	assert_true(unavailable);
	assert_true(wait_ready(0, 10, why, sizeof why));

	/* Back, with its data: the store recovers by itself. */
	db = congo_start(port, args);
	assert_true(wait_ready(1, 30, why, sizeof why));
	DO(&r, S->history(self, room, 0, 0, 100, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	assert_true(r.n_messages >= 3);
	for (size_t i = 0; i < r.n_messages; i++)
		assert_int_equal(r.msgs[i].seq, (int64_t)i + 1); /* no hole */
	assert_int_equal(append(room, alice, "after", "c-down", &a), PARLEY_PENDING);
	wait_all(&a, 1);
	assert_int_equal(a.rc, PARLEY_OK);
	store_close();
	congo_stop(db, SIGTERM);
}

/* ---- kill -9 of parley: no acked message lost ------------------------------ */

#define DUR_TOTAL    3000
#define DUR_INFLIGHT 16

static int dur_out = -1, dur_sent;
static char dur_room[32], dur_user[32];
static void dur_acked(void *ud, const parley_store_result *res);

static void dur_send(void)
{
	parley_message m = {.room_id = dur_room, .user_id = dur_user, .text = "durable"};
	if (dur_sent < DUR_TOTAL && S->append(self, &m, dur_acked, NULL) == PARLEY_PENDING)
		dur_sent++;
}

static void dur_acked(void *ud, const parley_store_result *res)
{
	if (res->rc != PARLEY_OK)
		_exit(3);
	char line[32];
	int n = snprintf(line, sizeof line, "%lld\n", (long long)res->messages[0].seq);
	if (write(dur_out, line, (size_t)n) != n)
		_exit(4);
	dur_send();
}

/* A child appends (16 in flight) and prints each acked seq; it is killed
 * with SIGKILL after a random number of acks. Every printed seq is in the
 * database, and a seq the counter gave out whose insert the kill
 * prevented is filled by the restarted store's sweep: 1..last_seq. */
static void test_durability_kill9(void **state)
{
	char name[64];
	assert_int_equal(store_open("durable.db", NULL), 0);
	mk_user("writer", dur_user);
	mk_room("durable", dur_user, dur_room);
	store_close();
	snprintf(name, sizeof name, "%s", dbname + strcspn(dbname, "_") + 1);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dur_out = fds[1];
		if (store_open(name, NULL) != 0)
			_exit(2);
		for (int i = 0; i < DUR_INFLIGHT; i++)
			dur_send();
		for (;;)
			ev_run(loop_ev, EVRUN_ONCE);
	}
	close(fds[1]);
	int kill_after = 50 + rand() % 1000;
	static char buf[DUR_TOTAL * 8];
	size_t len = 0;
	int lines = 0, killed = 0;
	for (;;) {
		ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[len + i] == '\n';
		len += (size_t)n;
		if (!killed && lines >= kill_after) {
			kill(pid, SIGKILL);
			killed = 1;
		}
	}
	close(fds[0]);
	waitpid(pid, NULL, 0);
	buf[len] = '\0';

	/* The sweep tombstones a seq empty for seq_hole_after seconds. */
	sleep(2);
	assert_int_equal(store_open(name, ", seq_hole_after = 1"), 0);
	static struct res r;
	DO(&r, S->room_get(self, dur_room, NULL, on_done, &r));
	int64_t last = r.rooms[0].last_seq;
	static char present[DUR_TOTAL + DUR_INFLIGHT + 2];
	int64_t stored = 0, tombstones = 0;
	time_t end = time(NULL) + 15;
	do {
		int64_t seen = 0;
		stored = tombstones = 0;
		memset(present, 0, sizeof present);
		for (;;) {
			DO(&r, S->history(self, dur_room, 0, seen, 1000, on_done, &r));
			assert_int_equal(r.rc, PARLEY_OK);
			for (size_t i = 0; i < r.n_messages; i++) {
				seen = r.msgs[i].seq;
				assert_true(seen >= 1 && seen <= last);
				present[seen] = r.msgs[i].deleted ? 2 : 1;
				stored++;
				tombstones += r.msgs[i].deleted;
			}
			if (!r.more)
				break;
		}
	} while (stored < last && time(NULL) < end);
	int acked = 0;
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		long long seq = atoll(p);
		assert_true(seq >= 1 && seq <= last);
		assert_int_equal(present[seq], 1); /* acked, so stored */
		acked++;
	}
	assert_true(acked >= kill_after);
	assert_int_equal(stored, last); /* 1..last_seq, holes filled */
	print_message("durability: %d acked before kill -9, %lld seqs given, %lld tombstones "
	              "written by the sweep\n",
	              acked, (long long)last, (long long)tombstones);
}

/* ---- the seq-hole sweep: slow inserts are not holes ---------------------- */

/* What another node's append does before its insert, straight through the
 * driver: the counter step (seq_ts: the store's clock, as messages.c); the
 * seq taken, and when. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sweep_take_seq(mongoc_client_t *client, const char *room, int64_t *taken)
{
	mongoc_collection_t *rooms = mongoc_client_get_collection(client, dbname, "rooms");
	*taken = wall_ms();
	bson_t *q = BCON_NEW("id", BCON_UTF8(room));
	bson_t *u = BCON_NEW("$inc", "{", "last_seq", BCON_INT64(1), "}", "$set", "{", "seq_ts",
	                     BCON_INT64(*taken), "}");
	bson_t reply;
	bson_error_t e;
	assert_true(mongoc_collection_find_and_modify(rooms, q, NULL, u, NULL, false, false, true,
	                                              &reply, &e));
	bson_iter_t it;
	assert_true(bson_iter_init(&it, &reply) &&
	            bson_iter_find_descendant(&it, "value.last_seq", &it));
	int64_t seq = bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(q);
	bson_destroy(u);
	mongoc_collection_destroy(rooms);
	return seq;
}

/* The held insert of that node, as messages.c writes it; seq_at < 0: a
 * document from before seq_at existed (or a tombstone that lacks it). */
static void sweep_insert(mongoc_client_t *client, const char *room, const char *user, int64_t seq,
                         int64_t seq_at, const char *text)
{
	mongoc_collection_t *msgs = mongoc_client_get_collection(client, dbname, "messages");
	int64_t room_n = atoll(room + 2), n = (room_n << 32) | seq;
	char id[48];
	snprintf(id, sizeof id, "m_%lld", (long long)n);
	bson_oid_t oid;
	bson_oid_init(&oid, NULL);
	bson_t *doc =
	    BCON_NEW("_id", BCON_OID(&oid), "id", BCON_UTF8(id), "n", BCON_INT64(n), "room",
	             BCON_UTF8(room), "room_n", BCON_INT64(room_n), "seq", BCON_INT64(seq), "user",
	             BCON_UTF8(user), "text", BCON_UTF8(text), "ts", BCON_INT64(1), "edited_ts",
	             BCON_INT64(0), "deleted", BCON_INT32(0), "reactions", "[", "]");
	if (seq_at >= 0)
		BSON_APPEND_INT64(doc, "seq_at", seq_at);
	bson_error_t e;
	assert_true(mongoc_collection_insert_one(msgs, doc, NULL, NULL, &e));
	bson_destroy(doc);
	mongoc_collection_destroy(msgs);
}

/* This node appends with an old client clock (ts = 1: a phone whose clock
 * is off, or the contract's several-nodes case). */
static void sweep_append_old_ts(const char *room, const char *user, int count)
{
	for (int i = 0; i < count; i++) {
		static struct res r;
		parley_message m = {.room_id = room, .user_id = user, .text = "later", .ts = 1};
		DO(&r, S->append(self, &m, on_done, &r));
		assert_int_equal(r.rc, PARLEY_OK);
	}
}

/* Each seq 1..last: 0 absent, 1 a message, 2 a tombstone; a seq seen twice
 * fails the test. */
static void sweep_seqs(const char *room, int64_t last, int *state, const char **texts)
{
	static struct res r;
	memset(state, 0, (size_t)(last + 1) * sizeof *state);
	DO(&r, S->history(self, room, 0, 0, 1000, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	for (size_t i = 0; i < r.n_messages; i++) {
		int64_t seq = r.msgs[i].seq;
		assert_true(seq >= 1 && seq <= last);
		assert_int_equal(state[seq], 0); /* never a seq twice */
		state[seq] = r.msgs[i].deleted ? 2 : 1;
		if (texts)
			texts[seq] = r.msgs[i].text;
	}
}

/* Restarts the store, which sweeps once it is up (health.c), and waits
 * until seq `until` is a tombstone: the sweep walks a room in seq order,
 * so it has judged every seq before that one then (the end of the room
 * right after: a moment more). */
static void sweep_until(const char *name, const char *extra, const char *room, int64_t last,
                        int64_t until, int *seqs)
{
	store_close();
	assert_int_equal(store_open(name, extra), 0);
	time_t end = time(NULL) + 20;
	do {
		struct timespec pause = {0, 50 * 1000000L};
		nanosleep(&pause, NULL);
		sweep_seqs(room, last, seqs, NULL);
	} while (seqs[until] != 2 && time(NULL) < end);
	assert_int_equal(seqs[until], 2);
	struct timespec moment = {0, 300 * 1000000L};
	nanosleep(&moment, NULL);
}

/* Another node takes a seq and its insert is slow, while this node's
 * messages with later seqs and an old client ts arrive and the sweep runs:
 * the in-flight seq is no hole (the sweep judges by when a seq was taken,
 * the store's clock, not by the client's ts), the late insert lands, and
 * history has every seq once. A seq whose taker died is tombstoned once
 * seq_hole_after has passed, not before: in the middle of the room, at its
 * end, and before a document without seq_at (older ones, tombstones). */
static void test_sweep_slow_insert(void **state)
{
	const char *grace = ", seq_hole_after = 4";
	char alice[32], room[32];
	int seqs[32];
	const char *texts[32];
	assert_int_equal(store_open("sweep.db", grace), 0);
	mk_user("alice", alice);
	mk_room("sweep", alice, room);
	sweep_append_old_ts(room, alice, 2); /* seqs 1, 2 */
	mongoc_client_t *other = mongoc_client_new(test_uri());
	assert_non_null(other);

	int64_t slow_at, dead_at, legacy_at, at;
	int64_t slow = sweep_take_seq(other, room, &slow_at);          /* 3: in flight */
	sweep_append_old_ts(room, alice, 2);                           /* 4, 5 */
	int64_t dead = sweep_take_seq(other, room, &dead_at);          /* 6: its taker dies */
	sweep_append_old_ts(room, alice, 1);                           /* 7 */
	int64_t legacy_hole = sweep_take_seq(other, room, &legacy_at); /* 8: in flight */
	int64_t legacy = sweep_take_seq(other, room, &at);             /* 9: no seq_at */
	sweep_insert(other, room, alice, legacy, -1, "without seq_at");
	/* 10: abandoned an hour ago (11 was taken then): the sweep's mark. */
	int64_t mark = sweep_take_seq(other, room, &at);
	int64_t after_mark = sweep_take_seq(other, room, &at);
	sweep_insert(other, room, alice, after_mark, at - 3600 * 1000, "an hour ago");
	int64_t end = sweep_take_seq(other, room, &at); /* 12: its taker dies */
	assert_int_equal(slow, 3);
	assert_int_equal(dead, 6);
	assert_int_equal(end, 12);

	/* Within the grace time: no seq is tombstoned, in flight or not. */
	sweep_until("sweep.db", grace, room, end, mark, seqs);
	if (wall_ms() - slow_at >= 4000) {
		print_message("sweep: the machine took longer than the grace time to restart the "
		              "store; nothing to judge\n");
		mongoc_client_destroy(other);
		skip();
		return;
	}
	sweep_seqs(room, end, seqs, NULL);
	for (int64_t s = 1; s <= end; s++)
		assert_int_equal(seqs[s], s == mark ? 2
		                          : s == slow || s == dead || s == legacy_hole || s == end
		                              ? 0
		                              : 1);

	/* The slow inserts land; the dead ones never do. */
	sweep_insert(other, room, alice, slow, slow_at, "slow");
	sweep_insert(other, room, alice, legacy_hole, legacy_at, "slow too");
	sleep(5); /* past seq_hole_after */
	sweep_until("sweep.db", grace, room, end, end, seqs);
	sweep_seqs(room, end, seqs, texts);
	for (int64_t s = 1; s <= end; s++)
		assert_int_equal(seqs[s], s == dead || s == mark || s == end ? 2 : 1);
	assert_string_equal(texts[slow], "slow");
	assert_string_equal(texts[legacy_hole], "slow too");

	/* The room goes on after them, dense. */
	sweep_append_old_ts(room, alice, 1);
	sweep_seqs(room, end + 1, seqs, NULL);
	assert_int_equal(seqs[end + 1], 1);
	mongoc_client_destroy(other);
}

/* A room delete stopped part-way, as room_delete.c leaves it: the room's
 * delete_floor moved past a batch and that batch's messages gone, the room
 * and its newest messages still there. The sweep takes the seqs below the
 * floor as deleted on purpose (without the floor it wrote a tombstone into
 * each), still fills an abandoned seq above it, and deleting the room
 * again finishes. */
static void test_sweep_below_delete_floor(void **state)
{
	(void)state;
	const char *grace = ", seq_hole_after = 1";
	char alice[32], room[32];
	int seqs[16];
	static struct res r;
	assert_int_equal(store_open("delfloor.db", grace), 0);
	mk_user("alice", alice);
	mk_room("doomed", alice, room);
	sweep_append_old_ts(room, alice, 5); /* seqs 1..5 */
	mongoc_client_t *other = mongoc_client_new(test_uri());
	assert_non_null(other);
	mongoc_collection_t *rooms = mongoc_client_get_collection(other, dbname, "rooms");
	mongoc_collection_t *msgs = mongoc_client_get_collection(other, dbname, "messages");
	bson_t *q = BCON_NEW("id", BCON_UTF8(room));
	bson_t *u = BCON_NEW("$max", "{", "delete_floor", BCON_INT64(4), "}");
	bson_t *gone = BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$lte", BCON_INT64(3), "}");
	bson_error_t e;
	assert_true(mongoc_collection_update_one(rooms, q, u, NULL, NULL, &e));
	assert_true(mongoc_collection_delete_many(msgs, gone, NULL, NULL, &e));
	bson_destroy(q);
	bson_destroy(u);
	bson_destroy(gone);
	mongoc_collection_destroy(rooms);
	mongoc_collection_destroy(msgs);
	int64_t at, end = sweep_take_seq(other, room, &at); /* 6: its taker dies */
	assert_int_equal(end, 6);
	sleep(2); /* past seq_hole_after, for seq 6 and for 1..3 alike */

	sweep_until("delfloor.db", grace, room, end, end, seqs);
	for (int64_t s = 1; s <= end; s++)
		assert_int_equal(seqs[s], s <= 3 ? 0 : s == end ? 2 : 1);

	DO(&r, S->room_delete(self, room, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	DO(&r, S->room_get(self, room, NULL, on_done, &r));
	assert_int_equal(r.rc, PARLEY_ENOTFOUND);
	mongoc_client_destroy(other);
}

int main(void)
{
	if (!test_uri()) {
		fprintf(stderr,
		        "PARLEY_TEST_MONGO_URI is not set: run through tests/mongo/congo.py\n");
		return 1;
	}
	mongoc_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rooms_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_dedup_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_delete_react, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_seq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_invites, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uploads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_upgrade_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_upgrade_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreachable_recovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_slow_insert, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_below_delete_floor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
