#include "ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ids_parse(const char *s, const char *prefix, int64_t *out)
{
	size_t n = strlen(prefix);
	if (!s || strncmp(s, prefix, n) != 0 || s[n] != '_' || s[n + 1] < '1' || s[n + 1] > '9')
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s + n + 1, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	*out = v;
	return 1;
}
