/* sniff.c: the media type of an upload from its first bytes, and the
 * allow/deny lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/sniff.h"

#define SNIFF(lit) sniff_type((const unsigned char *)(lit), sizeof(lit) - 1)

static void test_magic_numbers(void **state)
{
	(void)state;
	assert_string_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
	assert_string_equal(SNIFF("\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
	assert_string_equal(SNIFF("GIF89a\x01\0"), "image/gif");
	assert_string_equal(SNIFF("%PDF-1.7\n"), "application/pdf");
	assert_string_equal(SNIFF("PK\x03\x04\x14\0"), "application/zip");
	assert_string_equal(SNIFF("\x1f\x8b\x08\0"), "application/gzip");
	assert_string_equal(SNIFF("ID3\x04\0\0"), "audio/mpeg");
	assert_string_equal(SNIFF("\x7f"
	                          "ELF\x02\x01"),
	                    "application/x-executable");
	assert_string_equal(SNIFF("RIFF\0\0\0\0WEBPVP8 "), "image/webp");
	assert_string_equal(SNIFF("RIFF\0\0\0\0WAVEfmt "), "audio/wav");
	assert_string_equal(SNIFF("\0\0\0\x18"
	                          "ftypisom\0\0\0\0"),
	                    "video/mp4");
	assert_string_equal(SNIFF("\0\0\0\x18"
	                          "ftypheic\0\0\0\0"),
	                    "image/heic");

	/* tar's magic is 257 bytes in. */
	unsigned char tar[SNIFF_BYTES] = {0};
	memcpy(tar, "notes.txt", 9);
	memcpy(tar + 257, "ustar", 5);
	assert_string_equal(sniff_type(tar, sizeof tar), "application/x-tar");
	assert_string_equal(sniff_type(tar, 261), "application/octet-stream");
}

static void test_markup_is_named(void **state)
{
	(void)state;
	assert_string_equal(SNIFF("  \r\n<!DOCTYPE html><p>x"), "text/html");
	assert_string_equal(SNIFF("\xef\xbb\xbf<script>alert(1)</script>"), "text/html");
	assert_string_equal(SNIFF("<svg xmlns='http://www.w3.org/2000/svg'/>"), "image/svg+xml");
	assert_string_equal(SNIFF("<?xml version='1.0'?><svg/>"), "image/svg+xml");
	assert_string_equal(SNIFF("<?xml version='1.0'?><feed/>"), "application/xml");
}

static void test_text_and_binary(void **state)
{
	(void)state;
	assert_string_equal(SNIFF("just text\n"), "text/plain");
	assert_string_equal(SNIFF("gr\xc3\xbc\xc3\x9f dich\n"), "text/plain");
	/* A character cut by the end of the sample is still text. */
	assert_string_equal(SNIFF("caf\xc3"), "text/plain");
	assert_string_equal(SNIFF("a\0b"), "application/octet-stream");
	assert_string_equal(SNIFF("\xc0\xaf overlong"), "application/octet-stream");
	assert_string_equal(sniff_type((const unsigned char *)"", 0), "application/octet-stream");
}

/* issue 13, item 20: FF FE is both the UTF-16LE byte order mark and an
 * MPEG frame sync; text with it was sniffed as audio/mpeg. */
static void test_utf16_with_bom_is_text(void **state)
{
	(void)state;
	assert_string_equal(SNIFF("\xff\xfeH\0i\0 \0t\0h\0e\0r\0e\0\n\0"), "text/plain");
	assert_string_equal(SNIFF("\xfe\xff\0H\0i\0\n"), "text/plain");
	/* A surrogate pair (U+1F600) and a unit cut by the end of the sample. */
	assert_string_equal(SNIFF("\xff\xfe=\xd8\0\xde!\0x"), "text/plain");
	/* Controls or a lone surrogate are not text: FF FE then is what else
	 * it may be (a frame sync), FE FF nothing known. */
	assert_string_equal(SNIFF("\xff\xfe\x01\0\x02\0"), "audio/mpeg");
	assert_string_equal(SNIFF("\xfe\xff\xdc\0\0a"), "application/octet-stream");
	/* Real MPEG audio frames still are audio. */
	assert_string_equal(SNIFF("\xff\xfb\x90\x64\0\0\0\0"), "audio/mpeg");
	assert_string_equal(SNIFF("\xff\xf3\x84\xc4\0\0"), "audio/mpeg");
	/* Reserved bitrate or sample rate: not a frame. */
	assert_string_equal(SNIFF("\xff\xfb\xf0\x00"), "application/octet-stream");
	assert_string_equal(SNIFF("\xff\xfb\x9c\x00"), "application/octet-stream");
}

static void test_type_lists(void **state)
{
	(void)state;
	assert_true(sniff_type_matches("*/*", "application/x-executable"));
	assert_true(sniff_type_matches("image/*", "image/png"));
	assert_true(sniff_type_matches("IMAGE/PNG", "image/png"));
	assert_false(sniff_type_matches("image/*", "imagex/png"));
	assert_false(sniff_type_matches("image/png", "image/pngx"));

	char *allow[] = {"image/*", "text/plain"}, *deny[] = {"image/svg+xml"};
	assert_true(sniff_type_permitted("image/png", allow, 2, deny, 1));
	assert_true(sniff_type_permitted("text/plain", allow, 2, deny, 1));
	assert_false(sniff_type_permitted("image/svg+xml", allow, 2, deny, 1));
	assert_false(sniff_type_permitted("application/pdf", allow, 2, deny, 1));
	/* No allow list: all but the denied. */
	assert_true(sniff_type_permitted("application/pdf", NULL, 0, deny, 1));
	assert_false(sniff_type_permitted("image/svg+xml", NULL, 0, deny, 1));
	char *any[] = {"*/*"};
	assert_false(sniff_type_permitted("text/plain", NULL, 0, any, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_magic_numbers),   cmocka_unit_test(test_markup_is_named),
	    cmocka_unit_test(test_text_and_binary), cmocka_unit_test(test_utf16_with_bom_is_text),
	    cmocka_unit_test(test_type_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
