/* Admin commands on the store a running server shares.
 *
 * Each command starts what the plugins need (loop, workers, curl multi),
 * loads and initialises the configured plugins in admin mode (no
 * listener), starts its operations through the first auth provider that
 * has them, and turns the loop until nothing is in flight: neither an
 * operation nor a write made for a new account (the user_created bridge
 * below). plugins_fini then drains the store's writer, so everything is
 * durable when the process exits.
 *
 * Every new account joins the public room `general`, as on the server:
 * the room is looked up once (created if the store has none yet; a server
 * creating it at the same moment wins, and we look it up again), and
 * accounts created meanwhile wait for it in a queue. */
#include "app/admin.h"
#include "app/backup_s3.h"
#include "app/admin_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "host/auth.h"
#include "net/tls.h"
#include "chat/chat.h"
#include "base/config.h"
#include "base/csv.h"
#include "base/loop.h"
#include "host/plugin_host.h"

#define ADMIN_WORKERS            2
#define ADMIN_IMPORT_IN_FLIGHT   32
#define ADMIN_SESSIONS_IN_FLIGHT 64
#define ADMIN_GENERAL            "general"
#define ADMIN_CSV_FIELDS         4 /* name,role,password,email */
#define ADMIN_MAX_CSV_BYTES      (256 * 1024 * 1024)

/* An account waiting to join `general`. */
struct join {
	struct join *next;
	char *user_id;
};

static struct {
	const char *what;  /* "user add": the prefix of error lines */
	int pending;       /* operations and writes in flight */
	int failed;        /* a write for a new account failed */
	int stop;          /* an operation failed: start no more */
	char *general_id;  /* once known */
	int resolving;     /* a lookup or creation of `general` is in flight */
	struct join *wait; /* accounts waiting for general_id */
} adm;

static void admin_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void admin_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "parley: %s: ", adm.what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *rc_text(int rc, const char *message)
{
	return message && *message ? message : chat_error_code(rc);
}

/* ---------------------------------------------------------------- */
/* New accounts join `general`                                        */
/* ---------------------------------------------------------------- */

static void member_done(void *ud, const parley_store_result *res)
{
	char *user_id = ud;
	if (res->rc != PARLEY_OK) {
		admin_error("cannot add %s to %s: %s", user_id, ADMIN_GENERAL,
		            rc_text(res->rc, res->error));
		adm.failed = adm.stop = 1;
	}
	free(user_id);
	adm.pending--;
}

/* Starts the membership write of user_id (taken). */
static void join_general(char *user_id)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int rc = st ? st->member_set(self, adm.general_id, user_id, "member", member_done, user_id)
	            : PARLEY_EUNAVAIL;
	if (rc < 0) {
		parley_store_result fail = {.rc = rc};
		member_done(user_id, &fail);
	}
}

static void flush_waiting(int rc, const char *error)
{
	while (adm.wait) {
		struct join *j = adm.wait;
		adm.wait = j->next;
		if (rc == PARLEY_OK) {
			join_general(j->user_id);
		} else {
			parley_store_result fail = {.rc = rc, .error = error};
			member_done(j->user_id, &fail);
		}
		free(j);
	}
}

static void general_resolved(const parley_store_result *res)
{
	adm.resolving = 0;
	if (res->rc == PARLEY_OK && res->n_rooms > 0) {
		adm.general_id = strdup(res->rooms[0].id);
		flush_waiting(adm.general_id ? PARLEY_OK : PARLEY_ENOMEM, NULL);
	} else {
		flush_waiting(res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc, res->error);
	}
}

static void general_lookup(int again);

static void general_created(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc == PARLEY_ECONFLICT)
		general_lookup(1); /* the server made it meanwhile */
	else
		general_resolved(res);
}

/* ud is non-NULL on the lookup after a lost creation race: a miss is final. */
static void general_found(void *ud, const parley_store_result *res)
{
	if (res->rc != PARLEY_ENOTFOUND || ud) {
		general_resolved(res);
		return;
	}
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	parley_room room = {
	    .name = ADMIN_GENERAL, .kind = "public", .topic = "", .created_ts = loop_now_ms()};
	int rc = st->room_create(self, &room, NULL, general_created, NULL);
	if (rc < 0) {
		parley_store_result fail = {.rc = rc};
		general_resolved(&fail);
	}
}

static void general_lookup(int again)
{
	static int again_mark;
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int rc =
	    st ? st->room_get(self, NULL, ADMIN_GENERAL, general_found, again ? &again_mark : NULL)
	       : PARLEY_EUNAVAIL;
	if (rc < 0) {
		parley_store_result fail = {.rc = rc};
		general_resolved(&fail);
	}
}

/* plugin_core_ops.user_created in admin mode. */
static void admin_user_created(const parley_user *user)
{
	char *id = user && user->id ? strdup(user->id) : NULL;
	if (!id) {
		admin_error("cannot add a new account to %s: out of memory", ADMIN_GENERAL);
		adm.failed = adm.stop = 1;
		return;
	}
	adm.pending++;
	if (adm.general_id) {
		join_general(id);
		return;
	}
	struct join *j = malloc(sizeof(*j));
	if (!j) {
		parley_store_result fail = {.rc = PARLEY_ENOMEM};
		member_done(id, &fail);
		return;
	}
	j->user_id = id;
	j->next = adm.wait;
	adm.wait = j;
	if (!adm.resolving) {
		adm.resolving = 1;
		general_lookup(0);
	}
}

static const struct plugin_core_ops admin_ops = {
    .user_created = admin_user_created,
};

/* ---------------------------------------------------------------- */
/* Start, run, stop                                                   */
/* ---------------------------------------------------------------- */

int admin_start(struct config *cfg, const char *what, struct cli_runtime *rt)
{
	memset(&adm, 0, sizeof(adm));
	adm.what = what;
	if (cli_runtime_start(rt, cfg, &admin_ops, ADMIN_WORKERS, CLI_PLUGINS_ALL) < 0) {
		admin_error("cannot start the plugins");
		return -1;
	}
	return 0;
}

/* Turns the loop until nothing is in flight, starting more operations
 * with launch(arg) (which returns 0 when it has none left) while fewer than
 * window are in flight and none failed. The loop's post watcher does not
 * keep it alive by itself, so hold a reference meanwhile. */
static void admin_run(int (*launch)(void *arg), void *arg, int window)
{
	int more = launch != NULL;
	ev_ref(loop_ev);
	for (;;) {
		while (more && !adm.stop && adm.pending < window)
			more = launch(arg);
		if (adm.pending == 0)
			break;
		ev_run(loop_ev, EVRUN_ONCE);
	}
	ev_unref(loop_ev);
}

void admin_stop(struct cli_runtime *rt)
{
	cli_runtime_stop(rt);
	free(adm.general_id);
	adm.general_id = NULL;
}

static const struct provider *admin_provider(size_t offset, const char *does)
{
	const struct provider *p = auth_provider_with(offset);
	if (!p)
		admin_error("no auth provider %s", does);
	return p;
}

static void admin_audit(const char *action, const char *target, const char *role,
                        const char *email);

/* ---------------------------------------------------------------- */
/* user add                                                           */
/* ---------------------------------------------------------------- */

struct add_op {
	int rc;
	char *message;
	int line; /* import: the CSV line */
};

static void add_done(void *ud, const parley_auth_result *res)
{
	struct add_op *op = ud;
	op->rc = res->rc;
	if (res->rc != PARLEY_OK) {
		op->message = strdup(rc_text(res->rc, res->message));
		adm.stop = 1;
	}
	adm.pending--;
}

/* Starts one user_add; op->rc holds an error when it did not start. */
static void add_start(const struct provider *p, struct add_op *op, const char *name,
                      const char *role, const char *email, const char *password)
{
	const parley_auth_vtable *vt = p->vtable;
	adm.pending++;
	int rc = vt->user_add(p->self, name, role ? role : "member", email, password, add_done, op);
	if (rc < 0) {
		parley_auth_result fail = {.rc = rc};
		add_done(op, &fail);
	}
}

int admin_user_add(struct config *cfg, const char *name, const char *role, const char *email,
                   FILE *pw)
{
	struct cli_runtime rt = {0};
	int status = 1;
	char *line = NULL;
	size_t cap = 0;
	struct add_op op = {0};
	const char *password = NULL;

	if (pw) {
		ssize_t len = getline(&line, &cap, pw);
		if (len > 0) {
			while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = '\0';
			if (len > 0)
				password = line;
		}
	}
	if (admin_start(cfg, "user add", &rt) < 0)
		goto done;
	const struct provider *p =
	    admin_provider(offsetof(parley_auth_vtable, user_add), "adds users");
	if (!p)
		goto done;
	add_start(p, &op, name, role, email, password);
	admin_run(NULL, NULL, 0);
	if (op.rc != PARLEY_OK)
		admin_error("%s", op.message ? op.message : chat_error_code(op.rc));
	else if (!adm.failed)
		status = 0;
	if (status == 0)
		admin_audit("user.add", name, role, email);
done:
	admin_stop(&rt);
	free(op.message);
	if (line) {
		memset(line, 0, cap); /* the password */
		free(line);
	}
	return status;
}

/* ---------------------------------------------------------------- */
/* user import                                                        */
/* ---------------------------------------------------------------- */

/* The import file's accepted rows. */
struct csv {
	struct csv_record *rows;
	size_t n, cap;
};

static void csv_free(struct csv *csv)
{
	for (size_t i = 0; i < csv->n; i++)
		csv_record_clear(&csv->rows[i]);
	free(csv->rows);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb = ncap <= ADMIN_MAX_CSV_BYTES ? realloc(buf, ncap) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				goto done;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[n] = '\0';
	*len = n;
done:
	fclose(f);
	return buf;
}

static int valid_role(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "member") == 0 ||
	       strcmp(role, "bot") == 0;
}

/* Reads and checks the whole file before anything is written. */
static int csv_load(const char *path, struct csv *csv)
{
	size_t size = 0;
	char *text = read_file(path, &size);
	const char *err = NULL;
	int status = -1, first = 1;
	char dup[128];
	if (!text) {
		admin_error("%s: %s", path, strerror(errno));
		return -1;
	}
	struct csv_reader reader;
	csv_reader_init(&reader, text, size, ADMIN_CSV_FIELDS);
	for (;;) {
		struct csv_record row;
		const char *start = reader.p;
		int rc = csv_next(&reader, &row);
		if (rc == 0)
			break;
		if (rc < 0) {
			admin_error("%s:%d: %s", path, row.line, reader.err);
			goto done;
		}
		int header = first && strncmp(start, "name,", 5) == 0;
		int blank =
		    row.n == 0 || (row.n == 1 && row.field[0][strspn(row.field[0], " \t")] == '\0');
		if (row.n)
			first = 0;
		if (header || blank) {
			csv_record_clear(&row);
			continue;
		}
		err = row.n < 2 || !row.field[0][0] ? "expected name,role[,password[,email]]"
		      : !valid_role(row.field[1])   ? "role: expected admin, member or bot"
		                                    : NULL;
		/* A name twice in the file is its mistake, found before any
		 * account is made (names compare case-insensitively). */
		for (size_t i = 0; !err && i < csv->n; i++)
			if (strcasecmp(csv->rows[i].field[0], row.field[0]) == 0) {
				snprintf(dup, sizeof dup, "name: %.64s is on line %d already",
				         row.field[0], csv->rows[i].line);
				err = dup;
			}
		if (!err && csv->n == csv->cap) {
			size_t ncap = csv->cap ? csv->cap * 2 : 64;
			struct csv_record *nr = realloc(csv->rows, ncap * sizeof(*nr));
			if (nr) {
				csv->rows = nr;
				csv->cap = ncap;
			} else {
				err = "out of memory";
			}
		}
		if (err) {
			admin_error("%s:%d: %s", path, row.line, err);
			csv_record_clear(&row);
			goto done;
		}
		csv->rows[csv->n++] = row;
	}
	status = 0;
done:
	free(text);
	return status;
}

static const char *csv_opt(const struct csv_record *row, size_t i)
{
	return i < row->n && row->field[i][0] ? row->field[i] : NULL;
}

struct import_run {
	const struct provider *p;
	const struct csv *csv;
	struct add_op *ops;
	size_t next;
};

static int import_launch(void *arg)
{
	struct import_run *run = arg;
	if (run->next >= run->csv->n)
		return 0;
	const struct csv_record *row = &run->csv->rows[run->next];
	struct add_op *op = &run->ops[run->next++];
	op->line = row->line;
	add_start(run->p, op, row->field[0], row->field[1], csv_opt(row, 3), csv_opt(row, 2));
	return run->next < run->csv->n;
}

int admin_user_import(struct config *cfg, const char *csv_path)
{
	struct cli_runtime rt = {0};
	int status = 1;
	struct csv csv = {0};
	struct add_op *ops = NULL;

	adm.what = "user import";
	if (csv_load(csv_path, &csv) < 0)
		goto done;
	ops = calloc(csv.n ? csv.n : 1, sizeof(*ops));
	if (!ops) {
		admin_error("out of memory");
		goto done;
	}
	if (admin_start(cfg, "user import", &rt) < 0)
		goto done;
	const struct provider *p =
	    admin_provider(offsetof(parley_auth_vtable, user_add), "adds users");
	if (!p)
		goto done;

	struct import_run run = {.p = p, .csv = &csv, .ops = ops};
	admin_run(import_launch, &run, ADMIN_IMPORT_IN_FLIGHT);
	size_t next = run.next;

	for (size_t i = 0; i < next; i++) {
		if (ops[i].rc < 0) {
			admin_error("%s:%d: %s", csv_path, ops[i].line,
			            ops[i].message ? ops[i].message : chat_error_code(ops[i].rc));
			goto done;
		}
	}
	if (adm.failed)
		goto done;
	printf("imported %zu users\n", csv.n);
	status = 0;
done:
	admin_stop(&rt);
	for (size_t i = 0; ops && i < csv.n; i++)
		free(ops[i].message);
	free(ops);
	csv_free(&csv);
	return status;
}

/* ---------------------------------------------------------------- */
/* session new                                                        */
/* ---------------------------------------------------------------- */

struct session_op {
	int rc;
	int started;
	char *token;
	char *message;
};

static void session_done(void *ud, const parley_auth_result *res)
{
	struct session_op *op = ud;
	op->rc = res->rc;
	if (res->rc == PARLEY_OK && res->token)
		op->token = strdup(res->token);
	else
		op->message =
		    strdup(rc_text(res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message));
	if (res->rc == PARLEY_OK && !op->token)
		op->rc = PARLEY_ENOMEM;
	if (op->rc != PARLEY_OK)
		adm.stop = 1;
	adm.pending--;
}

struct session_run {
	const struct provider *p;
	const char *const *names;
	size_t n, next;
	long long ttl_s;
	struct session_op *ops;
};

static int session_launch(void *arg)
{
	struct session_run *run = arg;
	if (run->next >= run->n)
		return 0;
	const parley_auth_vtable *vt = run->p->vtable;
	struct session_op *op = &run->ops[run->next];
	op->started = 1;
	adm.pending++;
	int rc =
	    vt->session_new(run->p->self, run->names[run->next++], run->ttl_s, session_done, op);
	if (rc < 0) {
		parley_auth_result fail = {.rc = rc};
		session_done(op, &fail);
	}
	return run->next < run->n;
}

int admin_session_new(struct config *cfg, const char *const *names, size_t n, long long ttl_s)
{
	struct cli_runtime rt = {0};
	int status = 1;
	struct session_op *ops = calloc(n ? n : 1, sizeof(*ops));
	adm.what = "session new";
	if (!ops) {
		admin_error("out of memory");
		return 1;
	}
	if (admin_start(cfg, "session new", &rt) < 0)
		goto done;
	const struct provider *p =
	    admin_provider(offsetof(parley_auth_vtable, session_new), "makes sessions");
	if (!p)
		goto done;
	struct session_run run = {.p = p, .names = names, .n = n, .ttl_s = ttl_s, .ops = ops};
	admin_run(session_launch, &run, ADMIN_SESSIONS_IN_FLIGHT);

	for (size_t i = 0; i < n; i++) {
		if (ops[i].started && ops[i].rc < 0) {
			admin_error("%s: %s", names[i],
			            ops[i].message ? ops[i].message : chat_error_code(ops[i].rc));
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++)
		printf("%s\n", ops[i].token);
	fflush(stdout);
	status = 0;
done:
	admin_stop(&rt);
	for (size_t i = 0; i < n; i++) {
		free(ops[i].token);
		free(ops[i].message);
	}
	free(ops);
	return status;
}

/* ---------------------------------------------------------------- */
/* invite                                                             */
/* ---------------------------------------------------------------- */

static void audit_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		fprintf(stderr, "parley: the audit log entry was not written: %s\n",
		        res->error ? res->error : chat_error_code(res->rc));
	adm.pending--;
}

/* Writes an audit entry for an action of the CLI (actor: none, client:
 * "cli") and waits for it. */
static void admin_audit(const char *action, const char *target, const char *role, const char *email)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, audit_append))
		return;
	json_t *d = json_pack("{s:s?,s:s?}", "role", role, "email", email);
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	parley_audit a = {.action = action, .target = target, .detail = detail, .client = "cli"};
	adm.pending++;
	if (st->audit_append(self, &a, audit_done, NULL) < 0)
		adm.pending--;
	free(detail);
	admin_run(NULL, NULL, 1);
}

struct invite_op {
	int rc;
	char *link, *message;
	int64_t expires;
};

static void invite_done(void *ud, const parley_auth_result *res)
{
	struct invite_op *op = ud;
	op->rc = res->rc == PARLEY_OK && !res->link ? PARLEY_ERR : res->rc;
	if (op->rc == PARLEY_OK)
		op->link = strdup(res->link);
	else
		op->message = strdup(rc_text(op->rc, res->message));
	op->expires = res->expires_ts;
	adm.pending--;
}

int admin_invite(struct config *cfg, const char *role, const char *email)
{
	struct cli_runtime rt = {0};
	int status = 1;
	struct invite_op op = {0};
	if (admin_start(cfg, "invite", &rt) < 0)
		goto done;
	const struct provider *p =
	    admin_provider(offsetof(parley_auth_vtable, invite_create), "creates invites");
	if (!p)
		goto done;
	const parley_auth_vtable *vt = p->vtable;
	adm.pending++;
	int rc = vt->invite_create(p->self, role, email, NULL, invite_done, &op);
	if (rc < 0) {
		parley_auth_result fail = {.rc = rc};
		invite_done(&op, &fail);
	}
	admin_run(NULL, NULL, 1);
	if (op.rc != PARLEY_OK || !op.link) {
		admin_error("%s", op.message ? op.message : "no invite was made");
		goto done;
	}
	printf("%s\n", op.link);
	fflush(stdout);
	time_t t = (time_t)(op.expires / 1000);
	struct tm tm;
	char when[64];
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	fprintf(stderr, "parley: a %s invite, single use, valid until %s\n", role, when);
	admin_audit("invite.create", NULL, role, email);
	status = 0;
done:
	admin_stop(&rt);
	free(op.link);
	free(op.message);
	return status;
}

/* ---------------------------------------------------------------- */
/* check-config                                                       */
/* ---------------------------------------------------------------- */

int admin_check_config(struct config *cfg)
{
	int status = 1;
	memset(&adm, 0, sizeof(adm));
	adm.what = "check-config";
	if (loop_init() < 0) {
		admin_error("cannot start the loop");
		return 1;
	}
	int tls_errors = tls_check_config(cfg); /* reported; plugins are checked too */
	char why[1024];
	if (backup_s3_is(cfg->backup.to) &&
	    backup_s3_check(cfg, cfg->backup.to, why, sizeof why) < 0) {
		admin_error("backup.to = %s", why);
		tls_errors++;
	}
	if (plugins_load(cfg, 1) == 0 && !tls_errors) {
		printf("config OK\n");
		status = 0;
	} else {
		admin_error("%s: the configuration has errors", cfg->file ? cfg->file : "defaults");
	}
	plugins_fini();
	loop_fini();
	return status;
}
