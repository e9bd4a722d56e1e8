/* Roles are configured per role, as lists of groups (roles = { admin =
 * { "chat-admins" } }), not as a map from group to role: the host's config
 * getters read known keys, so a plugin can only look up keys it can name,
 * and naming the roles also lets check refuse a role that does not exist. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "jwt.h"

#define JWKS_WELL_KNOWN "/.well-known/jwks.json"

const char *const aj_role_names[AJ_N_ROLES] = {"admin", "member", "bot"};

struct reader {
	const parley_host *host;
	parley_ctx *ctx;
	int report, bad;
};

static void problem(struct reader *r, const parley_conf *c, const char *key, const char *msg)
{
	if (r->report)
		r->host->conf_error(c, key, "%s", msg);
	r->bad = 1;
}

static char *dup(struct reader *r, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = r->host->strdup(r->ctx, s)))
		r->bad = 1;
	return d;
}

/* A string key (NULL when absent), copied. */
static char *str_key(struct reader *r, const parley_conf *c, const char *key, const char *def)
{
	const char *v = def;
	int got = r->host->conf_str(c, key, &v);

	if (got < 0) {
		r->bad = 1;
		return NULL;
	}
	if (got > 0 && !*v) {
		problem(r, c, key, "must not be empty");
		return NULL;
	}
	return dup(r, v);
}

static int64_t int_key(struct reader *r, const parley_conf *c, const char *key, int64_t def,
                       int64_t lo, int64_t hi)
{
	int64_t v = def;
	int got = r->host->conf_int(c, key, &v);

	if (got < 0)
		r->bad = 1;
	else if (got > 0 && (v < lo || v > hi)) {
		if (r->report)
			r->host->conf_error(c, key, "must be between %lld and %lld", (long long)lo,
			                    (long long)hi);
		r->bad = 1;
		v = def;
	}
	return v;
}

/* A list of non-empty strings, copied into a NULL-ended array; *n its
 * length. NULL when absent. */
static char **list_key(struct reader *r, const parley_conf *c, const char *key, size_t max,
                       size_t *n)
{
	const parley_conf *list;
	char **out;
	size_t len;
	int got = r->host->conf_table(c, key, &list);

	*n = 0;
	if (got <= 0) {
		r->bad |= got < 0;
		return NULL;
	}
	len = r->host->conf_len(list);
	if (len == 0 || len > max) {
		if (r->report)
			r->host->conf_error(c, key, "must list 1 to %zu strings", max);
		r->bad = 1;
		return NULL;
	}
	if (!(out = r->host->calloc(r->ctx, len + 1, sizeof *out))) {
		r->bad = 1;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		const char *s = NULL;
		if (r->host->conf_index_str(list, i, &s) <= 0 || !*s) {
			problem(r, list, NULL, "expected a non-empty string");
			continue;
		}
		out[(*n)++] = dup(r, s);
	}
	return out;
}

static void list_free(const parley_host *host, parley_ctx *ctx, char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		host->free(ctx, list[i]);
	host->free(ctx, list);
}

/* https anywhere; plain http only to this machine (tests, a local
 * Keycloak): keys fetched over the network without TLS could be anyone's.
 * The host is read as curl reads it: the authority ends at the first '/',
 * '?' or '#', and userinfo ("user@") is refused outright, so
 * "http://localhost:80@evil/" is not taken for localhost. */
int config_url_acceptable(const char *url)
{
	static const char *const local[] = {"127.0.0.1", "localhost", "[::1]"};
	const char *host, *end, *colon;
	size_t n;
	int https = !strncasecmp(url, "https://", 8);

	if (!https && strncasecmp(url, "http://", 7))
		return 0;
	host = url + (https ? 8 : 7);
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)) ||
	    memchr(host, '\\', (size_t)(end - host)))
		return 0;
	if (https)
		return 1;
	colon = host[0] == '[' ? memchr(host, ']', (size_t)(end - host)) : host;
	if (!colon)
		return 0;
	colon = memchr(colon, ':', (size_t)(end - colon));
	n = (size_t)((colon ? colon : end) - host);
	if (colon && strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1))
		return 0;
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
		if (n == strlen(local[i]) && !strncasecmp(host, local[i], n))
			return 1;
	return 0;
}

static void read_algorithms(struct reader *r, const parley_conf *c, struct aj_config *cfg)
{
	size_t n;
	char **algs = list_key(r, c, "algorithms", 2, &n);

	if (!algs) {
		cfg->alg_allowed[JWT_ALG_RS256] = cfg->alg_allowed[JWT_ALG_ES256] = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		enum jwt_alg a = jwt_alg_from_name(algs[i]);
		if (a == JWT_ALG_UNKNOWN) {
			if (r->report)
				r->host->conf_error(
				    c, "algorithms",
				    "\"%s\" is not supported: only \"RS256\" and "
				    "\"ES256\" (\"none\" and HMAC algorithms are refused "
				    "on purpose)",
				    algs[i]);
			r->bad = 1;
		}
		cfg->alg_allowed[a] = 1;
	}
	cfg->alg_allowed[JWT_ALG_UNKNOWN] = 0;
	list_free(r->host, r->ctx, algs);
}

static void read_roles(struct reader *r, const parley_conf *c, struct aj_config *cfg)
{
	const parley_conf *roles;
	const char *def = "member";
	int got = r->host->conf_str(c, "default_role", &def), known = 0;
	size_t n;

	if (got < 0)
		r->bad = 1;
	for (int i = 0; i < AJ_N_ROLES; i++)
		if (!strcmp(def, aj_role_names[i]))
			cfg->default_role = aj_role_names[i], known = 1;
	if (!known) {
		problem(r, c, "default_role", "must be \"admin\", \"member\" or \"bot\"");
		cfg->default_role = aj_role_names[1];
	}
	got = r->host->conf_table(c, "roles", &roles);
	if (got <= 0) {
		r->bad |= got < 0;
		return;
	}
	cfg->roles_mapped = 1;
	for (int i = 0; i < AJ_N_ROLES; i++)
		cfg->role_groups[i] =
		    list_key(r, roles, aj_role_names[i], AJ_MAX_GROUPS_PER_ROLE, &n);
	if (!cfg->groups_claim)
		problem(r, c, "roles", "needs groups_claim (the claim that lists the groups)");
}

/* The keys of browser sign-in: all or nothing around client_id. */
static void read_browser_signin(struct reader *r, const parley_conf *c, struct aj_config *cfg)
{
	cfg->client_id = str_key(r, c, "client_id", NULL);
	cfg->client_secret = str_key(r, c, "client_secret", NULL);
	cfg->provider_name = str_key(r, c, "provider_name", "the identity provider");
	cfg->scopes = str_key(r, c, "scopes", AJ_DEFAULT_SCOPES);
	cfg->state_ttl_s = int_key(r, c, "state_ttl", AJ_DEFAULT_STATE_TTL_S, 1, 3600);
	if (cfg->client_secret && !cfg->client_id)
		problem(r, c, "client_secret", "needs client_id (the app client it belongs to)");
	if (cfg->client_id && !cfg->client_secret)
		problem(r, c, "client_id",
		        "needs client_secret: browser sign-in is a confidential client");
	if (cfg->scopes && !strstr(cfg->scopes, "openid"))
		problem(r, c, "scopes", "must include \"openid\"");
	if (cfg->provider_name && strlen(cfg->provider_name) > 64)
		problem(r, c, "provider_name", "must be at most 64 bytes");
	for (const char *p = cfg->scopes; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(" :._-/", *p))) {
			problem(r, c, "scopes", "may hold only letters, digits, spaces and :._-/");
			break;
		}
}

int config_read(const parley_host *host, parley_ctx *ctx, const parley_conf *c,
                struct aj_config *cfg, int report)
{
	struct reader r = {host, ctx, report, 0};
	char *use;

	memset(cfg, 0, sizeof *cfg);
	cfg->issuer = str_key(&r, c, "issuer", NULL);
	if (!cfg->issuer && !r.bad)
		problem(&r, c, "issuer",
		        "is required (the \"iss\" of the tokens, e.g. "
		        "https://cognito-idp.REGION.amazonaws.com/POOL_ID)");
	cfg->jwks_url = str_key(&r, c, "jwks_url", NULL);
	if (!cfg->jwks_url && cfg->issuer) {
		size_t n = strlen(cfg->issuer);
		while (n && cfg->issuer[n - 1] == '/')
			n--;
		cfg->jwks_url = host->alloc(ctx, n + sizeof JWKS_WELL_KNOWN);
		if (cfg->jwks_url) {
			memcpy(cfg->jwks_url, cfg->issuer, n);
			memcpy(cfg->jwks_url + n, JWKS_WELL_KNOWN, sizeof JWKS_WELL_KNOWN);
		} else {
			r.bad = 1;
		}
	}
	if (cfg->jwks_url && !config_url_acceptable(cfg->jwks_url))
		problem(&r, c, "jwks_url",
		        "must be an https:// URL (plain http only to 127.0.0.1, localhost or "
		        "[::1])");
	cfg->audiences = list_key(&r, c, "audiences", AJ_MAX_AUDIENCES, &cfg->n_audiences);
	if (!cfg->audiences && !r.bad)
		problem(&r, c, "audiences",
		        "is required: the app client ids whose tokens are accepted (matched "
		        "against aud, or client_id)");
	read_algorithms(&r, c, cfg);
	use = str_key(&r, c, "token_use", NULL);
	if (use && strcmp(use, "id") && strcmp(use, "access"))
		problem(&r, c, "token_use", "must be \"id\" or \"access\"");
	cfg->token_use = use;
	cfg->skew_s = int_key(&r, c, "clock_skew", AJ_DEFAULT_SKEW_S, 0, 600);
	cfg->username_claim = str_key(&r, c, "username_claim", "preferred_username");
	cfg->email_claim = str_key(&r, c, "email_claim", "email");
	cfg->name_claim = str_key(&r, c, "name_claim", "name");
	cfg->groups_claim = str_key(&r, c, "groups_claim", NULL);
	read_roles(&r, c, cfg);
	cfg->refresh_s = int_key(&r, c, "refresh", AJ_DEFAULT_REFRESH_S, 60, 7 * 24 * 3600);
	cfg->min_refetch_s = int_key(&r, c, "min_refetch", AJ_DEFAULT_MIN_REFETCH, 1, 3600);
	cfg->timeout_s = int_key(&r, c, "timeout", AJ_DEFAULT_TIMEOUT_S, 1, 120);
	if (host->conf_bool(c, "link_existing", &cfg->link_existing) < 0)
		r.bad = 1;
	read_browser_signin(&r, c, cfg);
	return r.bad ? -1 : 0;
}

void config_free(const parley_host *host, parley_ctx *ctx, struct aj_config *cfg)
{
	char *strs[] = {cfg->issuer,         cfg->jwks_url,    cfg->token_use,
	                cfg->username_claim, cfg->email_claim, cfg->name_claim,
	                cfg->groups_claim,   cfg->client_id,   cfg->client_secret,
	                cfg->provider_name,  cfg->scopes};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		host->free(ctx, strs[i]);
	list_free(host, ctx, cfg->audiences);
	for (int i = 0; i < AJ_N_ROLES; i++)
		list_free(host, ctx, cfg->role_groups[i]);
	memset(cfg, 0, sizeof *cfg);
}
