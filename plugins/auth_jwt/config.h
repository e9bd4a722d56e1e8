/* auth_jwt's config section: read once by check (which reports every
 * problem with file, key and line) and again by init (which trusts it and
 * keeps owned copies). */
#ifndef AUTH_JWT_CONFIG_H
#define AUTH_JWT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#define AJ_DEFAULT_SKEW_S      60
#define AJ_DEFAULT_REFRESH_S   3600
#define AJ_DEFAULT_MIN_REFETCH 60
#define AJ_DEFAULT_TIMEOUT_S   10
#define AJ_MAX_AUDIENCES       32
#define AJ_MAX_GROUPS_PER_ROLE 64
#define AJ_N_ROLES             3   /* admin, member, bot: the order of precedence */
#define AJ_DEFAULT_STATE_TTL_S 600 /* a browser sign-in must come back within it */
#define AJ_DEFAULT_SCOPES      "openid profile email"

/* The roles a group may map to, strongest first. */
extern const char *const aj_role_names[AJ_N_ROLES];

struct aj_config {
	char *issuer;
	char *jwks_url;
	char **audiences;
	size_t n_audiences;
	int alg_allowed[3]; /* indexed by enum jwt_alg */
	char *token_use;    /* NULL: not checked */
	int64_t skew_s;
	char *username_claim, *email_claim, *name_claim, *groups_claim;
	char **role_groups[AJ_N_ROLES]; /* per role in aj_role_names, NULL-ended */
	int roles_mapped;               /* any `roles`: the issuer decides roles */
	const char *default_role;       /* one of aj_role_names */
	int64_t refresh_s, min_refetch_s, timeout_s;
	int link_existing;
	/* Browser sign-in (oidc.c): on when client_id is set. */
	char *client_id, *client_secret; /* the secret never leaves the server */
	char *provider_name;             /* "Sign in with <provider_name>" */
	char *scopes;                    /* space-separated, "openid" among them */
	int64_t state_ttl_s;
};

/* Reads c into *cfg; report: describe problems with conf_error. 0 or -1.
 * On success (and on failure) free with config_free. */
int config_read(const parley_host *host, parley_ctx *ctx, const parley_conf *c,
                struct aj_config *cfg, int report);
/* 1 for an https:// URL, or http:// to this machine only. */
int config_url_acceptable(const char *url);
void config_free(const parley_host *host, parley_ctx *ctx, struct aj_config *cfg);

#endif
