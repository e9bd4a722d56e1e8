/* Refcounted shared buffers: one serialized frame queued on many
 * connections ("serialize once"). The count is atomic: a split flush
 * (conn.c) releases written frames on two threads at once. */
#ifndef PARLEY_SBUF_H
#define PARLEY_SBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sbuf {
	uint32_t refs;
	size_t len;
	char data[];
} sbuf;

/* A buffer of len bytes with one reference; NULL on allocation failure. */
sbuf *sbuf_new(size_t len);
sbuf *sbuf_from(const void *data, size_t len);
static inline sbuf *sbuf_ref(sbuf *b)
{
	__atomic_fetch_add(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}
void sbuf_unref(sbuf *b);

#endif
