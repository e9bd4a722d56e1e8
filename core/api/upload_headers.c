#include "api/upload_headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A decimal without sign; -1 when empty, not digits or too large. */
static int64_t parse_u63(const char *s, size_t len)
{
	if (len == 0 || len > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

enum range_result range_parse(const char *header, int64_t size, int64_t *first, int64_t *last)
{
	if (!header || strlen(header) > RANGE_HEADER_MAX || strncasecmp(header, "bytes=", 6) != 0)
		return RANGE_NONE;
	const char *spec = header + 6;
	while (*spec == ' ')
		spec++;
	size_t len = strlen(spec);
	while (len && spec[len - 1] == ' ')
		len--;
	const char *dash = memchr(spec, '-', len);
	if (!dash || memchr(spec, ',', len))
		return RANGE_NONE;
	size_t a_len = (size_t)(dash - spec), b_len = len - a_len - 1;
	int64_t a = a_len ? parse_u63(spec, a_len) : -2;
	int64_t b = b_len ? parse_u63(dash + 1, b_len) : -2;
	if (a == -1 || b == -1 || (a == -2 && b == -2))
		return RANGE_NONE;
	if (a == -2) { /* the last b bytes */
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_OK;
	}
	if (b != -2 && b < a)
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = b == -2 || b >= size ? size - 1 : b;
	return RANGE_OK;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		need = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
	if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

char *upload_filename_decode(const char *header)
{
	if (!header)
		return strdup("file");
	size_t hlen = strlen(header);
	if (hlen > UPLOAD_NAME_MAX * 3 * 4)
		return NULL;
	unsigned char *raw = malloc(hlen + 1);
	if (!raw)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < hlen; i++) {
		if (header[i] == '%') {
			int hi = i + 1 < hlen ? hexval(header[i + 1]) : -1;
			int lo = i + 2 < hlen ? hexval(header[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(raw);
				return NULL;
			}
			raw[n++] = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else {
			raw[n++] = (unsigned char)header[i];
		}
	}
	/* The last path component: a name, never a place. */
	size_t start = 0;
	for (size_t i = 0; i < n; i++)
		if (raw[i] == '/' || raw[i] == '\\')
			start = i + 1;
	size_t o = 0;
	char *out = malloc(UPLOAD_NAME_MAX + 1);
	if (!out) {
		free(raw);
		return NULL;
	}
	for (size_t i = start; i < n;) {
		size_t q = utf8_seq(raw + i, n - i);
		if (!q || (q == 1 && (raw[i] < 0x20 || raw[i] == 0x7f))) {
			free(raw);
			free(out);
			return NULL;
		}
		if (o + q > UPLOAD_NAME_MAX)
			break;
		memcpy(out + o, raw + i, q);
		o += q;
		i += q;
	}
	free(raw);
	out[o] = '\0';
	/* "." and ".." name directories; blanks alone name nothing. */
	size_t blanks = strspn(out, " .");
	if (blanks == o) {
		free(out);
		return NULL;
	}
	return out;
}

int upload_content_disposition(char *out, size_t n, int as_inline, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(name);
	/* Worst case: every byte percent-encoded, plus the fallback. */
	size_t need = 64 + len * 4;
	if (n < need)
		return -1;
	size_t o = (size_t)snprintf(out, n, "%s; filename=\"", as_inline ? "inline" : "attachment");
	int plain = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		int bad = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%';
		plain &= !bad;
		out[o++] = bad ? '_' : (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	/* filename* only when the fallback lost something (RFC 6266): a plain
	 * name stays free of the quote and star some S3 servers mis-sign. */
	if (plain)
		return 0;
	o += (size_t)snprintf(out + o, n - o, "; filename*=UTF-8''");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* RFC 8187 attr-char */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&+-.^_`|~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int upload_type_inline(const char *type)
{
	static const char *const safe[] = {"image/png",  "image/jpeg", "image/gif",
	                                   "image/webp", "image/avif", "application/pdf",
	                                   "text/plain"};
	for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
		if (strcmp(type, safe[i]) == 0)
			return 1;
	return strncmp(type, "audio/", 6) == 0 || strncmp(type, "video/", 6) == 0;
}
