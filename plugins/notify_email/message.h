/* Building one RFC 5322 message: headers (RFC 2047 for non-ASCII words),
 * a multipart/alternative body with text/plain and text/html parts. */
#ifndef EMAIL_MESSAGE_H
#define EMAIL_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#define EMAIL_ADDR_MAX 254 /* RFC 5321 path limit */
#define EMAIL_ID_HEX   32  /* hex digits of a message's random id */

struct email_parts {
	const char *from_name, *from_addr; /* from_name may be NULL */
	const char *to_name, *to_addr;     /* to_name may be NULL */
	const char *subject;               /* UTF-8, one line */
	const char *text, *html;           /* UTF-8 bodies */
	const char *id;                    /* EMAIL_ID_HEX hex digits */
	const char *boundary_seed;         /* unguessable: makes the MIME boundary */
	const char *list_unsubscribe;      /* a URL, or NULL */
	int64_t date_ms;                   /* Unix time in ms */
};

/* 1 when s has no CR, LF or other control character (header-safe). */
int email_header_safe(const char *s);
/* 1 when s looks like one addr-spec (local@domain, printable, no spaces). */
int email_addr_valid(const char *s);
/* Splits "Name <addr>" or "addr" into its parts (copies; free both).
 * Returns 0, or -1 when it is not such a mailbox. */
int email_mailbox_split(const char *s, char **name, char **addr);
/* The whole message with CRLF line ends, malloc'd (NULL on ENOMEM). */
char *email_message_build(const struct email_parts *p, size_t *len);
/* The envelope recipient of a message this module built: the address of
 * its To header, copied into out. 0, or -1 if there is none. */
int email_message_rcpt(const char *msg, size_t len, char *out, size_t out_len);

#endif
