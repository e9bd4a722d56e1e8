/* Bounded reading of a Slack export's files (see import_slack_read.h). */
#include "app/import_slack_read.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/import_internal.h"
#include "app/import_slack.h"

#define SLACK_PATH 4096

/* The deepest nesting of [ and { outside strings; stops counting past max. */
static int depth_over(const char *s, size_t n, int max)
{
	int depth = 0, in_string = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

json_t *slack_read_array(const char *dir, const char *rel, size_t max_bytes, size_t max_entries,
                         int *absent)
{
	char path[SLACK_PATH];
	struct stat sb;
	if (absent)
		*absent = 0;
	if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path) {
		import_fail("%s: the path is too long", rel);
		return NULL;
	}
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT && absent) {
			*absent = 1;
			return NULL;
		}
		import_fail("%s: %s", rel, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > max_bytes) {
		import_fail("%s: %s (at most %zu MiB)", rel,
		            S_ISREG(sb.st_mode) ? "too large" : "not a file", max_bytes >> 20);
		return NULL;
	}
	FILE *f = fopen(path, "rb");
	char *buf = f ? malloc((size_t)sb.st_size + 1) : NULL;
	size_t got = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
	if (f)
		fclose(f);
	if (!buf || got != (size_t)sb.st_size) {
		import_fail("%s: %s", rel, buf ? "cannot be read whole" : strerror(errno));
		free(buf);
		return NULL;
	}
	if (depth_over(buf, got, SLACK_JSON_DEPTH_MAX)) {
		import_fail("%s: JSON nested deeper than %d levels", rel, SLACK_JSON_DEPTH_MAX);
		free(buf);
		return NULL;
	}
	json_error_t je;
	json_t *v = json_loadb(buf, got, 0, &je);
	free(buf);
	if (!v) {
		import_fail("%s: line %d: %s", rel, je.line, je.text);
		return NULL;
	}
	if (!json_is_array(v) || json_array_size(v) > max_entries) {
		import_fail("%s: %s", rel,
		            json_is_array(v) ? "too many entries"
		                             : "not a JSON array (a Slack export's "
		                               "files are arrays)");
		json_decref(v);
		return NULL;
	}
	return v;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

json_t *slack_day_files(const char *dir, const char *sub, size_t max_files)
{
	char path[SLACK_PATH];
	if (snprintf(path, sizeof path, "%s/%s", dir, sub) >= (int)sizeof path) {
		import_fail("%s: the path is too long", sub);
		return NULL;
	}
	json_t *names = json_array();
	DIR *d = opendir(path);
	if (!d)
		return names; /* a conversation without messages has no folder */
	struct dirent *e;
	while (names && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		if (json_array_size(names) >= max_files) {
			import_fail("%s: more than %zu day files", sub, max_files);
			json_decref(names);
			names = NULL;
			break;
		}
		json_array_append_new(names, json_string(e->d_name));
	}
	closedir(d);
	if (!names)
		return NULL;
	/* Sort through a plain array: jansson has no sort. */
	size_t n = json_array_size(names);
	json_t **v = malloc((n ? n : 1) * sizeof *v);
	if (!v) {
		json_decref(names);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(names, i));
	qsort(v, n, sizeof *v, by_name);
	json_array_clear(names);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, v[i]);
	free(v);
	return names;
}

int slack_folder_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 255 && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}
