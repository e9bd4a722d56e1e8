/* Sign-in flows in the host's store, owner "oidc_flow", key = the state,
 * value = "1 <expires_ms> <binding> <nonce> <verifier>" (the fields are
 * base64url: no spaces). So the provider's callback may reach any node.
 *
 * Single use across nodes: a flow is spent by the kv_delete that removes
 * it (value 1), which only one caller gets in either store (SQLite: one
 * writer; MongoDB: deleteOne). The kv has no expiry of its own: the value
 * carries expires_ms and finish refuses a late flow; every finish deletes
 * its flow whatever the outcome; the node that began a flow deletes the
 * store's copy when it drops the flow from its table unfinished. Writes
 * are capped (kv_put_capped), so strangers starting sign-ins cannot fill
 * the store: at the cap, begin answers "too many sign-ins", as the
 * node's own table does. Flows of a node that stopped before they
 * expired have no node left to remove them: reaching the cap starts a
 * sweep (records_read of kind kv, page by page) that removes the expired
 * ones, so the cap only holds flows that can still finish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_jwt.h"
#include "oidc_store.h"

#define OWNER           "oidc_flow"
#define VALUE_VERSION   "1"
#define VALUE_MAX       192 /* "1 <ms> " and three fields of OIDC_RAND_CHARS - 1 */
#define STORE_MAX_FLOWS 4096
#define STORE_MAX_BYTES ((int64_t)STORE_MAX_FLOWS * (OIDC_RAND_CHARS + VALUE_MAX))
#define FIELD_CHARS     (OIDC_RAND_CHARS - 1)
#define SWEEP_PAGE      500
#define SWEEP_EVERY_MS  60000 /* at most one sweep a minute per node */

/* One call on its way; holds the plugin's state (counted in
 * aj->n_store_calls, so the state outlives it). */
struct store_call {
	struct aj *aj;
	oidc_store_done done;
	void *ud;
	struct oidc_flow flow;
	int have_flow;
};

static const parley_store_vtable *store_of(struct aj *aj, void **self)
{
	*self = NULL;
	return aj->host->store ? aj->host->store(aj->ctx, self) : NULL;
}

int oidc_store_used(struct aj *aj)
{
	void *self;
	const parley_store_vtable *st = store_of(aj, &self);

	return PARLEY_HAS(parley_store_vtable, st, kv_get) &&
	       PARLEY_HAS(parley_store_vtable, st, kv_delete) &&
	       PARLEY_HAS(parley_store_vtable, st, kv_put_capped);
}

static struct store_call *call_new(struct aj *aj, oidc_store_done done, void *ud)
{
	struct store_call *c = aj->host->calloc(aj->ctx, 1, sizeof *c);

	if (c) {
		c->aj = aj;
		c->done = done;
		c->ud = ud;
	}
	return c;
}

static void call_free(struct store_call *c)
{
	memset(&c->flow, 0, sizeof c->flow); /* no secrets left in freed memory */
	c->aj->host->free(c->aj->ctx, c);
}

/* A call the store took (PENDING) keeps the state alive until it ends. */
static int call_started(struct store_call *c, int rc)
{
	if (rc == PARLEY_PENDING)
		c->aj->n_store_calls++;
	else
		call_free(c);
	return rc;
}

/* Ends c: answers its caller, then frees the state if fini ran. */
static void call_end(struct store_call *c, int rc, const char *msg)
{
	struct aj *aj = c->aj;

	aj->n_store_calls--;
	if (c->done)
		c->done(c->ud, rc, rc == PARLEY_OK && c->have_flow ? &c->flow : NULL, msg);
	call_free(c);
	aj_free_if_idle(aj);
}

static int field_ok(const char *s, size_t n)
{
	if (n != FIELD_CHARS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

/* The value's fields into *f (state left as it is); 0, or -1 when it is
 * not a value this file wrote. */
static int value_parse(const char *value, struct oidc_flow *f)
{
	char *fields[3] = {f->binding, f->nonce, f->verifier};
	const char *p = value, *end;
	char *num_end;
	long long ms;

	if (!value || strlen(value) >= VALUE_MAX || strncmp(p, VALUE_VERSION " ", 2) != 0)
		return -1;
	p += 2;
	ms = strtoll(p, &num_end, 10);
	if (num_end == p || *num_end != ' ' || ms <= 0)
		return -1;
	f->expires_ms = ms;
	p = num_end + 1;
	for (size_t i = 0; i < 3; i++) {
		end = strchr(p, ' ');
		if (!end)
			end = p + strlen(p);
		if (!field_ok(p, (size_t)(end - p)) || (i < 2 && *end != ' ') || (i == 2 && *end))
			return -1;
		memcpy(fields[i], p, FIELD_CHARS);
		fields[i][FIELD_CHARS] = '\0';
		p = end + 1;
	}
	return 0;
}

/* ---- sweep -------------------------------------------------------------- */

static int sweep_read(struct store_call *c, int64_t after);

/* Removes the expired (or unreadable) flows of one page of kv records. */
static void sweep_page(struct aj *aj, const char *records, int64_t now)
{
	json_t *all = records ? json_loads(records, 0, NULL) : NULL;
	size_t i;
	json_t *rec;

	json_array_foreach(all, i, rec)
	{
		const char *owner = json_string_value(json_object_get(rec, "owner"));
		const char *key = json_string_value(json_object_get(rec, "key"));
		const char *value = json_string_value(json_object_get(rec, "value"));
		struct oidc_flow f;

		if (!owner || strcmp(owner, OWNER) != 0 || !key)
			continue;
		if (value_parse(value, &f) != 0 || f.expires_ms <= now)
			oidc_store_forget(aj, key);
		memset(&f, 0, sizeof f);
	}
	json_decref(all);
}

static void swept(void *ud, const parley_store_result *res)
{
	struct store_call *c = ud;
	struct aj *aj = c->aj;

	if (res->rc == PARLEY_OK && !aj->stopping) {
		sweep_page(aj, res->text, c->flow.expires_ms);
		if (res->more) {
			aj->n_store_calls--; /* the next read counts c again */
			if (sweep_read(c, res->value) == PARLEY_PENDING)
				return;
			aj->n_store_calls++;
		}
	}
	aj->oidc_sweeping = 0;
	if (res->rc != PARLEY_OK)
		aj->host->log(aj->ctx, PARLEY_LOG_WARN, "oidc_sweep_failed", "%s",
		              res->error ? res->error : "store error");
	call_end(c, PARLEY_OK, NULL);
}

static int sweep_read(struct store_call *c, int64_t after)
{
	void *self;
	const parley_store_vtable *st = store_of(c->aj, &self);
	int rc = PARLEY_HAS(parley_store_vtable, st, records_read)
	             ? st->records_read(self, "kv", after, SWEEP_PAGE, swept, c)
	             : PARLEY_EUNAVAIL;

	if (rc == PARLEY_PENDING)
		c->aj->n_store_calls++;
	return rc;
}

/* Starts a sweep unless one runs or one began less than a minute ago. */
static void sweep_start(struct aj *aj)
{
	int64_t now = aj->host->now_ms();
	struct store_call *c;

	if (aj->oidc_sweeping || aj->stopping ||
	    (aj->oidc_swept_ms && now - aj->oidc_swept_ms < SWEEP_EVERY_MS) ||
	    !(c = call_new(aj, NULL, NULL)))
		return;
	c->flow.expires_ms = now; /* flows expired by then go */
	aj->oidc_swept_ms = now;
	if (sweep_read(c, 0) != PARLEY_PENDING) {
		call_free(c);
		return;
	}
	aj->oidc_sweeping = 1;
	aj->host->log(aj->ctx, PARLEY_LOG_INFO, "oidc_sweep",
	              "the store holds %d sign-in flows: removing the expired ones",
	              STORE_MAX_FLOWS);
}

/* ---- put ---------------------------------------------------------------- */

static void put_done(void *ud, const parley_store_result *res)
{
	struct store_call *c = ud;
	int rc = res->rc == PARLEY_ETOOLARGE ? PARLEY_ERATELIMIT : res->rc;

	if (res->rc == PARLEY_ETOOLARGE)
		sweep_start(c->aj);
	call_end(c, rc, res->error ? res->error : "store error");
}

int oidc_store_put(struct aj *aj, const struct oidc_flow *flow, oidc_store_done done, void *ud)
{
	void *self;
	const parley_store_vtable *st = store_of(aj, &self);
	struct store_call *c;
	char value[VALUE_MAX];

	if (!oidc_store_used(aj))
		return PARLEY_EUNAVAIL;
	if (snprintf(value, sizeof value, VALUE_VERSION " %lld %s %s %s",
	             (long long)flow->expires_ms, flow->binding, flow->nonce,
	             flow->verifier) >= (int)sizeof value)
		return PARLEY_EINVAL;
	if (!(c = call_new(aj, done, ud)))
		return PARLEY_ENOMEM;
	int rc = st->kv_put_capped(self, OWNER, flow->state, value, 0, STORE_MAX_FLOWS,
	                           STORE_MAX_BYTES, put_done, c);
	memset(value, 0, sizeof value);
	return call_started(c, rc);
}

/* ---- take --------------------------------------------------------------- */

static void taken(void *ud, const parley_store_result *res)
{
	struct store_call *c = ud;

	if (res->rc != PARLEY_OK)
		call_end(c, res->rc, res->error ? res->error : "store error");
	else if (res->value != 1 || !c->have_flow)
		call_end(c, PARLEY_ENOTFOUND, "spent by another request, or unreadable");
	else
		call_end(c, PARLEY_OK, NULL);
}

/* The delete that spends c's flow; the caller's count of c moves to it. */
static int spend(struct store_call *c)
{
	void *self;
	const parley_store_vtable *st = store_of(c->aj, &self);

	if (!PARLEY_HAS(parley_store_vtable, st, kv_delete))
		return PARLEY_EUNAVAIL;
	return st->kv_delete(self, OWNER, c->flow.state, taken, c);
}

static void read_done(void *ud, const parley_store_result *res)
{
	struct store_call *c = ud;
	int rc;

	if (res->rc != PARLEY_OK) {
		call_end(c, res->rc, res->error ? res->error : "store error");
		return;
	}
	/* Deleted even when unreadable: nothing else could use it. */
	c->have_flow = value_parse(res->text, &c->flow) == 0;
	if ((rc = spend(c)) != PARLEY_PENDING)
		call_end(c, rc, "the store refused the delete");
}

int oidc_store_take(struct aj *aj, const char *state, const struct oidc_flow *local,
                    oidc_store_done done, void *ud)
{
	void *self;
	const parley_store_vtable *st = store_of(aj, &self);
	struct store_call *c;

	if (!oidc_store_used(aj))
		return PARLEY_EUNAVAIL;
	if (strlen(state) >= OIDC_RAND_CHARS)
		return PARLEY_EINVAL;
	if (!(c = call_new(aj, done, ud)))
		return PARLEY_ENOMEM;
	if (local) {
		c->flow = *local;
		c->have_flow = 1;
		return call_started(c, spend(c));
	}
	snprintf(c->flow.state, sizeof c->flow.state, "%s", state);
	return call_started(c, st->kv_get(self, OWNER, state, read_done, c));
}

/* ---- forget ------------------------------------------------------------- */

static void forgotten(void *ud, const parley_store_result *res)
{
	(void)res; /* a copy left behind is refused as expired, and capped */
	call_end(ud, PARLEY_OK, NULL);
}

void oidc_store_forget(struct aj *aj, const char *state)
{
	void *self;
	const parley_store_vtable *st = store_of(aj, &self);
	struct store_call *c;

	if (!oidc_store_used(aj) || !(c = call_new(aj, NULL, NULL)))
		return;
	call_started(c, st->kv_delete(self, OWNER, state, forgotten, c));
}
