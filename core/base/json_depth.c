/* Recursive, but never deeper than max_depth + 1 frames: the walk turns
 * back at the first level over the limit. */
#include "base/json_depth.h"

static int within(const json_t *j, int depth, int max_depth)
{
	if (depth > max_depth)
		return 0;
	const char *k;
	size_t i;
	json_t *v;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
		{
			(void)k;
			if (!within(v, depth + 1, max_depth))
				return 0;
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			if (!within(v, depth + 1, max_depth))
				return 0;
		}
	}
	return 1;
}

int json_depth_ok(const json_t *j, int max_depth)
{
	return within(j, 0, max_depth);
}
