/* The registered claims of a token (RFC 7519 §4.1) against this server's
 * rules: issuer, audience (or Cognito's client_id), validity times with a
 * clock skew, and Cognito's token_use. Pure: the time is an argument. */
#ifndef AUTH_JWT_CLAIMS_H
#define AUTH_JWT_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLAIMS_MAX_SUB 255 /* bytes of the subject */

struct claims_rules {
	const char *issuer;
	const char *const *audiences; /* any one of them matches */
	size_t n_audiences;
	const char *token_use; /* "id", "access", or NULL: not checked */
	int64_t skew_s;
};

/* 1 when the token's "iss" is exactly issuer. */
int claims_issuer_is(const json_t *claims, const char *issuer);
/* 0 when every rule holds at now_s (Unix seconds), else -1 and *why, a
 * text for the person (static, or in buf of size n). */
int claims_check(const json_t *claims, const struct claims_rules *r, int64_t now_s,
                 const char **why, char *buf, size_t n);
/* A claim that is a string, or NULL. Names may hold ':' (cognito:groups). */
const char *claims_str(const json_t *claims, const char *name);

#endif
