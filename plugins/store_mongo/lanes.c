/* Lanes: one thread and one FIFO each (see lanes.h). */
#include "lanes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "health.h"
#include "mdb.h"
#include "store.h"

struct lane {
	struct lanes *l;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct op *head, *tail;
	int stopping;
	int started;
};

struct lanes {
	struct store *st;
	int n; /* keyed lanes; lane[n] is the long lane */
	struct lane lane[];
};

/* Loop thread: the op's done() and the reference it held. */
static void finished(void *arg)
{
	struct op *op = arg;
	struct store *st = op->st;
	if (st->m_unavailable && op->res.rc == PARLEY_EUNAVAIL)
		st->host->metric_add(st->m_unavailable, 1);
	if (st->m_ops)
		st->host->metric_add(st->m_ops, 1);
	op_finish(op);
	__atomic_sub_fetch(&st->calls, 1, __ATOMIC_SEQ_CST);
	store_unref(st);
}

static void run(struct lanes *l, struct op *op)
{
	struct store *st = l->st;
	char why[200];
	if (!health_ok(st->health, why, sizeof why)) {
		/* Known down: fail at once rather than wait out server selection. */
		op_fail(op, PARLEY_EUNAVAIL, "%s: database unavailable: %s", op->name, why);
	} else {
		mongoc_client_t *client = mongoc_client_pool_pop(st->pool);
		struct dbconn c = {.client = client, .st = st, .database = st->database};
		int rc = op->exec(&c, op);
		op->res.rc = rc < 0 ? rc : PARLEY_OK;
		if (rc < 0 && !op->error[0])
			op_fail(op, rc, "%s failed", op->name);
		mongoc_client_pool_push(st->pool, client);
	}
	st->host->post(st->ctx, finished, op);
}

static void *lane_main(void *arg)
{
	struct lane *ln = arg;
	pthread_mutex_lock(&ln->mu);
	for (;;) {
		while (!ln->head && !ln->stopping)
			pthread_cond_wait(&ln->cv, &ln->mu);
		struct op *op = ln->head;
		if (!op)
			break; /* stopping and drained */
		ln->head = op->next;
		if (!ln->head)
			ln->tail = NULL;
		op->next = NULL;
		pthread_mutex_unlock(&ln->mu);
		run(ln->l, op);
		pthread_mutex_lock(&ln->mu);
	}
	pthread_mutex_unlock(&ln->mu);
	return NULL;
}

struct lanes *lanes_start(struct store *st, int n, char *err, size_t errlen)
{
	struct lanes *l = calloc(1, sizeof *l + (size_t)(n + 1) * sizeof l->lane[0]);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->st = st;
	l->n = n;
	for (int i = 0; i <= n; i++) {
		struct lane *ln = &l->lane[i];
		ln->l = l;
		pthread_mutex_init(&ln->mu, NULL);
		pthread_cond_init(&ln->cv, NULL);
	}
	for (int i = 0; i <= n; i++) {
		struct lane *ln = &l->lane[i];
		if (pthread_create(&ln->thread, NULL, lane_main, ln) != 0) {
			snprintf(err, errlen, "cannot start a thread");
			lanes_stop(l);
			return NULL;
		}
		ln->started = 1;
	}
	return l;
}

/* FNV-1a: a stable spread of room and user ids over the lanes. */
static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Queues op on ln; PARLEY_OK, or EUNAVAIL when stopping. */
static int lane_queue(struct lane *ln, struct op *op)
{
	pthread_mutex_lock(&ln->mu);
	if (ln->stopping) {
		pthread_mutex_unlock(&ln->mu);
		return PARLEY_EUNAVAIL;
	}
	/* Counted until finished() has run its done() (calls_pending). */
	__atomic_add_fetch(&op->st->calls, 1, __ATOMIC_SEQ_CST);
	op->next = NULL;
	if (ln->tail)
		ln->tail->next = op;
	else
		ln->head = op;
	ln->tail = op;
	pthread_cond_signal(&ln->cv);
	pthread_mutex_unlock(&ln->mu);
	return PARLEY_OK;
}

int lanes_submit(struct lanes *l, struct op *op, const char *key)
{
	return lane_queue(&l->lane[key ? hash(key) % (unsigned)l->n : 0], op);
}

int lanes_submit_long(struct lanes *l, struct op *op)
{
	return lane_queue(&l->lane[l->n], op);
}

void lanes_stop(struct lanes *l)
{
	if (!l)
		return;
	for (int i = 0; i <= l->n; i++) {
		struct lane *ln = &l->lane[i];
		pthread_mutex_lock(&ln->mu);
		ln->stopping = 1;
		pthread_cond_signal(&ln->cv);
		pthread_mutex_unlock(&ln->mu);
	}
	for (int i = 0; i <= l->n; i++) {
		struct lane *ln = &l->lane[i];
		if (ln->started)
			pthread_join(ln->thread, NULL);
		pthread_mutex_destroy(&ln->mu);
		pthread_cond_destroy(&ln->cv);
	}
	free(l);
}
