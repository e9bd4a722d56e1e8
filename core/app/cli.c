/* The command line: one pass collects options (anywhere on the line) and
 * the command's words, then the command is checked against the options it
 * takes, the config is loaded (defaults, PARLEY_CONFIG or --config, then
 * --listen/--data-dir), and the command runs. Usage mistakes exit 2 with one
 * line naming the mistake; a bad config or a failed command exits 1. */
#include "app/cli.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/admin.h"
#include "app/backup.h"
#include "app/export.h"
#include "app/import.h"
#include "app/import_slack.h"
#include "host/plugin_host.h"
#include "base/config.h"
#include "base/duration.h"
#include "base/log.h"
#include "app/script_test.h"
#include "lua/scripts.h"
#include "app/server.h"
#include "app/store_copy.h"

#define EXIT_USAGE 2

enum command {
	CMD_SERVE,
	CMD_CHECK,
	CMD_USER_ADD,
	CMD_USER_IMPORT,
	CMD_SESSION_NEW,
	CMD_INVITE,
	CMD_TEST_SCRIPT,
	CMD_BACKUP,
	CMD_RESTORE,
	CMD_EXPORT,
	CMD_IMPORT,
	CMD_PRUNE,
	CMD_STORE_COPY
};

struct cli_args {
	enum command cmd;
	const char *config;
	struct config_overrides ov;
	const char *role, *email, *ttl, *out, *at, *since, *until;
	const char *rooms[EXPORT_MAX_ROOMS];
	size_t n_rooms;
	int pseudonymise, with_files;
	int help, version, force;
	const char *older_than; /* prune */
	const char *to;         /* store copy */
	const char *from;       /* import: "slack" */
	int dry_run;
	const char **words; /* the command's words: "user", "add", "NAME"; argc slots */
	size_t n_words;
};

static const char usage_text[] =
    "usage:\n"
    "  parley [--config FILE] [--listen HOST:PORT]... [--data-dir DIR]   serve (the default)\n"
    "  parley check-config [--config FILE]                 validate the config and exit\n"
    "  parley user add NAME [--role admin|member|bot] [--email E]   password from stdin\n"
    "  parley user import FILE.csv                         bulk add: name,role[,password[,email]]\n"
    "  parley session new NAME... [--ttl 30d]              print a session token per name\n"
    "  parley invite [--role admin|member|bot] [--email E]  print a registration link\n"
    "  parley prune [--dry-run] [--older-than 365d] [--room ROOM]   apply the retention now\n"
    "  parley test-script FILE_test.lua                    run a script's tests offline\n"
    "  parley export --out DIR|FILE.zip [--room R]... [--since DATE] [--until DATE]\n"
    "                [--pseudonymise] [--with-files]       messages as JSON lines\n"
    "  parley import DIR|FILE.zip                          an export into an empty store\n"
    "  parley import --from slack DIR|FILE.zip             a Slack workspace export, the same\n"
    "  parley backup --out DIR                             online backup into a new folder\n"
    "  parley restore DIR [--force] [--at TIME]            put a backup into the data dir\n"
    "  parley store copy --to OTHER.conf [--force]         copy every record into the store\n"
    "                                                      of another config (empty)\n"
    "  parley --version | --help\n"
    "\n"
    "Every command takes --config FILE (default: $PARLEY_CONFIG, else none: the\n"
    "built-in defaults) and --data-dir DIR. Durations: 3600, 90s, 15m, 12h, 30d.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("parley: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see parley --help)\n", stderr);
	return EXIT_USAGE;
}

long long cli_parse_duration(const char *s)
{
	return duration_parse(s);
}

/* "--name VALUE" or "--name=VALUE": 1 when argv[*i] is that option (value
 * set, *i advanced), 0 when not, -1 when the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

static int parse_args(int argc, char **argv, struct cli_args *a)
{
	static const char *const valued[] = {
	    "--config", "--listen", "--data-dir", "--role",  "--email",      "--ttl", "--out",
	    "--at",     "--room",   "--since",    "--until", "--older-than", "--to",  "--from"};
	int only_words = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL;
		if (only_words || arg[0] != '-' || arg[1] == '\0') {
			a->words[a->n_words++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_words = 1;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			a->help = 1;
			continue;
		}
		if (strcmp(arg, "--dry-run") == 0) {
			a->dry_run = 1;
			continue;
		}
		if (strcmp(arg, "--pseudonymise") == 0 || strcmp(arg, "--pseudonymize") == 0) {
			a->pseudonymise = 1;
			continue;
		}
		if (strcmp(arg, "--with-files") == 0) {
			a->with_files = 1;
			continue;
		}
		if (strcmp(arg, "--force") == 0) {
			a->force = 1;
			continue;
		}
		if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			a->version = 1;
			continue;
		}
		size_t k;
		int rc = 0;
		for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			if ((rc = option_value(argc, argv, &i, valued[k], &value)) != 0)
				break;
		if (rc < 0)
			return usage_error("option %s needs a value", valued[k]);
		if (rc == 0)
			return usage_error("unknown option '%s'", arg);
		switch (k) {
		case 0:
			a->config = value;
			break;
		case 1:
			if (a->ov.n_listen >= CONFIG_MAX_LISTEN)
				return usage_error("too many --listen (at most %d)",
				                   CONFIG_MAX_LISTEN);
			a->ov.listen[a->ov.n_listen++] = value;
			break;
		case 2:
			a->ov.data_dir = value;
			break;
		case 3:
			a->role = value;
			break;
		case 4:
			a->email = value;
			break;
		case 5:
			a->ttl = value;
			break;
		case 6:
			a->out = value;
			break;
		case 7:
			a->at = value;
			break;
		case 8:
			if (a->n_rooms >= EXPORT_MAX_ROOMS)
				return usage_error("too many --room (at most %d)",
				                   EXPORT_MAX_ROOMS);
			a->rooms[a->n_rooms++] = value;
			break;
		case 9:
			a->since = value;
			break;
		case 10:
			a->until = value;
			break;
		case 11:
			a->older_than = value;
			break;
		case 12:
			a->to = value;
			break;
		default:
			a->from = value;
			break;
		}
	}
	return 0;
}

/* Which command the words name, and whether the options fit it. */
static int check_command(struct cli_args *a)
{
	const char **w = a->words;
	size_t n = a->n_words;
	if (n == 0) {
		a->cmd = CMD_SERVE;
	} else if (strcmp(w[0], "check-config") == 0) {
		a->cmd = CMD_CHECK;
		if (n > 1)
			return usage_error("check-config takes no argument, got '%s'", w[1]);
	} else if (strcmp(w[0], "user") == 0) {
		if (n < 2)
			return usage_error("user: expected 'user add NAME' or 'user import FILE'");
		if (strcmp(w[1], "add") == 0)
			a->cmd = CMD_USER_ADD;
		else if (strcmp(w[1], "import") == 0)
			a->cmd = CMD_USER_IMPORT;
		else
			return usage_error("unknown command 'user %s'", w[1]);
		if (n != 3)
			return usage_error("user %s takes exactly one %s", w[1],
			                   a->cmd == CMD_USER_ADD ? "NAME" : "FILE");
	} else if (strcmp(w[0], "invite") == 0) {
		a->cmd = CMD_INVITE;
		if (n > 1)
			return usage_error("invite takes no argument, got '%s'", w[1]);
	} else if (strcmp(w[0], "session") == 0) {
		if (n < 2 || strcmp(w[1], "new") != 0)
			return usage_error("unknown command 'session%s%s'", n > 1 ? " " : "",
			                   n > 1 ? w[1] : "");
		a->cmd = CMD_SESSION_NEW;
		if (n < 3)
			return usage_error("session new needs at least one NAME");
	} else if (strcmp(w[0], "prune") == 0) {
		a->cmd = CMD_PRUNE;
		if (n > 1)
			return usage_error("prune takes no argument, got '%s'", w[1]);
	} else if (strcmp(w[0], "test-script") == 0) {
		a->cmd = CMD_TEST_SCRIPT;
		if (n != 2)
			return usage_error("test-script takes exactly one FILE");
		if (a->ov.data_dir)
			return usage_error("test-script keeps its data in a temporary folder: no "
			                   "--data-dir");
	} else if (strcmp(w[0], "backup") == 0) {
		a->cmd = CMD_BACKUP;
		if (n > 1 || !a->out)
			return usage_error("backup takes --out DIR and no argument");
	} else if (strcmp(w[0], "export") == 0) {
		a->cmd = CMD_EXPORT;
		if (n > 1 || !a->out)
			return usage_error("export takes --out DIR|FILE.zip and no argument");
	} else if (strcmp(w[0], "import") == 0) {
		a->cmd = CMD_IMPORT;
		if (n != 2)
			return usage_error("import takes exactly one DIR or FILE.zip (an export)");
		if (a->from && strcmp(a->from, "slack") != 0 && strcmp(a->from, "parley") != 0)
			return usage_error("import --from takes 'slack' or 'parley' (the default)");
	} else if (strcmp(w[0], "store") == 0) {
		if (n < 2 || strcmp(w[1], "copy") != 0)
			return usage_error("unknown command 'store%s%s' (expected 'store copy')",
			                   n > 1 ? " " : "", n > 1 ? w[1] : "");
		a->cmd = CMD_STORE_COPY;
		if (n > 2 || !a->to || !*a->to)
			return usage_error("store copy takes --to OTHER.conf and no argument");
	} else if (strcmp(w[0], "restore") == 0) {
		a->cmd = CMD_RESTORE;
		if (n != 2)
			return usage_error("restore takes exactly one DIR (a backup)");
	} else {
		return usage_error("unknown command '%s'", w[0]);
	}

	if (a->ov.n_listen && a->cmd != CMD_SERVE)
		return usage_error("--listen applies to serving only");
	if ((a->role || a->email) && a->cmd != CMD_USER_ADD && a->cmd != CMD_INVITE)
		return usage_error("%s applies to 'user add' and 'invite' only",
		                   a->role ? "--role" : "--email");
	if (a->from && a->cmd != CMD_IMPORT)
		return usage_error("--from applies to 'import' only");
	if (a->out && a->cmd != CMD_BACKUP && a->cmd != CMD_EXPORT)
		return usage_error("--out applies to 'backup' and 'export' only");
	if ((a->since || a->until || a->pseudonymise || a->with_files) && a->cmd != CMD_EXPORT)
		return usage_error(
		    "--since, --until, --pseudonymise and --with-files apply to 'export' only");
	if (a->n_rooms && a->cmd != CMD_EXPORT && a->cmd != CMD_PRUNE)
		return usage_error("--room applies to 'export' and 'prune' only");
	if (a->n_rooms > 1 && a->cmd == CMD_PRUNE)
		return usage_error("prune takes one --room (or none: every room)");
	if (a->since && backup_parse_time(a->since) < 0)
		return usage_error("--since: bad date '%s' (UTC, e.g. 2026-12-01)", a->since);
	if (a->until && backup_parse_time(a->until) < 0)
		return usage_error("--until: bad date '%s' (UTC, e.g. 2026-12-31T23:59:59Z)",
		                   a->until);
	if (a->force && a->cmd != CMD_RESTORE && a->cmd != CMD_STORE_COPY)
		return usage_error("--force applies to 'restore' and 'store copy' only");
	if (a->at && a->cmd != CMD_RESTORE)
		return usage_error("--at applies to 'restore' only");
	if (a->to && a->cmd != CMD_STORE_COPY)
		return usage_error("--to applies to 'store copy' only");
	if (a->at && backup_parse_time(a->at) < 0)
		return usage_error("--at: bad time '%s' (UTC, e.g. 2026-12-06T05:00:00Z)", a->at);
	if (a->ttl && a->cmd != CMD_SESSION_NEW)
		return usage_error("--ttl applies to 'session new' only");
	if ((a->dry_run || a->older_than) && a->cmd != CMD_PRUNE)
		return usage_error("%s applies to 'prune' only",
		                   a->dry_run ? "--dry-run" : "--older-than");
	if (a->older_than && cli_parse_duration(a->older_than) <= 0)
		return usage_error(
		    "--older-than: bad duration '%s' (e.g. 3600, 90s, 15m, 12h, 30d)",
		    a->older_than);
	if (a->cmd == CMD_PRUNE && a->n_rooms && (!*a->rooms[0] || strlen(a->rooms[0]) > 64))
		return usage_error("--room: a room name or id of 1 to 64 bytes");
	if (a->role && strcmp(a->role, "admin") != 0 && strcmp(a->role, "member") != 0 &&
	    strcmp(a->role, "bot") != 0)
		return usage_error("--role must be admin, member or bot, not '%s'", a->role);
	if (a->ttl && cli_parse_duration(a->ttl) <= 0)
		return usage_error("--ttl: bad duration '%s' (e.g. 3600, 90s, 15m, 12h, 30d)",
		                   a->ttl);
	return 0;
}

static int run(struct cli_args *a)
{
	struct config cfg;
	const char *file = a->config;
	int rc = 1;
	if (!file) {
		const char *envfile = getenv("PARLEY_CONFIG");
		if (envfile && *envfile)
			file = envfile;
	}
	if (a->cmd == CMD_TEST_SCRIPT)
		return script_test_main(file, a->words[1]);
	a->ov.check_only = a->cmd == CMD_CHECK;
	if (config_load(&cfg, file, &a->ov) < 0)
		return 1;
	log_set_level(cfg.log_level);
	switch (a->cmd) {
	case CMD_SERVE:
		rc = server_run(&cfg);
		break;
	case CMD_CHECK:
		rc = admin_check_config(&cfg);
		break;
	case CMD_USER_ADD:
		rc = admin_user_add(&cfg, a->words[2], a->role ? a->role : "member", a->email,
		                    stdin);
		break;
	case CMD_USER_IMPORT:
		rc = admin_user_import(&cfg, a->words[2]);
		break;
	case CMD_INVITE:
		rc = admin_invite(&cfg, a->role ? a->role : "member", a->email);
		break;
	case CMD_PRUNE:
		rc = admin_prune(&cfg, a->dry_run,
		                 a->older_than ? cli_parse_duration(a->older_than) : 0,
		                 a->n_rooms ? a->rooms[0] : NULL);
		break;
	case CMD_TEST_SCRIPT:
		break;
	case CMD_BACKUP:
		rc = backup_main(&cfg, a->out);
		break;
	case CMD_EXPORT: {
		struct export_options eo = {.out = a->out,
		                            .rooms = a->rooms,
		                            .n_rooms = a->n_rooms,
		                            .since_ms = a->since ? backup_parse_time(a->since) : -1,
		                            .until_ms = a->until ? backup_parse_time(a->until) : -1,
		                            .pseudonymise = a->pseudonymise,
		                            .with_files = a->with_files};
		rc = export_main(&cfg, &eo);
		break;
	}
	case CMD_IMPORT:
		rc = a->from && strcmp(a->from, "slack") == 0 ? import_slack_main(&cfg, a->words[1])
		                                              : import_main(&cfg, a->words[1]);
		break;
	case CMD_RESTORE:
		rc = restore_main(&cfg, a->words[1], a->force,
		                  a->at ? backup_parse_time(a->at) : -1);
		break;
	case CMD_STORE_COPY:
		rc = store_copy_main(&cfg, a->to, a->force);
		break;
	case CMD_SESSION_NEW:
		rc = admin_session_new(&cfg, a->words + 2, a->n_words - 2,
		                       a->ttl ? cli_parse_duration(a->ttl) : 0);
		break;
	}
	config_free(&cfg);
	return rc;
}

int cli_main(int argc, char **argv)
{
	struct cli_args a = {0};
	int rc;
	/* The lower layers reach these only through what they are handed. */
	static const struct plugin_app_ops app_ops = {.unsubscribe_link = api_unsubscribe_link,
	                                              .script_function = scripts_add_function};
	config_set_scripts_check(scripts_validate);
	plugins_set_app_ops(&app_ops);
	a.words = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*a.words));
	if (!a.words) {
		fputs("parley: out of memory\n", stderr);
		return 1;
	}
	rc = parse_args(argc, argv, &a);
	if (rc)
		goto out;
	if (a.help) {
		fputs(usage_text, stdout);
		goto out;
	}
	if (a.version) {
		printf("parley %s\n", PARLEY_VERSION);
		goto out;
	}
	rc = check_command(&a);
	if (rc)
		goto out;
	rc = run(&a);
out:
	fflush(stdout);
	free(a.words);
	return rc;
}
