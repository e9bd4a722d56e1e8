#include "app/data_lock.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define DATA_LOCK_PID_MAX 32

static int lock_fd = -1;

static int open_lock(const char *data_dir, char *path, size_t pathlen, char *err, size_t n)
{
	int w = snprintf(path, pathlen, "%s/%s", data_dir, DATA_LOCK_FILE);
	if (w < 0 || (size_t)w >= pathlen) {
		snprintf(err, n, "data dir %s: path too long", data_dir);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		snprintf(err, n, "data dir %s: cannot open %s: %s", data_dir, path,
		         strerror(errno));
	return fd;
}

/* The holder's pid as it wrote it, for the message; "?" when unreadable. */
static void holder_pid(int fd, char *out, size_t n)
{
	ssize_t got = pread(fd, out, n - 1, 0);
	size_t len = got > 0 ? strspn(out, "0123456789") : 0;
	if (len == 0 || len > (size_t)got)
		snprintf(out, n, "?");
	else
		out[len] = '\0';
}

int data_lock_take(const char *data_dir, char *err, size_t n)
{
	char path[4096], pid[DATA_LOCK_PID_MAX];
	int fd = open_lock(data_dir, path, sizeof path, err, n);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			holder_pid(fd, pid, sizeof pid);
			snprintf(
			    err, n,
			    "data dir %s is in use by another parley server (pid %s, lock %s): "
			    "stop it first, or give this one another data_dir",
			    data_dir, pid, path);
		} else {
			snprintf(err, n, "data dir %s: cannot lock %s: %s", data_dir, path,
			         strerror(errno));
		}
		close(fd);
		return -1;
	}
	/* The pid is for people reading the file; the flock is the lock. */
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		log_warn("data_lock", NULL, "%s: cannot write the pid: %s", path, strerror(errno));
	lock_fd = fd;
	return 0;
}

void data_lock_release(void)
{
	if (lock_fd < 0)
		return;
	close(lock_fd); /* closing drops the flock */
	lock_fd = -1;
}
