/* Opaque bearer tokens: 32 random bytes as base64url without padding (43
 * characters). Only the hex SHA-256 of a token is ever stored, so a leaked
 * database holds no usable session or invite. */
#ifndef AUTH_LOCAL_TOKENS_H
#define AUTH_LOCAL_TOKENS_H

#include <parley/plugin.h>

#define TOKEN_BYTES    32
#define TOKEN_CHARS    43 /* base64url of TOKEN_BYTES, no padding */
#define TOKEN_HASH_HEX 64 /* hex SHA-256 */

/* Fills out (TOKEN_CHARS + 1 bytes) with a fresh token from host->random.
 * PARLEY_OK, or PARLEY_ERR when the CSPRNG fails. */
int token_new(const parley_host *host, char *out);
/* 1 when token has the shape of ours (43 base64url characters). */
int token_is_local(const char *token);
/* Writes the hex SHA-256 of token into out (TOKEN_HASH_HEX + 1 bytes). */
void token_hash(const char *token, char *out);
/* base64url without padding of n bytes into out (size >= 4 * n / 3 + 4). */
void token_base64url(const unsigned char *in, size_t n, char *out, size_t out_size);

#endif
