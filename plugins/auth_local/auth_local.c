/* auth_local: local accounts with Argon2id passwords, opaque session
 * tokens, invites and login throttling, built against the public plugin
 * header only. Every piece of state lives in the store provider (sessions,
 * users, invites), except the throttle counters (in memory, see README).
 *
 * This file holds the descriptor, the config section (read the same way by
 * check, which reports, and by init, which trusts it), the vtable, and the
 * first-start step: with no users at all, an admin invite link is printed. */
#include <stdio.h>
#include <string.h>

#include "auth_local.h"

#define AL_VERSION "0.1.0"

#define DEFAULT_MIN_PASSWORD  8
#define DEFAULT_SESSION_TTL_S (30LL * 24 * 3600)
#define DEFAULT_INVITE_TTL_S  (7LL * 24 * 3600)
#define DEFAULT_T_COST        3
#define DEFAULT_M_COST        65536 /* KiB */
#define DEFAULT_PARALLELISM   1
#define DEFAULT_MAX_FAILURES  10
#define DEFAULT_WINDOW_S      900
#define DEFAULT_RESET_TTL_S   3600
#define MIN_TTL_S             60
#define MAX_WINDOW_S          (7LL * 24 * 3600)
#define MAX_FAILURES_MAX      1000000

static const parley_auth_vtable al_vtable = {
    .struct_size = sizeof(parley_auth_vtable),
    .authenticate = al_authenticate,
    .login = al_login,
    .logout = al_logout,
    .register_user = al_register_user,
    .user_add = al_user_add,
    .session_new = al_session_new,
    .invite_create = al_invite_create,
    .password_forgot = al_password_forgot,
    .password_reset = al_password_reset,
    .password_change = al_password_change,
    .bot_token_new = al_bot_token_new,
    .register_from = al_register_from,
};

/* Reads an integer key into *out within [lo, hi]; 0 ok (absent keeps the
 * default), -1 when wrong (reported when report is set). */
static int conf_range(const parley_host *host, const parley_conf *c, const char *key, int64_t lo,
                      int64_t hi, int64_t *out, int report)
{
	int64_t v;
	int got = host->conf_int(c, key, &v);

	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	if (v < lo || v > hi) {
		if (report)
			host->conf_error(c, key, "must be between %lld and %lld", (long long)lo,
			                 (long long)hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int config_read(const parley_host *host, const parley_conf *c, struct al_config *cfg,
                       int report)
{
	const parley_conf *argon2 = NULL, *throttle = NULL;
	int64_t t = DEFAULT_T_COST, m = DEFAULT_M_COST, p = DEFAULT_PARALLELISM;
	const char *reg = NULL, *why;
	int bad = 0, got;

	*cfg = (struct al_config){.registration = AL_REG_INVITE,
	                          .min_password = DEFAULT_MIN_PASSWORD,
	                          .session_ttl_s = DEFAULT_SESSION_TTL_S,
	                          .invite_ttl_s = DEFAULT_INVITE_TTL_S,
	                          .max_failures = DEFAULT_MAX_FAILURES,
	                          .window_s = DEFAULT_WINDOW_S,
	                          .max_keys = THROTTLE_MAX_KEYS,
	                          .reset_ttl_s = DEFAULT_RESET_TTL_S};
	if (!c)
		goto params;
	got = host->conf_str(c, "registration", &reg);
	if (got < 0)
		bad = 1;
	else if (got > 0 && !strcmp(reg, "open"))
		cfg->registration = AL_REG_OPEN;
	else if (got > 0 && !strcmp(reg, "closed"))
		cfg->registration = AL_REG_CLOSED;
	else if (got > 0 && strcmp(reg, "invite") != 0) {
		if (report)
			host->conf_error(c, "registration",
			                 "must be \"invite\", \"open\" or "
			                 "\"closed\", not \"%s\"",
			                 reg);
		bad = 1;
	}
	bad |= conf_range(host, c, "min_password", 1, PW_MAX_BYTES, &cfg->min_password, report);
	bad |= conf_range(host, c, "session_ttl", MIN_TTL_S, AL_TTL_MAX_S, &cfg->session_ttl_s,
	                  report);
	bad |=
	    conf_range(host, c, "invite_ttl", MIN_TTL_S, AL_TTL_MAX_S, &cfg->invite_ttl_s, report);
	bad |=
	    conf_range(host, c, "reset_ttl", MIN_TTL_S, 7 * 24 * 3600, &cfg->reset_ttl_s, report);

	if ((got = host->conf_table(c, "argon2", &argon2)) < 0)
		bad = 1;
	if (got > 0) {
		bad |= conf_range(host, argon2, "t_cost", 1, UINT32_MAX, &t, report);
		bad |= conf_range(host, argon2, "m_cost", 1, UINT32_MAX, &m, report);
		bad |= conf_range(host, argon2, "parallelism", 1, UINT32_MAX, &p, report);
	}
	if ((got = host->conf_table(c, "throttle", &throttle)) < 0)
		bad = 1;
	if (got > 0) {
		bad |= conf_range(host, throttle, "max_failures", 1, MAX_FAILURES_MAX,
		                  &cfg->max_failures, report);
		bad |=
		    conf_range(host, throttle, "window", 1, MAX_WINDOW_S, &cfg->window_s, report);
		bad |= conf_range(host, throttle, "max_keys", THROTTLE_MIN_KEYS,
		                  THROTTLE_MAX_KEYS_LIMIT, &cfg->max_keys, report);
	}
params:
	cfg->argon2 = (struct pw_params){(uint32_t)t, (uint32_t)m, (uint32_t)p};
	if ((why = pw_params_problem(&cfg->argon2))) {
		if (report && argon2)
			host->conf_error(argon2,
			                 !strncmp(why, "t_cost", 6)         ? "t_cost"
			                 : !strncmp(why, "parallelism", 11) ? "parallelism"
			                                                    : "m_cost",
			                 "%s", why);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int al_check(const parley_host *host, parley_ctx *ctx)
{
	struct al_config cfg;

	return config_read(host, host->conf(ctx), &cfg, 1) == 0 ? PARLEY_OK : PARLEY_EINVAL;
}

static void first_invite_done(void *ud, const parley_auth_result *res)
{
	struct al *al = ud;
	char line[256 + TOKEN_CHARS];

	if (res->rc != PARLEY_OK || !res->link) {
		al->host->log(al->ctx, PARLEY_LOG_ERROR, "first_admin_invite_failed", "%s",
		              res->message ? res->message : "could not create the admin invite");
		return;
	}
	al->host->log(al->ctx, PARLEY_LOG_WARN, "first_admin_invite",
	              "no accounts yet: open %s to create the admin account", res->link);
	/* The one plain line a person starting the server reads. */
	snprintf(line, sizeof line, "parley: first start — open %s to create the admin account\n",
	         res->link);
	fputs(line, stderr);
	fflush(stderr);
}

static void first_start(void *arg);

/* The store may be down at start (a database not up yet): the listing is
 * tried again, 1 s after the first failure, doubling up to 10 s. */
static void first_start_later(struct al *al, const char *why)
{
	al->first_start_retry = al->first_start_retry > 0
	                            ? al->first_start_retry * AL_FIRST_START_BACKOFF
	                            : AL_FIRST_START_RETRY_MIN;
	if (al->first_start_retry > AL_FIRST_START_RETRY_MAX)
		al->first_start_retry = AL_FIRST_START_RETRY_MAX;
	al->host->log(al->ctx, PARLEY_LOG_WARN, "first_start_retry",
	              "could not list users: %s; trying again in %.0f s", why,
	              al->first_start_retry);
	if (!al->host->timer_start(al->ctx, al->first_start_retry, 0, first_start, al))
		al->host->log(al->ctx, PARLEY_LOG_ERROR, "first_start_failed", "no timer");
}

static void users_listed(void *ud, const parley_store_result *res)
{
	struct al *al = ud;
	int rc;

	if (res->rc < 0) {
		first_start_later(al, res->error ? res->error : "store error");
		return;
	}
	if (res->n_users > 0)
		return;
	if (al->cfg.registration == AL_REG_CLOSED) {
		al->host->log(al->ctx, PARLEY_LOG_WARN, "first_start",
		              "no accounts yet and registration is closed: create the admin "
		              "with `parley user add NAME --role admin`");
		return;
	}
	rc = al_invite_create(al, "admin", NULL, NULL, first_invite_done, al);
	if (rc != PARLEY_PENDING)
		al->host->log(al->ctx, PARLEY_LOG_ERROR, "first_admin_invite_failed",
		              "could not create the admin invite (%d)", rc);
}

/* Runs once the loop turns: only then is the store provider available. */
static void first_start(void *arg)
{
	struct al *al = arg;
	const parley_store_vtable *st;
	void *self;

	/* Listening on port 0: the link can name the bound port only once
	 * the listeners run, after the chat state's first load. */
	const char *url = al->host->public_url(al->ctx);
	size_t n = url ? strlen(url) : 0;
	if (n > 2 && strcmp(url + n - 2, ":0") == 0 && al->port_waits++ < AL_PORT_WAITS &&
	    al->host->timer_start(al->ctx, AL_PORT_WAIT, 0, first_start, al))
		return;
	if (!(st = al_store(al, &self))) {
		al->host->log(al->ctx, PARLEY_LOG_ERROR, "first_start_failed", "no store provider");
		return;
	}
	if (st->users_list(self, users_listed, al) < 0)
		first_start_later(al, "the store refused the call");
}

static int al_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct al *al = host->calloc(ctx, 1, sizeof *al);
	int rc = PARLEY_ENOMEM;

	if (!al)
		goto error;
	al->host = host;
	al->ctx = ctx;
	rc = PARLEY_EINVAL;
	if (config_read(host, host->conf(ctx), &al->cfg, 0) != 0)
		goto error;
	pw_ctx_init(&al->pw, host, ctx, &al->cfg.argon2);
	rc = PARLEY_ENOMEM;
	al->throttle = throttle_new(host, ctx, al->cfg.max_failures, al->cfg.window_s * 1000,
	                            (size_t)al->cfg.max_keys);
	if (!al->throttle)
		goto error;
	rc = host->provide(ctx, PARLEY_PROVIDE_AUTH, &al_vtable, al);
	if (rc < 0)
		goto error;
	/* The host owns the timer and frees it (it fires once, or is released
	 * after fini). */
	if (!host->is_admin_command(ctx) && !host->timer_start(ctx, 0, 0, first_start, al))
		host->log(ctx, PARLEY_LOG_ERROR, "first_start_failed", "no timer");
	*state = al;
	return PARLEY_OK;
error:
	if (al)
		throttle_free(al->throttle);
	host->free(ctx, al);
	return rc;
}

static void al_fini(void *state)
{
	struct al *al = state;
	struct al_req *req, *next;

	if (!al)
		return;
	/* What the loop never finished. A request whose hash is still queued
	 * belongs to the pool, which calls it back (cancelled) or never. */
	for (req = al->live; req; req = next) {
		next = req->next;
		if (!req->in_worker)
			req_free(req);
	}
	al_shared_fini(al);
	throttle_free(al->throttle);
	al->host->free(al->ctx, al);
}

static const parley_plugin al_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "auth_local",
    .version = AL_VERSION,
    .check = al_check,
    .init = al_init,
    .fini = al_fini,
};

/* plugin.h's PARLEY_PLUGIN_DEFINE gives no prototype, which
 * -Wmissing-prototypes refuses: declare it first. */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(al_plugin)
