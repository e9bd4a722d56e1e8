/* Refcounted shared buffers. The header and the bytes are one allocation,
 * so a broadcast frame costs one malloc however many connections hold it. */
#include "base/sbuf.h"

#include <stdlib.h>
#include <string.h>

sbuf *sbuf_new(size_t len)
{
	sbuf *b = malloc(sizeof *b + len);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = len;
	return b;
}

sbuf *sbuf_from(const void *data, size_t len)
{
	sbuf *b = sbuf_new(len);
	if (b && len)
		memcpy(b->data, data, len);
	return b;
}

void sbuf_unref(sbuf *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}
