/* A nesting limit for JSON texts, checked before jansson parses them
 * (jansson's own limit is 2048 levels, far more than a token or a key set
 * ever needs). */
#ifndef AUTH_JWT_JSON_DEPTH_H
#define AUTH_JWT_JSON_DEPTH_H

#include <stddef.h>

/* 1 when no array or object in s[0..n) nests deeper than max levels. The
 * scan skips strings (with their escapes); it does not validate. */
int json_depth_within(const char *s, size_t n, int max);

#endif
