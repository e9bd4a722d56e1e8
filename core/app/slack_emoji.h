/* Slack emoji names -> the emoji the web client's picker offers
 * (web/js/emoji.js), for reactions and :name: in text imported from Slack.
 * Names outside the table stay ":name:". */
#ifndef PARLEY_SLACK_EMOJI_H
#define PARLEY_SLACK_EMOJI_H

#include <stddef.h>

/* The emoji (UTF-8) of the n bytes at name (without colons; a skin tone
 * suffix "::skin-tone-N" is dropped), or NULL when it is not in the table. */
const char *slack_emoji(const char *name, size_t n);

#endif
