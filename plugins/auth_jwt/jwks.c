/* Keys are checked as they are loaded (RSA modulus size and public-key
 * consistency, EC point on the curve), so a verification never meets a
 * half-valid key. One bad entry is skipped, not fatal: an issuer that
 * publishes a key we cannot use must not stop the others from working. */
#include "jwks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/rsa.h>

#include "b64url.h"
#include "json_depth.h"

#define RSA_MAX_N_BYTES (JWKS_RSA_MAX_BITS / 8) /* plus one: a leading zero byte */
#define RSA_MAX_E_BYTES 8
#define P256_COORD      32

static const char *member_str(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A base64url member decoded into out; its length, or -1. */
static long member_bytes(const json_t *o, const char *name, unsigned char *out, size_t cap)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return -1;
	return b64url_decode(json_string_value(v), json_string_length(v), out, cap);
}

static int load_rsa(struct jwk *k, const json_t *o)
{
	unsigned char n[RSA_MAX_N_BYTES + 1], e[RSA_MAX_E_BYTES];
	long n_len = member_bytes(o, "n", n, sizeof n);
	long e_len = member_bytes(o, "e", e, sizeof e);
	mbedtls_rsa_context *rsa;
	size_t bits;

	if (n_len <= 0 || e_len <= 0)
		return -1;
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0)
		return -1;
	rsa = mbedtls_pk_rsa(k->pk);
	if (mbedtls_rsa_import_raw(rsa, n, (size_t)n_len, NULL, 0, NULL, 0, NULL, 0, e,
	                           (size_t)e_len) != 0 ||
	    mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0)
		return -1;
	bits = mbedtls_pk_get_bitlen(&k->pk);
	if (bits < JWKS_RSA_MIN_BITS || bits > JWKS_RSA_MAX_BITS)
		return -1;
	k->alg = JWT_ALG_RS256;
	return 0;
}

static int load_p256(struct jwk *k, const json_t *o)
{
	unsigned char point[1 + 2 * P256_COORD];
	const char *crv = member_str(o, "crv");
	mbedtls_ecp_keypair *ec;

	if (!crv || strcmp(crv, "P-256"))
		return -1;
	/* SEC1 uncompressed form: 0x04 || x || y, each exactly 32 bytes. */
	point[0] = 0x04;
	if (member_bytes(o, "x", point + 1, P256_COORD) != P256_COORD ||
	    member_bytes(o, "y", point + 1 + P256_COORD, P256_COORD) != P256_COORD)
		return -1;
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
		return -1;
	ec = mbedtls_pk_ec(k->pk);
	if (mbedtls_ecp_group_load(&ec->grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
	    mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point, sizeof point) != 0 ||
	    mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) != 0)
		return -1;
	k->alg = JWT_ALG_ES256;
	return 0;
}

/* Loads one entry into k: 0, or -1 when it is not a key we can use. */
static int load_key(struct jwk *k, const json_t *o)
{
	const char *kty = member_str(o, "kty"), *use = member_str(o, "use");
	const char *alg = member_str(o, "alg"), *kid = member_str(o, "kid");
	const json_t *kid_v = json_object_get(o, "kid");
	enum jwt_alg want = jwt_alg_from_name(alg);

	mbedtls_pk_init(&k->pk);
	if (!json_is_object(o) || !kty)
		return -1;
	if (use && strcmp(use, "sig"))
		return -1;
	if (alg && want == JWT_ALG_UNKNOWN)
		return -1;
	if (kid_v && (!kid || json_string_length(kid_v) > JWKS_MAX_KID ||
	              strlen(kid) != json_string_length(kid_v)))
		return -1;
	if (!strcmp(kty, "RSA") ? load_rsa(k, o) : !strcmp(kty, "EC") ? load_p256(k, o) : -1)
		return -1;
	if (alg && want != k->alg)
		return -1;
	k->alg_pinned = alg != NULL;
	if (kid && !(k->kid = strdup(kid)))
		return -1;
	return 0;
}

int jwks_parse(const char *text, size_t len, struct jwks *set, char *why, size_t n)
{
	json_t *doc = NULL, *keys, *entry;
	json_error_t err;
	size_t i;
	int rc = -1;

	memset(set, 0, sizeof *set);
	if (len > JWKS_MAX_BYTES) {
		snprintf(why, n, "key set larger than %d bytes", JWKS_MAX_BYTES);
		return -1;
	}
	if (!json_depth_within(text, len, JWKS_MAX_DEPTH)) {
		snprintf(why, n, "key set nested deeper than %d levels", JWKS_MAX_DEPTH);
		return -1;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		snprintf(why, n, "key set is not JSON: %s (line %d)", err.text, err.line);
		return -1;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		snprintf(why, n, "key set has no \"keys\" array");
		goto done;
	}
	if (json_array_size(keys) > JWKS_MAX_KEYS) {
		snprintf(why, n, "key set has %zu keys, more than %d", json_array_size(keys),
		         JWKS_MAX_KEYS);
		goto done;
	}
	set->keys = calloc(json_array_size(keys) + 1, sizeof *set->keys);
	if (!set->keys) {
		snprintf(why, n, "out of memory");
		goto done;
	}
	json_array_foreach(keys, i, entry)
	{
		struct jwk *k = &set->keys[set->n];
		if (load_key(k, entry) == 0) {
			set->n++;
		} else {
			mbedtls_pk_free(&k->pk);
			free(k->kid);
			memset(k, 0, sizeof *k);
			set->skipped++;
		}
	}
	rc = 0;
done:
	json_decref(doc);
	if (rc != 0)
		jwks_free(set);
	return rc;
}

void jwks_free(struct jwks *set)
{
	for (size_t i = 0; set->keys && i < set->n; i++) {
		mbedtls_pk_free(&set->keys[i].pk);
		free(set->keys[i].kid);
	}
	free(set->keys);
	memset(set, 0, sizeof *set);
}

const struct jwk *jwks_find(const struct jwks *set, const char *kid, enum jwt_alg alg)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct jwk *k = &set->keys[i];
		if (k->alg != alg)
			continue;
		if (kid && (!k->kid || strcmp(k->kid, kid)))
			continue;
		return k;
	}
	return NULL;
}
