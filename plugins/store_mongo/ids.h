/* parley's public ids ("u_1", "r_2", "m_3", "up_4") and the integers
 * behind them. */
#ifndef STORE_MONGO_IDS_H
#define STORE_MONGO_IDS_H

#include <stdint.h>

/* Parses "<prefix>_<n>" (n > 0); 1 and *out, or 0 when malformed. */
int ids_parse(const char *s, const char *prefix, int64_t *out);

/* A message's number: its room's number and its seq (< 2^32 per room),
 * so append needs no counter round trip of its own and ids stay unique
 * across nodes. */
#define IDS_MESSAGE(room_n, seq) (((room_n) << 32) | (seq))

#endif
