/* auth_local's shared state and its request object. Private to the plugin:
 * the server sees only the parley_auth_vtable.
 *
 * Every vtable call allocates one request, answers PARLEY_PENDING and walks
 * a chain of store calls and worker jobs; each step's callback starts the
 * next one, and the last one calls the caller's done() exactly once and
 * frees the request. Errors found before any asynchronous step are still
 * delivered through done() (by host->post), never from inside the call. */
#ifndef AUTH_LOCAL_H
#define AUTH_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "password.h"
#include "throttle.h"
#include "tokens.h"

#define AL_NAME_MAX              32
#define AL_MSG_MAX               160
#define AL_TTL_MAX_S             (10LL * 366 * 24 * 3600) /* session and invite lifetimes */
#define AL_EMAIL_MAX             254
#define AL_LOG_NAME_MAX          64   /* how much of a claimed user name a log line shows */
#define AL_FIRST_START_RETRY_MIN 1.0  /* s: first retry of the start-up users listing */
#define AL_FIRST_START_RETRY_MAX 10.0 /* s: the longest wait between retries */
#define AL_FIRST_START_BACKOFF   2.0
#define AL_PORT_WAIT             0.05 /* s between looks at a port-0 listener's bound port */
#define AL_PORT_WAITS            200  /* then the link is printed as it is */

enum al_registration { AL_REG_INVITE = 0, AL_REG_OPEN, AL_REG_CLOSED };

struct al_config {
	int registration; /* enum al_registration */
	int64_t min_password;
	int64_t session_ttl_s;
	int64_t invite_ttl_s;
	struct pw_params argon2;
	int64_t max_failures;
	int64_t window_s;
	int64_t max_keys; /* throttle entries kept in memory */
	int64_t reset_ttl_s;
};

/* A store call appended to the vtable after ABI 1 shipped: present only
 * when the store is that new. */
#define AL_STORE_HAS(st, m)                                                                        \
	((st)->struct_size >= offsetof(parley_store_vtable, m) + sizeof((st)->m) && (st)->m)

struct al_req;
struct al_shared;

#define AL_SHARED_KEYS     2 /* a login's: the account and the address */
#define AL_SHARED_NAME_MAX (THROTTLE_KEY_MAX + 8)

struct al {
	const parley_host *host;
	parley_ctx *ctx;
	struct al_config cfg;
	struct pw_ctx pw;
	struct throttle *throttle;
	struct al_req *live;      /* requests in flight, freed at fini */
	double first_start_retry; /* s before the next users listing; 0: none failed */
	int port_waits;           /* first start: turns waited for the bound port */
	int shared_in_flight;     /* shared.c: failures not yet counted by the store */
	unsigned shared_gen;      /* shared.c: failures sent or counted so far */
	struct al_shared *shared; /* shared.c: what its store calls hold */
};

/* An owned copy of a store user. */
struct al_user {
	char *id, *name, *display_name, *role, *email, *password_hash;
	int disabled;
	int64_t created_ts;
};

struct al_req {
	struct al *al;
	struct al_req *prev, *next;
	parley_auth_done done; /* NULL for the plugin's own background work */
	void *ud;
	/* The call's arguments, copied; password is wiped before it is freed. */
	char *name, *password, *email, *role, *created_by, *client, *invite;
	char *new_password;        /* password_change */
	char *scopes, *rooms_json; /* a bot token's limits */
	struct al_user user;
	int have_user;
	char token[TOKEN_CHARS + 1];
	char token_hash[TOKEN_HASH_HEX + 1];
	char *link;
	int64_t ttl_ms; /* session to create; 0: session_ttl */
	int64_t expires_ts;
	int64_t retry_after_ms;
	int in_worker;    /* a pw job is queued: fini must not free it */
	int want_session; /* register: log the new account in */
	int spend_reset;  /* reset: token_hash is the link's, spent after the hash */
	/* shared.c: the throttle keys whose counts are being read */
	char shared_keys[AL_SHARED_KEYS][THROTTLE_KEY_MAX + 1];
	int shared_next;
	unsigned shared_gen; /* al->shared_gen when the read was sent */
	void (*shared_then)(struct al_req *req);
	int rc;
	const char *message; /* static text or msg */
	char msg[AL_MSG_MAX];
	struct pw_job job;
};

/* request.c */
struct al_req *req_new(struct al *al, parley_auth_done done, void *ud);
/* Copies s (NULL stays NULL) into *dst; PARLEY_OK or ENOMEM. */
int req_dup(struct al_req *req, char **dst, const char *s);
/* Calls done with rc (and the user, token, link gathered so far) and frees req. */
void req_finish(struct al_req *req, int rc, const char *message);
/* Delivers rc and message from the next loop iteration; returns PENDING. */
int req_fail(struct al_req *req, int rc, const char *message);
/* Frees req without calling done (fini). */
void req_free(struct al_req *req);
/* Copies a store user into req->user; PARLEY_OK or ENOMEM. */
int req_take_user(struct al_req *req, const parley_user *u);
/* The store, or NULL when none is up yet. */
const parley_store_vtable *al_store(struct al *al, void **self);
/* A store error as this plugin reports it: ENOTFOUND, ECONFLICT and
 * ESTORAGE (retry later) as they are, anything else EUNAVAIL (the store is
 * the problem, not the caller). */
int al_store_rc(int rc);

/* session.c: the session part of the vtable, and the last step of login,
 * register and session_new: a token for req->user, then OK. */
void session_start(struct al_req *req);
int al_authenticate(void *self, const char *token, parley_auth_done done, void *ud);
int al_logout(void *self, const char *token, parley_auth_done done, void *ud);
int al_session_new(void *self, const char *name, int64_t ttl_s, parley_auth_done done, void *ud);

/* reset.c: password reset by e-mail and password change. */
int al_password_forgot(void *self, const char *email, const char *client, parley_auth_done done,
                       void *ud);
int al_password_reset(void *self, const char *token, const char *password, parley_auth_done done,
                      void *ud);
int al_password_change(void *self, const char *user_id, const char *keep_token,
                       const char *old_password, const char *new_password, parley_auth_done done,
                       void *ud);

/* bot_token.c */
int al_bot_token_new(void *self, const char *user_id, const char *scopes, const char *rooms_json,
                     int64_t ttl_s, parley_auth_done done, void *ud);
/* NULL when scopes is a valid comma list of read, post, react, moderate;
 * else why not. */
const char *al_scopes_problem(const char *scopes);

/* login.c: the throttle keys, shared with password change, reset and
 * register. A client is counted by address, and by network (/24, /64)
 * once the table is under pressure; its wait is the longer of the two. */
void al_account_key(const char *name, char *out);
int64_t al_client_wait(struct al *al, const char *client, int64_t now);
void al_client_fail(struct al *al, const char *client, int64_t now);

/* shared.c: the throttle's counts in the store too (counter_add), so
 * every node's failures count together. al_shared_fail: throttle_fail
 * (its result), and +1 in the store (its total then raises the table). al_shared_reset:
 * throttle_reset, and the store's count dropped. al_shared_refresh: reads
 * the store's counts of key1 and key2 (either may be NULL) into the table
 * and then calls then(req); 0 without such a store (then is not called). */
int al_shared_fail(struct al *al, const char *key, int64_t now);
void al_shared_reset(struct al *al, const char *key);
/* At fini: answers still on their way find the plugin gone. */
void al_shared_fini(struct al *al);
int al_shared_refresh(struct al_req *req, const char *key1, const char *key2,
                      void (*then)(struct al_req *req));

/* login.c */
int al_login(void *self, const char *username, const char *password, const char *client,
             parley_auth_done done, void *ud);

/* account.c: accounts and invites. */
int al_register_user(void *self, const char *invite, const char *username, const char *password,
                     const char *email, parley_auth_done done, void *ud);
int al_register_from(void *self, const char *invite, const char *username, const char *password,
                     const char *email, const char *client, parley_auth_done done, void *ud);
int al_user_add(void *self, const char *name, const char *role, const char *email,
                const char *password, parley_auth_done done, void *ud);
int al_invite_create(void *self, const char *role, const char *email, const char *created_by,
                     parley_auth_done done, void *ud);
/* NULL when name is a valid user name, else why not (for a person). */
const char *al_name_problem(const char *name);
/* 1 for admin, member, bot. */
int al_role_valid(const char *role);

#endif
