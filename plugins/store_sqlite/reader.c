/* The read connection pool. A worker takes a free connection (waiting when
 * all are in use: there are fewer connections than workers, on purpose,
 * so reads cannot starve Argon2 and the rest of the pool's users of CPU
 * for long), runs the op in a read transaction, gives it back. */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "op.h"
#include "store.h"

/* How long ready() waits for a free read connection. */
#define READER_PROBE_WAIT_MS 200

struct reader {
	struct store *st;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dbconn *conns;
	int *free_list; /* indexes of free connections */
	int n, n_free;
	int closed;
};

static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_END_READ[] = "COMMIT";
static const char SQL_PROBE[] = "SELECT count(*) FROM meta";

/* A free connection, or NULL when closed (or, with a deadline, timed out). */
static struct dbconn *acquire(struct reader *r, const struct timespec *deadline)
{
	struct dbconn *c = NULL;
	pthread_mutex_lock(&r->mu);
	while (!r->closed && r->n_free == 0) {
		if (!deadline)
			pthread_cond_wait(&r->cv, &r->mu);
		else if (pthread_cond_timedwait(&r->cv, &r->mu, deadline) == ETIMEDOUT)
			break;
	}
	if (!r->closed && r->n_free > 0)
		c = &r->conns[r->free_list[--r->n_free]];
	pthread_mutex_unlock(&r->mu);
	return c;
}

static void release(struct reader *r, struct dbconn *c)
{
	pthread_mutex_lock(&r->mu);
	r->free_list[r->n_free++] = (int)(c - r->conns);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Worker thread. */
static void read_work(void *arg)
{
	struct op *op = arg;
	struct reader *r = op->st->reader;
	struct dbconn *c = acquire(r, NULL);
	if (!c) {
		op_fail(op, PARLEY_EUNAVAIL, "%s: store closed", op->name);
		return;
	}
	int src = db_exec(c, SQL_BEGIN_READ);
	if (src != SQLITE_OK) {
		op_fail(op, db_rc(src), "%s: %s", op->name, sqlite3_errmsg(c->db));
		goto out;
	}
	int rc = op->exec(c, op);
	op->res.rc = rc < 0 ? rc : PARLEY_OK;
	db_exec(c, SQL_END_READ);
out:
	release(r, c);
}

/* Loop thread. */
static void read_done(void *arg, int cancelled)
{
	struct op *op = arg;
	if (cancelled) {
		op_reset(op);
		op_fail(op, PARLEY_EUNAVAIL, "%s: cancelled at shutdown", op->name);
	}
	store_op_finish(op);
}

struct reader *reader_open(struct store *st, const struct db_options *o, int n, char *err,
                           size_t errlen)
{
	struct reader *r = calloc(1, sizeof *r);
	if (!r)
		goto nomem;
	r->st = st;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->conns = calloc((size_t)n, sizeof *r->conns);
	r->free_list = calloc((size_t)n, sizeof *r->free_list);
	if (!r->conns || !r->free_list)
		goto nomem;
	for (int i = 0; i < n; i++) {
		if (db_open(&r->conns[i], o, err, errlen) != PARLEY_OK)
			goto fail;
		r->n++;
		r->free_list[r->n_free++] = i;
	}
	return r;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (r) {
		r->closed = 1; /* nothing in use yet: close does not wait */
		for (int i = 0; i < r->n; i++)
			db_close(&r->conns[i]);
		reader_free(r);
	}
	return NULL;
}

int reader_submit(struct reader *r, struct op *op)
{
	const parley_host *h = op->st->host;
	return h->submit(op->st->ctx, read_work, read_done, op) == 0 ? PARLEY_OK : PARLEY_EUNAVAIL;
}

int reader_probe(struct reader *r, char *buf, size_t len)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += (long)READER_PROBE_WAIT_MS * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	struct dbconn *c = acquire(r, &deadline);
	if (!c) {
		snprintf(buf, len, "no read connection free within %d ms", READER_PROBE_WAIT_MS);
		return 0;
	}
	int ok = 1;
	sqlite3_stmt *st = db_stmt(c, SQL_PROBE);
	int src = st ? sqlite3_step(st) : sqlite3_errcode(c->db);
	if (src != SQLITE_ROW) {
		snprintf(buf, len, "database does not answer: %s", sqlite3_errmsg(c->db));
		ok = 0;
	}
	if (st)
		sqlite3_reset(st);
	release(r, c);
	return ok;
}

void reader_close(struct reader *r)
{
	pthread_mutex_lock(&r->mu);
	/* Connections in use come back when their read ends. */
	while (r->n_free < r->n)
		pthread_cond_wait(&r->cv, &r->mu);
	r->closed = 1;
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < r->n; i++)
		db_close(&r->conns[i]);
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	free(r->conns);
	free(r->free_list);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
