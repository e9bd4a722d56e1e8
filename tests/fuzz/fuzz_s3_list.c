/* libFuzzer target: uploads_s3's reader of ListObjectsV2 answers (backups
 * list their objects, issue 17), over arbitrary bodies: every object it
 * reports has a key within S3's 1024 bytes and a size that is a count,
 * never more objects than the page allows, and a truncated page always
 * has its continuation token. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t n;
};

static int on_object(void *ud, const char *key, int64_t size, int64_t mtime_ms)
{
	struct seen *s = ud;
	if (!key[0] || strlen(key) > S3_KEY_MAX || size < 0 || mtime_ms < 0)
		abort();
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t pages[] = {1, 2, 1000};
	char err[256];
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		struct seen s = {0};
		struct s3_list_page page;
		int rc = s3_list_parse((const char *)data, size, pages[i], on_object, &s, &page,
		                       err, sizeof err);
		if (s.n > pages[i] || (rc == 0 && page.n != s.n) ||
		    (rc == 0 && page.truncated && !page.next_token[0]) ||
		    strlen(page.next_token) >= sizeof page.next_token || (rc < 0 && !err[0]))
			abort();
	}
	return 0;
}
