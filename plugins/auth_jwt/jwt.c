/* Parsing order: the size first, then the shape, then each part decoded
 * into a bounded buffer, its nesting checked, and only then jansson (with
 * duplicate keys refused: a claim seen twice is ambiguous, and verifiers
 * that take different copies disagree). */
#include "jwt.h"

#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "json_depth.h"

int jwt_shape(const char *token)
{
	size_t part_len[3] = {0};
	int part = 0;

	if (!token)
		return 0;
	for (const char *p = token; *p; p++) {
		if (*p == '.') {
			if (++part > 2)
				return 0;
		} else if (b64url_char(*p)) {
			part_len[part]++;
		} else {
			return 0;
		}
	}
	return part == 2 && part_len[0] > 0 && part_len[1] > 0;
}

/* Decodes one base64url part holding a JSON object. */
static json_t *part_json(const char *s, size_t n, const char **why, const char *what_bad)
{
	size_t cap = b64url_decoded_len(n);
	char *buf = malloc(cap + 1);
	json_t *obj = NULL;
	long got;

	if (!buf) {
		*why = "out of memory";
		return NULL;
	}
	got = b64url_decode(s, n, (unsigned char *)buf, cap);
	if (got < 0) {
		*why = what_bad;
		goto done;
	}
	if (!json_depth_within(buf, (size_t)got, JWT_MAX_DEPTH)) {
		*why = "malformed token: JSON nested too deeply";
		goto done;
	}
	obj = json_loadb(buf, (size_t)got, JSON_REJECT_DUPLICATES, NULL);
	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
		*why = what_bad;
	}
done:
	free(buf);
	return obj;
}

int jwt_parse(const char *token, struct jwt *jwt, const char **why)
{
	const char *dot1, *dot2, *sig;
	size_t len, sig_chars;
	json_t *alg, *kid;
	long got;

	memset(jwt, 0, sizeof *jwt);
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN) {
		*why = "token too long";
		return -1;
	}
	if (!jwt_shape(token)) {
		*why = "malformed token: not three base64url parts";
		return -1;
	}
	dot1 = strchr(token, '.');
	dot2 = strchr(dot1 + 1, '.');
	sig = dot2 + 1;
	jwt->input_len = (size_t)(dot2 - token);
	jwt->input = malloc(jwt->input_len);
	if (!jwt->input) {
		*why = "out of memory";
		return -1;
	}
	memcpy(jwt->input, token, jwt->input_len);

	jwt->header = part_json(token, (size_t)(dot1 - token), why,
	                        "malformed token: the header is not a JSON object");
	if (!jwt->header)
		goto error;
	alg = json_object_get(jwt->header, "alg");
	kid = json_object_get(jwt->header, "kid");
	if (!json_is_string(alg)) {
		*why = "malformed token: no \"alg\" in the header";
		goto error;
	}
	if (kid && !json_is_string(kid)) {
		*why = "malformed token: \"kid\" is not a string";
		goto error;
	}
	/* RFC 7515 §4.1.11: extensions we do not know must be refused. */
	if (json_object_get(jwt->header, "crit")) {
		*why = "token header has \"crit\" extensions, which are not supported";
		goto error;
	}
	jwt->alg = json_string_value(alg);
	jwt->kid = kid ? json_string_value(kid) : NULL;

	jwt->claims = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), why,
	                        "malformed token: the claims are not a JSON object");
	if (!jwt->claims)
		goto error;

	sig_chars = len - (size_t)(sig - token);
	if (b64url_decoded_len(sig_chars) > JWT_MAX_SIG) {
		*why = "malformed token: signature too long";
		goto error;
	}
	jwt->sig = malloc(JWT_MAX_SIG);
	if (!jwt->sig) {
		*why = "out of memory";
		goto error;
	}
	got = b64url_decode(sig, sig_chars, jwt->sig, JWT_MAX_SIG);
	if (got < 0) {
		*why = "malformed token: the signature is not base64url";
		goto error;
	}
	jwt->sig_len = (size_t)got;
	return 0;
error:
	jwt_free(jwt);
	return -1;
}

void jwt_free(struct jwt *jwt)
{
	json_decref(jwt->header);
	json_decref(jwt->claims);
	free(jwt->sig);
	free(jwt->input);
	memset(jwt, 0, sizeof *jwt);
}

enum jwt_alg jwt_alg_from_name(const char *name)
{
	if (name && !strcmp(name, "RS256"))
		return JWT_ALG_RS256;
	if (name && !strcmp(name, "ES256"))
		return JWT_ALG_ES256;
	return JWT_ALG_UNKNOWN;
}

const char *jwt_alg_name(enum jwt_alg alg)
{
	return alg == JWT_ALG_RS256 ? "RS256" : alg == JWT_ALG_ES256 ? "ES256" : "unknown";
}
