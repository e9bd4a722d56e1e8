/* The hex SHA-256 of a credential: how the core tells connections of one
 * session from another's without keeping the token itself. */
#ifndef PARLEY_TOKEN_HASH_H
#define PARLEY_TOKEN_HASH_H

#define TOKEN_HASH_HEX 64

/* out: TOKEN_HASH_HEX + 1 bytes. */
void token_hash_hex(const char *token, char *out);

#endif
