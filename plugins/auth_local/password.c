/* Argon2id on the worker pool. A job carries everything the worker needs
 * (password pointer, parameters, salt, output buffer) so the worker thread
 * touches no plugin or host state; the salt comes from host->random on the
 * loop thread before the job is queued. The encoded form records its own
 * parameters, so raising them in the config upgrades each account at its
 * next successful login (pw_needs_rehash). */
#include "password.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <argon2.h>

#include "tokens.h"

#define PW_MAX_T_COST          1024
#define PW_MAX_M_COST          (4u * 1024 * 1024) /* 4 GiB in KiB */
#define PW_MAX_PARALLELISM     64
#define ARGON2_BLOCKS_PER_LANE 8 /* libargon2: m_cost >= 8 * parallelism */

const char *pw_params_problem(const struct pw_params *p)
{
	if (p->t_cost < 1 || p->t_cost > PW_MAX_T_COST)
		return "t_cost must be between 1 and 1024";
	if (p->parallelism < 1 || p->parallelism > PW_MAX_PARALLELISM)
		return "parallelism must be between 1 and 64";
	if (p->m_cost > PW_MAX_M_COST)
		return "m_cost must be at most 4194304 (KiB)";
	if (p->m_cost < ARGON2_BLOCKS_PER_LANE * p->parallelism)
		return "m_cost must be at least 8 * parallelism (KiB)";
	return NULL;
}

void pw_ctx_init(struct pw_ctx *pw, const parley_host *host, parley_ctx *ctx,
                 const struct pw_params *params)
{
	/* A fixed salt and an all-zero digest: valid to the decoder, matched
	 * by no password (that would need a preimage of zero). */
	static const unsigned char salt[PW_SALT_LEN] = "parley-no-user!";
	static const unsigned char digest[PW_HASH_LEN];
	char salt64[PW_SALT_LEN * 2], digest64[PW_HASH_LEN * 2];

	memset(pw, 0, sizeof *pw);
	pw->host = host;
	pw->ctx = ctx;
	pw->params = *params;
	token_base64url(salt, sizeof salt, salt64, sizeof salt64);
	token_base64url(digest, sizeof digest, digest64, sizeof digest64);
	/* libargon2's encoding is standard base64 without padding. */
	for (char *p = salt64; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	for (char *p = digest64; *p; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	snprintf(pw->dummy, sizeof pw->dummy, "$argon2id$v=%d$m=%u,t=%u,p=%u$%s$%s",
	         ARGON2_VERSION_NUMBER, params->m_cost, params->t_cost, params->parallelism, salt64,
	         digest64);
}

/* Worker thread: libargon2 only. */
static void pw_work(void *arg)
{
	struct pw_job *job = arg;
	size_t len = strlen(job->password);
	int rc;

	if (job->verify) {
		rc = argon2id_verify(job->encoded, job->password, len);
		job->result = rc == ARGON2_OK                ? PW_MATCH
		              : rc == ARGON2_VERIFY_MISMATCH ? PW_MISMATCH
		                                             : PW_FAILED;
		return;
	}
	rc = argon2id_hash_encoded(job->params.t_cost, job->params.m_cost, job->params.parallelism,
	                           job->password, len, job->salt, sizeof job->salt, PW_HASH_LEN,
	                           job->encoded, sizeof job->encoded);
	job->result = rc == ARGON2_OK ? PW_MATCH : PW_FAILED;
}

/* Loop thread. */
static void pw_done(void *arg, int cancelled)
{
	struct pw_job *job = arg;

	job->pw->inflight--;
	job->then(job->arg, cancelled ? PW_CANCELLED : job->result);
}

static int pw_submit(struct pw_ctx *pw, struct pw_job *job, const char *password,
                     void (*then)(void *arg, int result), void *arg)
{
	int rc;

	if (pw->inflight >= PW_MAX_INFLIGHT)
		return PARLEY_EUNAVAIL;
	job->pw = pw;
	job->password = password;
	job->params = pw->params;
	job->result = PW_FAILED;
	job->then = then;
	job->arg = arg;
	pw->inflight++;
	rc = pw->host->submit(pw->ctx, pw_work, pw_done, job);
	if (rc < 0) {
		pw->inflight--;
		return rc;
	}
	return PARLEY_PENDING;
}

int pw_hash(struct pw_ctx *pw, struct pw_job *job, const char *password,
            void (*then)(void *arg, int result), void *arg)
{
	job->verify = 0;
	job->encoded[0] = '\0';
	if (pw->host->random(job->salt, sizeof job->salt) != 0)
		return PARLEY_ERR;
	return pw_submit(pw, job, password, then, arg);
}

int pw_verify(struct pw_ctx *pw, struct pw_job *job, const char *encoded, const char *password,
              void (*then)(void *arg, int result), void *arg)
{
	/* A hash we cannot hold is treated like no hash: it never matches,
	 * but it still costs a verify. */
	if (!encoded || !*encoded || strlen(encoded) >= sizeof job->encoded)
		encoded = pw->dummy;
	job->verify = 1;
	memcpy(job->encoded, encoded, strlen(encoded) + 1);
	return pw_submit(pw, job, password, then, arg);
}

int pw_needs_rehash(const struct pw_ctx *pw, const char *encoded)
{
	unsigned m = 0, t = 0, p = 0;
	const char *params;

	if (!encoded || strncmp(encoded, "$argon2id$", strlen("$argon2id$")) != 0)
		return 1;
	params = strstr(encoded, "$m=");
	if (!params || sscanf(params, "$m=%u,t=%u,p=%u", &m, &t, &p) != 3)
		return 1;
	return m < pw->params.m_cost || t < pw->params.t_cost || p < pw->params.parallelism;
}

/* Unicode code points in UTF-8 text: every byte that does not continue a
 * sequence starts one. */
static size_t code_points(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xC0) != 0x80;
	return n;
}

const char *pw_rules(const char *password, const char *username, int64_t min_chars, char *msg,
                     size_t n)
{
	if (!password || (int64_t)code_points(password) < min_chars) {
		snprintf(msg, n, "password must be at least %lld characters", (long long)min_chars);
		return msg;
	}
	if (strlen(password) > PW_MAX_BYTES) {
		snprintf(msg, n, "password must be at most %d bytes", PW_MAX_BYTES);
		return msg;
	}
	if (username && *username && strcasestr(password, username)) {
		snprintf(msg, n, "password must not contain the username");
		return msg;
	}
	return NULL;
}
