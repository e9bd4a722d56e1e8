/* libFuzzer target: uploads_s3's reader of S3's XML answers (error codes,
 * UploadId), over arbitrary bodies: the text of each element it looks for,
 * into buffers of a few sizes, must stay in bounds and NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = {"Code", "Message", "UploadId", "ETag", ""};
	static const size_t sizes[] = {1, 8, 64, 512};
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			char *out = malloc(sizes[k]);
			if (out && s3_xml_text(copy, size, tags[t], out, sizes[k]) == 0 &&
			    strlen(out) >= sizes[k])
				abort();
			free(out);
		}
	}
	free(copy);
	return 0;
}
