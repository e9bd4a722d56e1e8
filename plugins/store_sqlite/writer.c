/* The writer thread and group commit. See writer.h for the contract.
 *
 * Busy handling: another process (the admin CLI) may hold the write lock.
 * The connection's busy_timeout waits for it; if BEGIN or COMMIT still
 * reports busy, the whole batch is rolled back and run again, a bounded
 * number of times, before its operations fail with EUNAVAIL. */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "op.h"
#include "schema.h"
#include "store.h"

/* Batch attempts when another process keeps the database busy. */
#define WRITER_BUSY_RETRIES 5
/* Pause between attempts, on top of the busy timeout. */
#define WRITER_RETRY_PAUSE_MS 10

struct writer {
	struct store *st;
	struct dbconn conn;
	int batch_max;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct op *head, *tail;
	int stopping;
	int failed; /* the last batch failed as a whole */
	/* The file cannot be written (found at start): for good, whatever a
	 * batch does next — its ops fail one by one inside a transaction that
	 * still commits, which clears failed. */
	int read_only;
	char last_error[200]; /* guarded by mu */
	char read_only_error[200];
};

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT op";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO op";
static const char SQL_RELEASE[] = "RELEASE op";

/* Loop thread: a committed (or failed) batch comes back here. */
static void batch_done(void *arg)
{
	struct op *op = arg;
	struct store *st = op->st;
	size_t n = 0;
	for (struct op *o = op; o; o = o->next)
		n++;
	/* Counted before the ops drop their references to st. */
	if (st->m_batches) {
		st->host->metric_add(st->m_batches, 1);
		st->host->metric_add(st->m_writes, (double)n);
	}
	while (op) {
		struct op *next = op->next;
		store_op_finish(op);
		op = next;
	}
}

static void fail_batch(struct op *batch, int rc, const char *why)
{
	for (struct op *op = batch; op; op = op->next) {
		op_reset(op);
		op_fail(op, rc, "%s: %s", op->name, why);
	}
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Runs every op in its own savepoint. SQLITE_OK, or the SQLite code that
 * ended the transaction (the batch is retried or failed as a whole). */
static int run_ops(struct writer *w, struct op *batch)
{
	sqlite3 *db = w->conn.db;
	for (struct op *op = batch; op; op = op->next) {
		op_reset(op);
		int src = db_exec(&w->conn, SQL_SAVEPOINT);
		if (src != SQLITE_OK)
			return src;
		int rc = op->exec(&w->conn, op);
		op->res.rc = rc < 0 ? rc : PARLEY_OK;
		if (sqlite3_get_autocommit(db)) {
			/* An I/O error or a full disk rolled the transaction back. */
			return sqlite3_extended_errcode(db) != SQLITE_OK
			           ? sqlite3_extended_errcode(db)
			           : SQLITE_ERROR;
		}
		if (rc < 0 && (src = db_exec(&w->conn, SQL_ROLLBACK_TO)) != SQLITE_OK)
			return src;
		if ((src = db_exec(&w->conn, SQL_RELEASE)) != SQLITE_OK)
			return src;
	}
	return SQLITE_OK;
}

static void set_health(struct writer *w, int failed, const char *why)
{
	pthread_mutex_lock(&w->mu);
	w->failed = failed;
	if (why)
		snprintf(w->last_error, sizeof w->last_error, "%s", why);
	pthread_mutex_unlock(&w->mu);
}

static void run_batch(struct writer *w, struct op *batch)
{
	const parley_host *h = w->st->host;
	char why[200];
	for (int attempt = 0;; attempt++) {
		int src = db_exec(&w->conn, SQL_BEGIN);
		if (src == SQLITE_OK) {
			src = run_ops(w, batch);
			if (src == SQLITE_OK)
				src = db_exec(&w->conn, SQL_COMMIT);
			if (src == SQLITE_OK)
				break;
			snprintf(why, sizeof why, "%s", sqlite3_errmsg(w->conn.db));
			if (!sqlite3_get_autocommit(w->conn.db))
				db_exec(&w->conn, SQL_ROLLBACK);
		} else {
			snprintf(why, sizeof why, "%s", sqlite3_errmsg(w->conn.db));
		}
		int busy = db_rc(src) == PARLEY_EUNAVAIL;
		if (busy && attempt + 1 < WRITER_BUSY_RETRIES) {
			h->log(w->st->ctx, PARLEY_LOG_WARN, "store_busy",
			       "database busy, retrying a batch (attempt %d): %s", attempt + 1,
			       why);
			pause_ms(WRITER_RETRY_PAUSE_MS);
			continue;
		}
		h->log(w->st->ctx, PARLEY_LOG_ERROR, "store_write_failed", "batch failed: %s", why);
		fail_batch(batch, db_rc(src) < 0 ? db_rc(src) : PARLEY_ERR, why);
		set_health(w, 1, why);
		goto post;
	}
	set_health(w, 0, NULL);
post:
	h->post(w->st->ctx, batch_done, batch);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->head)
			break; /* stopping, and everything queued is committed */
		/* Group commit: everything that arrived meanwhile, up to batch_max. */
		struct op *batch = w->head, *last = w->head;
		for (int n = 1; n < w->batch_max && last->next; n++)
			last = last->next;
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *writer_start(struct store *st, const struct db_options *o, int batch_max, char *err,
                            size_t errlen)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->st = st;
	w->batch_max = batch_max;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (db_open(&w->conn, o, err, errlen) != PARLEY_OK)
		goto fail;
	if (schema_migrate(&w->conn, err, errlen) != PARLEY_OK)
		goto fail;
	/* SQLite opens a file it may not write read-only, silently: say so
	 * now (ready() fails) rather than at the first write. */
	if (sqlite3_db_readonly(w->conn.db, "main") == 1) {
		w->read_only = 1;
		snprintf(w->read_only_error, sizeof w->read_only_error,
		         "%s cannot be written (read-only file or file system)", o->path);
		st->host->log(st->ctx, PARLEY_LOG_ERROR, "store_read_only", "%s",
		              w->read_only_error);
	}
	if (o->max_bytes > 0 && db_size_cap(&w->conn, o->max_bytes, err, errlen) != PARLEY_OK)
		goto fail;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	return w;
fail:
	db_close(&w->conn);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return NULL;
}

int writer_submit(struct writer *w, struct op *op)
{
	int rc = PARLEY_OK;
	op->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		rc = PARLEY_EUNAVAIL;
	} else {
		if (w->tail)
			w->tail->next = op;
		else
			w->head = op;
		w->tail = op;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int writer_healthy(struct writer *w, char *buf, size_t len)
{
	pthread_mutex_lock(&w->mu);
	int ok = !w->failed && !w->read_only;
	if (!ok)
		snprintf(buf, len, "writer: %s", w->read_only ? w->read_only_error : w->last_error);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	db_close(&w->conn);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
