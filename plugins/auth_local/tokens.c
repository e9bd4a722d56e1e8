/* Tokens: random bytes → base64url (mbedTLS base64, then the URL-safe
 * alphabet), and the SHA-256 hex digest that the store keys on. */
#include "tokens.h"

#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

void token_base64url(const unsigned char *in, size_t n, char *out, size_t out_size)
{
	size_t len = 0;

	if (mbedtls_base64_encode((unsigned char *)out, out_size, &len, in, n) != 0)
		len = 0;
	out[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
		else if (out[i] == '=') {
			out[i] = '\0';
			break;
		}
	}
}

int token_new(const parley_host *host, char *out)
{
	unsigned char raw[TOKEN_BYTES];
	char buf[TOKEN_CHARS + 4];
	int rc = PARLEY_ERR;

	out[0] = '\0';
	if (host->random(raw, sizeof raw) != 0)
		goto out;
	token_base64url(raw, sizeof raw, buf, sizeof buf);
	if (strlen(buf) != TOKEN_CHARS)
		goto out;
	memcpy(out, buf, TOKEN_CHARS + 1);
	rc = PARLEY_OK;
out:
	memset(raw, 0, sizeof raw);
	return rc;
}

int token_is_local(const char *token)
{
	size_t i;

	if (!token)
		return 0;
	for (i = 0; token[i]; i++) {
		char c = token[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		         (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok || i >= TOKEN_CHARS)
			return 0;
	}
	return i == TOKEN_CHARS;
}

void token_hash(const char *token, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[32];

	mbedtls_sha256_ret((const unsigned char *)token, strlen(token), digest, 0);
	for (size_t i = 0; i < sizeof digest; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0xf];
	}
	out[TOKEN_HASH_HEX] = '\0';
}
