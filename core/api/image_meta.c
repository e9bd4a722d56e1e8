/* Metadata stripping for JPEG, PNG and WebP (see image_meta.h). Each format
 * is walked twice by the same code: once to validate it and find the EXIF
 * orientation, once to write the kept parts (w.out NULL the first time). */
#include "api/image_meta.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct writer {
	unsigned char *out; /* NULL: measuring pass */
	size_t cap;
	size_t len;
	size_t removed;
	int overran; /* a bug, never a crash: the result is refused */
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->out) {
		if (n > w->cap - w->len) {
			w->overran = 1;
			return;
		}
		memcpy(w->out + w->len, p, n);
	}
	w->len += n;
}

static int fail(struct image_meta_result *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct image_meta_result *r, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
	return rc;
}

static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* ---- EXIF (TIFF) ------------------------------------------------------ */

/* The Orientation tag (0x0112) of IFD0 in a TIFF block, 1 when absent or
 * unreadable: a broken EXIF is dropped anyway, it only loses its rotation. */
static int tiff_orientation(const unsigned char *t, size_t n)
{
	if (n < 8)
		return 1;
	int big;
	if (t[0] == 'M' && t[1] == 'M')
		big = 1;
	else if (t[0] == 'I' && t[1] == 'I')
		big = 0;
	else
		return 1;
#define U16(p) (big ? be16(p) : (uint32_t)((p)[1] << 8 | (p)[0]))
#define U32(p) (big ? be32(p) : le32(p))
	if (U16(t + 2) != 42)
		return 1;
	uint32_t ifd = U32(t + 4);
	if (ifd > n - 2)
		return 1;
	uint32_t count = U16(t + ifd);
	if (count > (n - ifd - 2) / 12)
		return 1; /* the directory claims more entries than the block holds */
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *e = t + ifd + 2 + (size_t)i * 12;
		if (U16(e) == 0x0112 && U16(e + 2) == 3 && U32(e + 4) == 1) {
			uint32_t v = U16(e + 8);
			return v >= 1 && v <= 8 ? (int)v : 1;
		}
	}
	return 1;
#undef U16
#undef U32
}

/* The minimal TIFF block: big-endian, IFD0 with the one Orientation entry. */
#define MINI_TIFF_LEN 26
static void mini_tiff(unsigned char t[MINI_TIFF_LEN], int orientation)
{
	static const unsigned char tmpl[MINI_TIFF_LEN] = {
	    'M',  'M',  0, 42, 0, 0, 0, 8,             /* header, IFD0 at 8 */
	    0,    1,                                   /* one entry */
	    0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, 0, 0, 0, /* Orientation SHORT ×1 */
	    0,    0,    0, 0                           /* no next IFD */
	};
	memcpy(t, tmpl, sizeof tmpl);
	t[19] = (unsigned char)orientation;
}

/* ---- JPEG --------------------------------------------------------------- */

static int jpeg_keep_app(int m, const unsigned char *p, size_t n)
{
	if (m == 0xE0)
		return (n >= 5 && memcmp(p, "JFIF\0", 5) == 0) ||
		       (n >= 5 && memcmp(p, "JFXX\0", 5) == 0);
	if (m == 0xE2)
		return n >= 12 && memcmp(p, "ICC_PROFILE\0", 12) == 0;
	if (m == 0xEE)
		return n >= 5 &&
		       memcmp(p, "Adobe", 5) == 0; /* colour transform: needed to decode */
	return 0;
}

/* The minimal APP1 Exif segment holding only the orientation. */
static void jpeg_put_orientation(struct writer *w, int orientation)
{
	static const unsigned char head[] = {0xFF, 0xE1, 0, 2 + 6 + MINI_TIFF_LEN, 'E', 'x', 'i',
	                                     'f',  0,    0};
	unsigned char t[MINI_TIFF_LEN];
	mini_tiff(t, orientation);
	put(w, head, sizeof head);
	put(w, t, sizeof t);
}

static int jpeg_walk(const unsigned char *in, size_t len, struct writer *w, int *orientation,
                     struct image_meta_result *r)
{
	if (len < 4 || in[0] != 0xFF || in[1] != 0xD8)
		return fail(r, IMAGE_META_BAD, "not a JPEG (no start marker)");
	put(w, in, 2);
	size_t pos = 2, parts = 0;
	int seen_sos = 0;
	if (w->out && *orientation != 1) {
		/* The orientation block goes after a leading JFIF (which must stay
		 * first), else right after the start marker. */
		if (len >= 6 && in[2] == 0xFF && in[3] == 0xE0) {
			size_t seg = be16(in + 4);
			if (seg >= 2 && seg <= len - 4 && jpeg_keep_app(0xE0, in + 6, seg - 2)) {
				put(w, in + 2, seg + 2);
				pos += seg + 2;
				parts++;
			}
		}
		jpeg_put_orientation(w, *orientation);
	}
	for (;;) {
		if (pos >= len) {
			if (!seen_sos)
				return fail(r, IMAGE_META_BAD,
				            "the JPEG ends before its image data");
			/* Truncated after the image began: close it as decoders would. */
			put(w, "\xFF\xD9", 2);
			return IMAGE_META_OK;
		}
		if (in[pos] != 0xFF)
			return fail(r, IMAGE_META_BAD, "JPEG: no marker at byte %zu", pos);
		while (pos < len && in[pos] == 0xFF)
			pos++; /* fill bytes */
		if (pos >= len)
			continue;
		int m = in[pos++];
		if (++parts > IMAGE_META_MAX_PARTS)
			return fail(r, IMAGE_META_LIMIT, "JPEG: more than %d segments",
			            IMAGE_META_MAX_PARTS);
		if (m == 0x00 || m == 0xD8)
			return fail(r, IMAGE_META_BAD, "JPEG: unexpected marker %02X at byte %zu",
			            m, pos - 1);
		if (m == 0xD9) {
			if (!seen_sos)
				return fail(r, IMAGE_META_BAD,
				            "the JPEG ends before its image data");
			put(w, "\xFF\xD9", 2);
			w->removed +=
			    len - pos; /* whatever follows the end: MPF images, trailers */
			return IMAGE_META_OK;
		}
		if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) {
			unsigned char mk[2] = {0xFF, (unsigned char)m};
			put(w, mk, 2);
			continue;
		}
		if (len - pos < 2)
			return fail(r, IMAGE_META_BAD, "JPEG: segment %02X cut short", m);
		size_t seg = be16(in + pos);
		if (seg < 2 || seg > len - pos)
			return fail(r, IMAGE_META_BAD,
			            "JPEG: segment %02X at byte %zu claims %zu bytes, %zu remain",
			            m, pos - 2, seg, len - pos);
		const unsigned char *body = in + pos + 2;
		size_t body_len = seg - 2;
		int app = (m >= 0xE0 && m <= 0xEF) || m == 0xFE;
		if (m == 0xE1 && body_len >= 6 && memcmp(body, "Exif\0\0", 6) == 0 &&
		    *orientation == 1)
			*orientation = tiff_orientation(body + 6, body_len - 6);
		if (app && !jpeg_keep_app(m, body, body_len))
			w->removed += seg + 2;
		else
			put(w, in + pos - 2, seg + 2);
		pos += seg;
		if (m == 0xDA) {
			seen_sos = 1;
			/* Entropy-coded data runs to the next marker that is not a
			 * stuffed 00 or a restart (D0–D7); FF FF is fill before one. */
			size_t start = pos;
			while (pos < len) {
				const unsigned char *ff = memchr(in + pos, 0xFF, len - pos);
				if (!ff || (size_t)(ff - in) + 1 >= len) {
					pos = len;
					break;
				}
				pos = (size_t)(ff - in);
				int n = in[pos + 1];
				if (n == 0xFF) {
					pos++;
					continue;
				}
				if (n != 0x00 && !(n >= 0xD0 && n <= 0xD7))
					break;
				pos += 2;
			}
			put(w, in + start, pos - start);
		}
	}
}

/* ---- PNG ---------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	if (crc_table[1])
		return;
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* Chunks kept: the critical ones and those that change how pixels look. */
static int png_keep(const unsigned char *type)
{
	static const char *const keep[] = {"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "cHRM", "gAMA",
	                                   "iCCP", "sBIT", "sRGB", "bKGD", "hIST", "pHYs", "sPLT",
	                                   "acTL", "fcTL", "fdAT", "cICP", "mDCv", "cLLi"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (memcmp(type, keep[i], 4) == 0)
			return 1;
	return 0;
}

static int png_walk(const unsigned char *in, size_t len, struct writer *w, int *orientation,
                    struct image_meta_result *r)
{
	if (len < 8 || memcmp(in, "\x89PNG\r\n\x1a\n", 8) != 0)
		return fail(r, IMAGE_META_BAD, "not a PNG (no signature)");
	put(w, in, 8);
	size_t pos = 8, parts = 0;
	for (;;) {
		if (len - pos < 12)
			return fail(r, IMAGE_META_BAD, "the PNG ends before its IEND chunk");
		if (++parts > IMAGE_META_MAX_PARTS)
			return fail(r, IMAGE_META_LIMIT, "PNG: more than %d chunks",
			            IMAGE_META_MAX_PARTS);
		uint32_t n = be32(in + pos);
		const unsigned char *type = in + pos + 4;
		if (n > 0x7FFFFFFFu || n > len - pos - 12)
			return fail(r, IMAGE_META_BAD,
			            "PNG: chunk at byte %zu claims %u bytes, %zu remain", pos, n,
			            len - pos - 12);
		for (int i = 0; i < 4; i++)
			if (!((type[i] >= 'a' && type[i] <= 'z') ||
			      (type[i] >= 'A' && type[i] <= 'Z')))
				return fail(r, IMAGE_META_BAD, "PNG: bad chunk type at byte %zu",
				            pos);
		if (parts == 1 && memcmp(type, "IHDR", 4) != 0)
			return fail(r, IMAGE_META_BAD, "PNG: the first chunk is not IHDR");
		size_t whole = (size_t)n + 12;
		if (memcmp(type, "eXIf", 4) == 0 && *orientation == 1)
			*orientation = tiff_orientation(type + 4, n);
		if (png_keep(type)) {
			put(w, in + pos, whole);
		} else if (!(type[0] & 0x20)) {
			/* An unknown critical chunk: no decoder draws this file. */
			return fail(r, IMAGE_META_BAD, "PNG: unknown critical chunk %.4s",
			            (const char *)type);
		} else {
			w->removed += whole;
		}
		pos += whole;
		if (parts == 1 && *orientation != 1 && w->out) {
			/* eXIf must come before the image data: right after IHDR. */
			unsigned char c[12 + MINI_TIFF_LEN];
			memcpy(c,
			       "\0\0\0\x1a"
			       "eXIf",
			       8);
			mini_tiff(c + 8, *orientation);
			uint32_t crc = crc32_of(c + 4, 4 + MINI_TIFF_LEN);
			unsigned char *q = c + 8 + MINI_TIFF_LEN;
			q[0] = (unsigned char)(crc >> 24);
			q[1] = (unsigned char)(crc >> 16);
			q[2] = (unsigned char)(crc >> 8);
			q[3] = (unsigned char)crc;
			put(w, c, sizeof c);
		}
		if (memcmp(type, "IEND", 4) == 0) {
			w->removed += len - pos;
			return IMAGE_META_OK;
		}
	}
}

/* ---- WebP --------------------------------------------------------------- */

static int webp_keep(const unsigned char *fourcc)
{
	static const char *const keep[] = {"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (memcmp(fourcc, keep[i], 4) == 0)
			return 1;
	return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

#define WEBP_FLAG_EXIF 0x08
#define WEBP_FLAG_XMP  0x04

static int webp_walk(const unsigned char *in, size_t len, struct writer *w, int *orientation,
                     struct image_meta_result *r)
{
	if (len < 12 || memcmp(in, "RIFF", 4) != 0 || memcmp(in + 8, "WEBP", 4) != 0)
		return fail(r, IMAGE_META_BAD, "not a WebP (no RIFF/WEBP header)");
	uint32_t riff = le32(in + 4);
	if (riff < 4 || riff > len - 8)
		return fail(r, IMAGE_META_BAD, "WebP: the RIFF size %u passes the file's %zu bytes",
		            riff, len);
	size_t end = 8 + (size_t)riff, pos = 12, parts = 0, flags_at = 0;
	put(w, in, 12);
	int extended = 0;
	while (pos < end) {
		if (end - pos < 8)
			return fail(r, IMAGE_META_BAD, "WebP: a chunk header is cut short");
		if (++parts > IMAGE_META_MAX_PARTS)
			return fail(r, IMAGE_META_LIMIT, "WebP: more than %d chunks",
			            IMAGE_META_MAX_PARTS);
		const unsigned char *cc = in + pos;
		uint32_t n = le32(in + pos + 4);
		size_t padded = (size_t)n + (n & 1);
		if (n > end - pos - 8 || padded > end - pos - 8)
			return fail(r, IMAGE_META_BAD,
			            "WebP: chunk at byte %zu claims %u bytes, %zu remain", pos, n,
			            end - pos - 8);
		/* The spec's layout: the first chunk is the image or VP8X, and
		 * VP8X only ever first (its flags describe what follows). */
		if (parts == 1 && memcmp(cc, "VP8 ", 4) != 0 && memcmp(cc, "VP8L", 4) != 0 &&
		    memcmp(cc, "VP8X", 4) != 0)
			return fail(r, IMAGE_META_BAD,
			            "WebP: the first chunk is not VP8, VP8L or VP8X");
		if (parts > 1 && memcmp(cc, "VP8X", 4) == 0)
			return fail(r, IMAGE_META_BAD, "WebP: VP8X after the first chunk");
		if (parts == 1 && memcmp(cc, "VP8X", 4) == 0) {
			if (n < 10)
				return fail(r, IMAGE_META_BAD, "WebP: VP8X chunk too short");
			extended = 1;
			flags_at = w->len + 8;
		}
		if (memcmp(cc, "EXIF", 4) == 0 && *orientation == 1) {
			const unsigned char *t = cc + 8;
			size_t tn = n;
			if (tn >= 6 && memcmp(t, "Exif\0\0", 6) == 0)
				t += 6, tn -= 6; /* some writers keep the JPEG prefix */
			*orientation = tiff_orientation(t, tn);
		}
		if (webp_keep(cc))
			put(w, cc, 8 + padded);
		else
			w->removed += 8 + padded;
		pos += 8 + padded;
	}
	w->removed += len - end;
	if (!extended)
		*orientation = 1; /* only the extended format may carry EXIF */
	if (*orientation != 1) {
		unsigned char c[8 + MINI_TIFF_LEN];
		memcpy(c, "EXIF", 4);
		put_le32(c + 4, MINI_TIFF_LEN);
		mini_tiff(c + 8, *orientation);
		put(w, c, sizeof c); /* even length: no padding */
	}
	if (w->out && !w->overran) {
		put_le32(w->out + 4, (uint32_t)(w->len - 8));
		if (extended) {
			w->out[flags_at] &= (unsigned char)~(WEBP_FLAG_EXIF | WEBP_FLAG_XMP);
			if (*orientation != 1)
				w->out[flags_at] |= WEBP_FLAG_EXIF;
		}
	}
	return IMAGE_META_OK;
}

/* ---- entry ----------------------------------------------------------------- */

typedef int walk_fn(const unsigned char *, size_t, struct writer *, int *,
                    struct image_meta_result *);

static walk_fn *walker(const char *type)
{
	if (!type)
		return NULL;
	if (strcmp(type, "image/jpeg") == 0)
		return jpeg_walk;
	if (strcmp(type, "image/png") == 0)
		return png_walk;
	if (strcmp(type, "image/webp") == 0)
		return webp_walk;
	return NULL;
}

int image_meta_handles(const char *type)
{
	return walker(type) != NULL;
}

int image_meta_strip(const char *type, const unsigned char *in, size_t len,
                     struct image_meta_result *out)
{
	memset(out, 0, sizeof *out);
	out->orientation = 1;
	walk_fn *walk = walker(type);
	if (!walk)
		return fail(out, IMAGE_META_BAD, "no metadata rewriter for %s", type ? type : "?");
	crc_init();
	struct writer measure = {0};
	int orientation = 1;
	int rc = walk(in, len, &measure, &orientation, out);
	if (rc < 0)
		return rc;
	/* The measuring pass counted no inserted block: leave room for one. */
	size_t cap = measure.len + IMAGE_META_GROWTH;
	struct writer w = {.out = malloc(cap), .cap = cap};
	if (!w.out)
		return fail(out, IMAGE_META_NOMEM, "out of memory");
	rc = walk(in, len, &w, &orientation, out);
	if (rc < 0 || w.overran) {
		free(w.out);
		return rc < 0 ? rc : fail(out, IMAGE_META_BAD, "internal: output overran");
	}
	out->data = w.out;
	out->len = w.len;
	out->orientation = orientation;
	out->removed = w.removed;
	return IMAGE_META_OK;
}
