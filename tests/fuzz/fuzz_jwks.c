/* libFuzzer target: auth_jwt's key set parser. Each input is a JWKS
 * document: the size and nesting limits, jansson, each key's base64url
 * members loaded into mbedTLS (RSA import and checks, P-256 points), then
 * a lookup and a signature check with every key found, which must refuse
 * the fixed garbage signature. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jwks.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char input[] = "eyJhbGciOiJSUzI1NiJ9.e30";
	static unsigned char sig[JWT_MAX_SIG];
	struct jwks set;
	char why[200];

	if (jwks_parse((const char *)data, size, &set, why, sizeof why) != 0)
		return 0;
	for (size_t i = 0; i < set.n; i++) {
		const struct jwk *k = &set.keys[i];
		size_t sig_len = k->alg == JWT_ALG_ES256 ? 64 : mbedtls_pk_get_len(&k->pk);
		if (jwks_find(&set, k->kid, k->alg) == NULL)
			abort();
		if (sig_verify(k, k->alg, input, sizeof input - 1, sig, sig_len) == 0)
			abort(); /* all zeros is no signature */
	}
	jwks_free(&set);
	return 0;
}
