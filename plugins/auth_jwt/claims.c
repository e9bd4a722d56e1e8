#include "claims.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int claims_issuer_is(const json_t *claims, const char *issuer)
{
	const char *iss = claims_str(claims, "iss");
	return iss && issuer && !strcmp(iss, issuer);
}

const char *claims_str(const json_t *claims, const char *name)
{
	const json_t *v = json_object_get(claims, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A NumericDate claim: 1 and *out when present and a finite number in
 * range, 0 when absent, -1 when of the wrong type. */
static int numeric_date(const json_t *claims, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(claims, name);
	double d;

	if (!v)
		return 0;
	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e15)
		return -1;
	*out = (int64_t)d;
	return 1;
}

static int audience_listed(const struct claims_rules *r, const char *aud)
{
	for (size_t i = 0; aud && i < r->n_audiences; i++)
		if (!strcmp(r->audiences[i], aud))
			return 1;
	return 0;
}

/* aud may be a string or an array of strings (RFC 7519 §4.1.3). Cognito
 * access tokens carry no aud but client_id, and say so with token_use =
 * "access": only those are judged by client_id. A token that has an aud is
 * judged by it alone, whatever its client_id. */
static int audience_ok(const json_t *claims, const struct claims_rules *r)
{
	const json_t *aud = json_object_get(claims, "aud");
	const char *use = claims_str(claims, "token_use");
	size_t i;
	const json_t *v;

	if (aud) {
		if (json_is_string(aud))
			return audience_listed(r, json_string_value(aud));
		if (json_is_array(aud)) {
			json_array_foreach(aud, i, v)
			{
				if (json_is_string(v) && audience_listed(r, json_string_value(v)))
					return 1;
			}
		}
		return 0;
	}
	return use && !strcmp(use, "access") && audience_listed(r, claims_str(claims, "client_id"));
}

int claims_check(const json_t *claims, const struct claims_rules *r, int64_t now_s,
                 const char **why, char *buf, size_t n)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	const char *sub = claims_str(claims, "sub"), *use;
	int got;

	if (!claims_issuer_is(claims, r->issuer)) {
		*why = "token issuer is not the configured one";
		return -1;
	}
	if (!sub || !*sub || strlen(sub) > CLAIMS_MAX_SUB) {
		*why = "token has no usable \"sub\" claim";
		return -1;
	}
	if (!audience_ok(claims, r)) {
		*why = "token audience (aud or client_id) is not accepted here";
		return -1;
	}
	got = numeric_date(claims, "exp", &exp);
	if (got <= 0) {
		*why = "token has no valid \"exp\" claim";
		return -1;
	}
	if (now_s > exp + r->skew_s) {
		snprintf(buf, n, "token expired %lld s ago", (long long)(now_s - exp));
		*why = buf;
		return -1;
	}
	if ((got = numeric_date(claims, "nbf", &nbf)) < 0) {
		*why = "token has an invalid \"nbf\" claim";
		return -1;
	}
	if (got > 0 && now_s + r->skew_s < nbf) {
		snprintf(buf, n, "token not valid yet (for %lld s)", (long long)(nbf - now_s));
		*why = buf;
		return -1;
	}
	if ((got = numeric_date(claims, "iat", &iat)) < 0) {
		*why = "token has an invalid \"iat\" claim";
		return -1;
	}
	if (got > 0 && now_s + r->skew_s < iat) {
		*why = "token issued in the future (check the clocks)";
		return -1;
	}
	if (r->token_use) {
		use = claims_str(claims, "token_use");
		if (!use || strcmp(use, r->token_use)) {
			snprintf(buf, n, "token_use must be \"%s\"", r->token_use);
			*why = buf;
			return -1;
		}
	}
	return 0;
}
