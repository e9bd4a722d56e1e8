/* auth_jwt: single sign-on with an OpenID Connect provider (Amazon Cognito,
 * Keycloak, Auth0…). It accepts the provider's RS256 or ES256 JWTs in the
 * auth chain next to auth_local, verifies them against the provider's JWKS
 * and makes accounts from their claims. Built against the public plugin
 * header only.
 *
 * This file holds the descriptor, check/init/fini and the vtable. */
#include <string.h>

#include "auth_jwt.h"
#include "oidc.h"

#define AJ_VERSION "0.1.0"

static const parley_auth_vtable aj_vtable = {
    .struct_size = sizeof(parley_auth_vtable),
    .authenticate = aj_authenticate,
    .oidc_describe = oidc_describe,
    .oidc_begin = oidc_begin,
    .oidc_finish = oidc_finish,
};

void aj_free_if_idle(struct aj *aj)
{
	if (aj->stopping && !aj->live && !aj->n_posted && !aj->n_store_calls)
		aj_free(aj);
}

void aj_free(struct aj *aj)
{
	config_free(aj->host, aj->ctx, &aj->cfg);
	aj->host->free(aj->ctx, aj);
}

static int aj_check(const parley_host *host, parley_ctx *ctx)
{
	struct aj_config cfg;
	int rc = config_read(host, ctx, host->conf(ctx), &cfg, 1);

	config_free(host, ctx, &cfg);
	return rc == 0 ? PARLEY_OK : PARLEY_EINVAL;
}

static void refresh_tick(void *arg)
{
	keys_fetch(arg, "periodic refresh");
}

static void first_fetch(void *arg)
{
	keys_fetch(arg, "start");
	oidc_discover(arg);
}

static int aj_init(const parley_host *host, parley_ctx *ctx, void **state)
{
	struct aj *aj = host->calloc(ctx, 1, sizeof *aj);
	int rc = PARLEY_ENOMEM;

	if (!aj)
		return PARLEY_ENOMEM;
	aj->host = host;
	aj->ctx = ctx;
	if (config_read(host, ctx, host->conf(ctx), &aj->cfg, 0) != 0) {
		rc = PARLEY_EINVAL;
		goto error;
	}
	aj->rules = (struct claims_rules){.issuer = aj->cfg.issuer,
	                                  .audiences = (const char *const *)aj->cfg.audiences,
	                                  .n_audiences = aj->cfg.n_audiences,
	                                  .token_use = aj->cfg.token_use,
	                                  .skew_s = aj->cfg.skew_s};
	aj->m_accepted = host->counter(ctx, "accepted_total", "tokens accepted");
	aj->m_refused = host->counter(ctx, "refused_total", "tokens of this issuer refused");
	aj->m_fetches = host->counter(ctx, "jwks_fetches_total", "key set fetches started");
	aj->m_fetch_failures =
	    host->counter(ctx, "jwks_fetch_failures_total", "key set fetches that failed");
	if (oidc_init(aj) != 0)
		goto error;
	rc = host->provide(ctx, PARLEY_PROVIDE_AUTH, &aj_vtable, aj);
	if (rc < 0)
		goto error;
	/* Admin commands never see a token: no fetches for them. */
	if (!host->is_admin_command(ctx)) {
		if (!host->timer_start(ctx, 0, 0, first_fetch, aj))
			host->log(ctx, PARLEY_LOG_ERROR, "jwks_fetch_failed", "no timer");
		aj->refresh = host->timer_start(ctx, (double)aj->cfg.refresh_s,
		                                (double)aj->cfg.refresh_s, refresh_tick, aj);
	}
	*state = aj;
	return PARLEY_OK;
error:
	oidc_stop(aj);
	config_free(host, ctx, &aj->cfg);
	host->free(ctx, aj);
	return rc;
}

static void aj_fini(void *state)
{
	struct aj *aj = state;
	struct aj_req *req, *next;

	if (!aj)
		return;
	keys_stop(aj);
	oidc_stop(aj);
	/* Every request is answered, so the core frees what it keeps for it
	 * (its connection is gone by now). Those that wait for a callback (the
	 * store's, or a posted answer) are answered by it, and the last one
	 * frees the state (req_free); the others are answered now. */
	for (req = aj->live; req; req = next) {
		next = req->next;
		if (req->state == AJ_REQ_NEW || req->state == AJ_REQ_WAIT_KEYS)
			req_finish(req, PARLEY_EUNAVAIL, "the server is stopping");
	}
	aj->stopping = 1;
	aj_free_if_idle(aj);
}

static const parley_plugin aj_plugin = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "auth_jwt",
    .version = AJ_VERSION,
    .check = aj_check,
    .init = aj_init,
    .fini = aj_fini,
};

/* plugin.h's PARLEY_PLUGIN_DEFINE gives no prototype, which
 * -Wmissing-prototypes refuses: declare it first. */
PARLEY_EXPORT const parley_plugin *parley_plugin_entry(void);
PARLEY_PLUGIN_DEFINE(aj_plugin)
