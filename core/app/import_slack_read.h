/* Reading a Slack export's files within limits (import_slack.h): one JSON
 * file by its size and nesting before it is parsed, and a conversation's
 * day files in date order. Errors name the file. */
#ifndef PARLEY_IMPORT_SLACK_READ_H
#define PARLEY_IMPORT_SLACK_READ_H

#include <stddef.h>

#include <jansson.h>

/* The JSON array in dir/rel, of at most max_entries entries. NULL after
 * saying why; *absent set (and nothing said) when the file is not there
 * and absent is not NULL. */
json_t *slack_read_array(const char *dir, const char *rel, size_t max_bytes, size_t max_entries,
                         int *absent);

/* The names of dir/sub's "*.json" files, sorted (Slack names them by
 * date: YYYY-MM-DD.json), as a JSON array of strings; an empty array when
 * the folder is absent. NULL after saying why. */
json_t *slack_day_files(const char *dir, const char *sub, size_t max_files);

/* 1 when s (a folder name from a list file) can name a folder of the
 * export: 1-255 bytes, no '/', not "." or "..". */
int slack_folder_name_ok(const char *s);

#endif
