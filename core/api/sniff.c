/* Magic numbers, checked in table order: the first match wins. */
#include "api/sniff.h"

#include <string.h>
#include <strings.h>

struct magic {
	size_t off;
	const char *bytes;
	size_t len;
	const char *type;
};

#define M(off, lit, type)                                                                          \
	{                                                                                          \
		off, lit, sizeof(lit) - 1, type                                                    \
	}

static const struct magic magics[] = {
    M(0, "\x89PNG\r\n\x1a\n", "image/png"),
    M(0, "\xff\xd8\xff", "image/jpeg"),
    M(0, "GIF87a", "image/gif"),
    M(0, "GIF89a", "image/gif"),
    M(0, "%PDF-", "application/pdf"),
    M(0, "PK\x03\x04", "application/zip"),
    M(0, "PK\x05\x06", "application/zip"),
    M(0, "\x1f\x8b", "application/gzip"),
    M(0, "7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    M(0, "BZh", "application/x-bzip2"),
    M(0,
      "\xfd"
      "7zXZ\x00",
      "application/x-xz"),
    M(0, "\x28\xb5\x2f\xfd", "application/zstd"),
    M(257, "ustar", "application/x-tar"),
    M(0, "\x1a\x45\xdf\xa3", "video/webm"),
    M(0, "OggS", "audio/ogg"),
    M(0, "fLaC", "audio/flac"),
    M(0, "ID3", "audio/mpeg"),
    M(0,
      "\x7f"
      "ELF",
      "application/x-executable"),
    M(0, "MZ", "application/x-msdownload"),
    M(0, "\x00\x00\x01\x00", "image/x-icon"),
    M(0, "SQLite format 3\x00", "application/vnd.sqlite3"),
};

/* RIFF and ISO media containers name their kind a few bytes in. */
static const char *container(const unsigned char *d, size_t len)
{
	if (len >= 12 && memcmp(d, "RIFF", 4) == 0) {
		if (memcmp(d + 8, "WEBP", 4) == 0)
			return "image/webp";
		if (memcmp(d + 8, "WAVE", 4) == 0)
			return "audio/wav";
		if (memcmp(d + 8, "AVI ", 4) == 0)
			return "video/x-msvideo";
	}
	if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
		const unsigned char *brand = d + 8;
		if (memcmp(brand, "qt  ", 4) == 0)
			return "video/quicktime";
		if (memcmp(brand, "heic", 4) == 0 || memcmp(brand, "heix", 4) == 0 ||
		    memcmp(brand, "mif1", 4) == 0)
			return "image/heic";
		if (memcmp(brand, "avif", 4) == 0)
			return "image/avif";
		if (memcmp(brand, "M4A ", 4) == 0)
			return "audio/mp4";
		return "video/mp4";
	}
	return NULL;
}

/* Markup a browser would run: recognised after leading blanks. */
static const char *markup(const unsigned char *d, size_t len)
{
	size_t i = 0;
	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	const char *s = (const char *)d + i;
	size_t n = len - i;
	static const char *const html[] = {"<!doctype html", "<html", "<head",
	                                   "<script",        "<body", "<iframe"};
	for (size_t k = 0; k < sizeof html / sizeof html[0]; k++) {
		size_t hl = strlen(html[k]);
		if (n >= hl && strncasecmp(s, html[k], hl) == 0)
			return "text/html";
	}
	if (n >= 4 && (strncasecmp(s, "<svg", 4) == 0 ||
	               (n >= 5 && strncasecmp(s, "<?xml", 5) == 0 && memmem(s, n, "<svg", 4))))
		return "image/svg+xml";
	if (n >= 5 && strncasecmp(s, "<?xml", 5) == 0)
		return "application/xml";
	return NULL;
}

/* Clean UTF-8 without control characters other than blanks. A sequence
 * cut by the end of the sample is accepted. */
static int is_text(const unsigned char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = d[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ||
			    c == 0x7f)
				return 0;
			i++;
			continue;
		}
		size_t need = (c & 0xe0) == 0xc0   ? 1
		              : (c & 0xf0) == 0xe0 ? 2
		              : (c & 0xf8) == 0xf0 ? 3
		                                   : 0;
		if (!need || c == 0xc0 || c == 0xc1 || c > 0xf4)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len)
				return 1;
			if ((d[i + k] & 0xc0) != 0x80)
				return 0;
		}
		i += need + 1;
	}
	return 1;
}

/* UTF-16 after its byte order mark (FF FE little-endian, FE FF big):
 * code units without controls other than blanks, surrogates in pairs. A
 * pair or unit cut by the end of the sample is accepted. Checked before
 * the MPEG frame sync, which FF FE also starts. */
static int is_utf16_text(const unsigned char *d, size_t len)
{
	int little;
	if (len >= 2 && d[0] == 0xff && d[1] == 0xfe)
		little = 1;
	else if (len >= 2 && d[0] == 0xfe && d[1] == 0xff)
		little = 0;
	else
		return 0;
	int want_low = 0;
	for (size_t i = 2; i + 1 < len; i += 2) {
		unsigned u = little ? (unsigned)d[i] | (unsigned)d[i + 1] << 8
		                    : (unsigned)d[i] << 8 | (unsigned)d[i + 1];
		int high = u >= 0xd800 && u <= 0xdbff, low = u >= 0xdc00 && u <= 0xdfff;
		if (want_low != low)
			return 0;
		want_low = high;
		if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r' && u != '\f') || u == 0x7f)
			return 0;
	}
	return 1;
}

/* An MPEG audio frame header without ID3: the sync bits, then a version,
 * layer, bitrate and sample rate that are not the reserved values. */
static int is_mpeg_frame(const unsigned char *d, size_t len)
{
	if (len < 3 || d[0] != 0xff || (d[1] & 0xe0) != 0xe0)
		return 0;
	unsigned version = (d[1] >> 3) & 3, layer = (d[1] >> 1) & 3;
	unsigned bitrate = d[2] >> 4, rate = (d[2] >> 2) & 3;
	return version != 1 && layer != 0 && bitrate != 15 && rate != 3;
}

const char *sniff_type(const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
		const struct magic *m = &magics[i];
		if (len >= m->off + m->len && memcmp(data + m->off, m->bytes, m->len) == 0)
			return m->type;
	}
	const char *t = container(data, len);
	if (t || (t = markup(data, len)))
		return t;
	if (is_utf16_text(data, len))
		return "text/plain";
	if (is_mpeg_frame(data, len))
		return "audio/mpeg";
	return len && is_text(data, len) ? "text/plain" : "application/octet-stream";
}

int sniff_type_matches(const char *pattern, const char *type)
{
	if (strcmp(pattern, "*/*") == 0)
		return 1;
	size_t plen = strlen(pattern);
	if (plen >= 2 && strcmp(pattern + plen - 2, "/*") == 0)
		return strncasecmp(pattern, type, plen - 1) == 0;
	return strcasecmp(pattern, type) == 0;
}

int sniff_type_permitted(const char *type, char *const *allow, size_t n_allow, char *const *deny,
                         size_t n_deny)
{
	for (size_t i = 0; i < n_deny; i++)
		if (sniff_type_matches(deny[i], type))
			return 0;
	if (!n_allow)
		return 1;
	for (size_t i = 0; i < n_allow; i++)
		if (sniff_type_matches(allow[i], type))
			return 1;
	return 0;
}
