/* Shared by the API's files: api.c (router, login, messages, the first
 * admin routes), api_ctx.c (the asynchronous request context), api_account.c
 * (password reset and change, settings, unsubscribe), api_admin.c (roles,
 * invites, audit log, bots). Not used outside core/api*.c. */
#ifndef PARLEY_API_INTERNAL_H
#define PARLEY_API_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "net/origin.h"

struct http_request;
struct scope;

#define API_ID_MAX 128 /* a room or user id in a path */

/* Answers. api_json takes the reference of j. */
void api_log(const struct http_request *req, int status);
void api_json(struct http_request *req, int status, const char *extra, json_t *j);
void api_error(struct http_request *req, int status, const char *code, const char *msg);
/* An rc from a provider, the store or chat, as PROTOCOL.md's status and code. */
void api_fail(struct http_request *req, int rc, const char *msg, int64_t retry_after_ms);
json_t *api_user_brief(const parley_user *u);
json_t *api_user_full(const parley_user *u);

/* Requests. Each answers 400 itself on failure. */
json_t *api_body(struct http_request *req); /* a JSON object or NULL */
int api_body_str(struct http_request *req, json_t *o, const char *key, int required,
                 const char **out);
int api_query_int(struct http_request *req, const char *key, int64_t lo, int64_t hi, int64_t *out);
int api_is_post(const struct http_request *req);
/* The caller's token (malloc'ed), or NULL after answering 401/403. */
char *api_request_token(struct http_request *req);

/* An asynchronous request of the newer routes: what it keeps of its HTTP
 * request, found again by connection id when a step finishes. */
struct api_ctx;
typedef void (*api_run_fn)(struct api_ctx *x);

enum api_need { API_ANYONE = 0, API_USER, API_PERSON, API_ADMIN };

struct api_ctx {
	uint64_t conn_id;
	int tls;
	char client[ORIGIN_MAX]; /* the peer address (audit, throttling) */
	char id[API_ID_MAX];     /* the path parameter, if any */
	json_t *body;            /* the request body, if any */
	char *token;             /* the caller's credential */
	api_run_fn run;
	enum api_need need;
	/* The caller, once authenticated. */
	parley_user who;
	char *who_id, *who_name, *who_role;
	struct scope *scope; /* a bot token's limits */
	/* Scratch for the route. */
	json_t *out;
	char *s1, *s2;
	int64_t n1;
};

/* A context for req (copies the client address and id); NULL and 500
 * answered without memory. body is taken. */
struct api_ctx *api_ctx_new(struct http_request *req, api_run_fn run, enum api_need need,
                            const char *id, json_t *body);
void api_ctx_free(struct api_ctx *x);
/* The request again, or NULL when its connection closed. */
struct http_request *api_ctx_req(struct api_ctx *x);
/* Runs x->run now (API_ANYONE) or after authenticating the caller and
 * checking need (API_PERSON: no scoped token; API_ADMIN: role admin). x is
 * taken. */
void api_ctx_start(struct http_request *req, struct api_ctx *x);
/* Answer (if the request is still there) and free x. */
void api_ctx_json(struct api_ctx *x, int status, json_t *j);
void api_ctx_fail(struct api_ctx *x, int rc, const char *msg, int64_t retry_after_ms);
/* The store, or NULL after answering 503 and freeing x. */
const parley_store_vtable *api_ctx_store(struct api_ctx *x, void **self);

/* Writes one audit entry for the caller of x (detail is taken); a failure
 * is logged, never answered: the action itself happened. */
void api_audit(const struct api_ctx *x, const char *action, const char *target, json_t *detail);
/* The same for routes still on api.c's own call records. */
void api_audit_as(const char *actor_id, const char *client, const char *action, const char *target,
                  json_t *detail);

/* Routes (api_account.c, api_admin.c): each returns 1 when it took path. */
int api_account_route(struct http_request *req, const char *path);
int api_admin_route(struct http_request *req, const char *path);
int api_search_route(struct http_request *req, const char *path); /* api_search.c */
/* GET /api/admin/invites (api.c routes the POST). */
void api_admin_invites_list(struct http_request *req);

#endif
