/* GET /api/admin/export: the export of `parley export` over HTTP, as one
 * zip, for admins (the router lets only them in; never a bot token).
 *
 * Query: room (a name; several: room=a&room=b or room=a,b), since, until
 * (UTC dates as the CLI takes them), pseudonymise=1, with_files=1.
 *
 * The export runs as a child process (this binary's `export` command
 * with the server's config and data dir), so the loop never waits for
 * the store's pages or the files; when it is done, the zip is streamed
 * from disk, paced by the connection's drain, then removed. One at a
 * time; audited as data.export with its filters before it starts. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "net/conn.h"
#include "net/http.h"

#define EXPORT_ROOMS_MAX 64 /* as the CLI's --room */
#define EXPORT_ROOM_MAX  64 /* bytes of a room name */
#define EXPORT_DATE_MAX  32
#define EXPORT_ARGS_MAX  (16 + 2 * EXPORT_ROOMS_MAX)
#define EXPORT_CHUNK     (256 * 1024)
#define EXPORT_HIGH      (1024 * 1024)
#define EXPORT_LOW       (256 * 1024)

extern char **environ;

static struct job {
	int active;
	uint64_t conn_id;
	pid_t pid;
	ev_child child;
	int fd;
	int64_t left;
	char path[4096];
	char name[64];
} job;

static void job_end(void)
{
	if (job.fd >= 0)
		close(job.fd);
	job.fd = -1;
	if (job.path[0])
		unlink(job.path);
	job.path[0] = '\0';
	job.active = 0;
}

static void send_more(void *arg);

static void send_more(void *arg)
{
	(void)arg;
	struct http_request *req = http_request_find(job.conn_id);
	if (!req) {
		job_end();
		return;
	}
	static char buf[EXPORT_CHUNK];
	while (job.left > 0 && conn_queued(req->c) < EXPORT_HIGH) {
		ssize_t n =
		    read(job.fd, buf, job.left < EXPORT_CHUNK ? (size_t)job.left : EXPORT_CHUNK);
		if (n <= 0) {
			log_warn("export_failed", NULL, "reading the export: %s",
			         n < 0 ? strerror(errno) : "shorter than it was");
			conn_close(req->c, "export_failed");
			job_end();
			return;
		}
		conn_write(req->c, buf, (size_t)n);
		job.left -= n;
	}
	if (job.left == 0) {
		http_respond_finish(req);
		job_end();
		return;
	}
	conn_when_drained(req->c, EXPORT_LOW, send_more, NULL);
}

static void child_done(struct ev_loop *l, ev_child *w, int revents)
{
	(void)revents;
	ev_child_stop(l, w);
	struct http_request *req = http_request_find(job.conn_id);
	int status = w->rstatus;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (!req) {
		job_end();
		return;
	}
	struct stat sb;
	if (code != 0 || (job.fd = open(job.path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(job.fd, &sb) < 0) {
		log_warn("export_failed", NULL, "the export process ended with %d", code);
		if (code == 1 || code == 2)
			api_error(req, 400, "bad_request",
			          "the export was refused (an unknown room or a bad date?)");
		else
			api_error(req, 500, "internal", "the export failed");
		job_end();
		return;
	}
	unlink(job.path); /* the open descriptor keeps it until sent */
	job.path[0] = '\0';
	char headers[160];
	snprintf(headers, sizeof headers,
	         "Content-Disposition: attachment; filename=\"%s\"\r\nCache-Control: no-store\r\n",
	         job.name);
	job.left = sb.st_size;
	if (http_respond_begin(req, 200, "application/zip", headers, sb.st_size) < 0) {
		job_end();
		return;
	}
	send_more(NULL);
}

/* A filter value as the CLI takes it, checked for shape only here: the
 * child checks the meaning (and exits 2 on a bad date). */
static int date_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > EXPORT_DATE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789-:TZ.+", s[i]))
			return 0;
	return 1;
}

/* Splits room=a,b (and repeats) into argv pairs; -1 after answering. */
static int room_args(struct http_request *req, const char **argv, int *argc, json_t *rooms)
{
	const char *q = req->query;
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		if (len > 5 && strncmp(q, "room=", 5) == 0) {
			char raw[EXPORT_ROOMS_MAX * (EXPORT_ROOM_MAX + 1) * 3];
			if (len - 5 >= sizeof raw) {
				api_error(req, 400, "bad_request", "room: too long");
				return -1;
			}
			/* http_query_param decodes only the first; decode each here. */
			size_t o = 0;
			for (size_t i = 5; i < len; i++) {
				char c = q[i];
				if (c == '%' && i + 2 < len + 0 && q[i + 1] && q[i + 2]) {
					char hex[3] = {q[i + 1], q[i + 2], 0};
					c = (char)strtol(hex, NULL, 16);
					i += 2;
				} else if (c == '+') {
					c = ' ';
				}
				raw[o++] = c;
			}
			raw[o] = '\0';
			for (char *save = NULL, *name = strtok_r(raw, ",", &save); name;
			     name = strtok_r(NULL, ",", &save)) {
				if (json_array_size(rooms) >= EXPORT_ROOMS_MAX ||
				    strlen(name) > EXPORT_ROOM_MAX || !*name) {
					api_error(req, 400, "bad_request",
					          "room: at most 64 names of 1 to 64 bytes");
					return -1;
				}
				json_array_append_new(rooms, json_string(name));
			}
		}
		q = amp ? amp + 1 : NULL;
	}
	size_t i;
	json_t *r;
	json_array_foreach(rooms, i, r)
	{
		argv[(*argc)++] = "--room";
		argv[(*argc)++] = json_string_value(r);
	}
	return 0;
}

static int flag(struct http_request *req, const char *name)
{
	char *v = http_query_param(req, name);
	int on = v && (!strcmp(v, "1") || !strcmp(v, "true"));
	free(v);
	return on;
}

static void run_export(struct api_ctx *x)
{
	struct http_request *req = api_ctx_req(x);
	if (!req) {
		api_ctx_free(x);
		return;
	}
	if (job.active) {
		api_ctx_fail(x, PARLEY_ECONFLICT, "an export is running; try again when it is done",
		             0);
		return;
	}
	const char *argv[EXPORT_ARGS_MAX];
	int argc = 0;
	char exe[4096], *since = http_query_param(req, "since"),
	                *until = http_query_param(req, "until");
	json_t *rooms = json_array();
	int pseudo = flag(req, "pseudonymise"), files = flag(req, "with_files");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if ((since && !date_ok(since)) || (until && !date_ok(until))) {
		api_ctx_fail(x, PARLEY_EINVAL, "since, until: UTC dates, e.g. 2026-12-01", 0);
		goto out;
	}
	if (n <= 0) {
		api_ctx_fail(x, PARLEY_ERR, "cannot find the server's binary", 0);
		goto out;
	}
	exe[n] = '\0';
	snprintf(job.path, sizeof job.path, "%s/export-%ld-%lld.zip", server_config->data_dir,
	         (long)getpid(), (long long)loop_now_ms());
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(job.name, sizeof job.name, "parley-export-%Y%m%dT%H%M%SZ.zip", &tm);
	argv[argc++] = exe;
	argv[argc++] = "export";
	argv[argc++] = "--out";
	argv[argc++] = job.path;
	if (server_config->file) {
		argv[argc++] = "--config";
		argv[argc++] = server_config->file;
	}
	argv[argc++] = "--data-dir";
	argv[argc++] = server_config->data_dir;
	if (since) {
		argv[argc++] = "--since";
		argv[argc++] = since;
	}
	if (until) {
		argv[argc++] = "--until";
		argv[argc++] = until;
	}
	if (pseudo)
		argv[argc++] = "--pseudonymise";
	if (files)
		argv[argc++] = "--with-files";
	if (room_args(req, argv, &argc, rooms) < 0) {
		job.path[0] = '\0';
		api_ctx_free(x);
		goto out;
	}
	argv[argc] = NULL;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		job.path[0] = '\0';
		api_ctx_fail(x, PARLEY_ERR, "cannot start the export", 0);
		goto out;
	}
	api_audit(x, NULL, "data.export", NULL,
	          json_pack("{s:O, s:s?, s:s?, s:b, s:b}", "rooms", rooms, "since", since, "until",
	                    until, "pseudonymise", pseudo, "with_files", files));
	job.active = 1;
	job.fd = -1;
	job.conn_id = x->conn_id;
	job.pid = pid;
	ev_child_init(&job.child, child_done, pid, 0);
	ev_child_start(loop_ev, &job.child);
	log_info("export_started", NULL, "pid %ld into %s", (long)pid, job.path);
	api_ctx_free(x);
out:
	json_decref(rooms);
	free(since);
	free(until);
}

void api_admin_export(struct http_request *req, const struct api_route *r, const char *id)
{
	struct api_ctx *x = api_ctx_new(req, r, run_export, id, NULL);
	if (x)
		api_ctx_start(req, x);
}
