/* The spool's files. A message is accepted only once its file is on disk
 * for good (fsync of the file and of its folder after the rename), so a
 * crash or kill loses nothing that was acknowledged. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_PATH_MAX  4096
#define SPOOL_DIR_MODE  0700 /* mail holds links with tokens */
#define SPOOL_FILE_MODE 0600

static int mkdir_p(const char *path)
{
	char tmp[SPOOL_PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, SPOOL_DIR_MODE) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, SPOOL_DIR_MODE) < 0 && errno != EEXIST ? -1 : 0;
}

int email_spool_prepare(const char *dir)
{
	char path[SPOOL_PATH_MAX];
	if (mkdir_p(dir) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, EMAIL_QUEUE_DIR);
	if (mkdir_p(path) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, EMAIL_FAILED_DIR);
	return mkdir_p(path);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int email_spool_write(const char *dir, const char *name, const char *data, size_t len, char *err,
                      size_t err_len)
{
	char tmp[SPOOL_PATH_MAX], final[SPOOL_PATH_MAX];
	const char *what = "open";
	snprintf(tmp, sizeof tmp, "%s/%s%s", dir, EMAIL_TMP_PREFIX, name);
	snprintf(final, sizeof final, "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, SPOOL_FILE_MODE);
	if (fd < 0)
		goto error;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			what = "write";
			goto error;
		}
		off += (size_t)n;
	}
	what = "fsync";
	if (fsync(fd) < 0)
		goto error;
	what = "close";
	int rc = close(fd);
	fd = -1;
	if (rc < 0)
		goto error;
	what = "rename";
	if (rename(tmp, final) < 0)
		goto error;
	what = "fsync of the folder";
	if (fsync_dir(dir) < 0)
		goto error;
	return 0;
error:
	snprintf(err, err_len, "%s %s: %s", what, final, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int email_spool_fail(const char *dir, const char *id, const char *reason)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], why[SPOOL_PATH_MAX];
	snprintf(from, sizeof from, "%s/%s/%s%s", dir, EMAIL_QUEUE_DIR, id, EMAIL_EML_EXT);
	snprintf(to, sizeof to, "%s/%s/%s%s", dir, EMAIL_FAILED_DIR, id, EMAIL_EML_EXT);
	snprintf(why, sizeof why, "%s/%s/%s.reason", dir, EMAIL_FAILED_DIR, id);
	/* The reason first: a failed/ message never lacks its explanation. */
	FILE *f = fopen(why, "w");
	if (f) {
		fprintf(f, "%s\n", reason);
		fclose(f);
	}
	return rename(from, to);
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

int email_spool_scan(const char *dir, void (*fn)(const char *id, void *arg), void *arg)
{
	char path[SPOOL_PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, EMAIL_QUEUE_DIR);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, EMAIL_TMP_PREFIX, strlen(EMAIL_TMP_PREFIX)) == 0) {
			unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (e->d_name[0] == '.' || !has_suffix(e->d_name, EMAIL_EML_EXT))
			continue;
		char id[256];
		snprintf(id, sizeof id, "%.*s", (int)(strlen(e->d_name) - strlen(EMAIL_EML_EXT)),
		         e->d_name);
		fn(id, arg);
		count++;
	}
	closedir(d);
	return count;
}

char *email_spool_read(const char *path, size_t max, size_t *len)
{
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto done;
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		errno = EFBIG;
		goto done;
	}
	data = malloc((size_t)st.st_size + 1);
	size_t off = 0;
	while (data && off < (size_t)st.st_size) {
		ssize_t n = read(fd, data + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(data);
			data = NULL;
			break;
		}
		off += (size_t)n;
	}
	if (data) {
		data[off] = '\0';
		*len = off;
	}
done:
	close(fd);
	return data;
}
