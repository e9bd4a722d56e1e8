/* JWS signature checks with mbedTLS 2.28: RS256 (RSASSA-PKCS1-v1_5 with
 * SHA-256) and ES256 (ECDSA on P-256 with SHA-256, the signature being the
 * raw 64-byte r||s of RFC 7518 §3.4, not DER). */
#ifndef AUTH_JWT_SIG_H
#define AUTH_JWT_SIG_H

#include <stddef.h>

#include "jwks.h"

/* 0 when sig is key's valid signature with alg over input[0..n), else -1. */
int sig_verify(const struct jwk *key, enum jwt_alg alg, const unsigned char *input, size_t n,
               const unsigned char *sig, size_t sig_len);

#endif
