/* parley backup / parley restore (see backup.h). The backup side loads
 * the configured plugins in admin mode, as the admin commands do, so it
 * runs beside the server that serves the same data dir. */
#include "app/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/sha256.h>

#include "app/backup_s3.h"
#include "app/cli_runtime.h"
#include "app/data_lock.h"
#include "app/store_copy.h"
#include "base/config.h"
#include "base/workers.h"
#include "host/plugin_host.h"

#define BACKUP_WORKERS 2
#define BACKUP_DATA    "data"
#define BACKUP_SNAP    "store.snapshot" /* before it moves under data/ */
#define COPY_CHUNK     (64 * 1024)
#define PATH_BYTES     4096

static void fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "parley: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Real time, not the loop's cached clock: the manifest's times order
 * backups for restore --at. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_BYTES, "%s/%s", a, b);
	return n > 0 && n < PATH_BYTES ? 0 : -1;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sync_fd_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Creates every missing folder of path's parent (0700). */
static int make_parents(const char *path)
{
	char buf[PATH_BYTES];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Copies (dst NULL: only reads) src, hashing what it reads. 0, or -1 with
 * errno. dst is created (must not exist) and fsynced. */
static int copy_hash(const char *src, const char *dst, char sha_hex[65], int64_t *size)
{
	unsigned char buf[COPY_CHUNK], digest[32];
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = -1;
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	*size = 0;
	if (in < 0)
		goto done;
	if (dst && (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto done;
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto done;
		if (r == 0)
			break;
		mbedtls_sha256_update_ret(&sha, buf, (size_t)r);
		*size += r;
		for (ssize_t off = 0; out >= 0 && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto done;
			off += w;
		}
	}
	if (out >= 0 && fsync(out) < 0)
		goto done;
	mbedtls_sha256_finish_ret(&sha, digest);
	hex(digest, sizeof digest, sha_hex);
	rc = 0;
done:
	mbedtls_sha256_free(&sha);
	int saved = errno;
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -1;
	errno = saved;
	return rc;
}

/* ---------------------------------------------------------------- */
/* backup                                                             */
/* ---------------------------------------------------------------- */

struct backup {
	char *out;       /* the backup folder */
	char *data_dir;  /* the configured data dir */
	char *store_rel; /* where the store reads its file (snapshot's text) */
	json_t *files;   /* the manifest's file list */
	int ok;
	char error[512];
	int64_t started_ms, snap_ms, snap_size, bytes;
	backup_done_fn done;
	void *ud;
};

static void bfail(struct backup *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bfail(struct backup *b, const char *fmt, ...)
{
	va_list ap;
	if (b->error[0])
		return; /* the first cause is the one to report */
	va_start(ap, fmt);
	vsnprintf(b->error, sizeof b->error, fmt, ap);
	va_end(ap);
}

static int add_file(struct backup *b, const char *in_backup, const char *to, const char *sha,
                    int64_t size)
{
	if (json_array_size(b->files) >= BACKUP_MAX_FILES) {
		bfail(b, "more than %d files in the data dir", BACKUP_MAX_FILES);
		return -1;
	}
	json_t *f = json_pack("{s:s, s:s, s:s, s:I}", "file", in_backup, "to", to, "sha256", sha,
	                      "size", (json_int_t)size);
	if (!f || json_array_append_new(b->files, f) < 0) {
		bfail(b, "out of memory");
		return -1;
	}
	b->bytes += size;
	return 0;
}

/* Files of the data dir that are not copied: the lock, the store's own
 * file and its SQLite companions (the snapshot stands for them), uploads
 * still being written, and the backup itself when it is inside. */
static int skipped(const struct backup *b, const char *rel, const char *abs)
{
	size_t n = strlen(rel);
	if (strcmp(rel, DATA_LOCK_FILE) == 0)
		return 1;
	if (n > 5 && strcmp(rel + n - 5, ".part") == 0)
		return 1;
	if (b->store_rel) {
		size_t s = strlen(b->store_rel);
		if (strncmp(rel, b->store_rel, s) == 0 &&
		    (rel[s] == '\0' || strcmp(rel + s, "-wal") == 0 ||
		     strcmp(rel + s, "-shm") == 0 || strcmp(rel + s, "-journal") == 0))
			return 1;
	}
	char real_out[PATH_BYTES], real_abs[PATH_BYTES];
	if (realpath(b->out, real_out) && realpath(abs, real_abs)) {
		size_t k = strlen(real_out);
		if (strncmp(real_abs, real_out, k) == 0 &&
		    (real_abs[k] == '/' || real_abs[k] == '\0'))
			return 1;
	}
	return 0;
}

/* Copies every regular file under data_dir/rel into out/data/rel. */
static int copy_tree(struct backup *b, const char *rel)
{
	char dir[PATH_BYTES];
	if (*rel ? join(dir, b->data_dir, rel) < 0
	         : snprintf(dir, sizeof dir, "%s", b->data_dir) >= PATH_BYTES) {
		bfail(b, "path too long under %s", b->data_dir);
		return -1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		bfail(b, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[PATH_BYTES], abs[PATH_BYTES], in_backup[PATH_BYTES], dst[PATH_BYTES];
		if ((*rel ? join(sub, rel, e->d_name) < 0
		          : snprintf(sub, sizeof sub, "%s", e->d_name) >= PATH_BYTES) ||
		    join(abs, b->data_dir, sub) < 0 || join(in_backup, BACKUP_DATA, sub) < 0 ||
		    join(dst, b->out, in_backup) < 0) {
			bfail(b, "path too long under %s", dir);
			rc = -1;
			break;
		}
		struct stat sb;
		if (lstat(abs, &sb) < 0) {
			if (errno == ENOENT) /* removed meanwhile (an upload's .part) */
				continue;
			bfail(b, "%s: %s", abs, strerror(errno));
			rc = -1;
		} else if (skipped(b, sub, abs)) {
			continue;
		} else if (S_ISDIR(sb.st_mode)) {
			char manifest[PATH_BYTES];
			/* Another backup (scheduled ones kept in the data dir). */
			if (join(manifest, abs, BACKUP_MANIFEST) == 0 &&
			    access(manifest, F_OK) == 0)
				continue;
			rc = copy_tree(b, sub);
		} else if (S_ISREG(sb.st_mode)) {
			char sha[65];
			int64_t size;
			if (make_parents(dst) < 0 || copy_hash(abs, dst, sha, &size) < 0) {
				if (errno == ENOENT)
					continue; /* deleted while we walked */
				bfail(b, "cannot copy %s: %s", abs, strerror(errno));
				rc = -1;
			} else {
				rc = add_file(b, in_backup, sub, sha, size);
			}
		}
	}
	closedir(d);
	return rc;
}

/* Moves the snapshot to where it goes (relative: under data/ like every
 * other file; absolute: stays beside) and lists it. */
static int place_snapshot(struct backup *b)
{
	char snap[PATH_BYTES], in_backup[PATH_BYTES], dst[PATH_BYTES], sha[65];
	int64_t size;
	if (join(snap, b->out, BACKUP_SNAP) < 0)
		return -1;
	if (b->store_rel[0] == '/')
		snprintf(in_backup, sizeof in_backup, "%s", BACKUP_SNAP);
	else if (join(in_backup, BACKUP_DATA, b->store_rel) < 0)
		return -1;
	if (join(dst, b->out, in_backup) < 0 || make_parents(dst) < 0 ||
	    (strcmp(in_backup, BACKUP_SNAP) != 0 && rename(snap, dst) < 0)) {
		bfail(b, "cannot place the snapshot: %s", strerror(errno));
		return -1;
	}
	if (copy_hash(dst, NULL, sha, &size) < 0) {
		bfail(b, "cannot read back %s: %s", dst, strerror(errno));
		return -1;
	}
	return add_file(b, in_backup, b->store_rel, sha, size);
}

static int write_manifest(struct backup *b)
{
	char path[PATH_BYTES], part[PATH_BYTES];
	if (join(path, b->out, BACKUP_MANIFEST) < 0 ||
	    join(part, b->out, BACKUP_MANIFEST ".part") < 0)
		return -1;
	json_t *m = json_pack("{s:s, s:i, s:I, s:I, s:I, s:O}", "format", BACKUP_FORMAT, "version",
	                      BACKUP_FORMAT_VER, "started_ms", (json_int_t)b->started_ms,
	                      "snapshot_ms", (json_int_t)b->snap_ms, "finished_ms",
	                      (json_int_t)wall_ms(), "files", b->files);
	int rc = m ? json_dump_file(m, part, JSON_INDENT(1) | JSON_SORT_KEYS) : -1;
	json_decref(m);
	if (rc < 0 || sync_fd_path(part, O_RDONLY) < 0 || rename(part, path) < 0 ||
	    sync_fd_path(b->out, O_RDONLY | O_DIRECTORY) < 0) {
		bfail(b, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void backup_free(struct backup *b)
{
	json_decref(b->files);
	free(b->out);
	free(b->data_dir);
	free(b->store_rel);
	free(b);
}

/* Worker thread: the files and the manifest (blocking I/O). */
static void files_work(void *arg)
{
	struct backup *b = arg;
	b->ok = place_snapshot(b) == 0 && copy_tree(b, "") == 0 && write_manifest(b) == 0;
}

static void finish(struct backup *b)
{
	struct backup_report r = {.ok = b->ok,
	                          .why = b->error[0] ? b->error : "failed",
	                          .out = b->out,
	                          .files = json_array_size(b->files),
	                          .bytes = b->bytes,
	                          .snapshot_ms = b->snap_ms,
	                          .duration_ms = wall_ms() - b->started_ms};
	b->done(b->ud, &r);
	backup_free(b);
}

static void files_done(void *arg, int cancelled)
{
	struct backup *b = arg;
	if (cancelled) {
		b->ok = 0;
		bfail(b, "cancelled: the server is stopping");
	}
	finish(b);
}

static void snapshot_done(void *ud, const parley_store_result *res)
{
	struct backup *b = ud;
	b->snap_ms = wall_ms();
	b->snap_size = res->value;
	if (res->rc != PARLEY_OK) {
		bfail(b, "store snapshot: %s", res->error ? res->error : "failed");
	} else if (!res->text) {
		bfail(b, "the store did not say where its file goes back");
	} else if (!(b->store_rel = strdup(res->text))) {
		bfail(b, "out of memory");
	} else if (workers_submit(files_work, files_done, b) == 0) {
		return;
	} else {
		bfail(b, "the worker pool is stopped");
	}
	finish(b);
}

int backup_start(const char *data_dir, const char *out_dir, backup_done_fn done, void *ud,
                 char *err, size_t errlen)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	char snap[PATH_BYTES], data[PATH_BYTES];
	if (!st) {
		snprintf(err, errlen, "no store is configured");
		return -1;
	}
	if (!PARLEY_HAS(parley_store_vtable, st, snapshot)) {
		snprintf(err, errlen,
		         "the configured store has no snapshot call (unavailable): back it up "
		         "with its own tools (see docs/operations.md)");
		return -1;
	}
	if (join(snap, out_dir, BACKUP_SNAP) < 0 || join(data, out_dir, BACKUP_DATA) < 0) {
		snprintf(err, errlen, "%s: path too long", out_dir);
		return -1;
	}
	if (mkdir(out_dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create %s: %s%s", out_dir, strerror(errno),
		         errno == EEXIST ? " (a backup goes into a new folder)" : "");
		return -1;
	}
	struct backup *b = calloc(1, sizeof *b);
	if (!b || !(b->files = json_array()) || !(b->out = strdup(out_dir)) ||
	    !(b->data_dir = strdup(data_dir)) || mkdir(data, 0700) < 0) {
		snprintf(err, errlen, "cannot start the backup: %s", strerror(errno));
		if (b)
			backup_free(b);
		return -1;
	}
	b->done = done;
	b->ud = ud;
	b->started_ms = wall_ms();
	int rc = st->snapshot(self, snap, snapshot_done, b);
	if (rc < 0) {
		snprintf(err, errlen, "the store refused the snapshot (%d)", rc);
		backup_free(b);
		return -1;
	}
	return 0;
}

struct cli_wait {
	int pending, ok;
};

static void cli_done(void *ud, const struct backup_report *r)
{
	struct cli_wait *w = ud;
	w->pending = 0;
	w->ok = r->ok;
	if (r->ok)
		fprintf(stderr, "parley: backup: %zu files, %lld bytes into %s in %lld ms\n",
		        r->files, (long long)r->bytes, r->out, (long long)r->duration_ms);
	else
		fail("backup", "%s (the unfinished folder %s has no manifest)", r->why, r->out);
}

static int backup_local(struct config *cfg, const char *out_dir, const char *s3_to,
                        const char *s3_name);
static int remove_tree_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

/* parley backup --out s3://BUCKET/PREFIX: staged in a temporary folder,
 * then uploaded under PREFIX/<UTC time>/ through the uploads provider. */
int backup_main(struct config *cfg, const char *out_dir)
{
	if (!backup_s3_is(out_dir))
		return backup_local(cfg, out_dir, NULL, NULL);
	char tmp[PATH_BYTES], dir[PATH_BYTES + 80], name[64], err[1024];
	if (backup_s3_check(cfg, out_dir, err, sizeof err) < 0) {
		fail("backup", "%s", err);
		return 1;
	}
	const char *t = getenv("TMPDIR");
	snprintf(tmp, sizeof tmp, "%s/parley-backup-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		fail("backup", "cannot make %s: %s", tmp, strerror(errno));
		return 1;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t len = strftime(name, sizeof name, "%Y-%m-%dT%H%M%S", &tm);
	snprintf(name + len, sizeof name - len, ".%03ldZ", ts.tv_nsec / 1000000);
	snprintf(dir, sizeof dir, "%s/%s", tmp, name);
	int status = backup_local(cfg, dir, out_dir, name);
	if (status == 0)
		fprintf(stderr, "parley: backup: uploaded to %s/%s\n", out_dir, name);
	nftw(tmp, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}

static void cli_uploaded(void *ud, int ok, const char *why)
{
	struct cli_wait *w = ud;
	w->pending = 0;
	w->ok = ok;
	if (!ok)
		fail("backup", "%s", why);
}

/* A backup into out_dir; with s3_to, then uploaded there as s3_name. */
static int backup_local(struct config *cfg, const char *out_dir, const char *s3_to,
                        const char *s3_name)
{
	struct cli_runtime rt = {0};
	struct cli_wait w = {0};
	char err[512];
	int started = cli_runtime_start(&rt, cfg, NULL, BACKUP_WORKERS, CLI_PLUGINS_ALL);
	if (started == CLI_RUNTIME_EPLUGINS)
		fail("backup", "cannot start the plugins");
	if (started < 0)
		goto done;
	if (backup_start(cfg->data_dir, out_dir, cli_done, &w, err, sizeof err) < 0) {
		fail("backup", "%s", err);
		goto done;
	}
	w.pending = 1;
	cli_runtime_wait(&w.pending);
	if (w.ok && s3_to) {
		struct cli_wait up = {.pending = 1};
		if (backup_s3_upload(s3_to, s3_name, out_dir, 0, cli_uploaded, &up, err,
		                     sizeof err) < 0) {
			fail("backup", "%s", err);
			up.pending = 0;
		}
		cli_runtime_wait(&up.pending);
		w.ok = up.ok;
	}
done:
	cli_runtime_stop(&rt);
	return w.ok ? 0 : 1;
}

/* ---------------------------------------------------------------- */
/* restore                                                            */
/* ---------------------------------------------------------------- */

/* A name from the manifest that stays inside its folder. */
static int safe_rel(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return 0;
	for (const char *s = p; *s; s++)
		if ((s == p || s[-1] == '/') && s[0] == '.' && s[1] == '.' &&
		    (s[2] == '/' || s[2] == '\0'))
			return 0;
	return 1;
}

/* 1 when the data dir holds anything but the lock file. */
static int has_data(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		        strcmp(e->d_name, DATA_LOCK_FILE) != 0;
	closedir(d);
	return found;
}

static json_t *load_manifest(const char *dir)
{
	char path[PATH_BYTES];
	json_error_t jerr;
	struct stat sb;
	if (join(path, dir, BACKUP_MANIFEST) < 0 || stat(path, &sb) < 0) {
		fail("restore", "%s: no %s (not a backup, or an unfinished one)", dir,
		     BACKUP_MANIFEST);
		return NULL;
	}
	if (sb.st_size > BACKUP_MAX_MANIFEST) {
		fail("restore", "%s: larger than %d bytes", path, BACKUP_MAX_MANIFEST);
		return NULL;
	}
	json_t *m = json_load_file(path, 0, &jerr);
	const char *format = NULL;
	json_t *files = NULL;
	int version = 0;
	if (!m ||
	    json_unpack(m, "{s:s, s:i, s:o}", "format", &format, "version", &version, "files",
	                &files) < 0 ||
	    strcmp(format, BACKUP_FORMAT) != 0 || !json_is_array(files)) {
		fail("restore", "%s: not a parley backup manifest%s%s", path, m ? "" : ": ",
		     m ? "" : jerr.text);
		json_decref(m);
		return NULL;
	}
	if (version > BACKUP_FORMAT_VER) {
		fail("restore", "%s: backup format %d is newer than this parley (%d)", path,
		     version, BACKUP_FORMAT_VER);
		json_decref(m);
		return NULL;
	}
	return m;
}

/* Every file as the manifest says (size and SHA-256), before anything is
 * written. */
static int verify(const char *dir, json_t *files)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		const char *file = NULL, *to = NULL, *sha = NULL;
		json_int_t size = -1;
		char path[PATH_BYTES], got[65];
		int64_t got_size;
		if (json_unpack(f, "{s:s, s:s, s:s, s:I}", "file", &file, "to", &to, "sha256", &sha,
		                "size", &size) < 0 ||
		    !safe_rel(file) ||
		    /* Only the store's own file may live outside the data dir. */
		    (to[0] == '/' ? strcmp(file, BACKUP_SNAP) != 0 : !safe_rel(to))) {
			fail("restore", "manifest entry %zu is malformed or leaves its folder", i);
			return -1;
		}
		if (join(path, dir, file) < 0 || copy_hash(path, NULL, got, &got_size) < 0) {
			fail("restore", "%s: %s", file, strerror(errno));
			return -1;
		}
		if (got_size != size || strcmp(got, sha) != 0) {
			fail("restore",
			     "%s does not match the manifest (size %lld, expected %lld): "
			     "the backup is damaged",
			     file, (long long)got_size, (long long)size);
			return -1;
		}
	}
	return 0;
}

static int put_back(const char *dir, const char *data_dir, json_t *f)
{
	const char *file = json_string_value(json_object_get(f, "file"));
	const char *to = json_string_value(json_object_get(f, "to"));
	char src[PATH_BYTES], dst[PATH_BYTES], part[PATH_BYTES], sha[65];
	int64_t size;
	if (join(src, dir, file) < 0 ||
	    (to[0] == '/' ? snprintf(dst, sizeof dst, "%s", to) >= PATH_BYTES
	                  : join(dst, data_dir, to) < 0) ||
	    snprintf(part, sizeof part, "%s.part", dst) >= PATH_BYTES)
		return -1;
	unlink(part);
	if (make_parents(dst) < 0 || copy_hash(src, part, sha, &size) < 0 ||
	    rename(part, dst) < 0) {
		fail("restore", "cannot write %s: %s", dst, strerror(errno));
		unlink(part);
		return -1;
	}
	/* A WAL left from the data that was there would be replayed onto the
	 * restored database. */
	static const char *const companions[] = {"-wal", "-shm", "-journal"};
	for (size_t k = 0; k < 3; k++) {
		char c[PATH_BYTES];
		if (snprintf(c, sizeof c, "%s%s", dst, companions[k]) < PATH_BYTES &&
		    unlink(c) < 0 && errno != ENOENT) {
			fail("restore", "cannot remove %s: %s", c, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int64_t backup_parse_time(const char *s)
{
	static const char *const formats[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
	                                      "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"};
	for (size_t i = 0; s && i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm = {0};
		const char *end = strptime(s, formats[i], &tm);
		if (end && (strcmp(end, "") == 0 || strcmp(end, "Z") == 0))
			return (int64_t)timegm(&tm) * 1000;
	}
	return -1;
}

/* The newest backup under dir whose snapshot was complete at or before
 * at_ms, into out; 0, or -1 after saying why. */
static int pick_backup(const char *dir, int64_t at_ms, char *out)
{
	DIR *d = opendir(dir);
	if (!d) {
		fail("restore", "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	int64_t best = -1, oldest = -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char sub[PATH_BYTES], path[PATH_BYTES];
		json_t *m;
		json_int_t when = -1;
		if (e->d_name[0] == '.' || join(sub, dir, e->d_name) < 0 ||
		    join(path, sub, BACKUP_MANIFEST) < 0 || access(path, R_OK) < 0 ||
		    !(m = json_load_file(path, 0, NULL)))
			continue;
		if (json_unpack(m, "{s:I}", "snapshot_ms", &when) == 0 && when >= 0) {
			if (oldest < 0 || when < oldest)
				oldest = when;
			if (when <= at_ms && when > best) {
				best = when;
				snprintf(out, PATH_BYTES, "%s", sub);
			}
		}
		json_decref(m);
	}
	closedir(d);
	if (best < 0) {
		if (oldest < 0)
			fail("restore", "%s holds no finished backup", dir);
		else
			fail("restore",
			     "no backup in %s is from at or before that time (the oldest is "
			     "%lld ms since the epoch)",
			     dir, (long long)oldest);
		return -1;
	}
	fprintf(stderr, "parley: restore: --at picks %s\n", out);
	return 0;
}

/* A store whose data lives in a database server (store_mongo) backs up as
 * a records dump: restored into the data dir, it is loaded into the
 * configured store (which must be empty, or --force merges by id), then
 * removed. -1 after reporting a failed load (the dump stays, to retry
 * with `parley restore` again or to inspect). */
static int load_dumps(struct config *cfg, json_t *files, int force)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		const char *to = json_string_value(json_object_get(f, "to"));
		char path[PATH_BYTES];
		if (!to || (to[0] == '/' ? snprintf(path, sizeof path, "%s", to) >= PATH_BYTES
		                         : join(path, cfg->data_dir, to) < 0))
			continue;
		if (!store_copy_is_dump(path))
			continue;
		fprintf(stderr, "parley: restore: loading the records of %s into the store\n",
		        path);
		if (store_copy_load(cfg, path, force) != 0) {
			fail("restore", "the store did not take the records of %s", path);
			return -1;
		}
		unlink(path);
	}
	return 0;
}

static int restore_local(struct config *cfg, const char *dir, int force, int64_t at_ms);

static int remove_tree_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* The backup at url into dir through the uploads provider, loaded alone:
 * the store is not started (it would open the data dir being restored). */
static int fetch_s3(struct config *cfg, const char *url, int64_t at_ms, const char *dir, char *err,
                    size_t errlen)
{
	struct cli_runtime rt = {0};
	int rc = -1;
	struct config *alone = malloc(sizeof *alone);
	if (!alone) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*alone = *cfg;
	alone->n_plugins = 0;
	for (size_t i = 0; i < cfg->n_plugins && i < CONFIG_MAX_PLUGINS; i++)
		if (cfg->plugins[i].name && strncmp(cfg->plugins[i].name, "uploads_", 8) == 0)
			alone->plugins[alone->n_plugins++] = cfg->plugins[i];
	int started = cli_runtime_start(&rt, alone, NULL, BACKUP_WORKERS, CLI_PLUGINS_ALONE);
	if (started == 0)
		rc = backup_s3_fetch(url, at_ms, dir, err, errlen);
	else
		snprintf(err, errlen, "%s",
		         started == CLI_RUNTIME_ELOOP ? "cannot start the loop"
		                                      : "cannot start the uploads provider");
	cli_runtime_stop(&rt);
	free(alone);
	return rc;
}

/* s3://BUCKET/PREFIX[/NAME]: the backup is fetched into a folder beside
 * the data dir (never into it: a restore refuses a data dir with data),
 * restored from there, then removed. */
static int restore_s3(struct config *cfg, const char *url, int force, int64_t at_ms)
{
	char tmp[PATH_BYTES], dir[PATH_BYTES + 8], err[1024];
	if (backup_s3_check(cfg, url, err, sizeof err) < 0) {
		fail("restore", "%s", err);
		return 1;
	}
	snprintf(tmp, sizeof tmp, "%s.restore-XXXXXX", cfg->data_dir);
	if (!mkdtemp(tmp)) {
		fail("restore", "cannot make %s: %s", tmp, strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/b", tmp);
	int status = 1;
	if (fetch_s3(cfg, url, at_ms, dir, err, sizeof err) < 0)
		fail("restore", "%s", err);
	else
		status = restore_local(cfg, dir, force, -1);
	nftw(tmp, remove_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}

int restore_main(struct config *cfg, const char *dir, int force, int64_t at_ms)
{
	if (backup_s3_is(dir))
		return restore_s3(cfg, dir, force, at_ms);
	return restore_local(cfg, dir, force, at_ms);
}

static int restore_local(struct config *cfg, const char *dir, int force, int64_t at_ms)
{
	char err[1024], picked[PATH_BYTES];
	int status = 1;
	const char *backup_dir = dir;
	if (at_ms >= 0) {
		if (pick_backup(dir, at_ms, picked) < 0)
			return 1;
		backup_dir = picked;
	}
	json_t *m = load_manifest(backup_dir);
	if (!m)
		return 1;
	json_t *files = json_object_get(m, "files");
	if (verify(backup_dir, files) < 0)
		goto done;
	if (data_lock_take(cfg->data_dir, err, sizeof err) < 0) {
		fail("restore", "%s", err);
		goto done;
	}
	/* has_data runs under the lock: no server can start meanwhile. */
	if (!force && has_data(cfg->data_dir)) {
		fail("restore",
		     "data dir %s is not empty: restore with --force to replace what the "
		     "backup holds (other files stay)",
		     cfg->data_dir);
		goto unlock;
	}
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		if (put_back(backup_dir, cfg->data_dir, f) < 0)
			goto unlock;
	}
	if (sync_fd_path(cfg->data_dir, O_RDONLY | O_DIRECTORY) < 0) {
		fail("restore", "cannot sync %s: %s", cfg->data_dir, strerror(errno));
		goto unlock;
	}
	fprintf(stderr, "parley: restore: %zu files into %s\n", json_array_size(files),
	        cfg->data_dir);
	if (load_dumps(cfg, files, force) < 0)
		goto unlock;
	status = 0;
unlock:
	data_lock_release();
done:
	json_decref(m);
	return status;
}
