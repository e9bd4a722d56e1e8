/* Slack message markup ("mrkdwn" as a Slack export stores it) to parley's
 * text: <@U1> -> @name, <#C1|name> -> #name, <!here>/<!channel>/
 * <!everyone> -> @here/@room/@all, <https://x|label> -> "label (https://x)",
 * <!date^…|fallback> and <!subteam^…|@team> -> their fallback text,
 * &amp;/&lt;/&gt; decoded, *bold* -> **bold**, ~struck~ -> ~~struck~~
 * (not inside code), :name: -> the emoji where slack_emoji has it.
 * _italic_, `code`, ``` blocks and "> " quotes are the same in both.
 * Pure (no store, no globals): fuzzed by tests/fuzz/fuzz_slack_markup.c. */
#ifndef PARLEY_SLACK_MARKUP_H
#define PARLEY_SLACK_MARKUP_H

#include <stddef.h>

#define SLACK_MARKUP_IN_MAX    (256 * 1024) /* bytes of one Slack text */
#define SLACK_MARKUP_TOKEN_MAX 2048         /* bytes between < and > */

/* How ids become names; either function may be NULL, and either may
 * return NULL for an id it does not know (the label, else the id, is
 * used). user() sees every <@U…> of the text, so it can note mentions. */
struct slack_names {
	const char *(*user)(void *ud, const char *id, size_t n);
	const char *(*channel)(void *ud, const char *id, size_t n);
	void *ud;
};

/* The converted text (malloc'd, NUL-terminated; at most twice n bytes
 * plus what names add), or NULL when out of memory or n is more than
 * SLACK_MARKUP_IN_MAX. names may be NULL. */
char *slack_markup_convert(const char *in, size_t n, const struct slack_names *names);

#endif
