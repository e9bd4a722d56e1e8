/* libFuzzer target: the photo metadata stripper (api/image_meta.c). The
 * first byte picks the format. A result never grows past
 * IMAGE_META_GROWTH, and stripping it again succeeds with the same bytes
 * (nothing the first pass kept is metadata it would drop). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/image_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"image/jpeg", "image/png", "image/webp"};
	if (size < 1)
		return 0;
	const char *type = types[data[0] % 3];
	struct image_meta_result r;
	int rc = image_meta_strip(type, data + 1, size - 1, &r);
	if (rc < 0) {
		if (r.data || !r.error[0])
			abort();
		return 0;
	}
	if (!r.data || r.len > size - 1 + IMAGE_META_GROWTH || r.orientation < 1 ||
	    r.orientation > 8)
		abort();
	struct image_meta_result again;
	if (image_meta_strip(type, r.data, r.len, &again) != IMAGE_META_OK || again.len != r.len ||
	    memcmp(again.data, r.data, r.len) != 0 || again.orientation != r.orientation)
		abort();
	free(again.data);
	free(r.data);
	return 0;
}
