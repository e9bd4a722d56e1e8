/* base64url without padding (RFC 7515 §2), as JWS compact tokens and JWKs
 * carry it. Strict: no padding, no whitespace, no other alphabet, and the
 * unused low bits of the last character must be zero, so one byte string
 * has exactly one encoding. */
#ifndef AUTH_JWT_B64URL_H
#define AUTH_JWT_B64URL_H

#include <stddef.h>

/* The decoded size of n characters (an upper bound when n is invalid). */
size_t b64url_decoded_len(size_t n);
/* 1 when c is in the base64url alphabet. */
int b64url_char(char c);
/* Decodes in[0..n) into out (room for cap bytes). Returns the number of
 * bytes written, or -1 on a bad character, a length of 4k+1, non-zero
 * unused bits, or too little room. */
long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Encodes n bytes into out as a string (no padding); the length written,
 * or 0 when cap cannot hold it and its terminator (or n is 0). */
size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
