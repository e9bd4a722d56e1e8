/* A growable byte buffer for building messages. Memory is the plugin's own
 * (malloc): messages are short-lived and built on the loop thread or a
 * worker, where the host's accounted allocator would need the ctx. */
#ifndef EMAIL_BUF_H
#define EMAIL_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated while ok */
	size_t len, cap;
	int failed; /* an allocation failed: every later append is a no-op */
};

void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands over the data (NULL if an allocation failed) and resets b. */
char *buf_take(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif
