#include "base/token_hash.h"

#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

void token_hash_hex(const char *token, char *out)
{
	unsigned char sum[32];
	mbedtls_sha256_ret((const unsigned char *)token, strlen(token), sum, 0);
	for (size_t i = 0; i < sizeof sum; i++)
		snprintf(out + 2 * i, 3, "%02x", sum[i]);
}
