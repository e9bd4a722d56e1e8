/* Backups in S3 through the uploads provider's object members (see
 * backup_s3.h): names, picking and pruning; no HTTP. */
#include "app/backup_s3.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app/cli_runtime.h"
#include "base/config.h"
#include "base/log.h"
#include "base/workers.h"
#include "host/plugin_host.h"

#define S3_PATH       4096
#define MANIFEST      "manifest.json"
#define FILES_MAX     1000000 /* files in one backup folder */
#define UPLOADS_KEYS  "up_"   /* the core's upload keys begin so (api/uploads.c) */
#define S3_PROVIDER   "uploads_s3"
#define UPLOADS_KINDS "uploads_"

struct target {
	char bucket[256], prefix[1024];
};

int backup_s3_is(const char *to)
{
	return to && strncmp(to, BACKUP_S3_PREFIX, strlen(BACKUP_S3_PREFIX)) == 0;
}

/* s3://bucket/prefix -> bucket, prefix (no leading or trailing slash; not
 * empty: backups share the bucket with the uploads). */
static int parse(const char *to, struct target *t, char *err, size_t errlen)
{
	if (!backup_s3_is(to)) {
		snprintf(err, errlen, "%s: not s3://BUCKET/PREFIX", to ? to : "(none)");
		return -1;
	}
	const char *b = to + strlen(BACKUP_S3_PREFIX), *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	if (blen == 0 || blen >= sizeof t->bucket) {
		snprintf(err, errlen, "%s: not s3://BUCKET/PREFIX", to);
		return -1;
	}
	memcpy(t->bucket, b, blen);
	t->bucket[blen] = '\0';
	const char *p = slash ? slash + 1 : "";
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	if (plen == 0) {
		snprintf(
		    err, errlen,
		    "%s: a prefix is required (s3://%s/backups): backups share the bucket with "
		    "the uploads and need a folder of their own",
		    to, t->bucket);
		return -1;
	}
	if (plen >= sizeof t->prefix || strstr(p, "..") || p[0] == '/') {
		snprintf(err, errlen, "%s: a bad prefix (too long, '..' or '//')", to);
		return -1;
	}
	memcpy(t->prefix, p, plen);
	t->prefix[plen] = '\0';
	return 0;
}

/* The uploads provider's entry in plugins, or NULL. */
static const struct plugin_spec *uploads_spec(const struct config *cfg)
{
	const struct plugin_spec *found = NULL;
	for (size_t i = 0; i < cfg->n_plugins && i < CONFIG_MAX_PLUGINS; i++)
		if (cfg->plugins[i].name &&
		    strncmp(cfg->plugins[i].name, UPLOADS_KINDS, strlen(UPLOADS_KINDS)) == 0)
			found = &cfg->plugins[i];
	return found;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int backup_s3_check(const struct config *cfg, const char *to, char *err, size_t errlen)
{
	struct target t;
	if (parse(to, &t, err, errlen) < 0)
		return -1;
	const struct plugin_spec *up = uploads_spec(cfg);
	if (!up) {
		snprintf(err, errlen,
		         "%s: no uploads provider in plugins; backups to S3 go through uploads_s3 "
		         "(its endpoint, keys and bucket): add it, or back up to a folder",
		         to);
		return -1;
	}
	if (strcmp(up->name, S3_PROVIDER) != 0) {
		snprintf(err, errlen,
		         "%s: the uploads provider %s has no object store for backups (uploads_s3 "
		         "has); back up to a folder (backup.to = DIR), or use uploads_s3",
		         to, up->name);
		return -1;
	}
	const char *bucket = NULL, *uprefix = NULL;
	if (up->section) {
		conf_get_str(up->section, "bucket", &bucket);
		conf_get_str(up->section, "prefix", &uprefix);
	}
	if (!uprefix)
		uprefix = "";
	if (!bucket || strcmp(bucket, t.bucket) != 0) {
		snprintf(err, errlen,
		         "%s: the bucket %s is not uploads_s3's bucket (%s); backups go to the "
		         "uploads provider's bucket, under a prefix of their own "
		         "(s3://%s/backups)",
		         to, t.bucket, bucket ? bucket : "none", bucket ? bucket : "BUCKET");
		return -1;
	}
	/* The uploads' keys are uprefix + "up_…", the backups' prefix + "/…":
	 * neither space may hold the other, or a listing of backups would
	 * see uploads (and pruning could remove them). */
	char uploads_keys[1100], backup_keys[1100];
	snprintf(uploads_keys, sizeof uploads_keys, "%s%s", uprefix, UPLOADS_KEYS);
	snprintf(backup_keys, sizeof backup_keys, "%s/", t.prefix);
	if (starts_with(uploads_keys, backup_keys) || starts_with(backup_keys, uploads_keys)) {
		snprintf(err, errlen,
		         "%s: the prefix %s overlaps the uploads' objects (%s…); give backups a "
		         "prefix of their own, e.g. s3://%s/backups",
		         to, t.prefix, uploads_keys, t.bucket);
		return -1;
	}
	return 0;
}

/* The loaded provider's object members, or NULL with err. */
static const parley_uploads_vtable *object_store(void **self, char *err, size_t errlen)
{
	/* The provider itself: plugins_uploads() also wants a store with
	 * upload records, which a restore does not start. */
	const struct provider *p = plugins_provider(PARLEY_PROVIDE_UPLOADS);
	const parley_uploads_vtable *u = p ? p->vtable : NULL;
	*self = p ? p->self : NULL;
	if (!PARLEY_HAS(parley_uploads_vtable, u, put_object)) {
		snprintf(err, errlen,
		         "the uploads provider has no object store for backups (put_object, "
		         "list_objects, get_object, delete_object): use uploads_s3");
		return NULL;
	}
	return u;
}

/* ---- names ----------------------------------------------------------- */

/* A backup's name in a key under base ("p/"): the segment after base, and
 * whether the key is that backup's manifest. 0, or -1 when the key is not
 * inside a backup folder. */
static int name_of(const char *key, const char *base, char *name, size_t n, int *is_manifest)
{
	const char *rest = key + strlen(base), *slash = strchr(rest, '/');
	if (!starts_with(key, base) || !slash || slash == rest || (size_t)(slash - rest) >= n)
		return -1;
	memcpy(name, rest, (size_t)(slash - rest));
	name[slash - rest] = '\0';
	*is_manifest = strcmp(slash + 1, MANIFEST) == 0;
	return 0;
}

struct names {
	struct name_entry {
		char *name;
		int finished;
	} * v;
	size_t n;
};

static int by_name_desc(const void *a, const void *b)
{
	return -strcmp(((const struct name_entry *)a)->name, ((const struct name_entry *)b)->name);
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i].name);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

/* The backups among objects under base, newest first (names are UTC
 * times, so they sort). 0, or -1 (out of memory). */
static int names_from(const parley_object_info *objects, size_t n, const char *base,
                      struct names *out)
{
	out->v = calloc(n ? n : 1, sizeof *out->v);
	out->n = 0;
	if (!out->v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char name[512];
		int is_manifest, known = 0;
		if (name_of(objects[i].key, base, name, sizeof name, &is_manifest) < 0)
			continue;
		for (size_t k = 0; k < out->n && !known; k++)
			if (strcmp(out->v[k].name, name) == 0) {
				out->v[k].finished |= is_manifest;
				known = 1;
			}
		if (known)
			continue;
		if (!(out->v[out->n].name = strdup(name))) {
			names_free(out);
			return -1;
		}
		out->v[out->n++].finished = is_manifest;
	}
	qsort(out->v, out->n, sizeof *out->v, by_name_desc);
	return 0;
}

/* ---- upload and prune (the loop, asynchronously) --------------------- */

struct upload {
	struct target t;
	char *dir, *name;
	char **files; /* relative paths, the manifest last */
	size_t n_files, next;
	int64_t keep;
	char walk_error[512];
	const parley_uploads_vtable *u;
	void *self;
	char **deletes; /* prune: keys to remove, in order */
	size_t n_deletes, next_delete, removed;
	backup_s3_done_fn done;
	void *ud;
};

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void upload_end(struct upload *up, int ok, const char *why)
{
	backup_s3_done_fn done = up->done;
	void *ud = up->ud;
	char copy[1024];
	snprintf(copy, sizeof copy, "%s", why ? why : "");
	strings_free(up->files, up->n_files);
	strings_free(up->deletes, up->n_deletes);
	free(up->dir);
	free(up->name);
	free(up);
	done(ud, ok, copy);
}

/* Worker: the folder's files (recursively), the top manifest last. */
static int walk(struct upload *up, const char *sub, size_t *cap)
{
	char path[S3_PATH], rel[S3_PATH];
	snprintf(path, sizeof path, "%s%s%s", up->dir, *sub ? "/" : "", sub);
	DIR *d = opendir(path);
	if (!d) {
		snprintf(up->walk_error, sizeof up->walk_error, "%.400s: %s", path,
		         strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		struct stat sb;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!*sub && !strcmp(e->d_name, MANIFEST))
			continue;
		if (snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", e->d_name) >=
		        (int)sizeof rel ||
		    snprintf(path, sizeof path, "%s/%s", up->dir, rel) >= (int)sizeof path ||
		    lstat(path, &sb) < 0) {
			snprintf(up->walk_error, sizeof up->walk_error, "%s: name too long or gone",
			         e->d_name);
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = walk(up, rel, cap);
		} else if (S_ISREG(sb.st_mode)) {
			if (up->n_files == *cap) {
				size_t ncap = *cap ? *cap * 2 : 32;
				char **grown = ncap <= FILES_MAX
				                   ? realloc(up->files, ncap * sizeof *grown)
				                   : NULL;
				if (!grown) {
					snprintf(up->walk_error, sizeof up->walk_error,
					         "too many files (or out of memory)");
					rc = -1;
					break;
				}
				up->files = grown;
				*cap = ncap;
			}
			if (!(up->files[up->n_files] = strdup(rel)))
				rc = -1;
			else
				up->n_files++;
		}
	}
	closedir(d);
	return rc;
}

static void walk_work(void *arg)
{
	struct upload *up = arg;
	size_t cap = 0;
	if (walk(up, "", &cap) < 0)
		return;
	char **grown = realloc(up->files, (up->n_files + 1) * sizeof *grown);
	if (!grown || !(grown[up->n_files] = strdup(MANIFEST))) {
		if (grown)
			up->files = grown;
		snprintf(up->walk_error, sizeof up->walk_error, "out of memory");
		return;
	}
	up->files = grown;
	up->n_files++;
}

static void put_next(struct upload *up);
static void prune_start(struct upload *up);

static void put_done(void *ud, int rc, const char *error)
{
	struct upload *up = ud;
	if (rc != PARLEY_OK) {
		char why[1024];
		snprintf(why, sizeof why, "uploading %s: %s", up->files[up->next],
		         error ? error : "failed");
		upload_end(up, 0, why);
		return;
	}
	up->next++;
	put_next(up);
}

static void put_next(struct upload *up)
{
	char key[S3_PATH], path[S3_PATH * 2], why[1024];
	if (up->next == up->n_files) {
		if (up->keep > 0)
			prune_start(up);
		else
			upload_end(up, 1, NULL);
		return;
	}
	const char *rel = up->files[up->next];
	if (snprintf(key, sizeof key, "%s/%s/%s", up->t.prefix, up->name, rel) >= (int)sizeof key) {
		snprintf(why, sizeof why, "%s: the object name is too long", rel);
		upload_end(up, 0, why);
		return;
	}
	snprintf(path, sizeof path, "%s/%s", up->dir, rel);
	int rc = up->u->put_object(up->self, key, path, put_done, up);
	if (rc != PARLEY_PENDING) {
		snprintf(why, sizeof why, "uploading %s: the provider refused it (%d)", rel, rc);
		upload_end(up, 0, why);
	}
}

static void walk_done(void *arg, int cancelled)
{
	struct upload *up = arg;
	if (cancelled || up->walk_error[0]) {
		upload_end(up, 0, cancelled ? "stopped" : up->walk_error);
		return;
	}
	put_next(up);
}

static void delete_next(struct upload *up);

static void prune_failed(struct upload *up, const char *why)
{
	log_warn("backup_prune", NULL, "s3://%s/%s: %s (the backup itself is finished)",
	         up->t.bucket, up->t.prefix, why);
	upload_end(up, 1, NULL);
}

static void deleted(void *ud, int rc, const char *error)
{
	struct upload *up = ud;
	if (rc != PARLEY_OK) {
		char why[1024];
		snprintf(why, sizeof why, "removing %s: %s", up->deletes[up->next_delete],
		         error ? error : "failed");
		prune_failed(up, why);
		return;
	}
	up->next_delete++;
	delete_next(up);
}

static void delete_next(struct upload *up)
{
	if (up->next_delete == up->n_deletes) {
		if (up->removed)
			log_info("backup_prune", NULL, "s3://%s/%s: %zu old backups removed",
			         up->t.bucket, up->t.prefix, up->removed);
		upload_end(up, 1, NULL);
		return;
	}
	int rc = up->u->delete_object(up->self, up->deletes[up->next_delete], deleted, up);
	if (rc != PARLEY_PENDING)
		prune_failed(up, "the provider refused a removal");
}

static int add_delete(struct upload *up, size_t *cap, const char *key)
{
	if (up->n_deletes == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		char **grown = realloc(up->deletes, ncap * sizeof *grown);
		if (!grown)
			return -1;
		up->deletes = grown;
		*cap = ncap;
	}
	if (!(up->deletes[up->n_deletes] = strdup(key)))
		return -1;
	up->n_deletes++;
	return 0;
}

/* What pruning removes: finished backups beyond keep, and unfinished ones
 * older than the newest finished one (a failed run's leftovers; a run
 * still going is newer). Each backup's manifest goes first: a
 * half-removed backup is an unfinished one. */
static void listed_for_prune(void *ud, int rc, const parley_object_info *objects, size_t n,
                             const char *error)
{
	struct upload *up = ud;
	char base[S3_PATH], manifest[S3_PATH];
	struct names ns;
	size_t cap = 0;
	if (rc != PARLEY_OK) {
		prune_failed(up, error ? error : "cannot list the backups");
		return;
	}
	snprintf(base, sizeof base, "%s/", up->t.prefix);
	if (names_from(objects, n, base, &ns) < 0) {
		prune_failed(up, "out of memory");
		return;
	}
	int64_t finished = 0;
	const char *newest = NULL;
	for (size_t i = 0; i < ns.n; i++) {
		int gone;
		if (ns.v[i].finished) {
			newest = newest ? newest : ns.v[i].name;
			gone = ++finished > up->keep;
		} else {
			gone = newest != NULL;
		}
		if (!gone)
			continue;
		up->removed += ns.v[i].finished;
		int bad = snprintf(manifest, sizeof manifest, "%s%s/%s", base, ns.v[i].name,
		                   MANIFEST) >= (int)sizeof manifest;
		bad = bad || (ns.v[i].finished && add_delete(up, &cap, manifest) < 0);
		for (size_t k = 0; k < n && !bad; k++) {
			char name[512];
			int is_manifest;
			if (name_of(objects[k].key, base, name, sizeof name, &is_manifest) == 0 &&
			    !is_manifest && strcmp(name, ns.v[i].name) == 0)
				bad = add_delete(up, &cap, objects[k].key) < 0;
		}
		if (bad) {
			names_free(&ns);
			prune_failed(up, "out of memory");
			return;
		}
	}
	names_free(&ns);
	delete_next(up);
}

static void prune_start(struct upload *up)
{
	char base[S3_PATH];
	snprintf(base, sizeof base, "%s/", up->t.prefix);
	int rc = up->u->list_objects(up->self, base, BACKUP_S3_LIST_MAX, listed_for_prune, up);
	if (rc != PARLEY_PENDING)
		prune_failed(up, "the provider refused the listing");
}

int backup_s3_upload(const char *to, const char *name, const char *dir, int64_t keep,
                     backup_s3_done_fn done, void *ud, char *err, size_t errlen)
{
	void *self;
	err[0] = '\0';
	const parley_uploads_vtable *u = object_store(&self, err, errlen);
	if (!u)
		return -1;
	struct upload *up = calloc(1, sizeof *up);
	if (!up || parse(to, &up->t, err, errlen) < 0 || !(up->dir = strdup(dir)) ||
	    !(up->name = strdup(name))) {
		if (up && !err[0])
			snprintf(err, errlen, "out of memory");
		if (up) {
			free(up->dir);
			free(up);
		}
		return -1;
	}
	up->u = u;
	up->self = self;
	up->keep = keep;
	up->done = done;
	up->ud = ud;
	if (workers_submit(walk_work, walk_done, up) < 0) {
		snprintf(err, errlen, "the worker pool is stopped");
		free(up->dir);
		free(up->name);
		free(up);
		return -1;
	}
	return 0;
}

/* ---- fetch (the CLI: the loop turns until each call is done) --------- */

struct wait {
	int pending, rc;
	char why[1024];
	struct names *names; /* list: the backups */
	char **keys;         /* list: every key */
	size_t n_keys;
	const char *base;
};

static void run_until_done(struct wait *w)
{
	cli_runtime_wait(&w->pending);
}

static void step_done(void *ud, int rc, const char *error)
{
	struct wait *w = ud;
	w->pending = 0;
	w->rc = rc;
	snprintf(w->why, sizeof w->why, "%s", error ? error : "");
}

static void list_done(void *ud, int rc, const parley_object_info *objects, size_t n,
                      const char *error)
{
	struct wait *w = ud;
	w->pending = 0;
	w->rc = rc;
	snprintf(w->why, sizeof w->why, "%s", error ? error : "");
	if (rc != PARLEY_OK)
		return;
	if (names_from(objects, n, w->base, w->names) < 0 ||
	    !(w->keys = calloc(n ? n : 1, sizeof *w->keys))) {
		w->rc = PARLEY_ENOMEM;
		snprintf(w->why, sizeof w->why, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if ((w->keys[w->n_keys] = strdup(objects[i].key)))
			w->n_keys++;
}

static int get_file(const parley_uploads_vtable *u, void *self, const char *key, const char *path,
                    char *err, size_t errlen)
{
	struct wait w = {.pending = 1};
	int rc = u->get_object(self, key, path, step_done, &w);
	if (rc != PARLEY_PENDING) {
		/* Bounded: a key can be 4 KiB, the message is one line. */
		snprintf(err, errlen, "%.256s: cannot fetch it (%d)", key, rc);
		return -1;
	}
	run_until_done(&w);
	if (w.rc != PARLEY_OK) {
		snprintf(err, errlen, "fetching %.256s: %.200s", key, w.why);
		return -1;
	}
	return 0;
}

/* A relative name a backup may hold: no absolute path, no "..". */
static int rel_ok(const char *rel)
{
	if (!*rel || rel[0] == '/')
		return 0;
	for (const char *p = rel; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 2 && !strncmp(p, "..", 2)) || (len == 1 && *p == '.'))
			return 0;
		p += len + (slash ? 1 : 0);
	}
	return 1;
}

static int make_parents(const char *path)
{
	char dir[S3_PATH * 2];
	snprintf(dir, sizeof dir, "%s", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* The manifest's snapshot time of the backup under base+name, or -1. */
static int64_t snapshot_of(const parley_uploads_vtable *u, void *self, const char *base,
                           const char *name, const char *scratch)
{
	char key[S3_PATH], err[512];
	snprintf(key, sizeof key, "%s%s/%s", base, name, MANIFEST);
	unlink(scratch);
	if (get_file(u, self, key, scratch, err, sizeof err) < 0)
		return -1;
	json_t *m = json_load_file(scratch, 0, NULL);
	json_int_t when = json_integer_value(json_object_get(m, "snapshot_ms"));
	json_decref(m);
	unlink(scratch);
	return m ? (int64_t)when : -1;
}

int backup_s3_fetch(const char *to, int64_t at_ms, const char *dir, char *err, size_t errlen)
{
	struct target t;
	void *self;
	const parley_uploads_vtable *u = object_store(&self, err, errlen);
	char base[S3_PATH], picked[S3_PATH] = "", path[S3_PATH * 2], scratch[S3_PATH + 32];
	if (!u || parse(to, &t, err, errlen) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(scratch, sizeof scratch, "%s/.manifest-candidate", dir);
	/* One listing under the prefix: the backups in it, or, when the URL
	 * names one backup (PREFIX/NAME), that backup's own objects. */
	struct names ns = {0};
	snprintf(base, sizeof base, "%s/", t.prefix);
	struct wait w = {.pending = 1, .names = &ns, .base = base};
	int rc = u->list_objects(self, base, BACKUP_S3_LIST_MAX, list_done, &w);
	if (rc != PARLEY_PENDING) {
		snprintf(err, errlen, "%s: cannot list it (%d)", to, rc);
		return -1;
	}
	run_until_done(&w);
	if (w.rc != PARLEY_OK) {
		snprintf(err, errlen, "listing %s: %s", to, w.why);
		goto done;
	}
	int one = 0;
	for (size_t i = 0; i < w.n_keys && at_ms < 0; i++)
		if (strcmp(w.keys[i] + strlen(base), MANIFEST) == 0)
			one = 1;
	if (one) {
		snprintf(picked, sizeof picked, "%s", base);
	} else {
		for (size_t i = 0; i < ns.n && !picked[0]; i++) {
			if (!ns.v[i].finished)
				continue;
			if (at_ms >= 0) {
				int64_t when = snapshot_of(u, self, base, ns.v[i].name, scratch);
				if (when < 0 || when > at_ms)
					continue;
			}
			if (snprintf(picked, sizeof picked, "%s%s/", base, ns.v[i].name) >=
			    (int)sizeof picked)
				picked[0] = '\0';
		}
	}
	if (!picked[0]) {
		snprintf(err, errlen, "no finished backup under %s%s", to,
		         at_ms >= 0 ? " at or before that time" : "");
		goto done;
	}
	fprintf(stderr, "parley: restore: from s3://%s/%s\n", t.bucket, picked);
	rc = 0;
	for (size_t i = 0; i < w.n_keys && rc == 0; i++) {
		if (!starts_with(w.keys[i], picked))
			continue;
		const char *rel = w.keys[i] + strlen(picked);
		if (!rel_ok(rel) ||
		    snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path ||
		    make_parents(path) < 0) {
			snprintf(err, errlen, "an object name a backup does not have: %.200s",
			         w.keys[i]);
			rc = -1;
			break;
		}
		rc = get_file(u, self, w.keys[i], path, err, errlen);
	}
	names_free(&ns);
	strings_free(w.keys, w.n_keys);
	return rc;
done:
	names_free(&ns);
	strings_free(w.keys, w.n_keys);
	return -1;
}
