/* The real media type of an upload from its first bytes, and the uploads
 * allow/deny lists.
 *
 * A small table of magic numbers, not libmagic: the types people share in
 * chat are a few dozen, a table is read in a minute and fuzzed in full, it
 * runs in microseconds on the loop thread, and it does not load a large
 * rule database that parses every hostile file in the server's process. A
 * type not in the table is text/plain when the bytes are clean UTF-8 text,
 * else application/octet-stream. */
#ifndef PARLEY_SNIFF_H
#define PARLEY_SNIFF_H

#include <stddef.h>

/* Bytes the sniffer looks at (tar's magic is at 257). */
#define SNIFF_BYTES 512

/* The media type of a file starting with data[0..len) (len may be short
 * for a short file). A static string. */
const char *sniff_type(const unsigned char *data, size_t len);

/* 1 when type matches pattern: "image/png", a whole type ("image/" and a
 * star) or any type (a star, a slash, a star). */
int sniff_type_matches(const char *pattern, const char *type);

/* 1 when type passes the lists: not denied, and allowed when an allow list
 * is given (n_allow > 0). */
int sniff_type_permitted(const char *type, char *const *allow, size_t n_allow, char *const *deny,
                         size_t n_deny);

#endif
