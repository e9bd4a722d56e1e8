/* libFuzzer target: the headers of file transfers and the type sniffer.
 * The input is cut at its first NUL: the head is a Range header and an
 * X-Filename value (split at the first newline), the whole input is also
 * sniffed; the decoded name goes through the Content-Disposition builder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/sniff.h"
#include "api/upload_headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sniff_type(data, size < SNIFF_BYTES ? size : SNIFF_BYTES);
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = strchr(text, '\n');
	const char *name = "";
	if (nl) {
		*nl = '\0';
		name = nl + 1;
	}
	int64_t first, last;
	int64_t sizes[] = {0, 1, 100, INT64_MAX / 2};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		if (range_parse(text, sizes[i], &first, &last) == RANGE_OK &&
		    (first < 0 || last < first || last >= sizes[i]))
			abort();
	}
	char *decoded = upload_filename_decode(name);
	if (decoded) {
		char disp[64 + UPLOAD_NAME_MAX * 4];
		if (strlen(decoded) > UPLOAD_NAME_MAX ||
		    upload_content_disposition(disp, sizeof disp, 0, decoded) != 0 ||
		    strpbrk(disp, "\r\n"))
			abort();
		free(decoded);
	}
	free(text);
	return 0;
}
