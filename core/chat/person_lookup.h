/* Requests that name people by id or name: a person this node has not met
 * (an account made by the CLI, or seen only by another node) is read from
 * the store before the request runs, so every node answers such a request
 * the same. A person in the cache costs no store call. Loop thread only. */
#ifndef PARLEY_CHAT_PERSON_LOOKUP_H
#define PARLEY_CHAT_PERSON_LOOKUP_H

#include <stddef.h>

#include <jansson.h>

struct client;

/* At most this many unknown people are looked up for one request (a group
 * DM's hard bound plus its "user"); the request itself refuses more. */
#define PERSON_LOOKUP_MAX 65

/* Looks up each of names[0..n) (ids or names, a leading @ ignored) that
 * the cache lacks; the store's answers go into the cache (chat_user_find).
 * 0 when none was missing: then does not run, the caller goes on now. 1
 * when then(ud) runs once all have answered (found or not). The names
 * are copied. */
int person_lookup_each(const char *const *names, size_t n, void (*then)(void *ud), void *ud);

typedef void (*person_req_fn)(struct client *cl, json_t *req, json_t *rid);

/* Runs fn(cl, req, rid) once the people named[0..n) are looked up: now
 * when the cache has them all, else after the store answered, if the
 * session is still signed in (req and rid are kept meanwhile). fn finds
 * them in the cache, or answers not_found as it always did. */
void person_lookup_names(struct client *cl, json_t *req, json_t *rid, const char *const *names,
                         size_t n, person_req_fn fn);

/* The same for the people req names in "user" (a string) and "users" (an
 * array of strings). */
void person_lookup_then(struct client *cl, json_t *req, json_t *rid, person_req_fn fn);

#endif
