/* Unit tests of auth_local's self-contained parts: token shape and hash,
 * the throttle's arithmetic, the password rules, and real Argon2id hashing
 * and verification. The host table here holds only what these parts call
 * (allocation, randomness, and a worker pool that runs the job at once);
 * the plugin as a whole is tested against the real server in
 * tests/integration/test_auth.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cmocka.h>

#include "addr_prefix.h"
#include "password.h"
#include "throttle.h"
#include "tokens.h"

static void *t_calloc(parley_ctx *ctx, size_t n, size_t size)
{
	return calloc(n, size);
}

static void t_free(parley_ctx *ctx, void *p)
{
	free(p);
}

static int t_random(void *buf, size_t n)
{
	return getrandom(buf, n, 0) == (ssize_t)n ? 0 : -1;
}

static int t_submit(parley_ctx *ctx, void (*work)(void *arg),
                    void (*done)(void *arg, int cancelled), void *arg)
{
	work(arg);
	done(arg, 0);
	return 0;
}

static const parley_host host = {
    .struct_size = sizeof(parley_host),
    .calloc = t_calloc,
    .free = t_free,
    .random = t_random,
    .submit = t_submit,
};

static void test_token_shape(void **state)
{
	char a[TOKEN_CHARS + 1], b[TOKEN_CHARS + 1];

	assert_int_equal(token_new(&host, a), PARLEY_OK);
	assert_int_equal(token_new(&host, b), PARLEY_OK);
	assert_int_equal(strlen(a), TOKEN_CHARS);
	assert_string_not_equal(a, b);
	assert_true(token_is_local(a));
	assert_null(strpbrk(a, "+/="));
	assert_false(token_is_local(NULL));
	assert_false(token_is_local(""));
	assert_false(token_is_local("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
	a[10] = '+';
	assert_false(token_is_local(a));
	/* 44 characters is not ours either. */
	assert_false(token_is_local("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_true(token_is_local("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

static void test_token_hash(void **state)
{
	char hex[TOKEN_HASH_HEX + 1];

	token_hash("abc", hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_base64url(void **state)
{
	static const unsigned char in[] = {0xfb, 0xff, 0xfe};
	char out[16];

	token_base64url(in, sizeof in, out, sizeof out);
	assert_string_equal(out, "-__-");
	token_base64url(in, 2, out, sizeof out);
	assert_string_equal(out, "-_8");
}

static void test_throttle_blocks_and_doubles(void **state)
{
	struct throttle *t = throttle_new(&host, NULL, 3, 60000, 0);
	int64_t now = 1000000;

	assert_non_null(t);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 0);
	throttle_fail(t, "a:bob", now);
	throttle_fail(t, "a:bob", now);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 0);
	throttle_fail(t, "a:bob", now);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), THROTTLE_BASE_MS);
	assert_int_equal(throttle_wait_ms(t, "a:eve", now), 0);
	now += THROTTLE_BASE_MS;
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 0);
	throttle_fail(t, "a:bob", now);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 2 * THROTTLE_BASE_MS);
	for (int i = 0; i < 20; i++)
		throttle_fail(t, "a:bob", now);
	/* Capped at the window. */
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 60000);
	throttle_reset(t, "a:bob");
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 0);
	throttle_free(t);
}

/* Counts from the store (every node's): observe only raises, and blocks
 * as failing would; sync also lowers (a success on another node). */
static void test_throttle_observe_and_sync(void **state)
{
	(void)state;
	struct throttle *t = throttle_new(&host, NULL, 3, 60000, 0);
	int64_t now = 1000000;

	throttle_fail(t, "a:bob", now);
	assert_int_equal(throttle_observe(t, "a:bob", 2, now), 0);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), 0);
	/* The third failure was made on another node. */
	assert_int_equal(throttle_observe(t, "a:bob", 3, now), 0);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now), THROTTLE_BASE_MS);
	/* A lower or equal count changes nothing: the block is not pushed on. */
	assert_int_equal(throttle_observe(t, "a:bob", 1, now + 500), 0);
	assert_int_equal(throttle_observe(t, "a:bob", 3, now + 500), 0);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now + 500), THROTTLE_BASE_MS - 500);
	/* A key this node never saw. */
	assert_int_equal(throttle_observe(t, "c:10.0.0.1", 4, now), 0);
	assert_int_equal(throttle_wait_ms(t, "c:10.0.0.1", now), 2 * THROTTLE_BASE_MS);
	/* sync lowers: under max_failures the block goes; 0 forgets the key. */
	assert_int_equal(throttle_sync(t, "a:bob", 2, now + 600), 0);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now + 600), 0);
	assert_true(throttle_has(t, "a:bob", now + 600));
	assert_int_equal(throttle_sync(t, "a:bob", 0, now + 600), 0);
	assert_false(throttle_has(t, "a:bob", now + 600));
	/* and raises like observe. */
	assert_int_equal(throttle_sync(t, "a:bob", 3, now + 700), 0);
	assert_int_equal(throttle_wait_ms(t, "a:bob", now + 700), THROTTLE_BASE_MS);
	throttle_free(t);
}

static void test_throttle_window_expires(void **state)
{
	struct throttle *t = throttle_new(&host, NULL, 2, 10000, 0);
	int64_t now = 5000;

	throttle_fail(t, "c:127.0.0.1", now);
	now += 10000; /* a new window: the first failure no longer counts */
	throttle_fail(t, "c:127.0.0.1", now);
	assert_int_equal(throttle_wait_ms(t, "c:127.0.0.1", now), 0);
	throttle_fail(t, "c:127.0.0.1", now);
	assert_int_equal(throttle_wait_ms(t, "c:127.0.0.1", now), THROTTLE_BASE_MS);
	assert_int_equal(throttle_wait_ms(t, "c:127.0.0.1", now + 20000), 0);
	assert_int_equal(throttle_count(t), 0);
	throttle_free(t);
}

static void test_throttle_bounded(void **state)
{
	struct throttle *t = throttle_new(&host, NULL, 3, 60000, 0);
	char key[32];

	for (int i = 0; i < THROTTLE_MAX_KEYS + 100; i++) {
		snprintf(key, sizeof key, "a:user%d", i);
		assert_int_equal(throttle_fail(t, key, 1000 + i), 0);
	}
	assert_true(throttle_count(t) <= THROTTLE_MAX_KEYS);
	/* Unlocked entries make room: the newest are kept, the oldest dropped. */
	assert_true(throttle_has(t, key, 1000 + THROTTLE_MAX_KEYS + 99));
	assert_false(throttle_has(t, "a:user0", 1000 + THROTTLE_MAX_KEYS + 99));
	throttle_free(t);
}

/* issue 13 item 3: 17,100 failures under random names once evicted a
 * locked account's entry, which gave the attacker fresh guesses. */
static void test_throttle_locked_never_evicted(void **state)
{
	struct throttle *t = throttle_new(&host, NULL, 10, 900000, 0);
	int64_t now = 1000;
	char key[32];

	for (int i = 0; i < 10; i++)
		throttle_fail(t, "a:victim", now);
	assert_true(throttle_wait_ms(t, "a:victim", now) > 0);
	for (int i = 0; i < 17100; i++) {
		snprintf(key, sizeof key, "a:random%d", i);
		throttle_fail(t, key, now + 1 + i / 4);
	}
	now += 1 + 17100 / 4;
	assert_true(throttle_count(t) <= THROTTLE_MAX_KEYS);
	assert_true(throttle_has(t, "a:victim", now));
	/* Still counted: the next failure blocks it longer, not afresh. */
	throttle_fail(t, "a:victim", now);
	assert_true(throttle_wait_ms(t, "a:victim", now) >= 2 * THROTTLE_BASE_MS);
	throttle_free(t);
}

/* A table of locked entries only: new keys go untracked (the caller's
 * coarser key counts them), memory stays at max_keys. */
static void test_throttle_full_of_locked(void **state)
{
	struct throttle *t = throttle_new(&host, NULL, 1, 60000, 64);
	char key[32];

	assert_int_equal(throttle_pressure(t), 0);
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof key, "a:locked%d", i);
		assert_int_equal(throttle_fail(t, key, 1000), 0);
		if (i == 46)
			assert_int_equal(throttle_pressure(t), 0);
		if (i == 47)
			assert_int_equal(throttle_pressure(t), 1);
		if (i == 55)
			assert_int_equal(throttle_pressure(t), 2);
	}
	assert_int_equal(throttle_fail(t, "a:newcomer", 1001), -1);
	assert_int_equal(throttle_count(t), 64);
	assert_true(throttle_wait_ms(t, "a:locked0", 1001) > 0);
	/* Once the window is over, the old entries make room again. */
	assert_int_equal(throttle_fail(t, "a:newcomer", 1000 + 60000 + 1000), 0);
	throttle_free(t);
}

static void test_addr_prefix(void **state)
{
	char out[64];

	addr_prefix("127.3.4.5", 1, out, sizeof out);
	assert_string_equal(out, "127.3.4.0/24");
	addr_prefix("127.3.4.5", 2, out, sizeof out);
	assert_string_equal(out, "127.3.0.0/16");
	addr_prefix("2001:db8:1:2:3:4:5:6", 1, out, sizeof out);
	assert_string_equal(out, "2001:db8:1:2::/64");
	addr_prefix("2001:db8:1:2:3:4:5:6", 2, out, sizeof out);
	assert_string_equal(out, "2001:db8:1::/48");
	addr_prefix("::ffff:192.0.2.77", 1, out, sizeof out);
	assert_string_equal(out, "192.0.2.0/24");
	addr_prefix("::1", 1, out, sizeof out);
	assert_string_equal(out, "::/64");
	addr_prefix("unknown", 2, out, sizeof out);
	assert_string_equal(out, "unknown");
}

static void test_password_rules(void **state)
{
	char msg[128];

	assert_string_equal(pw_rules("short", "bob", 8, msg, sizeof msg),
	                    "password must be at least 8 characters");
	/* Code points, not bytes: six two-byte letters are six characters. */
	assert_non_null(pw_rules("éééééé", "bob", 8, msg, sizeof msg));
	assert_null(pw_rules("éééééééé", "bob", 8, msg, sizeof msg));
	assert_non_null(pw_rules("alice-the-great", "Alice", 8, msg, sizeof msg));
	assert_non_null(pw_rules("ALICEBOB", "alicebob", 8, msg, sizeof msg));
	assert_null(pw_rules("correct horse 1", "alice", 8, msg, sizeof msg));
	assert_non_null(pw_rules(NULL, "alice", 8, msg, sizeof msg));
	{
		char big[PW_MAX_BYTES + 2];
		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		assert_string_equal(pw_rules(big, "alice", 8, msg, sizeof msg),
		                    "password must be at most 1024 bytes");
	}
}

struct outcome {
	int calls;
	int result;
};

static void record(void *arg, int result)
{
	struct outcome *o = arg;

	o->calls++;
	o->result = result;
}

static void test_argon2_hash_verify(void **state)
{
	const struct pw_params cheap = {1, 64, 1}, stronger = {2, 128, 1};
	struct pw_ctx pw, pw2;
	struct pw_job job, check;
	struct outcome o = {0};

	pw_ctx_init(&pw, &host, NULL, &cheap);
	assert_int_equal(pw_hash(&pw, &job, "correct horse 1", record, &o), PARLEY_PENDING);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.result, PW_MATCH);
	assert_true(strncmp(job.encoded, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);

	assert_int_equal(pw_verify(&pw, &check, job.encoded, "correct horse 1", record, &o),
	                 PARLEY_PENDING);
	assert_int_equal(o.result, PW_MATCH);
	pw_verify(&pw, &check, job.encoded, "correct horse 2", record, &o);
	assert_int_equal(o.result, PW_MISMATCH);
	/* No hash at all: the dummy is verified (well-formed), never matched. */
	pw_verify(&pw, &check, NULL, "correct horse 1", record, &o);
	assert_int_equal(o.result, PW_MISMATCH);
	pw_verify(&pw, &check, "", "", record, &o);
	assert_int_equal(o.result, PW_MISMATCH);
	assert_int_equal(pw.inflight, 0);

	assert_false(pw_needs_rehash(&pw, job.encoded));
	pw_ctx_init(&pw2, &host, NULL, &stronger);
	assert_true(pw_needs_rehash(&pw2, job.encoded));
	assert_true(pw_needs_rehash(&pw2, "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA"));
	assert_true(pw_needs_rehash(&pw2, NULL));
	pw_verify(&pw2, &check, NULL, "x", record, &o);
	assert_int_equal(o.result, PW_MISMATCH);
}

static void test_params_problem(void **state)
{
	assert_null(pw_params_problem(&(struct pw_params){3, 65536, 1}));
	assert_non_null(pw_params_problem(&(struct pw_params){0, 65536, 1}));
	assert_non_null(pw_params_problem(&(struct pw_params){1, 8, 2}));
	assert_non_null(pw_params_problem(&(struct pw_params){1, 64, 0}));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_shape),
	    cmocka_unit_test(test_token_hash),
	    cmocka_unit_test(test_base64url),
	    cmocka_unit_test(test_throttle_blocks_and_doubles),
	    cmocka_unit_test(test_throttle_window_expires),
	    cmocka_unit_test(test_throttle_bounded),
	    cmocka_unit_test(test_throttle_locked_never_evicted),
	    cmocka_unit_test(test_throttle_full_of_locked),
	    cmocka_unit_test(test_throttle_observe_and_sync),
	    cmocka_unit_test(test_addr_prefix),
	    cmocka_unit_test(test_password_rules),
	    cmocka_unit_test(test_argon2_hash_verify),
	    cmocka_unit_test(test_params_problem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
