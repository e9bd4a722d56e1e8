/* Unit tests of auth_jwt's self-contained parts: base64url, the nesting
 * limit, splitting and decoding a token, the claim rules, and a key set
 * with a real ES256 signature made here by mbedTLS (RS256 and the whole
 * plugin are tested against the real server in test_jwt.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/sha256.h>

#include "b64url.h"
#include "claims.h"
#include "json_depth.h"
#include "jwks.h"
#include "jwt.h"
#include "sig.h"

#define NOW 1700000000LL

static long dec(const char *s, unsigned char *out, size_t cap)
{
	return b64url_decode(s, strlen(s), out, cap);
}

static void b64url_roundtrip_and_strictness(void **state)
{
	unsigned char out[16];
	(void)state;
	assert_int_equal(dec("", out, sizeof out), 0);
	assert_int_equal(dec("Zg", out, sizeof out), 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(dec("Zm8", out, sizeof out), 2);
	assert_int_equal(dec("Zm9v", out, sizeof out), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(dec("-_8", out, sizeof out), 2); /* 0xfb 0xff */
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(dec("Zg==", out, sizeof out), -1);  /* padding */
	assert_int_equal(dec("Zm9v+", out, sizeof out), -1); /* standard alphabet */
	assert_int_equal(dec("Zm9vY", out, sizeof out), -1); /* 4k+1 characters */
	assert_int_equal(dec("Zh", out, sizeof out), -1);    /* unused bits set */
	assert_int_equal(dec("Zm9v", out, 2), -1);           /* no room */
	assert_int_equal(dec("Zm 9", out, sizeof out), -1);
}

/* The encoder browser sign-in uses for state, nonce and the PKCE
 * challenge: RFC 7636 appendix B's example, and every tail length. */
static void b64url_encode_pkce_vector(void **state)
{
	const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	unsigned char hash[32], back[8];
	char out[64];
	(void)state;
	mbedtls_sha256_ret((const unsigned char *)verifier, strlen(verifier), hash, 0);
	assert_int_equal(b64url_encode(hash, sizeof hash, out, sizeof out), 43);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_int_equal(b64url_encode((const unsigned char *)"f", 1, out, sizeof out), 2);
	assert_string_equal(out, "Zg");
	assert_int_equal(b64url_encode((const unsigned char *)"fo", 2, out, sizeof out), 3);
	assert_string_equal(out, "Zm8");
	assert_int_equal(b64url_encode((const unsigned char *)"\xfb\xff", 2, out, sizeof out), 3);
	assert_string_equal(out, "-_8");
	assert_int_equal(dec(out, back, sizeof back), 2);
	assert_int_equal(b64url_encode(hash, sizeof hash, out, 43), 0); /* no room for NUL */
	assert_int_equal(b64url_encode(hash, 0, out, 1), 0);
	assert_string_equal(out, "");
}

static void depth_limit_skips_strings(void **state)
{
	(void)state;
	assert_true(json_depth_within("{\"a\":[1,{\"b\":2}]}", 17, 3));
	assert_false(json_depth_within("[[[[1]]]]", 9, 3));
	assert_true(json_depth_within("{\"a\":\"[[[[[\"}", 13, 1));
	assert_true(json_depth_within("{\"a\":\"\\\"[[[[\"}", 14, 1));
}

static void b64url_bytes(const unsigned char *p, size_t n, char *out);

/* base64url of a text, into a static buffer per slot. */
static const char *enc(const char *text, int slot)
{
	static char bufs[4][2048];

	b64url_bytes((const unsigned char *)text, strlen(text), bufs[slot]);
	return bufs[slot];
}

static char *token_of(const char *header, const char *claims, const char *sig)
{
	static char tok[JWT_MAX_TOKEN + 64];
	snprintf(tok, sizeof tok, "%s.%s.%s", enc(header, 0), enc(claims, 1), sig);
	return tok;
}

static void shape_and_parse(void **state)
{
	struct jwt jwt;
	const char *why = NULL;
	char *big;
	(void)state;

	assert_false(jwt_shape("abc"));
	assert_false(jwt_shape("a.b"));
	assert_false(jwt_shape("a.b.c.d"));
	assert_false(jwt_shape(".b.c"));
	assert_false(jwt_shape("a..c"));
	assert_false(jwt_shape("a.b=.c"));
	assert_true(jwt_shape("a.b."));
	assert_true(jwt_shape("a.b.c"));

	assert_int_equal(
	    jwt_parse(token_of("{\"alg\":\"ES256\",\"kid\":\"k1\"}", "{\"sub\":\"x\"}", "AAAA"),
	              &jwt, &why),
	    0);
	assert_string_equal(jwt.alg, "ES256");
	assert_string_equal(jwt.kid, "k1");
	assert_int_equal(jwt.sig_len, 3);
	assert_string_equal(json_string_value(json_object_get(jwt.claims, "sub")), "x");
	jwt_free(&jwt);

	assert_int_equal(jwt_parse(token_of("{\"kid\":\"k1\"}", "{}", ""), &jwt, &why), -1);
	assert_non_null(strstr(why, "alg"));
	assert_int_equal(
	    jwt_parse(token_of("{\"alg\":\"RS256\",\"crit\":[\"x\"]}", "{}", ""), &jwt, &why), -1);
	assert_int_equal(jwt_parse(token_of("[1]", "{}", ""), &jwt, &why), -1);
	assert_int_equal(
	    jwt_parse(token_of("{\"alg\":\"RS256\"}", "{\"a\":1,\"a\":2}", ""), &jwt, &why), -1);
	assert_int_equal(
	    jwt_parse(token_of("{\"alg\":\"RS256\"}", "{\"a\":[[[[[[[[[[1]]]]]]]]]]}", ""), &jwt,
	              &why),
	    -1);
	assert_non_null(strstr(why, "deep"));

	big = malloc(JWT_MAX_TOKEN + 10);
	memset(big, 'A', JWT_MAX_TOKEN + 9);
	big[10] = '.';
	big[20] = '.';
	big[JWT_MAX_TOKEN + 9] = '\0';
	assert_true(jwt_shape(big));
	assert_int_equal(jwt_parse(big, &jwt, &why), -1);
	assert_string_equal(why, "token too long");
	free(big);
}

static int check(const char *claims_text, const char *token_use, const char **why)
{
	static const char *const auds[] = {"app1", "app2"};
	struct claims_rules r = {.issuer = "https://idp.example",
	                         .audiences = auds,
	                         .n_audiences = 2,
	                         .token_use = token_use,
	                         .skew_s = 60};
	char buf[128];
	json_t *claims = json_loads(claims_text, 0, NULL);
	int rc;

	assert_non_null(claims);
	rc = claims_check(claims, &r, NOW, why, buf, sizeof buf);
	json_decref(claims);
	return rc;
}

#define GOOD_BASE "\"iss\":\"https://idp.example\",\"sub\":\"s1\""

static void claim_rules(void **state)
{
	const char *why;
	(void)state;
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1700000100}", NULL, &why),
	                 0);
	assert_int_equal(
	    check("{" GOOD_BASE ",\"aud\":[\"x\",\"app2\"],\"exp\":1700000100}", NULL, &why), 0);
	/* client_id stands in for aud only in a Cognito access token. */
	assert_int_equal(check("{" GOOD_BASE ",\"client_id\":\"app2\",\"token_use\":\"access\","
	                       "\"exp\":1700000100.5}",
	                       NULL, &why),
	                 0);
	assert_int_equal(
	    check("{" GOOD_BASE ",\"client_id\":\"app2\",\"exp\":1700000100.5}", NULL, &why), -1);
	assert_int_equal(check("{" GOOD_BASE ",\"client_id\":\"app2\",\"token_use\":\"id\","
	                       "\"exp\":1700000100}",
	                       NULL, &why),
	                 -1);
	/* issue 13 item 10: a wrong aud is not saved by a matching client_id. */
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"other\",\"client_id\":\"app2\","
	                       "\"token_use\":\"access\",\"exp\":1700000100}",
	                       NULL, &why),
	                 -1);
	assert_non_null(strstr(why, "audience"));
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"other\",\"exp\":1700000100}", NULL, &why),
	                 -1);
	assert_non_null(strstr(why, "audience"));
	/* Expiry and not-before, with 60 s of skew either way. */
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1699999950}", NULL, &why),
	                 0);
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1699999900}", NULL, &why),
	                 -1);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\"}", NULL, &why), -1);
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":\"soon\"}", NULL, &why),
	                 -1);
	assert_int_equal(check("{" GOOD_BASE
	                       ",\"aud\":\"app1\",\"exp\":1700009999,\"nbf\":1700000050}",
	                       NULL, &why),
	                 0);
	assert_int_equal(check("{" GOOD_BASE
	                       ",\"aud\":\"app1\",\"exp\":1700009999,\"nbf\":1700000100}",
	                       NULL, &why),
	                 -1);
	assert_non_null(strstr(why, "not valid yet"));
	assert_int_equal(check("{" GOOD_BASE
	                       ",\"aud\":\"app1\",\"exp\":1700009999,\"iat\":1700000500}",
	                       NULL, &why),
	                 -1);
	/* Issuer, subject, token_use. */
	assert_int_equal(check("{\"iss\":\"https://other\",\"sub\":\"s\",\"aud\":\"app1\","
	                       "\"exp\":1700009999}",
	                       NULL, &why),
	                 -1);
	assert_int_equal(check("{\"iss\":\"https://idp.example\",\"aud\":\"app1\","
	                       "\"exp\":1700009999}",
	                       NULL, &why),
	                 -1);
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1700009999,"
	                       "\"token_use\":\"id\"}",
	                       "id", &why),
	                 0);
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1700009999,"
	                       "\"token_use\":\"access\"}",
	                       "id", &why),
	                 -1);
	assert_int_equal(check("{" GOOD_BASE ",\"aud\":\"app1\",\"exp\":1700009999}", "id", &why),
	                 -1);
}

/* A deterministic "random" source: enough for a test key, never for use. */
static int test_rng(void *ctx, unsigned char *out, size_t n)
{
	static uint32_t x = 12345;
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		out[i] = (unsigned char)(x >> 16);
	}
	return 0;
}

static void b64url_bytes(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
}

static void es256_key_set_and_signature(void **state)
{
	mbedtls_ecdsa_context key;
	unsigned char x[32], y[32], hash[32], sig[64];
	char x64[64], y64[64], jwks_text[1024], why[128];
	const char *input = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
	mbedtls_mpi r, s;
	struct jwks set;
	const struct jwk *k;
	(void)state;

	mbedtls_ecdsa_init(&key);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	assert_int_equal(mbedtls_ecdsa_genkey(&key, MBEDTLS_ECP_DP_SECP256R1, test_rng, NULL), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&key.Q.X, x, 32), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&key.Q.Y, y, 32), 0);
	b64url_bytes(x, 32, x64);
	b64url_bytes(y, 32, y64);
	snprintf(jwks_text, sizeof jwks_text,
	         "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
	         "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"bad\",\"x\":\"%s\",\"y\":\"%s\"},"
	         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"use\":\"sig\","
	         "\"alg\":\"ES256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
	         x64, x64, x64, y64);
	assert_int_equal(jwks_parse(jwks_text, strlen(jwks_text), &set, why, sizeof why), 0);
	assert_int_equal(set.n, 1); /* oct, P-384 and a point off the curve skipped */
	assert_int_equal(set.skipped, 3);
	k = jwks_find(&set, "e1", JWT_ALG_ES256);
	assert_non_null(k);
	assert_null(jwks_find(&set, "e1", JWT_ALG_RS256));
	assert_null(jwks_find(&set, "e2", JWT_ALG_ES256));
	assert_ptr_equal(jwks_find(&set, NULL, JWT_ALG_ES256), k);

	assert_int_equal(mbedtls_sha256_ret((const unsigned char *)input, strlen(input), hash, 0),
	                 0);
	assert_int_equal(
	    mbedtls_ecdsa_sign(&key.grp, &r, &s, &key.d, hash, sizeof hash, test_rng, NULL), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&r, sig, 32), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&s, sig + 32, 32), 0);
	assert_int_equal(sig_verify(k, JWT_ALG_ES256, (const unsigned char *)input, strlen(input),
	                            sig, sizeof sig),
	                 0);
	assert_int_equal(sig_verify(k, JWT_ALG_RS256, (const unsigned char *)input, strlen(input),
	                            sig, sizeof sig),
	                 -1);
	assert_int_equal(
	    sig_verify(k, JWT_ALG_ES256, (const unsigned char *)input, strlen(input), sig, 63), -1);
	sig[10] ^= 1;
	assert_int_equal(sig_verify(k, JWT_ALG_ES256, (const unsigned char *)input, strlen(input),
	                            sig, sizeof sig),
	                 -1);
	jwks_free(&set);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecdsa_free(&key);
}

static void key_set_limits(void **state)
{
	struct jwks set;
	char why[128], *big;
	size_t n = 0;
	(void)state;

	assert_int_equal(jwks_parse("nope", 4, &set, why, sizeof why), -1);
	assert_non_null(strstr(why, "not JSON"));
	assert_int_equal(jwks_parse("{\"k\":1}", 7, &set, why, sizeof why), -1);
	assert_int_equal(jwks_parse("{\"keys\":[[[[[[[[[[]]]]]]]]]]}", 29, &set, why, sizeof why),
	                 -1);
	big = malloc(JWKS_MAX_BYTES + 64);
	n += (size_t)sprintf(big, "{\"keys\":[");
	for (int i = 0; i <= JWKS_MAX_KEYS; i++)
		n += (size_t)sprintf(big + n, "%s{}", i ? "," : "");
	n += (size_t)sprintf(big + n, "]}");
	assert_int_equal(jwks_parse(big, n, &set, why, sizeof why), -1);
	assert_non_null(strstr(why, "keys"));
	memset(big, ' ', JWKS_MAX_BYTES + 1);
	assert_int_equal(jwks_parse(big, JWKS_MAX_BYTES + 1, &set, why, sizeof why), -1);
	assert_non_null(strstr(why, "larger"));
	free(big);
	assert_int_equal(jwks_parse("{\"keys\":[]}", 11, &set, why, sizeof why), 0);
	assert_int_equal(set.n, 0);
	jwks_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(b64url_roundtrip_and_strictness),
	    cmocka_unit_test(b64url_encode_pkce_vector),
	    cmocka_unit_test(depth_limit_skips_strings),
	    cmocka_unit_test(shape_and_parse),
	    cmocka_unit_test(claim_rules),
	    cmocka_unit_test(es256_key_set_and_signature),
	    cmocka_unit_test(key_set_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
