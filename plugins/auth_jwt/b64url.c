#include "b64url.h"

#include <limits.h>
#include <stdint.h>

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_char(char c)
{
	return sextet(c) >= 0;
}

size_t b64url_decoded_len(size_t n)
{
	return n / 4 * 3 + (n % 4 == 3 ? 2 : n % 4 == 2 ? 1 : 0);
}

long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t want = b64url_decoded_len(n), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 == 1 || want > cap || want > (size_t)LONG_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = sextet(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits are padding inside the last character: zero, or the
	 * token was altered (a second encoding of the same bytes). */
	if (acc != 0)
		return -1;
	return (long)o;
}

size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	if (cap < (n * 4 + 2) / 3 + 1)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
	return o;
}
