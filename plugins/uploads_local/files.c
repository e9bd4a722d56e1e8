/* Reads and removals: one worker-pool job each. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

struct file_job {
	struct local *l;
	char *path;
	int64_t offset;
	size_t len, got;
	int err;
	parley_upload_read_done read_done;
	parley_upload_done remove_done;
	void *ud;
	unsigned char *buf;
};

static void job_free(struct file_job *j)
{
	const parley_host *h = j->l->host;
	h->free(j->l->ctx, j->buf);
	h->free(j->l->ctx, j->path);
	h->free(j->l->ctx, j);
}

static struct file_job *job_new(struct local *l, const char *key)
{
	if (!local_key_ok(key))
		return NULL;
	struct file_job *j = l->host->calloc(l->ctx, 1, sizeof *j);
	if (!j)
		return NULL;
	j->l = l;
	if (!(j->path = local_path(l, key, ""))) {
		l->host->free(l->ctx, j);
		return NULL;
	}
	return j;
}

static void read_work(void *arg)
{
	struct file_job *j = arg;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->err = errno;
		return;
	}
	while (j->got < j->len) {
		ssize_t n =
		    pread(fd, j->buf + j->got, j->len - j->got, (off_t)j->offset + (off_t)j->got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			j->err = errno;
			break;
		}
		if (n == 0)
			break;
		j->got += (size_t)n;
	}
	close(fd);
}

static void read_done(void *arg, int cancelled)
{
	struct file_job *j = arg;
	struct local *l = j->l;
	char error[200];
	if (cancelled || j->err) {
		snprintf(error, sizeof error, "read %s: %s", j->path,
		         cancelled ? "shutdown" : strerror(j->err));
		j->read_done(j->ud, j->err == ENOENT ? PARLEY_ENOTFOUND : PARLEY_ERR, NULL, 0,
		             error);
	} else {
		j->read_done(j->ud, PARLEY_OK, j->buf, j->got, NULL);
	}
	job_free(j);
	local_unref(l);
}

int local_read(void *self, const char *key, int64_t offset, size_t len,
               parley_upload_read_done done, void *ud)
{
	struct local *l = self;
	if (offset < 0 || len == 0)
		return PARLEY_EINVAL;
	struct file_job *j = job_new(l, key);
	if (!j)
		return local_key_ok(key) ? PARLEY_ENOMEM : PARLEY_EINVAL;
	if (!(j->buf = l->host->alloc(l->ctx, len))) {
		job_free(j);
		return PARLEY_ENOMEM;
	}
	j->offset = offset;
	j->len = len;
	j->read_done = done;
	j->ud = ud;
	local_ref(l);
	if (l->host->submit(l->ctx, read_work, read_done, j) != 0) {
		job_free(j);
		local_unref(l);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_PENDING;
}

static void remove_work(void *arg)
{
	struct file_job *j = arg;
	if (unlink(j->path) < 0)
		j->err = errno;
}

static void remove_done(void *arg, int cancelled)
{
	struct file_job *j = arg;
	struct local *l = j->l;
	char error[200];
	snprintf(error, sizeof error, "unlink %s: %s", j->path,
	         cancelled ? "shutdown" : strerror(j->err));
	int rc = cancelled          ? PARLEY_EUNAVAIL
	         : !j->err          ? PARLEY_OK
	         : j->err == ENOENT ? PARLEY_ENOTFOUND
	                            : PARLEY_ERR;
	j->remove_done(j->ud, rc, rc == PARLEY_OK ? NULL : error);
	job_free(j);
	local_unref(l);
}

int local_remove(void *self, const char *key, parley_upload_done done, void *ud)
{
	struct local *l = self;
	struct file_job *j = job_new(l, key);
	if (!j)
		return local_key_ok(key) ? PARLEY_ENOMEM : PARLEY_EINVAL;
	j->remove_done = done;
	j->ud = ud;
	local_ref(l);
	if (l->host->submit(l->ctx, remove_work, remove_done, j) != 0) {
		job_free(j);
		local_unref(l);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_PENDING;
}

char *local_file_path(void *self, const char *key)
{
	struct local *l = self;
	return local_key_ok(key) ? local_path(l, key, "") : NULL;
}
