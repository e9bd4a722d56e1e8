/* Shared by the API's files: api.c (the router, its route table, answers
 * and request helpers), api_ctx.c (the request context and the access
 * rule), api_session.c (login, register, logout), api_messages.c (history
 * and posting), api_account.c (password, settings, unsubscribe, commands),
 * api_admin.c (users, roles, invites, audit log, bots, scripts), api_oidc.c
 * (browser sign-in through an OpenID Connect provider), uploads.c
 * and downloads.c (files). Not used outside core/api/. */
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

/* ---- routes ------------------------------------------------------------- */

/* Who may call a route. */
enum api_need {
	API_ANYONE = 0, /* no credential checked by the router (the route may) */
	API_USER,       /* an authenticated account; a bot token as its scope says */
	API_ADMIN,      /* an account whose role is admin; never a bot token */
};

/* A route's scope when no bot token may call it (a person's session, or
 * any unscoped credential, only). */
#define API_NO_BOT_TOKEN 0u

struct api_route;
typedef void (*api_handler_fn)(struct http_request *req, const struct api_route *route,
                               const char *id);

/* One row of the router's table (api.c): the only place that says who may
 * call what. tests/integration/test_route_access.py reads the table and
 * walks every row with a minimal bot token. */
struct api_route {
	const char *method;  /* "GET", "HEAD" or "POST" */
	const char *pattern; /* the path; "{id}" is one non-empty segment */
	enum api_need need;
	unsigned scope;    /* scope_action bits a bot token needs, or API_NO_BOT_TOKEN */
	int id_is_room;    /* {id} names a room: a bot token must list it */
	api_handler_fn fn; /* called with {id} (or NULL) once the path matched */
};

/* 1 when path matches pattern, {id} copied into id (size n, "" without
 * one); 0 otherwise, or when the segment does not fit. */
int api_route_match(const char *pattern, const char *path, char *id, size_t n);

/* The access rule of every authenticated route, HTTP's image of the
 * WebSocket path's (chat.c): PARLEY_OK, or PARLEY_EFORBIDDEN /
 * PARLEY_ENOTFOUND with *msg. scope: the credential's (NULL: unscoped);
 * bad_scope: its scope was malformed (it may do nothing); room_id: the room
 * the request is about (NULL: none or not known yet). A room outside a
 * token's list is as unknown to it as a private room to a non-member. */
int api_access(const struct api_route *route, const struct scope *scope, int bad_scope,
               const char *role, const char *room_id, const char **msg);

/* ---- the request context ------------------------------------------------ */

/* An asynchronous request: what it keeps of its HTTP request, found again
 * by connection id when a step finishes. */
struct api_ctx;
typedef void (*api_run_fn)(struct api_ctx *x);

struct api_ctx {
	uint64_t conn_id;
	int tls;
	char client[ORIGIN_MAX]; /* the peer address (audit, throttling) */
	char id[API_ID_MAX];     /* the path parameter, if any */
	const struct api_route *route;
	json_t *body; /* the request body, if any */
	char *token;  /* the caller's credential */
	api_run_fn run;
	/* The caller, once authenticated: who points into the copies. */
	parley_user who;
	char *who_id, *who_name, *who_display, *who_role, *who_email;
	struct scope *scope; /* a bot token's limits */
	/* What the routes keep between steps; each route uses its own. */
	int64_t before, after; /* history and audit paging */
	int limit;
	char *text, *client_id; /* a posted message */
	char *role;             /* an invite's, a role change's */
	char *email;            /* an invite's address */
	char *scopes, *rooms;   /* a bot token's ("read,post", a JSON array) */
	int64_t ttl_s;          /* a bot token's life (0: no expiry) */
	int disable;            /* disable (1) or enable (0) an account */
	/* A disable or demotion waiting its turn (api_admin.c). */
	struct api_ctx *admin_next;
	void (*admin_apply)(struct api_ctx *x);
	int password_change; /* a change by the owner, not a reset */
	json_t *user;        /* an updated user, answered after its sessions went */
	char *invite_token;  /* a new invite, kept while it is e-mailed */
	char *invite_link;
	char *inviter;
	int64_t invite_expires;
	unsigned char *upload; /* an avatar picture, until the worker takes it */
	size_t upload_len;
	int avatar_remove; /* DELETE /api/profile/avatar */
	int cache_long;    /* an avatar asked for by version */
	/* The audit log's filters (api_audit.c) and what they found so far. */
	char *audit_actor, *audit_action; /* a user id; an action prefix */
	int64_t audit_since, audit_until; /* ms; 0: no bound */
	json_t *audit_found;
	int audit_pages;
	int audit_more;        /* the answer's more, while its actors are looked up */
	int authors_looked_up; /* GET /api/search: from/from: read from the store once */
};

/* A context for req under route (copies the client address and id); NULL
 * and 500 answered without memory. body is taken. */
struct api_ctx *api_ctx_new(struct http_request *req, const struct api_route *route, api_run_fn run,
                            const char *id, json_t *body);
void api_ctx_free(struct api_ctx *x);
/* The request again, or NULL when its connection closed. */
struct http_request *api_ctx_req(struct api_ctx *x);
/* Runs x->run now (API_ANYONE) or after authenticating the caller and
 * checking the route's rule (api_access). x is taken. */
void api_ctx_start(struct http_request *req, struct api_ctx *x);
/* Answer (if the request is still there) and free x. */
void api_ctx_json(struct api_ctx *x, int status, json_t *j);
void api_ctx_fail(struct api_ctx *x, int rc, const char *msg, int64_t retry_after_ms);
/* The store, or NULL after answering 503 and freeing x. */
const parley_store_vtable *api_ctx_store(struct api_ctx *x, void **self);

/* Writes one audit entry by actor_id (NULL: the caller of x) from x's
 * client (detail is taken); a failure is logged, never answered: the action
 * itself happened. */
void api_audit(const struct api_ctx *x, const char *actor_id, const char *action,
               const char *target, json_t *detail);

/* ---- handlers (the table's fn) ------------------------------------------ */

/* api_session.c */
void api_login(struct http_request *req, const struct api_route *r, const char *id);
void api_register(struct http_request *req, const struct api_route *r, const char *id);
void api_logout(struct http_request *req, const struct api_route *r, const char *id);
/* api_oidc.c */
void api_oidc_login(struct http_request *req, const struct api_route *r, const char *id);
void api_oidc_callback(struct http_request *req, const struct api_route *r, const char *id);
void api_auth_methods(struct http_request *req, const struct api_route *r, const char *id);
/* api_messages.c */
void api_history(struct http_request *req, const struct api_route *r, const char *room_id);
void api_post(struct http_request *req, const struct api_route *r, const char *room_id);
/* api_account.c */
void api_password_forgot(struct http_request *req, const struct api_route *r, const char *id);
void api_password_reset(struct http_request *req, const struct api_route *r, const char *id);
void api_password_change(struct http_request *req, const struct api_route *r, const char *id);
void api_settings(struct http_request *req, const struct api_route *r, const char *id);
/* api_profile.c */
void api_profile(struct http_request *req, const struct api_route *r, const char *id);
void api_user_profile(struct http_request *req, const struct api_route *r, const char *user_id);
void api_admin_profile(struct http_request *req, const struct api_route *r, const char *user_id);
/* api_avatar.c */
void api_avatar_upload(struct http_request *req, const struct api_route *r, const char *id);
void api_avatar(struct http_request *req, const struct api_route *r, const char *user_id);
void api_unsubscribe(struct http_request *req, const struct api_route *r, const char *id);
void api_commands(struct http_request *req, const struct api_route *r, const char *id);
/* api_admin.c */
void api_admin_users(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_disable(struct http_request *req, const struct api_route *r, const char *user_id);
void api_admin_enable(struct http_request *req, const struct api_route *r, const char *user_id);
void api_admin_role(struct http_request *req, const struct api_route *r, const char *user_id);
void api_admin_invite(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_invites(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_invite_revoke(struct http_request *req, const struct api_route *r,
                             const char *invite_id);
void api_admin_audit(struct http_request *req, const struct api_route *r, const char *id);
/* api_export.c */
void api_admin_export(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_bot_create(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_bot_token(struct http_request *req, const struct api_route *r, const char *bot_id);
void api_admin_bot_revoke(struct http_request *req, const struct api_route *r, const char *bot_id);
void api_admin_scripts(struct http_request *req, const struct api_route *r, const char *id);
void api_admin_scripts_reload(struct http_request *req, const struct api_route *r, const char *id);
/* uploads.c, downloads.c */
void api_upload(struct http_request *req, const struct api_route *r, const char *id);
void api_download(struct http_request *req, const struct api_route *r, const char *upload_id);
/* api_search.c */
void api_search(struct http_request *req, const struct api_route *r, const char *id);

#endif
