/* A user's own settings: one JSON object in the store (opaque to it),
 * read merged over the defaults, written by patch. Known keys only, each
 * with its type, so a client cannot fill the store with junk:
 *
 *   email_digest (bool, default true): e-mail a digest of the mentions
 *                                      and DMs missed while offline. */
#ifndef PARLEY_USER_SETTINGS_H
#define PARLEY_USER_SETTINGS_H

#include <jansson.h>
#include <stddef.h>

/* settings is borrowed (NULL when rc < 0). */
typedef void (*user_settings_done)(void *ud, int rc, const char *message, json_t *settings);

/* PARLEY_PENDING (done called later, exactly once) or an error. */
int user_settings_get(const char *user_id, user_settings_done done, void *ud);
/* Validates patch (borrowed), merges it into the stored settings and
 * stores them; done gets the result. EINVAL with message for an unknown
 * key or a wrong type, before anything is read. */
int user_settings_set(const char *user_id, json_t *patch, char *err, size_t errlen,
                      user_settings_done done, void *ud);
/* Checks a patch: 0, or -1 with the reason in err. */
int user_settings_check(json_t *patch, char *err, size_t errlen);

#endif
