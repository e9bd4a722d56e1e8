/* Store operations: a per-op arena for strings, growable result arrays,
 * and delivery of the result on the loop thread. */
#include "op.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena chunks are this big unless one string needs more. */
#define ARENA_CHUNK 2048

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

static void *arena_alloc(struct op *op, size_t n)
{
	struct arena_chunk *a = op->arena;
	n = (n + 7) & ~(size_t)7;
	if (!a || a->cap - a->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		a = malloc(sizeof *a + cap);
		if (!a)
			return NULL;
		a->used = 0;
		a->cap = cap;
		a->next = op->arena;
		op->arena = a;
	}
	void *p = a->data + a->used;
	a->used += n;
	return p;
}

struct op *op_new(struct store *st, const char *name, op_exec_fn exec, parley_store_done done,
                  void *ud)
{
	struct op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->st = st;
	op->name = name;
	op->exec = exec;
	op->done = done;
	op->ud = ud;
	/* The first chunk comes from the calling (loop) thread: memory the
	 * writer allocates and the loop frees makes glibc trim the writer's
	 * arena after every batch (madvise, TLB shootdowns), which once cost
	 * more than the commits. */
	struct arena_chunk *a = malloc(sizeof *a + ARENA_CHUNK);
	if (!a) {
		free(op);
		return NULL;
	}
	a->used = 0;
	a->cap = ARENA_CHUNK;
	a->next = NULL;
	op->arena = a;
	return op;
}

static void results_free(struct op *op)
{
	free(op->msgs);
	free(op->rooms);
	free(op->members);
	free(op->users);
	free(op->invites);
	free(op->audits);
	op->invites = NULL;
	op->audits = NULL;
	op->n_invites = op->cap_invites = op->n_audits = op->cap_audits = 0;
	free(op->uploads);
	free(op->thr);
	free(op->threads_out);
	op->thr = NULL;
	op->threads_out = NULL;
	op->n_thr = op->cap_thr = 0;
	op->msgs = NULL;
	op->rooms = NULL;
	op->members = NULL;
	op->users = NULL;
	op->n_msgs = op->cap_msgs = op->n_rooms = op->cap_rooms = 0;
	op->n_members = op->cap_members = op->n_users = op->cap_users = 0;
}

void op_free(struct op *op)
{
	if (!op)
		return;
	results_free(op);
	struct arena_chunk *a = op->arena;
	while (a) {
		struct arena_chunk *next = a->next;
		free(a);
		a = next;
	}
	free(op);
}

char *op_strdup(struct op *op, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(op, n);
	if (p)
		memcpy(p, s, n);
	else
		op->oom = 1;
	return p;
}

char *op_printf(struct op *op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(op, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static void *grow(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		void *p = realloc(*arr, ncap * size);
		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	void *rec = (char *)*arr + *n * size;
	memset(rec, 0, size);
	(*n)++;
	return rec;
}

int op_reserve_messages(struct op *op, size_t n)
{
	parley_message *p = realloc(op->msgs, n * sizeof *p);
	if (!p)
		return -1;
	op->msgs = p;
	op->cap_msgs = n;
	return 0;
}

parley_message *op_add_message(struct op *op)
{
	return grow((void **)&op->msgs, &op->n_msgs, &op->cap_msgs, sizeof *op->msgs);
}

parley_room *op_add_room(struct op *op)
{
	return grow((void **)&op->rooms, &op->n_rooms, &op->cap_rooms, sizeof *op->rooms);
}

parley_member *op_add_member(struct op *op)
{
	return grow((void **)&op->members, &op->n_members, &op->cap_members, sizeof *op->members);
}

parley_user *op_add_user(struct op *op)
{
	return grow((void **)&op->users, &op->n_users, &op->cap_users, sizeof *op->users);
}

parley_invite *op_add_invite(struct op *op)
{
	return grow((void **)&op->invites, &op->n_invites, &op->cap_invites, sizeof *op->invites);
}

parley_audit *op_add_audit(struct op *op)
{
	return grow((void **)&op->audits, &op->n_audits, &op->cap_audits, sizeof *op->audits);
}

parley_upload *op_add_upload(struct op *op)
{
	return grow((void **)&op->uploads, &op->n_uploads, &op->cap_uploads, sizeof *op->uploads);
}

parley_thread_info *op_add_thread(struct op *op, const char *message_id)
{
	struct op_thread *t = grow((void **)&op->thr, &op->n_thr, &op->cap_thr, sizeof *op->thr);
	if (!t)
		return NULL;
	t->message_id = message_id;
	return &t->info;
}

/* threads_out[i]: the facts read for messages[i] (zero when none). */
static void pair_threads(struct op *op)
{
	if (!op->n_msgs || !(op->threads_out = calloc(op->n_msgs, sizeof *op->threads_out)))
		return;
	for (size_t i = 0; i < op->n_msgs; i++) {
		const char *id = op->msgs[i].id;
		/* Usually in the same order; a reordered page is found by search. */
		if (i < op->n_thr && op->thr[i].message_id == id) {
			op->threads_out[i] = op->thr[i].info;
			continue;
		}
		for (size_t k = 0; k < op->n_thr; k++)
			if (op->thr[k].message_id == id) {
				op->threads_out[i] = op->thr[k].info;
				break;
			}
	}
}

void op_reset(struct op *op)
{
	/* Counts only: the arrays keep their (loop-thread) memory. */
	op->n_thr = 0;
	op->n_msgs = op->n_rooms = op->n_members = op->n_users = op->n_uploads = 0;
	op->n_invites = op->n_audits = 0;
	memset(&op->res, 0, sizeof op->res);
	memset(&op->session_out, 0, sizeof op->session_out);
	memset(&op->invite_out, 0, sizeof op->invite_out);
	op->error[0] = '\0';
}

int op_fail(struct op *op, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->error, sizeof op->error, fmt, ap);
	va_end(ap);
	op->res.rc = rc;
	return rc;
}

void op_finish(struct op *op)
{
	parley_store_result *r = &op->res;
	if (r->rc < 0) {
		/* A failed write reports no records, only the error. */
		r->error = op->error[0] ? op->error : NULL;
	} else {
		r->messages = op->msgs;
		r->n_messages = op->n_msgs;
		r->rooms = op->rooms;
		r->n_rooms = op->n_rooms;
		r->members = op->members;
		r->n_members = op->n_members;
		r->users = op->users;
		r->n_users = op->n_users;
		r->invites = op->invites;
		r->n_invites = op->n_invites;
		r->audit = op->audits;
		r->n_audit = op->n_audits;
		r->uploads = op->uploads;
		r->n_uploads = op->n_uploads;
		pair_threads(op);
		r->threads = op->threads_out;
		r->session = op->session_out.token_hash ? &op->session_out : NULL;
		r->invite = op->invite_out.token_hash ? &op->invite_out : NULL;
	}
	op->done(op->ud, r);
	op_free(op);
}
