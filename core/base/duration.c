/* Duration strings: digits, then at most one unit letter. */
#include "base/duration.h"

#include <limits.h>
#include <stddef.h>

long long duration_parse(const char *s)
{
	long long v = 0, unit = 1;
	const char *p = s;
	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0':
		return v;
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 604800;
		break;
	default:
		return -1;
	}
	if (p[1] != '\0' || v > LLONG_MAX / unit)
		return -1;
	return v * unit;
}
