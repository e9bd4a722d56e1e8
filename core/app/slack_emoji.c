/* The table behind slack_emoji (see slack_emoji.h): the picker's sixteen
 * emoji by every name Slack gives them. */
#include "app/slack_emoji.h"

#include <string.h>

static const struct {
	const char *name, *emoji;
} TABLE[] = {
    {"+1", "👍"},
    {"thumbsup", "👍"},
    {"-1", "👎"},
    {"thumbsdown", "👎"},
    {"smile", "😄"},
    {"tada", "🎉"},
    {"heart", "❤️"},
    {"pray", "🙏"},
    {"eyes", "👀"},
    {"rocket", "🚀"},
    {"thinking_face", "🤔"},
    {"cry", "😢"},
    {"white_check_mark", "✅"},
    {"x", "❌"},
    {"fire", "🔥"},
    {"100", "💯"},
    {"clap", "👏"},
    {"open_mouth", "😮"},
};

const char *slack_emoji(const char *name, size_t n)
{
	/* "+1::skin-tone-3": the picker has one tone, the base emoji. */
	for (size_t i = 0; i + 1 < n; i++)
		if (name[i] == ':' && name[i + 1] == ':') {
			n = i;
			break;
		}
	for (size_t i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
		if (strlen(TABLE[i].name) == n && memcmp(TABLE[i].name, name, n) == 0)
			return TABLE[i].emoji;
	return NULL;
}
