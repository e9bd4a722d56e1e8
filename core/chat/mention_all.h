/* @here, @room and @all (issue 15): mentions of a whole room. @here reaches
 * the members online when the message is sent, @room and @all (the same)
 * every member. The kind is read from the text, so a message's
 * `mention_all` needs nothing stored beyond its text and mentions. */
#ifndef PARLEY_MENTION_ALL_H
#define PARLEY_MENTION_ALL_H

#include <jansson.h>

struct room;
struct user_rec;

/* "room" when text has @room or @all, else "here" when it has @here, else
 * NULL. Same word rules as @name: not inside an e-mail address, any case,
 * a trailing '.' ends the sentence. */
const char *mention_all_kind(const char *text);

/* 0 when author may mention all of r (limit: limits.mention_all_max
 * members; above it, moderators, owners and admins only), else
 * PARLEY_EFORBIDDEN with the reason in why. */
int mention_all_allowed(const struct room *r, const struct user_rec *author, const char *kind,
                        char *why, size_t whylen);

/* Adds to ids (user ids) the members of r that kind reaches, except the
 * author and those already listed. */
void mention_all_add(json_t *ids, const struct room *r, const struct user_rec *author,
                     const char *kind);

#endif
