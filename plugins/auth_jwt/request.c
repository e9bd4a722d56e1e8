/* One authenticate call: the request object, its checks in order, and the
 * delivery of its answer. Order: shape (else PASS), parse, issuer (else
 * PASS: another issuer's token for the next provider), algorithm, claims,
 * then the key (keys.c), the signature, and the account (provision.c).
 * Claims come before the key so that junk never costs a key fetch. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "auth_jwt.h"
#include "sig.h"

struct aj_req *req_new(struct aj *aj, parley_auth_done done, void *ud)
{
	struct aj_req *req = aj->host->calloc(aj->ctx, 1, sizeof *req);

	if (!req)
		return NULL;
	req->aj = aj;
	req->done = done;
	req->ud = ud;
	req->next = aj->live;
	if (aj->live)
		aj->live->prev = req;
	aj->live = req;
	return req;
}

int req_dup(struct aj_req *req, char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = req->aj->host->strdup(req->aj->ctx, s);
	return *dst ? 0 : -1;
}

void req_free(struct aj_req *req)
{
	struct aj *aj = req->aj;
	char *owned[] = {req->name,         req->display_name, req->email,
	                 req->role,         req->user_id,      req->user_name,
	                 req->user_display, req->user_role,    req->user_email};

	if (req->prev)
		req->prev->next = req->next;
	else
		aj->live = req->next;
	if (req->next)
		req->next->prev = req->prev;
	jwt_free(&req->jwt);
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
		aj->host->free(aj->ctx, owned[i]);
	aj->host->free(aj->ctx, req);
	aj_free_if_idle(aj);
}

/* A short, printable view of a claimed name for log lines. */
static const char *log_name(const struct aj_req *req)
{
	return req->name ? req->name : "-";
}

void req_finish(struct aj_req *req, int rc, const char *message)
{
	struct aj *aj = req->aj;
	parley_auth_result res = {.rc = rc, .message = message};
	parley_user view;

	if (rc == PARLEY_OK && req->have_user) {
		view = (parley_user){.id = req->user_id,
		                     .name = req->user_name,
		                     .display_name = req->user_display,
		                     .role = req->user_role,
		                     .email = req->user_email,
		                     .disabled = req->user_disabled,
		                     .created_ts = req->user_created_ts};
		res.user = &view;
		aj->host->metric_add(aj->m_accepted, 1);
		aj->host->log(aj->ctx, PARLEY_LOG_DEBUG, "jwt_accepted", "user %s (%s)",
		              req->user_name, req->user_id);
	} else if (rc != PARLEY_OK) {
		aj->host->metric_add(aj->m_refused, 1);
		aj->host->log(aj->ctx, rc == PARLEY_EUNAVAIL ? PARLEY_LOG_WARN : PARLEY_LOG_INFO,
		              "jwt_refused", "user %s: %s", log_name(req),
		              message ? message : "refused");
	}
	req->state = AJ_REQ_NEW;
	if (req->done)
		req->done(req->ud, &res);
	req_free(req);
}

static void req_deliver(void *arg)
{
	struct aj_req *req = arg;

	req_finish(req, req->rc, req->message);
}

int req_fail(struct aj_req *req, int rc, const char *message)
{
	req->rc = rc;
	req->message = message;
	req->state = AJ_REQ_POSTED;
	req->aj->host->post(req->aj->ctx, req_deliver, req);
	return PARLEY_PENDING;
}

void req_verify(struct aj_req *req, const struct jwk *key)
{
	if (sig_verify(key, req->alg, (const unsigned char *)req->jwt.input, req->jwt.input_len,
	               req->jwt.sig, req->jwt.sig_len) != 0) {
		req_fail(req, PARLEY_EUNAUTHORIZED, "token signature is not valid");
		return;
	}
	provision_start(req);
}

/* auth_local's rule for user names, so both providers make the same kind
 * of account: 1 to 32 of [A-Za-z0-9._-], not starting with '.' or '-'. */
static int name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > AJ_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Printable and within max bytes: claims go into user records and logs. */
static int text_usable(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int in_groups(const json_t *groups, char *const *wanted)
{
	size_t i;
	const json_t *g;

	for (size_t w = 0; wanted && wanted[w]; w++) {
		if (json_is_string(groups) && !strcmp(json_string_value(groups), wanted[w]))
			return 1;
		if (!json_is_array(groups))
			continue;
		json_array_foreach(groups, i, g)
		{
			if (json_is_string(g) && !strcmp(json_string_value(g), wanted[w]))
				return 1;
		}
	}
	return 0;
}

/* The role the groups claim maps to: the strongest role one of the groups
 * is listed under, else the default. */
static const char *mapped_role(const struct aj *aj, const json_t *claims)
{
	const json_t *groups = json_object_get(claims, aj->cfg.groups_claim);

	for (int i = 0; i < AJ_N_ROLES; i++)
		if (in_groups(groups, aj->cfg.role_groups[i]))
			return aj_role_names[i];
	return aj->cfg.default_role;
}

/* The marker that ties an account to this issuer's subject, kept in the
 * account's password_hash field, which no password can ever match (see
 * provision.c: why not a new user field). */
static void marker_make(struct aj_req *req, const char *sub)
{
	unsigned char hash[32];
	const char *iss = req->aj->cfg.issuer;

	/* The issuer shortened to 64 bits of its hash: enough to tell issuers
	 * apart, short enough that the subject always fits. */
	mbedtls_sha256_ret((const unsigned char *)iss, strlen(iss), hash, 0);
	snprintf(req->marker, sizeof req->marker,
	         AJ_MARKER_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x$%s", hash[0], hash[1], hash[2],
	         hash[3], hash[4], hash[5], hash[6], hash[7], sub);
}

/* The account's fields from the claims named in config; -1 with req->msg
 * set when the token cannot name an account. */
static int take_claims(struct aj_req *req)
{
	struct aj *aj = req->aj;
	const json_t *claims = req->jwt.claims;
	const char *name = claims_str(claims, aj->cfg.username_claim);
	const char *display = claims_str(claims, aj->cfg.name_claim);
	const char *email = claims_str(claims, aj->cfg.email_claim);

	if (!name_valid(name)) {
		snprintf(
		    req->msg, sizeof req->msg,
		    "claim \"%s\" is missing or not a valid user name (1-32 of A-Z a-z 0-9 . _ -)",
		    aj->cfg.username_claim);
		return -1;
	}
	if (!text_usable(display, AJ_DISPLAY_MAX))
		display = NULL;
	if (!text_usable(email, AJ_EMAIL_MAX) || !strchr(email, '@'))
		email = NULL;
	if (req_dup(req, &req->name, name) || req_dup(req, &req->display_name, display) ||
	    req_dup(req, &req->email, email) || req_dup(req, &req->role, mapped_role(aj, claims))) {
		snprintf(req->msg, sizeof req->msg, "out of memory");
		return -1;
	}
	marker_make(req, claims_str(claims, "sub"));
	return 0;
}

int aj_authenticate(void *self, const char *token, parley_auth_done done, void *ud)
{
	struct aj *aj = self;
	struct aj_req *req;
	const char *why = NULL;
	char buf[AJ_MSG_MAX];

	if (!jwt_shape(token))
		return PARLEY_PASS;
	if (!(req = req_new(aj, done, ud)))
		return PARLEY_ENOMEM;
	if (jwt_parse(token, &req->jwt, &why) != 0)
		return req_fail(req,
		                why && !strcmp(why, "out of memory") ? PARLEY_ENOMEM
		                                                     : PARLEY_EUNAUTHORIZED,
		                why);
	if (!claims_issuer_is(req->jwt.claims, aj->cfg.issuer)) {
		req_free(req);
		return PARLEY_PASS;
	}
	req->alg = jwt_alg_from_name(req->jwt.alg);
	if (!strcmp(req->jwt.alg, "none"))
		return req_fail(req, PARLEY_EUNAUTHORIZED,
		                "unsigned tokens (alg none) are refused");
	if (!aj->cfg.alg_allowed[req->alg]) {
		snprintf(req->msg, sizeof req->msg, "token algorithm %.32s is not accepted",
		         req->jwt.alg);
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	}
	if (claims_check(req->jwt.claims, &aj->rules, aj->host->now_ms() / 1000, &why, buf,
	                 sizeof buf) != 0) {
		snprintf(req->msg, sizeof req->msg, "%s", why);
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	}
	if (take_claims(req) != 0)
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	keys_for(req);
	return PARLEY_PENDING;
}

/* The ID token of a browser sign-in: the same checks as a bearer token,
 * except that another issuer is an error (not PASS), the audience is our
 * client_id and the nonce must be the one the flow sent. */
int aj_verify_id_token(struct aj *aj, const char *token, const char *nonce, parley_auth_done done,
                       void *ud)
{
	struct aj_req *req;
	const char *why = NULL, *got;
	const char *const audience[] = {aj->cfg.client_id};
	struct claims_rules rules = {.issuer = aj->cfg.issuer,
	                             .audiences = audience,
	                             .n_audiences = 1,
	                             .token_use = NULL,
	                             .skew_s = aj->cfg.skew_s};
	char buf[AJ_MSG_MAX];

	if (!(req = req_new(aj, done, ud)))
		return PARLEY_ENOMEM;
	if (!jwt_shape(token))
		return req_fail(req, PARLEY_EUNAUTHORIZED, "the provider sent no usable ID token");
	if (jwt_parse(token, &req->jwt, &why) != 0)
		return req_fail(req,
		                why && !strcmp(why, "out of memory") ? PARLEY_ENOMEM
		                                                     : PARLEY_EUNAUTHORIZED,
		                why);
	if (!claims_issuer_is(req->jwt.claims, aj->cfg.issuer))
		return req_fail(req, PARLEY_EUNAUTHORIZED, "the ID token is from another issuer");
	req->alg = jwt_alg_from_name(req->jwt.alg);
	if (!aj->cfg.alg_allowed[req->alg]) {
		snprintf(req->msg, sizeof req->msg, "ID token algorithm %.32s is not accepted",
		         req->jwt.alg);
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	}
	if (claims_check(req->jwt.claims, &rules, aj->host->now_ms() / 1000, &why, buf,
	                 sizeof buf) != 0) {
		snprintf(req->msg, sizeof req->msg, "%s", why);
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	}
	got = claims_str(req->jwt.claims, "nonce");
	if (!got || !nonce || strcmp(got, nonce) != 0)
		return req_fail(req, PARLEY_EUNAUTHORIZED,
		                "the ID token's nonce is not the one this sign-in sent");
	if (take_claims(req) != 0)
		return req_fail(req, PARLEY_EUNAUTHORIZED, req->msg);
	keys_for(req);
	return PARLEY_PENDING;
}
