/* libFuzzer target: auth_jwt's token parser. Each input is a token: the
 * shape test, the split, base64url decoding of the three parts, the nesting
 * limit and jansson on header and claims, then the claim rules at a fixed
 * time and the claim getters the plugin uses, so leaks and bad reads in any
 * step show. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "claims.h"
#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const auds[] = {"app"};
	const struct claims_rules rules = {.issuer = "https://idp.example",
	                                   .audiences = auds,
	                                   .n_audiences = 1,
	                                   .token_use = "id",
	                                   .skew_s = 60};
	struct jwt jwt;
	const char *why;
	char buf[200];
	char *tok;

	if (size > JWT_MAX_TOKEN + 16)
		return 0;
	tok = malloc(size + 1);
	if (!tok)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (jwt_shape(tok) && jwt_parse(tok, &jwt, &why) == 0) {
		(void)jwt_alg_from_name(jwt.alg);
		(void)claims_issuer_is(jwt.claims, rules.issuer);
		(void)claims_check(jwt.claims, &rules, 1700000000, &why, buf, sizeof buf);
		(void)claims_str(jwt.claims, "cognito:username");
		jwt_free(&jwt);
	}
	free(tok);
	return 0;
}
