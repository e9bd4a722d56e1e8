/* Server settings: defaults, the file, overrides, and the errors each kind
 * of mistake produces (file:line: path: message). Config files are written
 * into a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/config.h"
#include "lua/scripts.h"
#include "base/log.h"

static char tmpdir[] = "/tmp/parley_test_config_XXXXXX";
static FILE *captured;

static void capture_start(void)
{
	captured = tmpfile();
	assert_non_null(captured);
	log_set_fd(fileno(captured));
}

/* The msg of every line logged since capture_start, one per line (each
 * line must be a JSON object); caller frees. */
static char *capture_end(void)
{
	char line[8192];
	size_t len = 0;
	char *out = calloc(1, 1);
	log_set_fd(-1);
	rewind(captured);
	while (fgets(line, sizeof(line), captured)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *msg = json_string_value(json_object_get(o, "msg"));
		assert_non_null(msg);
		out = realloc(out, len + strlen(msg) + 2);
		len += (size_t)sprintf(out + len, "%s\n", msg);
		json_decref(o);
	}
	fclose(captured);
	return out;
}

/* Writes text to tmpdir/name; returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

static void check_default_limits(const struct config *c)
{
	assert_int_equal(c->limits.max_text, CONFIG_MAX_TEXT_DEFAULT);
	assert_int_equal(c->limits.max_frame, 65536);
	assert_int_equal(c->limits.max_upload, 25 * 1024 * 1024);
	assert_int_equal(c->limits.max_header, 16384);
	assert_int_equal(c->limits.max_body, 1024 * 1024);
	assert_true(c->limits.header_timeout == 10);
	assert_true(c->limits.idle_timeout == 60);
	assert_true(c->limits.auth_timeout == 10);
	assert_true(c->limits.ping_interval == 30);
	assert_true(c->limits.pong_timeout == 75);
	assert_int_equal(c->limits.outbound_high_water, 4 * 1024 * 1024);
	assert_true(c->limits.outbound_grace == 5);
	assert_int_equal(c->limits.presence_room_max, 100);
	assert_int_equal(c->limits.max_connections, 0);
	assert_true(c->limits.shutdown_timeout == 10);
	assert_int_equal(c->limits.workers, 0);
	/* The per-user rate limits the docs and config/parley.conf state. */
	const struct rate_spec people[RATE_ACTIONS] = {{5, 20}, {10, 30}, {1.0 / 60, 10}, {2, 30}};
	const struct rate_spec bots[RATE_ACTIONS] = {{20, 100}, {20, 100}, {1.0 / 60, 10}, {5, 50}};
	for (int a = 0; a < RATE_ACTIONS; a++) {
		assert_true(c->limits.rates[a].per_s == people[a].per_s);
		assert_true(c->limits.rates[a].burst == people[a].burst);
		assert_true(c->limits.bot_rates[a].per_s == bots[a].per_s);
		assert_true(c->limits.bot_rates[a].burst == bots[a].burst);
	}
}

static void test_rates(void **state)
{
	(void)state;
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	const char *path =
	    write_conf("rates.conf", "limits = { rates = { send = { per_s = 1.5, burst = 3 },\n"
	                             "                     join = { per_s = 0 } },\n"
	                             "           bot_rates = false,\n"
	                             "           oidc_logins = { burst = 5 } }\n");
	assert_int_equal(config_load(&c, path, &ov), 0);
	assert_true(c.limits.oidc_logins.burst == 5);
	assert_true(c.limits.oidc_logins.per_s == 0.2); /* kept */
	assert_true(c.limits.rates[RATE_SEND].per_s == 1.5);
	assert_true(c.limits.rates[RATE_SEND].burst == 3);
	assert_true(c.limits.rates[RATE_JOIN].per_s == 0);  /* off */
	assert_true(c.limits.rates[RATE_JOIN].burst == 30); /* kept */
	assert_true(c.limits.rates[RATE_REACT].per_s == 10);
	for (int a = 0; a < RATE_ACTIONS; a++)
		assert_true(c.limits.bot_rates[a].per_s == 0);
	config_free(&c);
	const char *bad[] = {
	    "limits = { rates = { send = { per_s = -1 } } }\n",
	    "limits = { rates = { send = { burst = 0.5 } } }\n",
	    "limits = { rates = { send = { per_s = 1, bust = 2 } } }\n",
	    "limits = { rates = { sned = { per_s = 1 } } }\n",
	    "limits = { rates = true }\n",
	    "limits = { bot_rates = 5 }\n",
	    "limits = { oidc_logins = { per_s = -1 } }\n",
	    "limits = { oidc_logins = true }\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		path = write_conf("bad_rates.conf", bad[i]);
		capture_start();
		int rc = config_load(&c, path, &ov);
		char *log = capture_end();
		if (rc != -1)
			fail_msg("accepted: %s", bad[i]);
		if (!strstr(log, "rates") && !strstr(log, "oidc_logins"))
			fail_msg("no key named for %s: %s", bad[i], log);
		free(log);
	}
}

static void test_defaults(void **state)
{
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	char cwd[512], want[600];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(config_load(&c, NULL, &ov), 0);
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0].host, "127.0.0.1");
	assert_int_equal(c.listen[0].port, 8080);
	assert_null(c.listen[0].tls_cert);
	snprintf(want, sizeof(want), "%s/data", cwd);
	assert_string_equal(c.data_dir, want);
	assert_string_equal(c.base_dir, cwd);
	assert_true(ends_with(c.web_root, "/web"));
	assert_non_null(c.plugin_dir);
	assert_string_equal(c.server_name, "parley");
	assert_null(c.public_url);
	assert_int_equal(c.n_origins, 0);
	assert_int_equal(c.n_trusted_proxies, 0);
	assert_int_equal(c.log_level, LOG_INFO);
	check_default_limits(&c);
	assert_int_equal(c.plugins_default, 1);
	assert_int_equal(c.n_plugins, 3);
	assert_string_equal(c.plugins[0].name, "auth_local");
	assert_string_equal(c.plugins[1].name, "store_sqlite");
	assert_string_equal(c.plugins[2].name, "uploads_local");
	assert_null(c.plugins[0].section);
	assert_null(c.plugins[0].path);
	assert_null(c.scripts);
	config_free(&c);
}

static void test_parse_listen(void **state)
{
	struct listen_spec l;
	assert_int_equal(config_parse_listen("127.0.0.1:80", &l), 0);
	assert_string_equal(l.host, "127.0.0.1");
	assert_int_equal(l.port, 80);
	free(l.host);
	assert_int_equal(config_parse_listen("[::1]:8443", &l), 0);
	assert_string_equal(l.host, "::1");
	assert_int_equal(l.port, 8443);
	free(l.host);
	assert_int_equal(config_parse_listen("[::]:0", &l), 0);
	assert_string_equal(l.host, "::");
	assert_int_equal(l.port, 0);
	free(l.host);
	assert_int_equal(config_parse_listen(":9000", &l), 0);
	assert_string_equal(l.host, "0.0.0.0");
	free(l.host);
	assert_int_equal(config_parse_listen("localhost:65535", &l), 0);
	assert_string_equal(l.host, "localhost");
	free(l.host);

	const char *bad[] = {"1.2.3.4", "::1:80",  "[::1]80",  "[zz]:80", "host:99999",
	                     "host:",   "a b:80",  "[::1]:-1", "h:8x",    "",
	                     "[::1:80", "-bad:80", "h:+80",    "[]:80",   "h:123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_listen(bad[i], &l) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_resolve(void **state)
{
	char *p = config_resolve("/etc/parley", "data");
	assert_string_equal(p, "/etc/parley/data");
	free(p);
	p = config_resolve("/etc/parley", "/var/lib/parley");
	assert_string_equal(p, "/var/lib/parley");
	free(p);
	p = config_resolve(NULL, "x");
	assert_string_equal(p, "x");
	free(p);
}

static void test_full_file(void **state)
{
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	char want[600];
	const char *path = write_conf(
	    "full.conf",
	    "server = {\n"
	    "  listen = { \"127.0.0.1:0\", { addr = \"[::1]:8443\",\n"
	    "             tls = { cert = \"cert.pem\", key = \"/abs/key.pem\" } } },\n"
	    "  trusted_proxies = { \"10.0.0.0/8\", \"127.0.0.1\" },\n"
	    "  public_url = \"https://chat.example.org\",\n"
	    "  origins = { \"https://chat.example.org\" },\n"
	    "  data_dir = \"var/data\",\n"
	    "  web_root = \"web\",\n"
	    "  plugin_dir = \"/opt/plugins\",\n"
	    "  name = \"Lab chat\",\n"
	    "}\n"
	    "limits = { max_text = 100, max_upload = 2 * 1024 * 1024, ping_interval = 0,\n"
	    "           pong_timeout = 2.5, workers = 4 }\n"
	    "log = { level = \"debug\" }\n"
	    "plugins = {\n"
	    "  { \"auth_local\", registration = \"open\" },\n"
	    "  { \"store_sqlite\", path = \"chat.db\", so = \"build/store_sqlite.so\" },\n"
	    "}\n"
	    "scripts = { { file = \"scripts/welcome.lua\", rooms = { \"general\" } } }\n");
	assert_int_equal(config_load(&c, path, &ov), 0);
	assert_int_equal(c.n_listen, 2);
	assert_string_equal(c.listen[0].host, "127.0.0.1");
	assert_int_equal(c.listen[0].port, 0);
	assert_string_equal(c.listen[1].host, "::1");
	assert_int_equal(c.listen[1].port, 8443);
	snprintf(want, sizeof(want), "%s/cert.pem", tmpdir);
	assert_string_equal(c.listen[1].tls_cert, want);
	assert_string_equal(c.listen[1].tls_key, "/abs/key.pem");
	assert_int_equal(c.n_trusted_proxies, 2);
	assert_string_equal(c.trusted_proxies[1], "127.0.0.1");
	assert_string_equal(c.public_url, "https://chat.example.org");
	assert_int_equal(c.n_origins, 1);
	snprintf(want, sizeof(want), "%s/var/data", tmpdir);
	assert_string_equal(c.data_dir, want);
	snprintf(want, sizeof(want), "%s/web", tmpdir);
	assert_string_equal(c.web_root, want);
	assert_string_equal(c.plugin_dir, "/opt/plugins");
	assert_string_equal(c.server_name, "Lab chat");
	assert_int_equal(c.limits.max_text, 100);
	assert_int_equal(c.limits.max_upload, 2 * 1024 * 1024);
	assert_true(c.limits.ping_interval == 0);
	assert_true(c.limits.pong_timeout == 2.5);
	assert_int_equal(c.limits.workers, 4);
	assert_int_equal(c.limits.max_frame, 65536);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.plugins_default, 0);
	assert_int_equal(c.n_plugins, 2);
	assert_string_equal(c.plugins[0].name, "auth_local");
	assert_null(c.plugins[0].path);
	assert_non_null(c.plugins[0].section);
	assert_string_equal(c.plugins[1].name, "store_sqlite");
	snprintf(want, sizeof(want), "%s/build/store_sqlite.so", tmpdir);
	assert_string_equal(c.plugins[1].path, want);
	/* The plugin's own keys are left for the plugin to read. */
	const char *s;
	assert_int_equal(conf_report_unread(c.plugins[0].section), 1);
	assert_int_equal(conf_get_str(c.plugins[1].section, "path", &s), 1);
	assert_string_equal(s, "chat.db");
	assert_int_equal(conf_report_unread(c.plugins[1].section), 0);
	assert_non_null(c.scripts);
	assert_int_equal(c.scripts->n_list, 1);
	config_free(&c);
}

/* Every kind of mistake in one file: all are reported, with lines. */
static void test_errors_all_reported(void **state)
{
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	const char *path = write_conf(
	    "bad.conf",
	    "server = {\n" /* 1 */
	    "  listen = { \"127.0.0.1\", { addr = \"[::1]:1\", tls = { cert = \"c\" } } },\n"
	    "  public_url = \"ftp://x\",\n" /* 3 */
	    "  colour = \"blue\",\n"        /* 4 */
	    "  data_dir = 5,\n"             /* 5 */
	    "}\n"
	    "limits = {\n"             /* 7 */
	    "  max_text = -1,\n"       /* 8 */
	    "  max_frame = \"big\",\n" /* 9 */
	    "  idle_timeout = 0,\n"    /* 10 */
	    "}\n"
	    "log = { level = \"loud\" }\n"      /* 12 */
	    "plugins = {\n"                     /* 13 */
	    "  { registration = \"open\" },\n"  /* 14 */
	    "  { \"Bad-Name\" },\n"             /* 15 */
	    "  { \"store_sqlite\", so = 1 },\n" /* 16 */
	    "}\n"
	    "scripts = { { rooms = {} } }\n" /* 18 */
	    "typo = 1\n");                   /* 19 */
	capture_start();
	assert_int_equal(config_load(&c, path, &ov), -1);
	char *out = capture_end();
	char want[1024];
	const char *expect[] = {
	    "2: server.listen[1]: bad address \"127.0.0.1\"",
	    "2: server.listen[2].tls.key: is required with tls",
	    "3: server.public_url: bad URL \"ftp://x\"",
	    "4: server.colour: unknown key",
	    "5: server.data_dir: expected a string, got number",
	    "8: limits.max_text: must be more than 0",
	    "9: limits.max_frame: expected an integer, got string",
	    "10: limits.idle_timeout: must be more than 0",
	    "12: log.level: unknown log level \"loud\"",
	    "14: plugins[1]: the first item must be the plugin's name",
	    "15: plugins[2][1]: bad plugin name \"Bad-Name\"",
	    "16: plugins[3].so: expected a string, got number",
	    "18: scripts[1].file: is required",
	    "19: typo: unknown key",
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		snprintf(want, sizeof(want), "%s:%s", path, expect[i]);
		if (!strstr(out, want))
			fail_msg("missing \"%s\" in:\n%s", want, out);
	}
	free(out);
	/* config_load cleaned up after itself. */
	assert_null(c.root);
	config_free(&c);
}

/* plugins = { "auth_local", … }: a bare name is { "name" } without settings,
 * mixed freely with tables; a bare bad name or a number is still refused. */
static void test_plugins_bare_names(void **state)
{
	(void)state;
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	const char *path = write_conf("bare.conf", "plugins = {\n"
	                                           "  \"auth_local\",\n"
	                                           "  { \"store_sqlite\", path = \"x.db\" },\n"
	                                           "  \"uploads_local\",\n"
	                                           "}\n");
	assert_int_equal(config_load(&c, path, &ov), 0);
	assert_int_equal(c.plugins_default, 0);
	assert_int_equal(c.n_plugins, 3);
	assert_string_equal(c.plugins[0].name, "auth_local");
	assert_string_equal(c.plugins[2].name, "uploads_local");
	assert_null(c.plugins[0].path);
	/* The bare name's section has no keys: the plugin reads its defaults. */
	const char *s;
	assert_non_null(c.plugins[0].section);
	assert_int_equal(conf_get_str(c.plugins[0].section, "path", &s), 0);
	assert_int_equal(conf_report_unread(c.plugins[0].section), 0);
	assert_int_equal(conf_get_str(c.plugins[1].section, "path", &s), 1);
	config_free(&c);

	path = write_conf("bare_bad.conf", "plugins = {\n"           /* 1 */
	                                   "  \"Bad-Name\",\n"       /* 2 */
	                                   "  7,\n"                  /* 3 */
	                                   "  \"auth_local\",\n"     /* 4 */
	                                   "  { \"auth_local\" },\n" /* 5 */
	                                   "}\n");
	capture_start();
	assert_int_equal(config_load(&c, path, &ov), -1);
	char *out = capture_end();
	const char *expect[] = {
	    "2: plugins[1]: bad plugin name \"Bad-Name\"",
	    " plugins[2]: expected a name or a table", /* numbers have no line */
	    "5: plugins[4][1]: plugin \"auth_local\" is listed twice",
	};
	char want[1024]; /* the path (up to 512) and the message */
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		snprintf(want, sizeof(want), "%s:%s", path, expect[i]);
		if (!strstr(out, want))
			fail_msg("missing \"%s\" in:\n%s", want, out);
	}
	free(out);
	config_free(&c);
}

static void test_lua_error_reported(void **state)
{
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	const char *path = write_conf("syntax.conf", "server = {\n  listen = \n}\n");
	capture_start();
	assert_int_equal(config_load(&c, path, &ov), -1);
	char *out = capture_end();
	char want[600];
	snprintf(want, sizeof(want), "%s:3:", path);
	assert_non_null(strstr(out, want));
	free(out);

	capture_start();
	assert_int_equal(config_load(&c, "/nonexistent/parley.conf", &ov), -1);
	out = capture_end();
	assert_non_null(strstr(out, "/nonexistent/parley.conf: cannot read"));
	free(out);
}

static void test_overrides(void **state)
{
	struct config c;
	char cwd[512], want[600];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	const char *path = write_conf("ov.conf", "server = { listen = { \"127.0.0.1:1\" }, "
	                                         "data_dir = \"from_file\" }\n");
	struct config_overrides ov = {.listen = {"[::1]:9001", "127.0.0.1:9002"},
	                              .n_listen = 2,
	                              .data_dir = "cli_data",
	                              .check_only = 1};
	assert_int_equal(config_load(&c, path, &ov), 0);
	assert_int_equal(c.n_listen, 2);
	assert_string_equal(c.listen[0].host, "::1");
	assert_int_equal(c.listen[0].port, 9001);
	assert_int_equal(c.listen[1].port, 9002);
	/* Command-line paths are relative to the working folder. */
	snprintf(want, sizeof(want), "%s/cli_data", cwd);
	assert_string_equal(c.data_dir, want);
	config_free(&c);

	struct config_overrides bad = {.listen = {"nonsense"}, .n_listen = 1, .check_only = 1};
	capture_start();
	assert_int_equal(config_load(&c, path, &bad), -1);
	char *out = capture_end();
	assert_non_null(strstr(out, "--listen: bad address \"nonsense\""));
	free(out);
}

static void test_data_dir_created(void **state)
{
	struct config c;
	char dir[600];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/made/deep/data", tmpdir);
	struct config_overrides ov = {.data_dir = dir};
	assert_int_equal(config_load(&c, NULL, &ov), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	config_free(&c);

	/* check-only creates nothing. */
	snprintf(dir, sizeof(dir), "%s/not_made", tmpdir);
	ov.data_dir = dir;
	ov.check_only = 1;
	assert_int_equal(config_load(&c, NULL, &ov), 0);
	assert_int_not_equal(stat(dir, &st), 0);
	config_free(&c);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The shipped file gives the defaults; with its example lines uncommented
 * ("-- " removed at the start of a line) it is accepted and still gives the
 * defaults it documents. */
static void test_shipped_config(void **state)
{
	struct config c;
	struct config_overrides ov = {.check_only = 1};
	const char *shipped = PARLEY_SOURCE_DIR "/config/parley.conf";
	assert_int_equal(config_load(&c, shipped, &ov), 0);
	assert_int_equal(c.plugins_default, 1);
	assert_int_equal(c.n_listen, 1);
	assert_int_equal(c.listen[0].port, 8080);
	check_default_limits(&c);
	config_free(&c);

	char *text = read_all(shipped);
	size_t n = strlen(text);
	char *out = calloc(1, n + 1), *o = out;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (strncmp(line, "-- ", 3) == 0) {
			line += 3;
			len -= 3;
		}
		memcpy(o, line, len);
		o += len;
		line += len;
		if (!nl)
			break;
	}
	const char *path = write_conf("uncommented.conf", out);
	capture_start();
	int rc = config_load(&c, path, &ov);
	char *log = capture_end();
	if (rc != 0)
		fail_msg("uncommented parley.conf refused:\n%s", log);
	free(log);
	assert_int_equal(c.n_listen, 1);
	assert_string_equal(c.listen[0].host, "127.0.0.1");
	assert_int_equal(c.listen[0].port, 8080);
	check_default_limits(&c);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.plugins_default, 0);
	assert_int_equal(c.n_plugins, 3);
	assert_string_equal(c.plugins[0].name, "auth_local");
	assert_string_equal(c.plugins[1].name, "store_sqlite");
	assert_string_equal(c.plugins[2].name, "uploads_local");
	assert_int_equal(c.uploads.quota_per_day, 0);
	assert_true(c.uploads.unattached_max_age == 86400 && c.uploads.cleanup_interval == 3600);
	int64_t v;
	assert_int_equal(conf_get_int(c.plugins[0].section, "session_ttl", &v), 1);
	assert_int_equal(v, 2592000);
	assert_int_equal(conf_get_int(c.plugins[1].section, "batch_max", &v), 1);
	assert_int_equal(v, 512);
	assert_non_null(c.scripts);
	config_free(&c);
	free(out);
	free(text);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	config_set_scripts_check(scripts_validate); /* as the CLI does at start */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_errors_all_reported),
	    cmocka_unit_test(test_plugins_bare_names),
	    cmocka_unit_test(test_lua_error_reported),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_data_dir_created),
	    cmocka_unit_test(test_shipped_config),
	    cmocka_unit_test(test_rates),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
