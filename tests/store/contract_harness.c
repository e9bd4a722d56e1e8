/* The harness of contract.h: the core's plugin host and loop around one
 * store plugin, result copies, and the record makers the cases share. */
#include "contract.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/loop.h"
#include "host/plugin_host.h"
#include "base/workers.h"

#include "contract_options.h"

const parley_store_vtable *S;
void *self;

static struct config cfg;
static ev_timer keepalive;
static int opened;
static char case_token[96];
static char data_dir[512];
static char base_dir[512];

/* ---- options ------------------------------------------------------------ */

struct contract_options contract_opt;

double contract_timeout(void)
{
	return (double)contract_env_long("PARLEY_CONTRACT_TIMEOUT", 30);
}

long contract_env_long(const char *name, long def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	long n = strtol(v, &end, 10);
	return *end ? def : n;
}

/* ---- opening and closing -------------------------------------------------- */

static void keepalive_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l, (void)w, (void)revents;
}

/* The section's text with every @CASE@ replaced by the case's token. */
static void section_for_case(char *out, size_t n)
{
	const char *src = contract_opt.section ? contract_opt.section : "";
	size_t len = 0;
	out[0] = '\0';
	while (*src && len + 1 < n) {
		if (strncmp(src, "@CASE@", 6) == 0) {
			int w = snprintf(out + len, n - len, "%s", case_token);
			len += w > 0 ? (size_t)w : 0;
			src += 6;
		} else {
			out[len++] = *src++;
			out[len] = '\0';
		}
	}
	assert_true(len + 1 < n);
}

/* Opens the store of the current case: 0, or -1 with why in err. */
static int open_store(char *err, size_t errlen)
{
	char section[2048], src[2200];
	section_for_case(section, sizeof section);
	snprintf(src, sizeof src, "store = { %s }\n", section);
	memset(&cfg, 0, sizeof cfg);
	cfg.root = conf_load("contract.conf", src, err, errlen);
	if (!cfg.root)
		return -1;
	cfg.base_dir = base_dir;
	cfg.data_dir = data_dir;
	cfg.plugin_dir = (char *)contract_opt.plugin_dir;
	cfg.plugins[0].name = (char *)contract_opt.plugin_name;
	cfg.plugins[0].path = (char *)contract_opt.plugin_path;
	cfg.plugins[0].section = conf_get(cfg.root, "store");
	/* The host demands an auth provider; as an admin command auth_local
	 * leaves the store alone. */
	cfg.plugins[1].name = "auth_local";
	cfg.n_plugins = 2;
	if (loop_init() != 0 || workers_start(2) != 0) {
		snprintf(err, errlen, "no loop or workers");
		return -1;
	}
	ev_timer_init(&keepalive, keepalive_cb, 1.0, 1.0);
	ev_timer_start(loop_ev, &keepalive);
	opened = 1;
	if (plugins_load(&cfg, 1) != 0 || plugins_init() != 0) {
		snprintf(err, errlen, "%s did not load or init with { %s }",
		         contract_opt.plugin_name, section);
		return -1;
	}
	S = plugins_store(&self);
	if (!S) {
		snprintf(err, errlen, "%s provides no store", contract_opt.plugin_name);
		return -1;
	}
	return 0;
}

static void open_current(void)
{
	char err[2400];
	if (open_store(err, sizeof err) != 0)
		fail_msg("%s", err);
}

int contract_open_quiet(void)
{
	char err[2400];
	if (open_store(err, sizeof err) == 0)
		return 0;
	fprintf(stderr, "store_contract: %s\n", err);
	return -1;
}

void contract_open(const char *case_name)
{
	snprintf(case_token, sizeof case_token, "%s_%s", contract_opt.run_id, case_name);
	open_current();
}

void contract_reopen(void)
{
	open_current();
}

void contract_close(void)
{
	if (!opened)
		return;
	plugins_fini();
	workers_stop();
	ev_timer_stop(loop_ev, &keepalive);
	loop_fini();
	conf_free(cfg.root);
	S = NULL;
	self = NULL;
	opened = 0;
}

int contract_setup(void **state)
{
	(void)state;
	snprintf(data_dir, sizeof data_dir, "%s", contract_opt.data_dir);
	if (!getcwd(base_dir, sizeof base_dir))
		return -1;
	return 0;
}

int contract_teardown(void **state)
{
	(void)state;
	contract_close();
	return 0;
}

/* ---- results ---------------------------------------------------------------- */

struct arena {
	struct arena *next;
	max_align_t data[];
};

static void *ar_alloc(struct res *r, size_t n)
{
	struct arena *a = calloc(1, sizeof *a + n);
	assert_non_null(a);
	a->next = r->arena;
	r->arena = a;
	return a->data;
}

static const char *ar_str(struct res *r, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *c = ar_alloc(r, n);
	memcpy(c, s, n);
	return c;
}

static void *ar_copy(struct res *r, const void *src, size_t n)
{
	if (!src || !n)
		return NULL;
	void *c = ar_alloc(r, n);
	memcpy(c, src, n);
	return c;
}

static void copy_message(struct res *r, parley_message *m)
{
	m->id = ar_str(r, m->id);
	m->room_id = ar_str(r, m->room_id);
	m->user_id = ar_str(r, m->user_id);
	m->text = ar_str(r, m->text);
	m->client_id = ar_str(r, m->client_id);
	m->reply_to = ar_str(r, m->reply_to);
	m->mentions_json = ar_str(r, m->mentions_json);
	m->attachments_json = ar_str(r, m->attachments_json);
	m->reactions_json = ar_str(r, m->reactions_json);
}

static void copy_user(struct res *r, parley_user *u)
{
	u->id = ar_str(r, u->id);
	u->name = ar_str(r, u->name);
	u->display_name = ar_str(r, u->display_name);
	u->role = ar_str(r, u->role);
	u->email = ar_str(r, u->email);
	u->password_hash = ar_str(r, u->password_hash);
}

static void copy_room(struct res *r, parley_room *x)
{
	x->id = ar_str(r, x->id);
	x->name = ar_str(r, x->name);
	x->kind = ar_str(r, x->kind);
	x->topic = ar_str(r, x->topic);
	x->created_by = ar_str(r, x->created_by);
}

static void copy_invite(struct res *r, parley_invite *i)
{
	i->token_hash = ar_str(r, i->token_hash);
	i->role = ar_str(r, i->role);
	i->email = ar_str(r, i->email);
	i->created_by = ar_str(r, i->created_by);
}

static void copy_upload(struct res *r, parley_upload *u)
{
	u->id = ar_str(r, u->id);
	u->user_id = ar_str(r, u->user_id);
	u->name = ar_str(r, u->name);
	u->type = ar_str(r, u->type);
	u->sha256 = ar_str(r, u->sha256);
	u->key = ar_str(r, u->key);
	u->tags = ar_str(r, u->tags);
	u->room_id = ar_str(r, u->room_id);
	u->message_id = ar_str(r, u->message_id);
}

/* Copies the members every store sets, then the appended ones only when
 * the vtable has the calls that fill them (the core reads them so too). */
void res_done(void *ud, const parley_store_result *in)
{
	struct res *r = ud;
	r->fired++;
	if (r->fired > 1)
		return; /* reported by res_finish / res_reset */
	parley_store_result *v = &r->v;
	memset(v, 0, sizeof *v);
	v->rc = in->rc;
	v->error = ar_str(r, in->error);
	v->more = in->more;
	v->duplicate = in->duplicate;
	v->value = in->value;
	v->n_messages = in->n_messages;
	v->messages = ar_copy(r, in->messages, in->n_messages * sizeof *in->messages);
	for (size_t i = 0; i < v->n_messages; i++)
		copy_message(r, (parley_message *)&v->messages[i]);
	v->n_rooms = in->n_rooms;
	v->rooms = ar_copy(r, in->rooms, in->n_rooms * sizeof *in->rooms);
	for (size_t i = 0; i < v->n_rooms; i++)
		copy_room(r, (parley_room *)&v->rooms[i]);
	v->n_members = in->n_members;
	v->members = ar_copy(r, in->members, in->n_members * sizeof *in->members);
	for (size_t i = 0; i < v->n_members; i++) {
		parley_member *m = (parley_member *)&v->members[i];
		m->room_id = ar_str(r, m->room_id);
		m->user_id = ar_str(r, m->user_id);
		m->role = ar_str(r, m->role);
	}
	v->n_users = in->n_users;
	v->users = ar_copy(r, in->users, in->n_users * sizeof *in->users);
	for (size_t i = 0; i < v->n_users; i++)
		copy_user(r, (parley_user *)&v->users[i]);
	if (in->session) {
		parley_session *s = ar_copy(r, in->session, sizeof *s);
		s->token_hash = ar_str(r, s->token_hash);
		s->user_id = ar_str(r, s->user_id);
		if (STORE_HAS(session_create_scoped)) {
			s->scopes = ar_str(r, s->scopes);
			s->rooms_json = ar_str(r, s->rooms_json);
		} else {
			s->scopes = s->rooms_json = NULL;
		}
		v->session = s;
	}
	if (in->invite) {
		parley_invite *i = ar_copy(r, in->invite, sizeof *i);
		copy_invite(r, i);
		v->invite = i;
	}
	if (STORE_HAS(invites_list)) {
		v->n_invites = in->n_invites;
		v->invites = ar_copy(r, in->invites, in->n_invites * sizeof *in->invites);
		for (size_t i = 0; i < v->n_invites; i++)
			copy_invite(r, (parley_invite *)&v->invites[i]);
	}
	if (STORE_HAS(audit_list)) {
		v->n_audit = in->n_audit;
		v->audit = ar_copy(r, in->audit, in->n_audit * sizeof *in->audit);
		for (size_t i = 0; i < v->n_audit; i++) {
			parley_audit *a = (parley_audit *)&v->audit[i];
			a->actor_id = ar_str(r, a->actor_id);
			a->action = ar_str(r, a->action);
			a->target = ar_str(r, a->target);
			a->detail = ar_str(r, a->detail);
			a->client = ar_str(r, a->client);
		}
	}
	if (STORE_HAS(settings_get) || STORE_HAS(kv_get))
		v->text = ar_str(r, in->text);
	if (STORE_HAS(upload_create)) {
		v->n_uploads = in->n_uploads;
		v->uploads = ar_copy(r, in->uploads, in->n_uploads * sizeof *in->uploads);
		for (size_t i = 0; i < v->n_uploads; i++)
			copy_upload(r, (parley_upload *)&v->uploads[i]);
	}
	/* A store with threads says where every message it returns stands. */
	if (STORE_HAS(thread_append) && in->n_messages) {
		assert_non_null(in->threads);
		v->threads = ar_copy(r, in->threads, in->n_messages * sizeof *in->threads);
		for (size_t i = 0; i < v->n_messages; i++) {
			parley_thread_info *t = (parley_thread_info *)&v->threads[i];
			t->thread_id = ar_str(r, t->thread_id);
		}
	}
}

static void arena_free(struct res *r)
{
	while (r->arena) {
		struct arena *next = r->arena->next;
		free(r->arena);
		r->arena = next;
	}
}

void res_reset(struct res *r)
{
	if (r->fired > 1)
		fail_msg("done was called %d times for one call", r->fired);
	arena_free(r);
	memset(r, 0, sizeof *r);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void res_wait_all(struct res *r, size_t n)
{
	double deadline = now_s() + contract_timeout();
	size_t i = 0;
	for (;;) {
		while (i < n && r[i].fired)
			i++;
		if (i == n)
			break;
		if (now_s() > deadline)
			fail_msg("call %zu of %zu: done not called within %.0f s", i, n,
			         contract_timeout());
		ev_run(loop_ev, EVRUN_ONCE);
	}
	/* A second done would come with the same posts: let them run. */
	ev_run(loop_ev, EVRUN_NOWAIT);
	for (i = 0; i < n; i++) {
		if (r[i].fired != 1)
			fail_msg("call %zu: done was called %d times", i, r[i].fired);
		r[i].rc = r[i].v.rc;
	}
}

int res_finish(struct res *r, int call_rc)
{
	if (call_rc == PARLEY_PENDING) {
		res_wait_all(r, 1);
		return r->rc;
	}
	if (call_rc >= 0)
		fail_msg("a store call returned %d: only PARLEY_PENDING or an error", call_rc);
	/* An error return: done must never run. */
	ev_run(loop_ev, EVRUN_NOWAIT);
	if (r->fired)
		fail_msg("a call returned %d and still called done", call_rc);
	r->rc = call_rc;
	return call_rc;
}

/* ---- assertions ------------------------------------------------------------ */

void contract_assert_str(const char *a, const char *b, const char *file, int line)
{
	if (a == b || (a && b && strcmp(a, b) == 0))
		return;
	print_error("%s:%d: \"%s\" != \"%s\"\n", file, line, a ? a : "(null)", b ? b : "(null)");
	_fail(file, line);
}

/* An object of emoji -> array of distinct user ids, or NULL for none. */
static json_t *reactions_parse(const char *s, const char *file, int line)
{
	if (!s || !*s)
		return json_object();
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	if (!j || !json_is_object(j)) {
		print_error("%s:%d: reactions are not a JSON object: %s\n", file, line, s);
		_fail(file, line);
	}
	return j;
}

static int same_ids(json_t *a, json_t *b)
{
	if (!json_is_array(a) || !json_is_array(b) || json_array_size(a) != json_array_size(b))
		return 0;
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(a, i, x)
	{
		int found = 0;
		json_array_foreach(b, k, y) found |= json_equal(x, y);
		if (!found)
			return 0;
	}
	return 1;
}

void contract_assert_reactions(const char *json, const char *want, const char *file, int line)
{
	json_t *a = reactions_parse(json, file, line), *b = reactions_parse(want, file, line);
	int ok = json_object_size(a) == json_object_size(b);
	const char *k;
	json_t *x;
	json_object_foreach(a, k, x) ok = ok && same_ids(x, json_object_get(b, k));
	json_decref(a);
	json_decref(b);
	if (ok)
		return;
	print_error("%s:%d: reactions %s, want %s\n", file, line, json ? json : "(null)", want);
	_fail(file, line);
}

/* ---- record makers ----------------------------------------------------------- */

void mk_user(const char *name, char *out)
{
	static struct res r;
	parley_user u = {.name = name,
	                 .display_name = name,
	                 .role = "member",
	                 .password_hash = "$argon2id$contract",
	                 .created_ts = 1000};
	assert_int_equal(RUN(&r, S->user_create(self, &u, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_users, 1);
	snprintf(out, ID_MAX, "%s", r.v.users[0].id);
}

void mk_room(const char *name, const char *creator, char *out)
{
	static struct res r;
	parley_room room = {
	    .name = name, .kind = "public", .created_by = creator, .created_ts = 1000};
	assert_int_equal(RUN(&r, S->room_create(self, &room, "owner", res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_rooms, 1);
	snprintf(out, ID_MAX, "%s", r.v.rooms[0].id);
}

int64_t mk_message(const char *room, const char *user, const char *text, const char *client_id,
                   char *out)
{
	static struct res r;
	parley_message m = {
	    .room_id = room, .user_id = user, .text = text, .client_id = client_id, .ts = 2000};
	assert_int_equal(RUN(&r, S->append(self, &m, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.n_messages, 1);
	assert_int_equal(r.v.duplicate, 0);
	if (out)
		snprintf(out, ID_MAX, "%s", r.v.messages[0].id);
	return r.v.messages[0].seq;
}
