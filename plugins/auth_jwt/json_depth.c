#include "json_depth.h"

int json_depth_within(const char *s, size_t n, int max)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				return 0;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return 1;
}
