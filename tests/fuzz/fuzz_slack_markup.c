/* libFuzzer target: the Slack import's markup converter
 * (core/app/slack_markup.c). It must end, stay within twice its input
 * (no names given), and leave text without markup bytes as it was. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/slack_markup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SLACK_MARKUP_IN_MAX)
		return 0;
	char *out = slack_markup_convert((const char *)data, size, NULL);
	if (!out)
		abort(); /* within the limit, only out of memory may fail */
	size_t len = strlen(out);
	if (len > 2 * size)
		abort();
	int plain = 1;
	for (size_t i = 0; i < size && plain; i++)
		plain = !memchr("<>&*~:`", data[i], 7) && data[i] != 0;
	if (plain && (len != size || memcmp(out, data, size) != 0))
		abort();
	free(out);
	return 0;
}
