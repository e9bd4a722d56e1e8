/* Avatars from uploaded pictures: a JPEG, PNG or WebP is decoded, turned
 * upright (JPEG EXIF orientation), cropped to its centre square, scaled to
 * AVATAR_SIZE² and encoded as a new JPEG. Nothing of the original file
 * survives but pixels: no metadata, no script, no second image. Runs on a
 * worker thread (pure: no loop, no globals). */
#ifndef PARLEY_AVATAR_IMAGE_H
#define PARLEY_AVATAR_IMAGE_H

#include <stddef.h>

#define AVATAR_SIZE       256
#define AVATAR_MAX_SIDE   16384            /* pixels, either side */
#define AVATAR_MAX_PIXELS (40u * 1000000u) /* decoded width × height */
#define AVATAR_QUALITY    85

enum avatar_rc {
	AVATAR_OK = 0,
	AVATAR_BAD = -1,   /* not a picture of a known type, or damaged */
	AVATAR_LIMIT = -2, /* too many pixels */
	AVATAR_NOMEM = -3,
};

struct avatar_result {
	unsigned char *data; /* malloc'd JPEG; the caller frees */
	size_t len;
	char error[160]; /* a human message when rc < 0 */
};

int avatar_image_make(const unsigned char *in, size_t len, struct avatar_result *out);

#endif
