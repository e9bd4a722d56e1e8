/* store_sqlite through the real host: a config section from conf_load, a
 * database in a temp folder, plugins_load + plugins_init dlopen the built plugin (with
 * auth_local, which the host requires beside a store), the vtable from
 * plugins_store(), and the loop turned until each done() fires. Checks the
 * database file itself with SQLite where the contract is about the file
 * (schema version, durability after kill -9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
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

static char tmpdir[256];
static struct config cfg;
static const parley_store_vtable *S;
static void *self;
static ev_timer keepalive;
static int opened;

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

static void db_file(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

/* Loads the plugins on database `name`; extra: more keys of the store's
 * section (", batch_max = 4"). The config is filled by hand around a
 * section parsed by conf_load, as config_load would. 0, or -1 if loading
 * or init failed. */
static int store_open(const char *name, const char *extra)
{
	char src[512], err[256];
	static char plugin_dir[512];
	snprintf(src, sizeof src, "store = { path = \"%s\"%s }\n", name, extra ? extra : "");
	snprintf(plugin_dir, sizeof plugin_dir, "%s/plugins", PARLEY_BUILD_DIR);
	memset(&cfg, 0, sizeof cfg);
	cfg.root = conf_load("test.conf", src, err, sizeof err);
	assert_non_null(cfg.root);
	cfg.base_dir = tmpdir;
	cfg.data_dir = tmpdir;
	cfg.plugin_dir = plugin_dir;
	cfg.plugins[0].name = "store_sqlite";
	cfg.plugins[0].section = conf_get(cfg.root, "store");
	cfg.plugins[1].name = "auth_local";
	cfg.n_plugins = 2;
	assert_int_equal(loop_init(), 0);
	assert_int_equal(workers_start(2), 0);
	ev_timer_init(&keepalive, keepalive_cb, 1.0, 1.0);
	ev_timer_start(loop_ev, &keepalive);
	opened = 1;
	/* As an admin command: auth_local then leaves the store alone. */
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0)
		return -1;
	S = plugins_store(&self);
	assert_non_null(S);
	return 0;
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
	snprintf(tmpdir, sizeof tmpdir, "%s/parley-store-XXXXXX", getenv("TMPDIR") ?: "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	store_close();
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
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
	assert_int_equal(store_open("seq.db", ", batch_max = 64"), 0);
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

static int file_user_version(const char *name)
{
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;
	db_file(path, sizeof path, name);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
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

static void test_migrations(void **state)
{
	char path[512];
	/* A zero-length file is refused (a truncated file or a failed copy is
	 * not a new install: issue 13 item 18), and left as it was. */
	db_file(path, sizeof path, "empty.db");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(store_open("empty.db", NULL), -1);
	store_close();
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	/* From no file at all. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(store_open("empty.db", NULL), 0);
	store_close();
	int version = file_user_version("empty.db");
	assert_true(version >= 2);
	/* Opening again migrates nothing and keeps the data. */
	assert_int_equal(store_open("empty.db", NULL), 0);
	char alice[32];
	mk_user("alice", alice);
	store_close();
	assert_int_equal(store_open("empty.db", NULL), 0);
	static struct res r;
	DO(&r, S->user_get(self, alice, NULL, on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	store_close();
	assert_int_equal(file_user_version("empty.db"), version);

	/* A file from a newer parley is refused, and left as it was. */
	sqlite3 *db;
	db_file(path, sizeof path, "newer.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open("newer.db", NULL), -1);
	store_close();
	assert_int_equal(file_user_version("newer.db"), 99);

	/* Bad config values fail check. */
	assert_int_equal(store_open("x.db", ", synchronous = \"sometimes\""), -1);
	store_close();
	assert_int_equal(store_open("x.db", ", batch_max = 0"), -1);
	store_close();
	assert_int_equal(store_open("x.db", ", readers = \"two\""), -1);
	store_close();
	assert_int_equal(store_open("x.db", ", pathh = \"y.db\""), -1);
	store_close();
	assert_int_equal(store_open("x.db", ", synchronous = \"normal\", busy_timeout_ms = 100"),
	                 0);
}

/* ---- durability: kill -9 after acks loses nothing ----------------------- */

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

static void dur_child(int fd)
{
	dur_out = fd;
	if (store_open("durable.db", NULL) != 0)
		_exit(2);
	mk_user("writer", dur_user);
	mk_room("durable", dur_user, dur_room);
	for (int i = 0; i < DUR_INFLIGHT; i++)
		dur_send();
	for (;;)
		ev_run(loop_ev, EVRUN_ONCE);
}

static void test_durability_kill9(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dur_child(fds[1]);
	}
	close(fds[1]);
	/* Kill at a random moment: after a random number of acks. */
	int kill_after = 50 + rand() % 1500;
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
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	buf[len] = '\0';

	/* Every acked seq is in the file. */
	assert_int_equal(store_open("durable.db", NULL), 0);
	static struct res r;
	DO(&r, S->room_get(self, NULL, "durable", on_done, &r));
	assert_int_equal(r.rc, PARLEY_OK);
	char room[32];
	strcpy(room, r.rooms[0].id);
	int64_t last = r.rooms[0].last_seq;
	int acked = 0;
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		long long seq = atoll(p);
		assert_true(seq >= 1 && seq <= last);
		acked++;
	}
	assert_true(acked >= (kill_after < DUR_TOTAL ? kill_after : 1));
	/* And the room's messages are exactly 1..last_seq. */
	int64_t seen = 0;
	for (;;) {
		DO(&r, S->history(self, room, 0, seen, 1000, on_done, &r));
		assert_int_equal(r.rc, PARLEY_OK);
		for (size_t i = 0; i < r.n_messages; i++)
			assert_int_equal(r.msgs[i].seq, ++seen);
		if (!r.more)
			break;
	}
	assert_int_equal(seen, last);
	print_message("durability: %d acked before kill -9, %lld in the file\n", acked,
	              (long long)last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rooms_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_dedup_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_delete_react, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_seq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_invites, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
