/* The store contract suite's harness: loads one store plugin the way the
 * server does (the core's plugin host: dlopen, entry, check, init with a
 * config section) on a real libev loop, and drives it through
 * parley_store_vtable only. The same binary runs against every store; the
 * plugin and its section come from the command line or the environment
 * (see contract_main.c). */
#ifndef PARLEY_STORE_CONTRACT_H
#define PARLEY_STORE_CONTRACT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <parley/plugin.h>

/* The store under test, valid between contract_open and contract_close. */
extern const parley_store_vtable *S;
extern void *self;

/* One call's outcome, deep-copied out of the callback so a test can read
 * it afterwards (NULL strings stay NULL). */
struct res {
	int fired; /* times done ran: the contract says exactly once */
	int rc;    /* the call's return when not PENDING, else the result's rc */
	parley_store_result v;
	struct arena *arena; /* owns v's records and strings */
};

/* Opens the store for one test case: a fresh store (the section's @CASE@
 * is replaced by a name unique to this case and run). Fails the test when
 * loading or init fails. */
void contract_open(const char *case_name);
/* Opens the same store again (same @CASE@) after contract_close: what a
 * restart sees. */
void contract_reopen(void);
void contract_close(void);
/* contract_reopen for a forked child, where a cmocka failure must not
 * unwind into the parent's runner: 0, or -1 after printing why. */
int contract_open_quiet(void);

/* cmocka setup/teardown: teardown closes a store left open. */
int contract_setup(void **state);
int contract_teardown(void **state);

/* 1 when the vtable has the member: struct_size covers it and it is set.
 * Appended (optional) members are tested only when present. */
#define STORE_HAS(member) PARLEY_HAS(parley_store_vtable, S, member)
/* Skips the running case (reported as skipped) when the store lacks member. */
#define REQUIRE_MEMBER(member)                                                                     \
	do {                                                                                       \
		if (!STORE_HAS(member)) {                                                          \
			print_message("[  SKIP    ] the store has no " #member "\n");              \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* Starts a call with r as its done's ud. */
void res_reset(struct res *r);
/* Finishes a call that returned call_rc: an error return must not call
 * done; PARLEY_PENDING must call it exactly once (waited for, with a
 * deadline). Returns the effective rc: the return or the result's. */
int res_finish(struct res *r, int call_rc);
/* Waits until every one of r[0..n) fired (calls already issued PENDING). */
void res_wait_all(struct res *r, size_t n);
/* done for every call. */
void res_done(void *ud, const parley_store_result *result);

/* Runs one store call with r and returns its effective rc:
 *   assert_int_equal(RUN(&r, S->room_get(self, id, NULL, res_done, &r)), PARLEY_OK); */
#define RUN(r, call) (res_reset(r), res_finish((r), (call)))

/* String equality where NULL is a value of its own. */
#define assert_str(a, b) contract_assert_str((a), (b), __FILE__, __LINE__)
void contract_assert_str(const char *a, const char *b, const char *file, int line);
/* Reactions JSON ({"emoji":["u_1",…]}) equal to want as sets; NULL, "" and
 * "{}" all mean none. */
#define assert_reactions(json, want) contract_assert_reactions((json), (want), __FILE__, __LINE__)
void contract_assert_reactions(const char *json, const char *want, const char *file, int line);

/* Record makers for the cases: fail the test unless the store says OK.
 * Ids are copied into out (at least 64 bytes). */
void mk_user(const char *name, char *out);
void mk_room(const char *name, const char *creator, char *out);
/* Appends and returns the stored message's seq; id into out unless NULL. */
int64_t mk_message(const char *room, const char *user, const char *text, const char *client_id,
                   char *out);

/* The deadline for one call, seconds (PARLEY_CONTRACT_TIMEOUT, default 30). */
double contract_timeout(void);
/* The environment value as an integer, or def. */
long contract_env_long(const char *name, long def);

#define ID_MAX 64

#endif
