/* A JWS in compact form (header.payload.signature, RFC 7515), split and
 * decoded with limits; nothing here trusts it yet: the signature is checked
 * by sig.c with a key from jwks.c, the claims by claims.c. */
#ifndef AUTH_JWT_JWT_H
#define AUTH_JWT_JWT_H

#include <stddef.h>

#include <jansson.h>

#define JWT_MAX_TOKEN 8192 /* bytes of the whole token */
#define JWT_MAX_DEPTH 8    /* JSON nesting in the header and the claims */
#define JWT_MAX_SIG   1024 /* bytes: an 8192-bit RSA signature */

/* The algorithms this plugin verifies; everything else is refused. */
enum jwt_alg { JWT_ALG_UNKNOWN = 0, JWT_ALG_RS256, JWT_ALG_ES256 };

struct jwt {
	json_t *header;  /* owned: the JOSE header object */
	json_t *claims;  /* owned: the payload object */
	const char *alg; /* the header's "alg" (in header) */
	const char *kid; /* the header's "kid" (in header), or NULL */
	char *input;     /* owned copy of the signed part: header.payload */
	size_t input_len;
	unsigned char *sig;
	size_t sig_len;
};

/* 1 when token looks like a compact JWS: exactly three dot-separated
 * base64url parts, the first two non-empty (an empty third is `alg: none`,
 * which must be refused, not passed on). Anything else belongs to another
 * auth provider. */
int jwt_shape(const char *token);

/* Splits and decodes token into *jwt (zeroed first). 0 on success (free
 * with jwt_free), else -1 with *why a static text for the person. */
int jwt_parse(const char *token, struct jwt *jwt, const char **why);
void jwt_free(struct jwt *jwt);

/* JWT_ALG_RS256, JWT_ALG_ES256, or JWT_ALG_UNKNOWN (also for NULL). */
enum jwt_alg jwt_alg_from_name(const char *name);
const char *jwt_alg_name(enum jwt_alg alg);

#endif
