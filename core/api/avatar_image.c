/* Avatar pictures (see avatar_image.h). Decoders: libjpeg-turbo (errors
 * through longjmp, big photos decoded at 1/2..1/8 scale by the library),
 * libpng's simplified API (alpha composited on white), libwebp. The crop
 * and the box-filter scale read the decoded pixels through the EXIF
 * orientation, so no rotated copy is made. */
#include "api/avatar_image.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

#include "api/image_meta.h"

struct pixels {
	unsigned char *rgb; /* w × h × 3 */
	size_t w, h;
	int orientation; /* EXIF 1..8 */
};

static int fail(struct avatar_result *out, int rc, const char *msg)
{
	free(out->data);
	out->data = NULL;
	out->len = 0;
	snprintf(out->error, sizeof out->error, "%s", msg);
	return rc;
}

static int too_big(size_t w, size_t h)
{
	return w == 0 || h == 0 || w > AVATAR_MAX_SIDE || h > AVATAR_MAX_SIDE ||
	       w * h > AVATAR_MAX_PIXELS;
}

/* ---- JPEG ------------------------------------------------------------- */

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

static void jpeg_fail(j_common_ptr c)
{
	longjmp(((struct jerr *)c->err)->jump, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
	(void)c;
	(void)level; /* warnings about damaged data: the result is checked */
}

static int decode_jpeg(const unsigned char *in, size_t len, struct pixels *px)
{
	struct jpeg_decompress_struct c;
	struct jerr err;
	unsigned char *volatile rgb = NULL;
	c.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_fail;
	err.mgr.emit_message = jpeg_quiet;
	if (setjmp(err.jump)) {
		jpeg_destroy_decompress(&c);
		free(rgb);
		return AVATAR_BAD;
	}
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, in, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	if (too_big(c.image_width, c.image_height)) {
		jpeg_destroy_decompress(&c);
		return AVATAR_LIMIT;
	}
	/* The library scales while decoding: as small as still covers the
	 * avatar, which keeps a 50-megapixel photo's memory small. */
	unsigned side = c.image_width < c.image_height ? c.image_width : c.image_height;
	c.scale_num = 1;
	c.scale_denom = 1;
	while (c.scale_denom < 8 && side / (c.scale_denom * 2) >= AVATAR_SIZE)
		c.scale_denom *= 2;
	c.out_color_space = JCS_RGB;
	jpeg_start_decompress(&c);
	size_t w = c.output_width, h = c.output_height;
	if (c.output_components != 3 || too_big(w, h)) {
		jpeg_destroy_decompress(&c);
		return AVATAR_BAD;
	}
	rgb = malloc(w * h * 3);
	if (!rgb) {
		jpeg_destroy_decompress(&c);
		return AVATAR_NOMEM;
	}
	while (c.output_scanline < h) {
		JSAMPROW row = rgb + (size_t)c.output_scanline * w * 3;
		if (jpeg_read_scanlines(&c, &row, 1) != 1)
			break;
	}
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	px->rgb = rgb;
	px->w = w;
	px->h = h;
	/* The orientation, read by the metadata parser already fuzzed. */
	struct image_meta_result meta;
	if (image_meta_strip("image/jpeg", in, len, &meta) == IMAGE_META_OK) {
		px->orientation = meta.orientation;
		free(meta.data);
	}
	return AVATAR_OK;
}

/* ---- PNG -------------------------------------------------------------- */

static int decode_png(const unsigned char *in, size_t len, struct pixels *px)
{
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, in, len))
		return AVATAR_BAD;
	if (too_big(img.width, img.height)) {
		png_image_free(&img);
		return AVATAR_LIMIT;
	}
	img.format = PNG_FORMAT_RGB;
	size_t w = img.width, h = img.height;
	unsigned char *rgb = malloc(w * h * 3);
	if (!rgb) {
		png_image_free(&img);
		return AVATAR_NOMEM;
	}
	png_color white = {255, 255, 255}; /* transparent parts become white */
	if (!png_image_finish_read(&img, &white, rgb, (png_int_32)(w * 3), NULL)) {
		free(rgb);
		png_image_free(&img);
		return AVATAR_BAD;
	}
	px->rgb = rgb;
	px->w = w;
	px->h = h;
	return AVATAR_OK;
}

/* ---- WebP ------------------------------------------------------------- */

static int decode_webp(const unsigned char *in, size_t len, struct pixels *px)
{
	int w, h;
	if (!WebPGetInfo(in, len, &w, &h))
		return AVATAR_BAD;
	if (too_big((size_t)w, (size_t)h))
		return AVATAR_LIMIT;
	uint8_t *rgba = WebPDecodeRGBA(in, len, &w, &h);
	if (!rgba)
		return AVATAR_BAD;
	size_t n = (size_t)w * (size_t)h;
	unsigned char *rgb = malloc(n * 3);
	if (!rgb) {
		WebPFree(rgba);
		return AVATAR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned a = rgba[i * 4 + 3];
		for (int k = 0; k < 3; k++) /* over white */
			rgb[i * 3 + k] =
			    (unsigned char)((rgba[i * 4 + k] * a + 255 * (255 - a) + 127) / 255);
	}
	WebPFree(rgba);
	px->rgb = rgb;
	px->w = (size_t)w;
	px->h = (size_t)h;
	return AVATAR_OK;
}

/* ---- crop, scale, encode ---------------------------------------------- */

/* The stored pixel shown at (x, y) of the upright picture. */
static const unsigned char *upright(const struct pixels *px, size_t x, size_t y)
{
	size_t W = px->w, H = px->h, sx, sy;
	switch (px->orientation) {
	case 2:
		sx = W - 1 - x, sy = y;
		break;
	case 3:
		sx = W - 1 - x, sy = H - 1 - y;
		break;
	case 4:
		sx = x, sy = H - 1 - y;
		break;
	case 5:
		sx = y, sy = x;
		break;
	case 6:
		sx = y, sy = H - 1 - x;
		break;
	case 7:
		sx = W - 1 - y, sy = H - 1 - x;
		break;
	case 8:
		sx = W - 1 - y, sy = x;
		break;
	default:
		sx = x, sy = y;
		break;
	}
	return px->rgb + (sy * W + sx) * 3;
}

/* The centre square of the upright picture, box-filtered to out. */
static void crop_scale(const struct pixels *px, unsigned char *out)
{
	int turned = px->orientation >= 5 && px->orientation <= 8;
	size_t W = turned ? px->h : px->w, H = turned ? px->w : px->h;
	size_t side = W < H ? W : H, x0 = (W - side) / 2, y0 = (H - side) / 2;
	for (size_t oy = 0; oy < AVATAR_SIZE; oy++) {
		size_t ya = y0 + oy * side / AVATAR_SIZE, yb = y0 + (oy + 1) * side / AVATAR_SIZE;
		if (yb <= ya)
			yb = ya + 1; /* smaller than the avatar: nearest pixel */
		for (size_t ox = 0; ox < AVATAR_SIZE; ox++) {
			size_t xa = x0 + ox * side / AVATAR_SIZE,
			       xb = x0 + (ox + 1) * side / AVATAR_SIZE;
			if (xb <= xa)
				xb = xa + 1;
			uint64_t sum[3] = {0, 0, 0}, n = 0;
			for (size_t y = ya; y < yb; y++)
				for (size_t x = xa; x < xb; x++, n++) {
					const unsigned char *p = upright(px, x, y);
					sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
				}
			unsigned char *o = out + (oy * AVATAR_SIZE + ox) * 3;
			for (int k = 0; k < 3; k++)
				o[k] = (unsigned char)((sum[k] + n / 2) / n);
		}
	}
}

static int encode_jpeg(const unsigned char *rgb, struct avatar_result *out)
{
	struct jpeg_compress_struct c;
	struct jerr err;
	unsigned char *volatile buf = NULL;
	unsigned long len = 0;
	c.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = jpeg_fail;
	if (setjmp(err.jump)) {
		jpeg_destroy_compress(&c);
		free(buf);
		return AVATAR_NOMEM;
	}
	jpeg_create_compress(&c);
	unsigned char *mem = NULL;
	jpeg_mem_dest(&c, &mem, &len);
	c.image_width = AVATAR_SIZE;
	c.image_height = AVATAR_SIZE;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, AVATAR_QUALITY, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < AVATAR_SIZE) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * AVATAR_SIZE * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	buf = mem;
	jpeg_finish_compress(&c);
	buf = mem; /* may have grown */
	jpeg_destroy_compress(&c);
	out->data = buf;
	out->len = len;
	return AVATAR_OK;
}

int avatar_image_make(const unsigned char *in, size_t len, struct avatar_result *out)
{
	memset(out, 0, sizeof *out);
	struct pixels px = {.orientation = 1};
	int rc;
	if (len >= 3 && in[0] == 0xFF && in[1] == 0xD8 && in[2] == 0xFF)
		rc = decode_jpeg(in, len, &px);
	else if (len >= 8 && !memcmp(in, "\x89PNG\r\n\x1a\n", 8))
		rc = decode_png(in, len, &px);
	else if (len >= 12 && !memcmp(in, "RIFF", 4) && !memcmp(in + 8, "WEBP", 4))
		rc = decode_webp(in, len, &px);
	else
		return fail(out, AVATAR_BAD, "expected a JPEG, PNG or WebP picture");
	if (rc == AVATAR_LIMIT)
		return fail(out, rc, "the picture has too many pixels (at most 40 megapixels)");
	if (rc == AVATAR_NOMEM)
		return fail(out, rc, "out of memory");
	if (rc != AVATAR_OK)
		return fail(out, rc, "the picture is damaged or of an unsupported kind");
	unsigned char *square = malloc((size_t)AVATAR_SIZE * AVATAR_SIZE * 3);
	if (!square) {
		free(px.rgb);
		return fail(out, AVATAR_NOMEM, "out of memory");
	}
	crop_scale(&px, square);
	free(px.rgb);
	rc = encode_jpeg(square, out);
	free(square);
	return rc == AVATAR_OK ? AVATAR_OK : fail(out, rc, "out of memory");
}
