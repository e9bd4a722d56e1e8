/* Contract cases for accounts: users, lookup by e-mail, sessions (plain
 * and scoped), invites and single-use tokens. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <string.h>

static const parley_user *user_named(const struct res *r, const char *name)
{
	for (size_t i = 0; i < r->v.n_users; i++)
		if (strcmp(r->v.users[i].name, name) == 0)
			return &r->v.users[i];
	return NULL;
}

void test_users(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX];
	contract_open("users");

	parley_user a = {.name = "alice",
	                 .display_name = "Alice A.",
	                 .role = "admin",
	                 .email = "alice@example.org",
	                 .password_hash = "$argon2id$v=19$alice",
	                 .created_ts = 4321};
	assert_int_equal(RUN(&r, S->user_create(self, &a, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_users, 1);
	const parley_user *u = &r.v.users[0];
	assert_non_null(u->id);
	assert_true(strncmp(u->id, "u_", 2) == 0);
	snprintf(alice, sizeof alice, "%s", u->id);
	assert_str(u->name, "alice");
	assert_str(u->display_name, "Alice A.");
	assert_str(u->role, "admin");
	assert_str(u->email, "alice@example.org");
	assert_int_equal(u->disabled, 0);
	assert_int_equal(u->created_ts, 4321);
	mk_user("bob", bob);
	assert_true(strcmp(alice, bob) != 0);

	/* A taken name conflicts, in any letter case. */
	parley_user dup = {.name = "alice", .role = "member"};
	assert_int_equal(RUN(&r, S->user_create(self, &dup, res_done, &r)), PARLEY_ECONFLICT);
	dup.name = "ALICE";
	assert_int_equal(RUN(&r, S->user_create(self, &dup, res_done, &r)), PARLEY_ECONFLICT);

	/* By id, by name (any case); the hash is there for auth. */
	assert_int_equal(RUN(&r, S->user_get(self, alice, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].name, "alice");
	assert_str(r.v.users[0].password_hash, "$argon2id$v=19$alice");
	assert_str(r.v.users[0].email, "alice@example.org");
	assert_str(r.v.users[0].role, "admin");
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "Alice", res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, alice);
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "nobody", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	char missing[ID_MAX + 8];
	snprintf(missing, sizeof missing, "%s99", bob);
	assert_int_equal(RUN(&r, S->user_get(self, missing, NULL, res_done, &r)), PARLEY_ENOTFOUND);

	/* update: the non-NULL fields; disabled only with set_disabled. */
	parley_user up = {.id = bob, .display_name = "Bob B.", .disabled = 1};
	assert_int_equal(RUN(&r, S->user_update(self, &up, 0, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].display_name, "Bob B.");
	assert_str(r.v.users[0].name, "bob");
	assert_str(r.v.users[0].role, "member");
	assert_int_equal(r.v.users[0].disabled, 0);
	parley_user dis = {.id = bob, .disabled = 1};
	assert_int_equal(RUN(&r, S->user_update(self, &dis, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.users[0].disabled, 1);
	assert_str(r.v.users[0].display_name, "Bob B.");
	parley_user promote = {.id = bob,
	                       .role = "admin",
	                       .email = "bob@example.org",
	                       .password_hash = "$argon2id$new"};
	assert_int_equal(RUN(&r, S->user_update(self, &promote, 0, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].role, "admin");
	assert_str(r.v.users[0].email, "bob@example.org");
	assert_int_equal(r.v.users[0].disabled, 1);
	assert_int_equal(RUN(&r, S->user_get(self, bob, NULL, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].password_hash, "$argon2id$new");
	assert_int_equal(r.v.users[0].disabled, 1);
	assert_int_equal(r.v.users[0].created_ts, 1000);
	parley_user enable = {.id = bob};
	assert_int_equal(RUN(&r, S->user_update(self, &enable, 1, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.users[0].disabled, 0);
	/* Renames: to a free name, not to a taken one; unknown id. */
	parley_user rename = {.id = bob, .name = "robert"};
	assert_int_equal(RUN(&r, S->user_update(self, &rename, 0, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].name, "robert");
	assert_int_equal(RUN(&r, S->user_get(self, NULL, "bob", res_done, &r)), PARLEY_ENOTFOUND);
	rename.name = "Alice";
	assert_int_equal(RUN(&r, S->user_update(self, &rename, 0, res_done, &r)), PARLEY_ECONFLICT);
	parley_user ghost = {.id = missing, .display_name = "x"};
	assert_int_equal(RUN(&r, S->user_update(self, &ghost, 0, res_done, &r)), PARLEY_ENOTFOUND);

	/* The list: everyone, never a password hash. */
	assert_int_equal(RUN(&r, S->users_list(self, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_users, 2);
	for (size_t i = 0; i < r.v.n_users; i++)
		assert_null(r.v.users[i].password_hash);
	assert_non_null(user_named(&r, "alice"));
	assert_non_null(user_named(&r, "robert"));
	assert_str(user_named(&r, "robert")->id, bob);
	assert_str(user_named(&r, "robert")->role, "admin");
	assert_str(user_named(&r, "alice")->display_name, "Alice A.");
}

void test_user_by_email(void **state)
{
	static struct res r;
	char bob[ID_MAX];
	contract_open("email");
	REQUIRE_MEMBER(user_by_email);
	parley_user b = {.name = "bob", .role = "member", .email = "Bob@Example.org"};
	assert_int_equal(RUN(&r, S->user_create(self, &b, res_done, &r)), PARLEY_OK);
	snprintf(bob, sizeof bob, "%s", r.v.users[0].id);
	parley_user c = {.name = "carol", .role = "member"};
	assert_int_equal(RUN(&r, S->user_create(self, &c, res_done, &r)), PARLEY_OK);

	assert_int_equal(RUN(&r, S->user_by_email(self, "bob@example.ORG", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_users, 1);
	assert_str(r.v.users[0].id, bob);
	assert_str(r.v.users[0].name, "bob");
	assert_int_equal(RUN(&r, S->user_by_email(self, "Bob@Example.org", res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->user_by_email(self, "carol@example.org", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->user_by_email(self, "bob@example.org.evil", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	/* A changed address is found by the new one only. */
	parley_user up = {.id = bob, .email = "robert@example.org"};
	assert_int_equal(RUN(&r, S->user_update(self, &up, 0, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->user_by_email(self, "bob@example.org", res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->user_by_email(self, "ROBERT@example.org", res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.users[0].id, bob);
}

void test_sessions(void **state)
{
	static struct res r;
	char alice[ID_MAX], bob[ID_MAX];
	contract_open("sessions");
	mk_user("alice", alice);
	mk_user("bob", bob);

	parley_session s1 = {
	    .token_hash = "h1", .user_id = alice, .created_ts = 1000, .expires_ts = 5000};
	parley_session s2 = {
	    .token_hash = "h2", .user_id = alice, .created_ts = 1000, .expires_ts = 9000};
	parley_session s3 = {
	    .token_hash = "h3", .user_id = alice, .created_ts = 1000, .expires_ts = 9000};
	parley_session b1 = {
	    .token_hash = "hb", .user_id = bob, .created_ts = 1000, .expires_ts = 9000};
	assert_int_equal(RUN(&r, S->session_create(self, &s1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_create(self, &s2, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_create(self, &s3, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_create(self, &b1, res_done, &r)), PARLEY_OK);
	/* The same hash twice; a user that does not exist. */
	assert_int_equal(RUN(&r, S->session_create(self, &s2, res_done, &r)), PARLEY_ECONFLICT);
	char nouser[ID_MAX + 8];
	snprintf(nouser, sizeof nouser, "%s77", bob);
	parley_session nobody = {.token_hash = "hx", .user_id = nouser, .expires_ts = 9000};
	assert_int_equal(RUN(&r, S->session_create(self, &nobody, res_done, &r)), PARLEY_ENOTFOUND);

	/* get: session and its user, until expires_ts (exclusive). */
	assert_int_equal(RUN(&r, S->session_get(self, "h1", 4999, res_done, &r)), PARLEY_OK);
	assert_non_null(r.v.session);
	assert_str(r.v.session->token_hash, "h1");
	assert_str(r.v.session->user_id, alice);
	assert_int_equal(r.v.session->created_ts, 1000);
	assert_int_equal(r.v.session->expires_ts, 5000);
	assert_int_equal(r.v.n_users, 1);
	assert_str(r.v.users[0].id, alice);
	assert_str(r.v.users[0].name, "alice");
	if (STORE_HAS(session_create_scoped)) {
		assert_null(r.v.session->scopes);
		assert_null(r.v.session->rooms_json);
	}
	assert_int_equal(RUN(&r, S->session_get(self, "h1", 5000, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->session_get(self, "h1", 100000, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->session_get(self, "nope", 1, res_done, &r)), PARLEY_ENOTFOUND);
	/* Another user's session is its own. */
	assert_int_equal(RUN(&r, S->session_get(self, "hb", 10, res_done, &r)), PARLEY_OK);
	assert_str(r.v.users[0].id, bob);

	/* Every session of alice but h2. */
	assert_int_equal(RUN(&r, S->session_delete(self, "h2", alice, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 2);
	assert_int_equal(RUN(&r, S->session_get(self, "h2", 10, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_get(self, "h3", 10, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->session_get(self, "hb", 10, res_done, &r)), PARLEY_OK);
	/* By hash; again: nothing left to delete. */
	assert_int_equal(RUN(&r, S->session_delete(self, "h2", NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->session_delete(self, "h2", NULL, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->session_get(self, "h2", 10, res_done, &r)), PARLEY_ENOTFOUND);
	/* Every session of a user. */
	assert_int_equal(RUN(&r, S->session_create(self, &s1, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_create(self, &s3, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_delete(self, NULL, alice, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 2);
	assert_int_equal(RUN(&r, S->session_get(self, "h1", 10, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->session_get(self, "hb", 10, res_done, &r)), PARLEY_OK);
}

void test_sessions_scoped(void **state)
{
	static struct res r;
	char bot[ID_MAX];
	contract_open("scoped");
	REQUIRE_MEMBER(session_create_scoped);
	mk_user("bot", bot);
	parley_session s = {
	    .token_hash = "bot1", .user_id = bot, .created_ts = 5, .expires_ts = INT64_MAX};
	assert_int_equal(
	    RUN(&r, S->session_create_scoped(self, &s, "read,post", "[\"r_1\"]", res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_get(self, "bot1", 10, res_done, &r)), PARLEY_OK);
	assert_str(r.v.session->scopes, "read,post");
	assert_str(r.v.session->rooms_json, "[\"r_1\"]");
	assert_str(r.v.users[0].id, bot);
	/* No expiry (auth_local's INT64_MAX) is never expired at any real
	 * time, and comes back as far in the future (not wrapped negative).
	 * Not compared exactly: the Mongo-wire test server keeps numbers as
	 * doubles, where INT64_MAX is 2^63. */
	const int64_t year_3000 = 32503680000000;
	assert_int_equal(RUN(&r, S->session_get(self, "bot1", year_3000, res_done, &r)), PARLEY_OK);
	assert_true(r.v.session->expires_ts > year_3000);
	/* Scopes without a room list. */
	parley_session s2 = {.token_hash = "bot2", .user_id = bot, .expires_ts = 9000};
	assert_int_equal(RUN(&r, S->session_create_scoped(self, &s2, "read", NULL, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->session_get(self, "bot2", 10, res_done, &r)), PARLEY_OK);
	assert_str(r.v.session->scopes, "read");
	assert_null(r.v.session->rooms_json);
	assert_int_equal(RUN(&r, S->session_create_scoped(self, &s2, "read", NULL, res_done, &r)),
	                 PARLEY_ECONFLICT);
	/* Deleted like any session. */
	assert_int_equal(RUN(&r, S->session_delete(self, NULL, bot, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 2);
	assert_int_equal(RUN(&r, S->session_get(self, "bot1", 10, res_done, &r)), PARLEY_ENOTFOUND);
}

/* An invite is used once, before it expires; two uses racing: one wins. */
void test_invites(void **state)
{
	static struct res r;
	char alice[ID_MAX];
	contract_open("invites");
	mk_user("alice", alice);

	parley_invite inv = {.token_hash = "i1",
	                     .role = "admin",
	                     .email = "new@example.org",
	                     .created_by = alice,
	                     .created_ts = 100,
	                     .expires_ts = 1000};
	assert_int_equal(RUN(&r, S->invite_create(self, &inv, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_create(self, &inv, res_done, &r)), PARLEY_ECONFLICT);
	parley_invite first = {
	    .token_hash = "i0", .role = "admin", .created_ts = 1, .expires_ts = 1000};
	assert_int_equal(RUN(&r, S->invite_create(self, &first, res_done, &r)), PARLEY_OK);

	assert_int_equal(RUN(&r, S->invite_use(self, "i1", 1000, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_use(self, "nope", 10, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_use(self, "i1", 999, res_done, &r)), PARLEY_OK);
	assert_non_null(r.v.invite);
	assert_str(r.v.invite->token_hash, "i1");
	assert_str(r.v.invite->role, "admin");
	assert_str(r.v.invite->email, "new@example.org");
	assert_str(r.v.invite->created_by, alice);
	assert_int_equal(r.v.invite->created_ts, 100);
	assert_int_equal(r.v.invite->expires_ts, 1000);
	assert_int_equal(r.v.invite->used_ts, 999);
	/* Used: never again. */
	assert_int_equal(RUN(&r, S->invite_use(self, "i1", 999, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_use(self, "i1", 500, res_done, &r)), PARLEY_ENOTFOUND);

	/* Two uses in flight at once: exactly one wins. */
	static struct res u[2];
	res_reset(&u[0]);
	res_reset(&u[1]);
	assert_int_equal(S->invite_use(self, "i0", 500, res_done, &u[0]), PARLEY_PENDING);
	assert_int_equal(S->invite_use(self, "i0", 501, res_done, &u[1]), PARLEY_PENDING);
	res_wait_all(u, 2);
	assert_true((u[0].rc == PARLEY_OK) != (u[1].rc == PARLEY_OK));
	assert_int_equal(u[0].rc == PARLEY_OK ? u[1].rc : u[0].rc, PARLEY_ENOTFOUND);
	assert_null(u[0].rc == PARLEY_OK ? u[0].v.invite->created_by : u[1].v.invite->created_by);
	res_reset(&u[0]);
	res_reset(&u[1]);
}

/* invites_list shows the usable ones; invite_revoke deletes an unused one. */
void test_invites_admin(void **state)
{
	static struct res r;
	char alice[ID_MAX];
	contract_open("invadmin");
	REQUIRE_MEMBER(invites_list);
	REQUIRE_MEMBER(invite_revoke);
	mk_user("alice", alice);
	parley_invite live = {.token_hash = "live",
	                      .role = "member",
	                      .email = "x@example.org",
	                      .created_by = alice,
	                      .created_ts = 10,
	                      .expires_ts = 5000};
	parley_invite old = {.token_hash = "old", .role = "member", .expires_ts = 50};
	parley_invite used = {.token_hash = "used", .role = "member", .expires_ts = 5000};
	parley_invite gone = {.token_hash = "gone", .role = "admin", .expires_ts = 5000};
	assert_int_equal(RUN(&r, S->invite_create(self, &live, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_create(self, &old, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_create(self, &used, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_create(self, &gone, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_use(self, "used", 60, res_done, &r)), PARLEY_OK);

	assert_int_equal(RUN(&r, S->invites_list(self, 100, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_invites, 2);
	int found = 0;
	for (size_t i = 0; i < r.v.n_invites; i++) {
		const parley_invite *x = &r.v.invites[i];
		if (strcmp(x->token_hash, "live") == 0) {
			found |= 1;
			assert_str(x->email, "x@example.org");
			assert_str(x->created_by, alice);
			assert_int_equal(x->expires_ts, 5000);
			assert_int_equal(x->used_ts, 0);
		}
		found |= strcmp(x->token_hash, "gone") == 0 ? 2 : 0;
	}
	assert_int_equal(found, 3);
	/* At 40 the old one was usable still. */
	assert_int_equal(RUN(&r, S->invites_list(self, 40, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_invites, 3);

	assert_int_equal(RUN(&r, S->invite_revoke(self, "gone", res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->invite_revoke(self, "gone", res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_revoke(self, "used", res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_revoke(self, "nope", res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invite_use(self, "gone", 100, res_done, &r)), PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->invites_list(self, 100, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_invites, 1);
	assert_str(r.v.invites[0].token_hash, "live");
}

/* Single-use tokens: once, before expiry, only as their kind. */
void test_tokens(void **state)
{
	static struct res r;
	char bob[ID_MAX], carol[ID_MAX];
	contract_open("tokens");
	REQUIRE_MEMBER(token_create);
	REQUIRE_MEMBER(token_use);
	mk_user("bob", bob);
	mk_user("carol", carol);
	assert_int_equal(
	    RUN(&r, S->token_create(self, "password_reset", "t1", bob, 1000, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(
	    RUN(&r, S->token_create(self, "password_reset", "t2", carol, 1000, res_done, &r)),
	    PARLEY_OK);
	assert_int_equal(
	    RUN(&r, S->token_create(self, "password_reset", "t1", carol, 1000, res_done, &r)),
	    PARLEY_ECONFLICT);

	assert_int_equal(RUN(&r, S->token_use(self, "other", "t1", 10, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "t1", 1000, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "nope", 1, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "t1", 999, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.n_users, 1);
	assert_str(r.v.users[0].id, bob);
	assert_str(r.v.users[0].name, "bob");
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "t1", 999, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "t1", 5, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	/* A wrong-kind try did not spend it. */
	assert_int_equal(RUN(&r, S->token_use(self, "other", "t2", 10, res_done, &r)),
	                 PARLEY_ENOTFOUND);
	assert_int_equal(RUN(&r, S->token_use(self, "password_reset", "t2", 10, res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.users[0].id, carol);

	/* Racing uses: one wins. */
	assert_int_equal(
	    RUN(&r, S->token_create(self, "password_reset", "t3", bob, 1000, res_done, &r)),
	    PARLEY_OK);
	static struct res u[2];
	res_reset(&u[0]);
	res_reset(&u[1]);
	assert_int_equal(S->token_use(self, "password_reset", "t3", 10, res_done, &u[0]),
	                 PARLEY_PENDING);
	assert_int_equal(S->token_use(self, "password_reset", "t3", 11, res_done, &u[1]),
	                 PARLEY_PENDING);
	res_wait_all(u, 2);
	assert_true((u[0].rc == PARLEY_OK) != (u[1].rc == PARLEY_OK));
	res_reset(&u[0]);
	res_reset(&u[1]);
}

/* Lookups that name neither key are refused (EINVAL), never "found". */
void test_lookup_needs_a_key(void **state)
{
	static struct res r;
	char alice[ID_MAX];
	contract_open("nokey");
	mk_user("alice", alice);
	mk_room("general", alice, (char[ID_MAX]){0});
	parley_session s = {.token_hash = "h1", .user_id = alice, .expires_ts = 9000};
	assert_int_equal(RUN(&r, S->session_create(self, &s, res_done, &r)), PARLEY_OK);
	assert_int_equal(RUN(&r, S->user_get(self, NULL, NULL, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->room_get(self, NULL, NULL, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->session_delete(self, NULL, NULL, res_done, &r)), PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->session_get(self, "h1", 10, res_done, &r)), PARLEY_OK);
}
