/* image_meta.c: photos lose EXIF/XMP/comments/text chunks, keep their image
 * and orientation; hostile files (lying lengths, truncation, huge segment
 * counts) are refused, never read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/image_meta.h"

struct buf {
	unsigned char *p;
	size_t n;
};

static void add(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->n + n);
	assert_non_null(b->p);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

#define ADD(b, lit) add((b), (lit), sizeof(lit) - 1)

static int contains(const unsigned char *h, size_t hn, const char *needle)
{
	size_t nn = strlen(needle);
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, needle, nn) == 0)
			return 1;
	return 0;
}

/* A little-endian TIFF with Orientation = orient and a GPS-looking string. */
static void tiff_with_gps(struct buf *b, int orient)
{
	unsigned char t[] = {'I',  'I',  42, 0,    8,    0, 0, 0, /* header */
	                     2,    0,                             /* 2 entries */
	                     0x12, 0x01, 3,  0,    1,    0, 0, 0, (unsigned char)orient,
	                     0,    0,    0,  0x25, 0x88, 4, 0, 1, 0,
	                     0,    0,    38, 0,    0,    0, /* GPS IFD at 38 */
	                     0,    0,    0,  0};
	add(b, t, sizeof t);
	ADD(b, "GPS 48.8584N 2.2945E");
}

static void jpeg_segment(struct buf *b, int marker, const struct buf *body)
{
	unsigned char h[4] = {0xFF, (unsigned char)marker, (unsigned char)((body->n + 2) >> 8),
	                      (unsigned char)(body->n + 2)};
	add(b, h, 4);
	add(b, body->p, body->n);
}

/* SOI, JFIF, Exif (orientation, GPS), XMP, COM, DQT, SOS + scan with stuffed
 * bytes and a restart marker, EOI, then a trailer. */
static struct buf make_jpeg(int orient)
{
	struct buf j = {0}, s = {0};
	ADD(&j, "\xFF\xD8");
	ADD(&s, "JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
	jpeg_segment(&j, 0xE0, &s);
	s.n = 0;
	ADD(&s, "Exif\0\0");
	tiff_with_gps(&s, orient);
	jpeg_segment(&j, 0xE1, &s);
	s.n = 0;
	ADD(&s, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPSLatitude 48</x:xmpmeta>");
	jpeg_segment(&j, 0xE1, &s);
	s.n = 0;
	ADD(&s, "taken at home, 12 Rue Example");
	jpeg_segment(&j, 0xFE, &s);
	s.n = 0;
	ADD(&s, "\0QUANTTABLE-KEEP");
	jpeg_segment(&j, 0xDB, &s);
	s.n = 0;
	ADD(&s, "\x01\x01\0\0\x3f\0");
	jpeg_segment(&j, 0xDA, &s);
	ADD(&j, "SCAN\xFF\x00"
	        "DATA\xFF\xD0MORE");
	ADD(&j, "\xFF\xD9");
	ADD(&j, "TRAILER-WITH-SECOND-EXIF");
	free(s.p);
	return j;
}

static void test_jpeg_stripped(void **state)
{
	(void)state;
	struct buf j = make_jpeg(6);
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/jpeg", j.p, j.n, &r), IMAGE_META_OK);
	assert_false(contains(r.data, r.len, "GPS"));
	assert_false(contains(r.data, r.len, "xmpmeta"));
	assert_false(contains(r.data, r.len, "Rue Example"));
	assert_false(contains(r.data, r.len, "TRAILER"));
	assert_true(contains(r.data, r.len, "QUANTTABLE-KEEP"));
	assert_true(contains(r.data, r.len,
	                     "SCAN\xFF\x00"
	                     "DATA\xFF\xD0MORE\xFF\xD9"));
	assert_int_equal(r.orientation, 6);
	/* JFIF stays first; the orientation-only Exif follows it. */
	assert_memory_equal(r.data, "\xFF\xD8\xFF\xE0\x00\x10JFIF", 10);
	assert_memory_equal(r.data + 20,
	                    "\xFF\xE1\x00\x22"
	                    "Exif\0\0MM\0\x2a",
	                    14);
	assert_int_equal(r.data[20 + 10 + 19], 6);
	assert_int_equal(r.len + r.removed, j.n + 36);
	/* Stripping a stripped file changes nothing. */
	struct image_meta_result again;
	assert_int_equal(image_meta_strip("image/jpeg", r.data, r.len, &again), IMAGE_META_OK);
	assert_int_equal(again.len, r.len);
	assert_memory_equal(again.data, r.data, r.len);
	assert_int_equal(again.orientation, 6);
	free(again.data);
	free(r.data);
	free(j.p);
}

static void test_jpeg_upright_gets_no_exif(void **state)
{
	(void)state;
	struct buf j = make_jpeg(1);
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/jpeg", j.p, j.n, &r), IMAGE_META_OK);
	assert_false(contains(r.data, r.len, "Exif"));
	free(r.data);
	free(j.p);
}

/* The Exif segment says it is longer than the file. */
static void test_jpeg_exif_lies_about_size(void **state)
{
	(void)state;
	struct buf j = {0};
	ADD(&j, "\xFF\xD8\xFF\xE1\xFF\xF0"
	        "Exif\0\0II*\0\x08\0\0\0");
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/jpeg", j.p, j.n, &r), IMAGE_META_BAD);
	assert_null(r.data);
	assert_non_null(strstr(r.error, "claims"));
	free(j.p);
	/* An IFD that claims 65535 entries in a 40-byte TIFF: the orientation
	 * is not trusted, the segment still goes. */
	struct buf k = make_jpeg(6);
	size_t at = 2 + 18 + 4 + 6 + 8; /* the entry count of IFD0 */
	k.p[at] = 0xFF;
	k.p[at + 1] = 0xFF;
	assert_int_equal(image_meta_strip("image/jpeg", k.p, k.n, &r), IMAGE_META_OK);
	assert_int_equal(r.orientation, 1);
	assert_false(contains(r.data, r.len, "GPS"));
	free(r.data);
	free(k.p);
}

/* Every prefix is refused or yields a closed image; none is read past. */
static void test_jpeg_truncated(void **state)
{
	(void)state;
	struct buf j = make_jpeg(3);
	for (size_t n = 0; n < j.n; n++) {
		unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(copy, j.p, n);
		struct image_meta_result r;
		int rc = image_meta_strip("image/jpeg", copy, n, &r);
		if (rc == IMAGE_META_OK) {
			assert_memory_equal(r.data + r.len - 2, "\xFF\xD9", 2);
			assert_false(contains(r.data, r.len, "GPS"));
		} else {
			assert_int_equal(rc, IMAGE_META_BAD);
			assert_true(r.error[0] != '\0');
		}
		free(r.data);
		free(copy);
	}
	free(j.p);
}

static void test_jpeg_huge_segment_count(void **state)
{
	(void)state;
	struct buf j = {0};
	ADD(&j, "\xFF\xD8");
	size_t n = IMAGE_META_MAX_PARTS + 10;
	unsigned char *many = malloc(n * 4);
	for (size_t i = 0; i < n; i++)
		memcpy(many + i * 4, "\xFF\xFE\x00\x02", 4); /* empty comments */
	add(&j, many, n * 4);
	free(many);
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/jpeg", j.p, j.n, &r), IMAGE_META_LIMIT);
	assert_non_null(strstr(r.error, "segments"));
	free(j.p);
}

static void png_chunk(struct buf *b, const char *type, const void *data, uint32_t n)
{
	unsigned char h[8] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};
	memcpy(h + 4, type, 4);
	add(b, h, 8);
	add(b, data, n);
	ADD(b, "CRC!"); /* not checked: kept chunks are copied whole */
}

static void test_png_stripped(void **state)
{
	(void)state;
	struct buf p = {0}, t = {0};
	ADD(&p, "\x89PNG\r\n\x1a\n");
	png_chunk(&p, "IHDR", "\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0", 13);
	png_chunk(&p, "tEXt", "Location\0GPS 48.85N", 19);
	png_chunk(&p, "gAMA", "\0\0\xb1\x8f", 4);
	tiff_with_gps(&t, 8);
	png_chunk(&p, "eXIf", t.p, (uint32_t)t.n);
	png_chunk(&p, "IDAT", "PIXELS", 6);
	png_chunk(&p, "IEND", "", 0);
	ADD(&p, "TRAILER");
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/png", p.p, p.n, &r), IMAGE_META_OK);
	assert_false(contains(r.data, r.len, "GPS"));
	assert_false(contains(r.data, r.len, "tEXt"));
	assert_false(contains(r.data, r.len, "TRAILER"));
	assert_true(contains(r.data, r.len, "gAMA"));
	assert_true(contains(r.data, r.len, "IDATPIXELS"));
	assert_int_equal(r.orientation, 8);
	/* After IHDR: the orientation-only eXIf with a real CRC-32. */
	const unsigned char *x = r.data + 8 + 25;
	assert_memory_equal(x,
	                    "\0\0\0\x1a"
	                    "eXIfMM\0\x2a",
	                    12);
	assert_int_equal(x[8 + 19], 8);
	struct image_meta_result again;
	assert_int_equal(image_meta_strip("image/png", r.data, r.len, &again), IMAGE_META_OK);
	assert_int_equal(again.len, r.len);
	free(again.data);
	free(r.data);
	/* A chunk that claims 2 GB: refused. */
	p.p[8 + 25 + 0] = 0x7F;
	assert_int_equal(image_meta_strip("image/png", p.p, p.n, &r), IMAGE_META_BAD);
	assert_non_null(strstr(r.error, "claims"));
	free(p.p);
	free(t.p);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void riff_chunk(struct buf *b, const char *cc, const void *data, uint32_t n)
{
	unsigned char h[8];
	memcpy(h, cc, 4);
	put_le32(h + 4, n);
	add(b, h, 8);
	add(b, data, n);
	if (n & 1)
		ADD(b, "\0");
}

static void test_webp_stripped(void **state)
{
	(void)state;
	struct buf w = {0}, t = {0};
	ADD(&w, "RIFF\0\0\0\0WEBP");
	riff_chunk(&w, "VP8X", "\x0c\0\0\0\0\0\0\0\0\0", 10); /* EXIF | XMP flags */
	riff_chunk(&w, "VP8 ", "FRAME", 5);
	ADD(&t, "Exif\0\0");
	tiff_with_gps(&t, 5);
	riff_chunk(&w, "EXIF", t.p, (uint32_t)t.n);
	riff_chunk(&w, "XMP ", "<GPS/>", 6);
	put_le32(w.p + 4, (uint32_t)(w.n - 8));
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/webp", w.p, w.n, &r), IMAGE_META_OK);
	assert_false(contains(r.data, r.len, "GPS"));
	assert_false(contains(r.data, r.len, "XMP "));
	assert_true(contains(r.data, r.len,
	                     "VP8 \x05\0\0\0"
	                     "FRAME\0"));
	assert_int_equal(r.orientation, 5);
	assert_int_equal(r.data[20], 0x08); /* EXIF flag only: the new orientation block */
	uint32_t riff = (uint32_t)r.data[4] | (uint32_t)r.data[5] << 8;
	assert_int_equal(riff, r.len - 8);
	assert_memory_equal(r.data + r.len - 34, "EXIF\x1a\0\0\0MM", 10);
	free(r.data);
	/* VP8X anywhere but first (its flags would survive unread), or an
	 * unknown first chunk: refused (found by fuzz_image_meta). */
	struct buf late = {0};
	ADD(&late, "RIFF\0\0\0\0WEBP");
	riff_chunk(&late, "JUNK", "", 0);
	riff_chunk(&late, "VP8X", "\x08\0\0\0\0\0\0\0\0\0", 10);
	put_le32(late.p + 4, (uint32_t)(late.n - 8));
	assert_int_equal(image_meta_strip("image/webp", late.p, late.n, &r), IMAGE_META_BAD);
	assert_non_null(strstr(r.error, "first chunk"));
	free(late.p);
	/* The RIFF size passes the file's end. */
	put_le32(w.p + 4, 1u << 30);
	assert_int_equal(image_meta_strip("image/webp", w.p, w.n, &r), IMAGE_META_BAD);
	free(w.p);
	free(t.p);
}

static void test_types(void **state)
{
	(void)state;
	assert_true(image_meta_handles("image/jpeg"));
	assert_true(image_meta_handles("image/png"));
	assert_true(image_meta_handles("image/webp"));
	assert_false(image_meta_handles("image/gif"));
	assert_false(image_meta_handles(NULL));
	struct image_meta_result r;
	assert_int_equal(image_meta_strip("image/png", (const unsigned char *)"\xFF\xD8", 2, &r),
	                 IMAGE_META_BAD);
	assert_int_equal(image_meta_strip("image/gif", (const unsigned char *)"GIF89a", 6, &r),
	                 IMAGE_META_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jpeg_stripped),
	    cmocka_unit_test(test_jpeg_upright_gets_no_exif),
	    cmocka_unit_test(test_jpeg_exif_lies_about_size),
	    cmocka_unit_test(test_jpeg_truncated),
	    cmocka_unit_test(test_jpeg_huge_segment_count),
	    cmocka_unit_test(test_png_stripped),
	    cmocka_unit_test(test_webp_stripped),
	    cmocka_unit_test(test_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
