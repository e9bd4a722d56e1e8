/* The schedule is one ev_timer ticking at most every SCHEDULE_TICK_MAX
 * seconds: each tick refreshes the overdue warning and starts a backup
 * when one is due and none is running. Old backups are removed on the
 * worker pool (a folder may hold many files). To S3, the backup is staged
 * in a folder, then uploaded and pruned through the uploads provider's
 * object members (app/backup_s3.c), asynchronously on the loop. */
#include "app/backup_schedule.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app/backup.h"
#include "app/backup_s3.h"
#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/ready_warnings.h"
#include "base/workers.h"

#define SCHEDULE_TICK_MAX  30.0 /* s between checks */
#define SCHEDULE_OVERDUE   2    /* intervals without a finished backup */
#define SCHEDULE_RETRY_MAX 60.0 /* s before a failed backup is tried again */
#define SCHEDULE_WARNING   "backup"
#define SCHEDULE_PATH      4096
#define SCHEDULE_LIST_MAX  (CONFIG_BACKUP_KEEP_MAX + 1024)

static struct {
	const struct config *cfg;
	ev_timer tick;
	int on, running;
	double next_due;    /* ev_now seconds */
	double since;       /* ev_now of the last finished backup, or of the start */
	int64_t last_ok_ms; /* wall time of the last finished backup's snapshot; 0: none */
	int overdue;
	metric *m_last_ok, *m_duration, *m_bytes, *m_ok, *m_failed;
	/* to = s3://…: the backup is made in staging, then uploaded. */
	char staging[SCHEDULE_PATH], name[64];
	struct backup_report s3r; /* the local backup's report, kept for the upload */
	char s3_out[SCHEDULE_PATH], s3_local[SCHEDULE_PATH], s3_error[1024];
	int s3_ok;
} sch;

/* Backups of `to` by snapshot time (oldest first), for pruning and for the
 * start. */
struct found {
	char *path;
	int64_t snapshot_ms;
};

static int by_time(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return x->snapshot_ms < y->snapshot_ms ? -1 : x->snapshot_ms > y->snapshot_ms;
}

static size_t list_backups(const char *to, struct found **out)
{
	DIR *d = opendir(to);
	size_t n = 0, cap = 0;
	struct dirent *e;
	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < SCHEDULE_LIST_MAX) {
		char path[SCHEDULE_PATH], manifest[SCHEDULE_PATH + 32];
		if (e->d_name[0] == '.' ||
		    snprintf(path, sizeof path, "%s/%s", to, e->d_name) >= (int)sizeof path)
			continue;
		snprintf(manifest, sizeof manifest, "%s/%s", path, BACKUP_MANIFEST);
		json_t *m = json_load_file(manifest, 0, NULL);
		json_int_t when = -1;
		const char *format = NULL;
		int ok =
		    m &&
		    json_unpack(m, "{s:s, s:I}", "format", &format, "snapshot_ms", &when) == 0 &&
		    strcmp(format, BACKUP_FORMAT) == 0;
		json_decref(m);
		if (!ok)
			continue; /* not a finished parley backup: never touched */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct found *grown = realloc(*out, ncap * sizeof **out);
			if (!grown)
				break;
			*out = grown;
			cap = ncap;
		}
		if (!((*out)[n].path = strdup(path)))
			break;
		(*out)[n++].snapshot_ms = when;
	}
	closedir(d);
	qsort(*out, n, sizeof **out, by_time);
	return n;
}

static void free_list(struct found *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].path);
	free(f);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Worker: removes the oldest finished backups beyond keep. */
static void prune_work(void *arg)
{
	(void)arg;
	struct found *f;
	size_t n = list_backups(sch.cfg->backup.to, &f);
	for (size_t i = 0; n > (size_t)sch.cfg->backup.keep && i < n - (size_t)sch.cfg->backup.keep;
	     i++)
		if (nftw(f[i].path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
			log_warn("backup_prune", NULL, "cannot remove %s: %s", f[i].path,
			         strerror(errno));
	free_list(f, n);
}

static void prune_done(void *arg, int cancelled)
{
	(void)arg, (void)cancelled;
}

static void refresh_warning(double now)
{
	double every = sch.cfg->backup.every;
	int overdue = now - sch.since > SCHEDULE_OVERDUE * every;
	if (overdue) {
		char text[READY_WARNING_LEN];
		if (sch.last_ok_ms)
			snprintf(text, sizeof text,
			         "overdue: the last finished backup is %.0f s old (every %.0f s)",
			         now - sch.since, every);
		else
			snprintf(text, sizeof text,
			         "overdue: no backup has finished in %.0f s (every %.0f s)",
			         now - sch.since, every);
		ready_warning_set(SCHEDULE_WARNING, text);
		if (!sch.overdue)
			log_warn("backup_overdue", NULL, "%s", text);
	} else if (sch.overdue) {
		ready_warning_set(SCHEDULE_WARNING, NULL);
	}
	sch.overdue = overdue;
}

static void finished(const struct backup_report *r);

/* Worker: the staging folder goes (a backup may hold many files). */
static void unstage_work(void *arg)
{
	(void)arg;
	nftw(sch.staging, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void unstaged(void *arg, int cancelled)
{
	(void)arg;
	if (cancelled)
		unstage_work(NULL); /* shutting down: the pool did not get to it */
	struct backup_report r = sch.s3r;
	r.out = sch.s3_out;
	r.ok = sch.s3_ok;
	r.why = sch.s3_error;
	finished(&r);
}

static void unstage(void)
{
	if (workers_submit(unstage_work, unstaged, NULL) < 0)
		unstaged(NULL, 1);
}

/* The loop: the upload through the uploads provider ended (pruning too). */
static void s3_uploaded(void *ud, int ok, const char *why)
{
	(void)ud;
	sch.s3_ok = ok;
	snprintf(sch.s3_error, sizeof sch.s3_error, "%s", why ? why : "");
	unstage();
}

static void backup_finished(void *ud, const struct backup_report *r)
{
	(void)ud;
	if (!backup_s3_is(sch.cfg->backup.to)) {
		finished(r);
		return;
	}
	if (!r->ok) {
		nftw(sch.staging, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		finished(r);
		return;
	}
	sch.s3r = *r;
	snprintf(sch.s3_out, sizeof sch.s3_out, "%s/%s", sch.cfg->backup.to, sch.name);
	snprintf(sch.s3_local, sizeof sch.s3_local, "%s", r->out);
	sch.s3r.out = sch.s3_local;
	sch.s3r.why = NULL;
	sch.s3_error[0] = '\0';
	sch.s3_ok = 0;
	/* Asynchronous on the loop: the provider's requests go through the
	 * shared curl multi, file reads through the worker pool. */
	if (backup_s3_upload(sch.cfg->backup.to, sch.name, sch.s3_local, sch.cfg->backup.keep,
	                     s3_uploaded, NULL, sch.s3_error, sizeof sch.s3_error) < 0)
		unstage();
}

static void finished(const struct backup_report *r)
{
	double now = ev_now(loop_ev);
	sch.running = 0;
	if (r->ok) {
		sch.last_ok_ms = r->snapshot_ms;
		sch.since = now;
		sch.next_due = now + sch.cfg->backup.every;
		metric_set(sch.m_last_ok, (double)r->snapshot_ms / 1000.0);
		metric_set(sch.m_duration, (double)r->duration_ms / 1000.0);
		metric_set(sch.m_bytes, (double)r->bytes);
		metric_add(sch.m_ok, 1);
		log_info("backup_done", NULL, "%s: %zu files, %lld bytes in %lld ms", r->out,
		         r->files, (long long)r->bytes, (long long)r->duration_ms);
		if (sch.on && !backup_s3_is(sch.cfg->backup.to) &&
		    workers_submit(prune_work, prune_done, NULL) < 0)
			log_warn("backup_prune", NULL, "the worker pool is stopped");
	} else {
		double retry = sch.cfg->backup.every < SCHEDULE_RETRY_MAX ? sch.cfg->backup.every
		                                                          : SCHEDULE_RETRY_MAX;
		sch.next_due = now + retry;
		metric_add(sch.m_failed, 1);
		log_error("backup_failed", NULL, "%s: %s", r->out, r->why);
	}
	if (sch.on)
		refresh_warning(now);
}

static void run_backup(double now)
{
	char name[64], out[SCHEDULE_PATH], err[512];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t len = strftime(name, sizeof name, "%Y-%m-%dT%H%M%S", &tm);
	snprintf(name + len, sizeof name - len, ".%03ldZ", ts.tv_nsec / 1000000);
	const char *to = sch.cfg->backup.to;
	if (backup_s3_is(to)) {
		/* Staged outside the data dir (a backup copies the data dir). */
		const char *tmp = getenv("TMPDIR");
		snprintf(sch.staging, sizeof sch.staging, "%s/parley-backup-XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		snprintf(sch.name, sizeof sch.name, "%s", name);
		if (!mkdtemp(sch.staging)) {
			struct backup_report r = {.ok = 0, .why = strerror(errno), .out = to};
			finished(&r);
			return;
		}
		to = sch.staging;
	}
	if (snprintf(out, sizeof out, "%s/%s", to, name) >= (int)sizeof out) {
		log_error("backup_failed", NULL, "%s: path too long", to);
		return;
	}
	if (mkdir(to, 0700) < 0 && errno != EEXIST) {
		struct backup_report r = {.ok = 0, .why = strerror(errno), .out = out};
		backup_finished(NULL, &r);
		return;
	}
	sch.running = 1;
	if (backup_start(sch.cfg->data_dir, out, backup_finished, NULL, err, sizeof err) < 0) {
		struct backup_report r = {.ok = 0, .why = err, .out = out};
		backup_finished(NULL, &r);
	}
	(void)now;
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l, (void)w, (void)revents;
	double now = ev_now(loop_ev);
	refresh_warning(now);
	if (sch.on && !sch.running && now >= sch.next_due)
		run_backup(now);
}

void backup_schedule_start(const struct config *cfg)
{
	if (cfg->backup.every <= 0 || !cfg->backup.to)
		return;
	memset(&sch, 0, sizeof sch);
	sch.cfg = cfg;
	sch.on = 1;
	sch.m_last_ok =
	    metric_gauge("parley_backup_last_success_timestamp_seconds",
	                 "when the last finished scheduled backup's snapshot was taken", NULL);
	sch.m_duration = metric_gauge("parley_backup_last_duration_seconds",
	                              "how long the last finished scheduled backup took", NULL);
	sch.m_bytes = metric_gauge("parley_backup_last_bytes",
	                           "bytes in the last finished scheduled backup", NULL);
	sch.m_ok = metric_counter("parley_backup_runs_total", "scheduled backups", "result=\"ok\"");
	sch.m_failed =
	    metric_counter("parley_backup_runs_total", "scheduled backups", "result=\"failed\"");
	double now = ev_now(loop_ev), every = cfg->backup.every;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double wall = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	struct found *f;
	/* S3: the first backup comes at start (no listing on the loop). */
	size_t n = backup_s3_is(cfg->backup.to) ? (f = NULL, 0) : list_backups(cfg->backup.to, &f);
	sch.since = now;
	sch.next_due = now;
	if (n > 0) {
		double age = wall - (double)f[n - 1].snapshot_ms / 1000.0;
		sch.last_ok_ms = f[n - 1].snapshot_ms;
		metric_set(sch.m_last_ok, (double)sch.last_ok_ms / 1000.0);
		sch.since = now - (age > 0 ? age : 0);
		sch.next_due = sch.since + every;
	}
	free_list(f, n);
	double tick = every / 4 < SCHEDULE_TICK_MAX ? every / 4 : SCHEDULE_TICK_MAX;
	ev_timer_init(&sch.tick, on_tick, 0.0, tick);
	ev_timer_start(loop_ev, &sch.tick);
	ev_unref(loop_ev); /* the schedule alone does not keep the loop alive */
	log_info("backup_schedule", NULL, "every %.0f s into %s, keeping %lld", every,
	         cfg->backup.to, (long long)cfg->backup.keep);
}

void backup_schedule_stop(void)
{
	if (!sch.on)
		return;
	sch.on = 0;
	ev_ref(loop_ev);
	ev_timer_stop(loop_ev, &sch.tick);
	ready_warning_set(SCHEDULE_WARNING, NULL);
}
