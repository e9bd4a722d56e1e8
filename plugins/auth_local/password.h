/* Passwords: the rules a new password must meet, and Argon2id hashing and
 * verification on the host's worker pool (never on the loop thread). */
#ifndef AUTH_LOCAL_PASSWORD_H
#define AUTH_LOCAL_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#define PW_MAX_BYTES    1024 /* longer passwords are refused, never hashed */
#define PW_SALT_LEN     16
#define PW_HASH_LEN     32
#define PW_ENCODED_MAX  192 /* an encoded Argon2id hash fits with room to spare */
#define PW_MAX_INFLIGHT 64  /* hashes queued or running; more: EUNAVAIL */

struct pw_params {
	uint32_t t_cost;
	uint32_t m_cost; /* KiB */
	uint32_t parallelism;
};

/* Results given to a job's callback. */
enum pw_result { PW_MATCH = 0, PW_MISMATCH = 1, PW_FAILED = -1, PW_CANCELLED = -2 };

struct pw_ctx {
	const parley_host *host;
	parley_ctx *ctx;
	struct pw_params params;
	unsigned inflight;
	/* A well-formed hash with the configured parameters that no password
	 * matches: verified against when the account does not exist, so a
	 * failed login costs the same either way. */
	char dummy[PW_ENCODED_MAX];
};

/* One hash or verify. Lives in the caller's request until then() runs. */
struct pw_job {
	struct pw_ctx *pw;
	const char *password;         /* the caller's, alive until then() */
	char encoded[PW_ENCODED_MAX]; /* verify: the stored hash; hash: the result */
	struct pw_params params;
	unsigned char salt[PW_SALT_LEN];
	int verify;
	int result; /* enum pw_result, set on the worker */
	void (*then)(void *arg, int result);
	void *arg;
};

void pw_ctx_init(struct pw_ctx *pw, const parley_host *host, parley_ctx *ctx,
                 const struct pw_params *params);
/* Hashes password with the configured parameters and a fresh salt; then()
 * gets PW_MATCH with job->encoded set, or PW_FAILED / PW_CANCELLED.
 * Returns PARLEY_PENDING, or EUNAVAIL (too many queued) / ERR without
 * calling then(). */
int pw_hash(struct pw_ctx *pw, struct pw_job *job, const char *password,
            void (*then)(void *arg, int result), void *arg);
/* Verifies password against encoded (NULL or empty: the dummy hash, which
 * never matches). Same contract as pw_hash. */
int pw_verify(struct pw_ctx *pw, struct pw_job *job, const char *encoded, const char *password,
              void (*then)(void *arg, int result), void *arg);
/* 1 when encoded is not Argon2id or uses weaker parameters than configured. */
int pw_needs_rehash(const struct pw_ctx *pw, const char *encoded);
/* Checks a new password against the rules; NULL when it passes, else msg
 * (a sentence for a person, written into msg of size n). */
const char *pw_rules(const char *password, const char *username, int64_t min_chars, char *msg,
                     size_t n);
/* Validates parameters as libargon2 would; NULL or a reason. */
const char *pw_params_problem(const struct pw_params *p);

#endif
