/* libFuzzer target: avatar pictures (api/avatar_image.c) — the format
 * sniffing, the decoders' error paths, the orientation and the crop. An
 * accepted picture always becomes a JPEG; a refused one says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/avatar_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct avatar_result r;
	int rc = avatar_image_make(data, size, &r);
	if (rc < 0) {
		if (r.data || !r.error[0])
			abort();
		return 0;
	}
	if (!r.data || r.len < 4 || r.data[0] != 0xFF || r.data[1] != 0xD8)
		abort();
	free(r.data);
	return 0;
}
