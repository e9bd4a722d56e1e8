/* The streaming write of one object. The loop thread queues copies of the
 * chunks; one job at a time on the worker pool writes everything queued
 * (so chunks land in order), and the last job fsyncs, closes and renames
 * <key>.part to <key>. write() answers PENDING above LOCAL_HIGH_WATER
 * bytes in the queue and calls the waiter back under LOCAL_LOW_WATER.
 *
 * An abort while a job runs is noted and done() by that job's completion
 * (the job owns the fd meanwhile): the part file is unlinked and the
 * writer freed there, and no callback of the core runs any more. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

struct chunk {
	struct chunk *next;
	size_t len;
	unsigned char data[];
};

struct writer {
	struct local *l;
	char *part, *final;
	int fd;
	struct chunk *head, *tail; /* waiting for the next job */
	size_t queued;             /* bytes queued or being written */
	int running;               /* a job owns fd and its chunks */
	int failed;
	char error[160];
	int aborted;
	int finishing;
	int done_final; /* the closing job ran */
	parley_upload_done waiter;
	void *waiter_ud;
	parley_upload_done finish_done;
	void *finish_ud;
};

/* One job: chunks to write and, when last, close and rename. */
struct job {
	struct writer *w;
	struct chunk *chunks;
	size_t bytes;
	int last;    /* fsync, close, rename */
	int discard; /* abort: close, unlink */
	int err;     /* errno of the first failure */
	const char *what;
};

static void writer_free(struct writer *w)
{
	const parley_host *h = w->l->host;
	parley_ctx *ctx = w->l->ctx;
	while (w->head) {
		struct chunk *c = w->head;
		w->head = c->next;
		h->free(ctx, c);
	}
	h->free(ctx, w->part);
	h->free(ctx, w->final);
	h->free(ctx, w);
}

static void job_work(void *arg)
{
	struct job *j = arg;
	struct writer *w = j->w;
	if (j->discard) {
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		unlink(w->part);
		return;
	}
	if (w->fd < 0) {
		w->fd = open(w->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd < 0) {
			j->err = errno;
			j->what = "open";
			return;
		}
	}
	for (struct chunk *c = j->chunks; c; c = c->next) {
		size_t off = 0;
		while (off < c->len) {
			ssize_t n = write(w->fd, c->data + off, c->len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				j->err = errno;
				j->what = "write";
				return;
			}
			off += (size_t)n;
		}
	}
	if (j->last) {
		if (fsync(w->fd) < 0) {
			j->err = errno;
			j->what = "fsync";
			return;
		}
		int rc = close(w->fd);
		w->fd = -1;
		if (rc < 0 || rename(w->part, w->final) < 0) {
			j->err = errno;
			j->what = rc < 0 ? "close" : "rename";
		}
	}
}

static void kick(struct writer *w);

static void discard(struct writer *w);

static void job_finished(void *arg, int cancelled);

/* The job is back: its work, then the plugin's reference goes. */
static void job_done(void *arg, int cancelled)
{
	struct local *l = ((struct job *)arg)->w->l;
	job_finished(arg, cancelled);
	local_unref(l);
}

static void job_finished(void *arg, int cancelled)
{
	struct job *j = arg;
	struct writer *w = j->w;
	const parley_host *h = w->l->host;
	parley_ctx *ctx = w->l->ctx;
	while (j->chunks) {
		struct chunk *c = j->chunks;
		j->chunks = c->next;
		h->free(ctx, c);
	}
	w->queued -= j->bytes;
	w->running = 0;
	int was_discard = j->discard, was_last = j->last;
	if (cancelled && !was_discard && !j->err) {
		j->err = ECANCELED;
		j->what = "shutdown";
	}
	if (j->err && !w->failed) {
		w->failed = 1;
		snprintf(w->error, sizeof w->error, "%s %s: %s", j->what, w->part,
		         strerror(j->err));
		h->log(ctx, PARLEY_LOG_ERROR, "upload_write", "%s", w->error);
	}
	h->free(ctx, j);
	if (was_discard) {
		writer_free(w);
		return;
	}
	if (w->aborted) {
		discard(w);
		return;
	}
	if (was_last && !w->failed) {
		w->done_final = 1;
		parley_upload_done fd = w->finish_done;
		void *ud = w->finish_ud;
		writer_free(w);
		fd(ud, PARLEY_OK, NULL);
		return;
	}
	if (w->failed) {
		/* Tell whoever waits; the core then aborts (or finish fails). */
		parley_upload_done cb = w->finishing ? w->finish_done : w->waiter;
		void *ud = w->finishing ? w->finish_ud : w->waiter_ud;
		w->waiter = NULL;
		if (w->finishing) {
			char error[sizeof w->error];
			memcpy(error, w->error, sizeof error);
			discard(w); /* finish's done ends the writer's life */
			cb(ud, PARLEY_ERR, error);
		} else if (cb) {
			cb(ud, PARLEY_ERR, w->error);
		}
		return;
	}
	if (w->waiter && w->queued <= LOCAL_LOW_WATER) {
		parley_upload_done cb = w->waiter;
		w->waiter = NULL;
		kick(w);
		cb(w->waiter_ud, PARLEY_OK, NULL);
		return;
	}
	kick(w);
}

static void submit_job(struct writer *w, struct job *j)
{
	w->running = 1;
	local_ref(w->l);
	if (w->l->host->submit(w->l->ctx, job_work, job_done, j) != 0)
		job_done(j, 1); /* the pool is stopped: as if cancelled */
}

/* Starts a job for what is queued (or the closing one) unless one runs. */
static void kick(struct writer *w)
{
	if (w->running || w->failed)
		return;
	if (!w->head && !(w->finishing && !w->done_final))
		return;
	struct job *j = w->l->host->calloc(w->l->ctx, 1, sizeof *j);
	if (!j) {
		w->failed = 1;
		snprintf(w->error, sizeof w->error, "out of memory");
		return;
	}
	j->w = w;
	j->chunks = w->head;
	for (struct chunk *c = w->head; c; c = c->next)
		j->bytes += c->len;
	w->head = w->tail = NULL;
	j->last = w->finishing;
	submit_job(w, j);
}

/* Drops the part file (on the pool, after any running job) and frees w. */
static void discard(struct writer *w)
{
	w->aborted = 1;
	if (w->running)
		return; /* job_done comes back here */
	struct job *j = w->l->host->calloc(w->l->ctx, 1, sizeof *j);
	if (!j) {
		if (w->fd >= 0)
			close(w->fd);
		unlink(w->part);
		writer_free(w);
		return;
	}
	j->w = w;
	j->discard = 1;
	submit_job(w, j);
}

int local_begin(void *self, const char *key, const char *type, const char *disposition,
                int64_t size, void **handle)
{
	struct local *l = self;
	(void)type; /* the core keeps type and name in the store */
	(void)disposition;
	(void)size;
	if (!local_key_ok(key))
		return PARLEY_EINVAL;
	struct writer *w = l->host->calloc(l->ctx, 1, sizeof *w);
	if (!w)
		return PARLEY_ENOMEM;
	w->l = l;
	w->fd = -1;
	w->part = local_path(l, key, ".part");
	w->final = local_path(l, key, "");
	if (!w->part || !w->final) {
		writer_free(w);
		return PARLEY_ENOMEM;
	}
	*handle = w;
	return PARLEY_OK;
}

int local_write(void *handle, const void *data, size_t len, parley_upload_done done, void *ud)
{
	struct writer *w = handle;
	if (w->failed)
		return PARLEY_ERR;
	if (len == 0)
		return PARLEY_OK;
	struct chunk *c = w->l->host->alloc(w->l->ctx, sizeof *c + len);
	if (!c)
		return PARLEY_ENOMEM;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, data, len);
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	w->queued += len;
	kick(w);
	if (w->queued <= LOCAL_HIGH_WATER)
		return PARLEY_OK;
	w->waiter = done;
	w->waiter_ud = ud;
	return PARLEY_PENDING;
}

int local_finish(void *handle, parley_upload_done done, void *ud)
{
	struct writer *w = handle;
	if (w->failed) {
		discard(w);
		return PARLEY_ERR;
	}
	w->finishing = 1;
	w->finish_done = done;
	w->finish_ud = ud;
	w->waiter = NULL;
	kick(w);
	if (w->failed) {
		discard(w);
		return PARLEY_ERR;
	}
	return PARLEY_PENDING;
}

void local_abort(void *handle)
{
	struct writer *w = handle;
	w->waiter = NULL;
	w->finish_done = NULL;
	discard(w);
}
