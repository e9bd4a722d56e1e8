/* libFuzzer target: the link preview head reader (base/html_meta.c). Every
 * field stays within its limit, is valid UTF-8 without control characters
 * (so it can go into a JSON string as it is), and has no leading or
 * trailing space. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/html_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	if (n && (s[0] == ' ' || s[n - 1] == ' '))
		abort();
	json_t *j = json_stringn(s, n); /* NULL on invalid UTF-8 */
	if (!j)
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct html_meta m;
	html_meta_parse((const char *)data, size, &m);
	check(m.title, HTML_META_TITLE_MAX);
	check(m.description, HTML_META_DESC_MAX);
	check(m.image, HTML_META_URL_MAX);
	check(m.site_name, HTML_META_TITLE_MAX);
	return 0;
}
