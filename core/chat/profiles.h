/* Profiles: what people say about themselves beside their name —
 * display_name (the account's own field), pronouns (or a title line), tz
 * (an IANA zone) and status ({text, expires}). display_name lives on the
 * account; the rest is one JSON object per user in the store's key-value
 * space (owner PROFILES_KV_OWNER), so every store that has kv has
 * profiles. A change goes to every online person as
 * {"type":"profile","profile":{…}}. */
#ifndef PARLEY_PROFILES_H
#define PARLEY_PROFILES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sbuf.h"

#define PROFILES_KV_OWNER       "@profiles" /* no script is named with '@' */
#define AVATARS_KV_OWNER        "@avatars"  /* base64 JPEG per user id */
#define PROFILE_NAME_MAX        64          /* code points of display_name */
#define PROFILE_PRONOUNS_MAX    40
#define PROFILE_TZ_MAX          64 /* bytes */
#define PROFILE_STATUS_TEXT_MAX 100

/* profile is borrowed (NULL when rc < 0): {id, name, display_name,
 * pronouns, tz, status, avatar}. */
typedef void (*profile_done)(void *ud, int rc, const char *message, json_t *profile);

/* Checks a patch: 0, or -1 with the reason in err. Known keys only. */
int profile_check(json_t *patch, char *err, size_t errlen);
/* PARLEY_PENDING (done called later, exactly once) or an error. */
int profile_get(const char *user_id, profile_done done, void *ud);
/* Validates and applies patch (borrowed) to user_id's profile, then tells
 * everyone online. */
int profile_set(const char *user_id, json_t *patch, char *err, size_t errlen, profile_done done,
                void *ud);

/* Records a new avatar version (0: none, the initials are drawn) and tells
 * everyone, like profile_set. */
int profile_avatar_set(const char *user_id, int64_t version, profile_done done, void *ud);

/* A profile event about user_id (from another node) to every session here
 * that can see the person (chat_directory_visible). */
void profiles_tell_local(const char *user_id, sbuf *frame);

#endif
