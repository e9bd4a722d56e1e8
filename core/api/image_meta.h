/* Metadata stripping for uploaded photos (JPEG, PNG, WebP): EXIF (with
 * its GPS position, camera serial, time), XMP, IPTC, comments and text
 * chunks go; what a decoder needs to draw the picture stays (JPEG: JFIF,
 * Adobe, ICC profile, tables and scans; PNG: the critical chunks and the
 * colour/transparency/animation ones; WebP: the image, alpha, animation and
 * ICC chunks).
 *
 * Orientation: the pixels are not rotated (that needs a decoder; lossy
 * re-encoding would cost quality). Instead the one EXIF tag that changes how
 * the picture is drawn, Orientation, is kept in a minimal new EXIF block
 * of its own (26 bytes of TIFF, nothing else) when it was not 1, so browsers
 * still show a phone photo upright.
 *
 * A whole-buffer rewriter: the upload buffers an image (up to the upload
 * size limit) and rewrites it in one call. Every length is checked against
 * the buffer before use; segment/chunk counts are capped. */
#ifndef PARLEY_IMAGE_META_H
#define PARLEY_IMAGE_META_H

#include <stddef.h>

/* More segments (JPEG markers) or chunks (PNG, WebP) than this: refused. */
#define IMAGE_META_MAX_PARTS 65536
/* An output is at most this much larger than its input (the new EXIF). */
#define IMAGE_META_GROWTH 64

enum image_meta_rc {
	IMAGE_META_OK = 0,
	IMAGE_META_BAD = -1,   /* not a well-formed file of its type */
	IMAGE_META_LIMIT = -2, /* past IMAGE_META_MAX_PARTS */
	IMAGE_META_NOMEM = -3,
};

struct image_meta_result {
	unsigned char *data; /* malloc'd, the caller frees */
	size_t len;
	int orientation; /* 1..8 as found in the EXIF (1 when none) */
	size_t removed;  /* bytes of metadata dropped */
	char error[160]; /* a human message when rc < 0 */
};

/* 1 when type ("image/jpeg", "image/png", "image/webp") is one stripped. */
int image_meta_handles(const char *type);

/* Rewrites in[0..len) of the given type without its metadata. On success
 * out->data holds the new file; on error out->data is NULL and out->error
 * says why. */
int image_meta_strip(const char *type, const unsigned char *in, size_t len,
                     struct image_meta_result *out);

#endif
