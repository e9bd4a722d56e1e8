/* One RFC 5322 message, built by hand.
 *
 * Why not curl_mime: libcurl has no public call that renders a curl_mime
 * tree to bytes, and the message must exist as a complete file before
 * done(OK) (the spool, and the queue that survives a restart). So this
 * module writes the structure curl_mime would (multipart/alternative,
 * text/plain then text/html, base64 bodies), the queue file is the one
 * copy of the message, and delivery uploads it byte for byte.
 *
 * Headers: non-ASCII subjects and display names become RFC 2047 encoded
 * words (UTF-8, B encoding, never splitting a character); every value was
 * checked for CR/LF/controls before it gets here. */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

#define B64_LINE         76 /* RFC 2045 body line length */
#define EW_CHUNK         45 /* input bytes per encoded word: 60 base64 chars */
#define MAILBOX_NAME_MAX 256

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_put(struct buf *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
		             i + 1 < n ? b64[(v >> 6) & 63] : '=', i + 2 < n ? b64[v & 63] : '='};
		buf_put(b, q, 4);
	}
}

int email_header_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int email_addr_valid(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n == 0 || n > EMAIL_ADDR_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return 0;
	return 1;
}

int email_mailbox_split(const char *s, char **name, char **addr)
{
	*name = *addr = NULL;
	if (!email_header_safe(s))
		return -1;
	const char *lt = strrchr(s, '<');
	if (!lt) {
		if (!email_addr_valid(s))
			return -1;
		*addr = strdup(s);
		return *addr ? 0 : -1;
	}
	const char *gt = strchr(lt, '>');
	if (!gt || gt[1])
		return -1;
	*addr = strndup(lt + 1, (size_t)(gt - lt - 1));
	/* The display part, trimmed and unquoted. */
	const char *a = s, *e = lt;
	while (a < e && *a == ' ')
		a++;
	while (e > a && e[-1] == ' ')
		e--;
	if (e - a >= 2 && *a == '"' && e[-1] == '"')
		a++, e--;
	if (e > a && (size_t)(e - a) <= MAILBOX_NAME_MAX)
		*name = strndup(a, (size_t)(e - a));
	if (!*addr || !email_addr_valid(*addr) || (e > a && !*name)) {
		free(*name);
		free(*addr);
		*name = *addr = NULL;
		return -1;
	}
	return 0;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* RFC 2047 encoded words joined by sep, each ≤ 75 characters. */
static void encoded_words(struct buf *b, const char *s, const char *sep)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t k = n - i > EW_CHUNK ? EW_CHUNK : n - i;
		/* Back off to a character boundary: no UTF-8 continuation first. */
		while (i + k < n && k > 1 && ((unsigned char)s[i + k] & 0xC0) == 0x80)
			k--;
		if (i)
			buf_puts(b, sep);
		buf_puts(b, "=?UTF-8?B?");
		b64_put(b, (const unsigned char *)s + i, k);
		buf_puts(b, "?=");
		i += k;
	}
}

/* A mailbox for From/To: "Name" <addr>, or encoded words <addr>. */
static void mailbox(struct buf *b, const char *name, const char *addr)
{
	if (name && *name) {
		if (is_ascii(name)) {
			buf_puts(b, "\"");
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_puts(b, "\\");
				buf_put(b, p, 1);
			}
			buf_puts(b, "\"");
		} else {
			encoded_words(b, name, " ");
		}
		buf_printf(b, " <%s>", addr);
	} else {
		buf_puts(b, addr);
	}
}

/* Date in RFC 5322 form, in UTC, independent of the locale. */
static void date_header(struct buf *b, int64_t ms)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	           tm.tm_sec);
}

/* A text body as base64 of its CRLF form, in lines of B64_LINE. */
static void body_part(struct buf *b, const char *boundary, const char *type, const char *text)
{
	struct buf crlf = {0};
	for (const char *p = text; *p; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			buf_put(&crlf, "\r", 1);
		buf_put(&crlf, p, 1);
	}
	buf_printf(b,
	           "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
	           "Content-Transfer-Encoding: base64\r\n\r\n",
	           boundary, type);
	const size_t in_line = B64_LINE / 4 * 3;
	for (size_t i = 0; i < crlf.len; i += in_line) {
		b64_put(b, (const unsigned char *)crlf.data + i,
		        crlf.len - i < in_line ? crlf.len - i : in_line);
		buf_puts(b, "\r\n");
	}
	b->failed |= crlf.failed;
	buf_free(&crlf);
}

char *email_message_build(const struct email_parts *p, size_t *len)
{
	struct buf b = {0};
	const char *at = strrchr(p->from_addr, '@');
	char boundary[64];
	snprintf(boundary, sizeof boundary, "=_parley_%.32s", p->boundary_seed);

	buf_puts(&b, "From: ");
	mailbox(&b, p->from_name, p->from_addr);
	buf_puts(&b, "\r\nTo: ");
	mailbox(&b, p->to_name, p->to_addr);
	buf_puts(&b, "\r\nSubject: ");
	if (is_ascii(p->subject))
		buf_puts(&b, p->subject);
	else
		encoded_words(&b, p->subject, "\r\n ");
	buf_puts(&b, "\r\n");
	date_header(&b, p->date_ms);
	buf_printf(&b, "Message-ID: <%s@%s>\r\n", p->id, at ? at + 1 : "parley.invalid");
	if (p->list_unsubscribe) /* RFC 8058: the link answers a POST at once */
		buf_printf(&b,
		           "List-Unsubscribe: <%s>\r\n"
		           "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		           p->list_unsubscribe);
	buf_printf(&b,
	           "MIME-Version: 1.0\r\n"
	           "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
	           "This is a multi-part message in MIME format.\r\n",
	           boundary);
	body_part(&b, boundary, "text/plain", p->text);
	body_part(&b, boundary, "text/html", p->html);
	buf_printf(&b, "--%s--\r\n", boundary);
	return buf_take(&b, len);
}

int email_message_rcpt(const char *msg, size_t len, char *out, size_t out_len)
{
	/* Only the header block: up to the first empty line. */
	const char *end = memmem(msg, len, "\r\n\r\n", 4);
	const char *p = msg, *stop = end ? end : msg + len;
	while (p < stop) {
		const char *eol = memmem(p, (size_t)(stop - p), "\r\n", 2);
		if (!eol)
			eol = stop;
		if (eol - p > 4 && strncmp(p, "To: ", 4) == 0) {
			const char *a = p + 4, *z = eol;
			const char *lt = memrchr(a, '<', (size_t)(z - a));
			if (lt && z[-1] == '>')
				a = lt + 1, z--;
			if ((size_t)(z - a) >= out_len)
				return -1;
			memcpy(out, a, (size_t)(z - a));
			out[z - a] = '\0';
			return email_addr_valid(out) ? 0 : -1;
		}
		p = eol + 2;
	}
	return -1;
}
