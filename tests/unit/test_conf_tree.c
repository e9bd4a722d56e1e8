/* The config tree: Lua evaluation in an empty sandbox, conversion, source
 * lines, typed getters and the error reports they produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/conf_tree.h"
#include "base/log.h"

static char err[1024];

/* Log lines go to a temporary file while a test runs, so the reports can
 * be read back. */
static FILE *captured;

static void capture_start(void)
{
	captured = tmpfile();
	assert_non_null(captured);
	log_set_fd(fileno(captured));
}

/* Everything logged since capture_start; caller frees. */
static char *capture_end(void)
{
	log_set_fd(-1);
	long n = ftell(captured);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(captured);
	assert_int_equal(fread(buf, 1, (size_t)n, captured), (size_t)n);
	fclose(captured);
	return buf;
}

static conf_node *load(const char *src)
{
	conf_node *root = conf_load("t.conf", src, err, sizeof(err));
	if (!root)
		fail_msg("conf_load failed: %s", err);
	return root;
}

static const char nested_src[] =
    "-- server = { a comment, not the key }\n" /* 1 */
    "server = {\n"                             /* 2 */
    "  listen = { \"127.0.0.1:8080\",\n"       /* 3 */
    "    { addr = \"[::1]:8443\", tls = { cert = \"c.pem\" } } },\n"
    "  data_dir = \"data\",\n" /* 5 */
    "}\n"
    "plugins = {\n"                                      /* 7 */
    "  { \"auth_local\", registration = \"invite\" },\n" /* 8 */
    "  { \"store_sqlite\", path = \"x.db\" },\n"         /* 9 */
    "}\n"
    "log = { level = \"debug\", n = 3, f = 1.5, on = true }\n"; /* 11 */

static void test_nested_lines_and_order(void **state)
{
	conf_node *root = load(nested_src);
	assert_int_equal(root->n_items, 3);
	/* The file's order, not Lua's hash order. */
	assert_string_equal(root->items[0]->key, "server");
	assert_string_equal(root->items[1]->key, "plugins");
	assert_string_equal(root->items[2]->key, "log");

	conf_node *server = conf_get(root, "server");
	assert_int_equal(server->line, 2);
	conf_node *listen = conf_get(server, "listen");
	assert_int_equal(listen->line, 3);
	assert_int_equal(listen->n_list, 2);
	assert_string_equal(conf_at(listen, 0)->str, "127.0.0.1:8080");
	assert_int_equal(conf_at(listen, 0)->line, 3);
	conf_node *l2 = conf_at(listen, 1);
	assert_int_equal(l2->line, 4);
	assert_string_equal(l2->path, "server.listen[2]");
	const conf_node *tls;
	assert_int_equal(conf_get_table(l2, "tls", &tls), 1);
	assert_string_equal(conf_get(tls, "cert")->path, "server.listen[2].tls.cert");
	assert_int_equal(conf_get(tls, "cert")->line, 4);
	assert_int_equal(conf_get(server, "data_dir")->line, 5);

	conf_node *plugins = conf_get(root, "plugins");
	assert_int_equal(plugins->line, 7);
	conf_node *p1 = conf_at(plugins, 0), *p2 = conf_at(plugins, 1);
	assert_int_equal(p1->line, 8);
	assert_int_equal(p1->n_list, 1);
	assert_int_equal(p1->n_items, 2);
	assert_string_equal(conf_at(p1, 0)->str, "auth_local");
	assert_int_equal(p2->line, 9);
	const char *s;
	assert_int_equal(conf_get_str(p2, "path", &s), 1);
	assert_string_equal(s, "x.db");
	assert_int_equal(conf_get(p2, "path")->line, 9);
	assert_string_equal(conf_get(p2, "path")->path, "plugins[2].path");

	conf_node *log = conf_get(root, "log");
	int64_t i;
	double d;
	int b;
	assert_int_equal(conf_get_int(log, "n", &i), 1);
	assert_int_equal(i, 3);
	assert_int_equal(conf_get_num(log, "f", &d), 1);
	assert_true(d == 1.5);
	assert_int_equal(conf_get_num(log, "n", &d), 1);
	assert_true(d == 3);
	assert_int_equal(conf_get_bool(log, "on", &b), 1);
	assert_int_equal(b, 1);
	assert_int_equal(conf_get_str(log, "absent", &s), 0);
	assert_int_equal(conf_error_count(root), 0);
	conf_free(root);
}

static void test_same_key_in_list_items(void **state)
{
	/* The second item's key is found in the second item, not the first. */
	conf_node *root = load("scripts = {\n"
	                       "  { file = \"a.lua\", options = { x = 1 } },\n"
	                       "  { file = \"b.lua\",\n"
	                       "    x = 2 },\n"
	                       "}\n");
	conf_node *scripts = conf_get(root, "scripts");
	assert_int_equal(conf_get(conf_at(scripts, 0), "file")->line, 2);
	assert_int_equal(conf_get(conf_at(scripts, 1), "file")->line, 3);
	assert_int_equal(conf_get(conf_at(scripts, 1), "x")->line, 4);
	conf_free(root);
}

static void test_env(void **state)
{
	setenv("PARLEY_TEST_SECRET", "s3cret", 1);
	unsetenv("PARLEY_TEST_ABSENT");
	conf_node *root = load("secret = env(\"PARLEY_TEST_SECRET\")\n"
	                       "none = env(\"PARLEY_TEST_ABSENT\")\n");
	const char *s;
	assert_int_equal(conf_get_str(root, "secret", &s), 1);
	assert_string_equal(s, "s3cret");
	assert_null(conf_get(root, "none"));
	/* env itself is not part of the config. */
	assert_null(conf_get(root, "env"));
	assert_int_equal(root->n_items, 1);
	conf_free(root);
}

static void test_empty_sandbox(void **state)
{
	/* No standard library at all. */
	assert_null(conf_load("t.conf", "x = string.rep('a', 3)\n", err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:1:"));
	assert_null(conf_load("t.conf", "x = io ~= nil and io.open('/etc/passwd')\nassert(false)\n",
	                      err, sizeof(err)));
	assert_null(conf_load("t.conf", "print('hi')\n", err, sizeof(err)));
	/* Bytecode is refused (text chunks only). */
	assert_null(conf_load("t.conf", "\x1bLua", err, sizeof(err)));
}

static void test_unknown_key_report(void **state)
{
	conf_node *root = load("server = {\n  data_dir = \"d\",\n  bogus = 1,\n}\nzzz = 2\n");
	const char *s;
	assert_int_equal(conf_get_str(conf_get(root, "server"), "data_dir", &s), 1);
	capture_start();
	assert_int_equal(conf_report_unread(root), 2);
	char *out = capture_end();
	assert_non_null(strstr(out, "t.conf:3: server.bogus: unknown key"));
	assert_non_null(strstr(out, "t.conf:5: zzz: unknown key"));
	assert_non_null(strstr(out, "\"event\":\"config_error\""));
	assert_non_null(strstr(out, "\"level\":\"error\""));
	assert_int_equal(conf_error_count(root), 2);
	free(out);
	conf_free(root);
}

static void test_type_errors(void **state)
{
	conf_node *root = load("plugins = {\n  { \"a\" },\n  { \"b\", path = 5 },\n}\n"
	                       "n = \"x\"\nf = 1.5\nt = 1\n");
	const char *s;
	int64_t i;
	const conf_node *t;
	capture_start();
	assert_int_equal(conf_get_str(conf_at(conf_get(root, "plugins"), 1), "path", &s), -1);
	assert_int_equal(conf_get_int(root, "n", &i), -1);
	assert_int_equal(conf_get_int(root, "f", &i), -1);
	assert_int_equal(conf_get_table(root, "t", &t), -1);
	conf_error(root, "missing", "is required");
	char *out = capture_end();
	assert_non_null(strstr(out, "t.conf:3: plugins[2].path: expected a string, got number"));
	assert_non_null(strstr(out, "t.conf:5: n: expected an integer, got string"));
	assert_non_null(strstr(out, "t.conf:6: f: expected an integer, got number"));
	assert_non_null(strstr(out, "t.conf:7: t: expected a table, got number"));
	assert_non_null(strstr(out, "t.conf: missing: is required"));
	assert_int_equal(conf_error_count(root), 5);
	free(out);
	conf_free(root);
}

static void test_integral_float_is_int(void **state)
{
	conf_node *root = load("a = 1e6\nb = 25 * 1024 * 1024\n");
	int64_t i;
	assert_int_equal(conf_get_int(root, "a", &i), 1);
	assert_int_equal(i, 1000000);
	assert_int_equal(conf_get_int(root, "b", &i), 1);
	assert_int_equal(i, 25 * 1024 * 1024);
	conf_free(root);
	/* Too big for an integer: a type error, not a wrapped value. */
	root = load("c = 1e27\nd = 0/0\n");
	capture_start();
	assert_int_equal(conf_get_int(root, "c", &i), -1);
	assert_int_equal(conf_get_int(root, "d", &i), -1);
	free(capture_end());
	conf_free(root);
}

static void test_syntax_and_runtime_errors(void **state)
{
	assert_null(conf_load("t.conf", "a = 1\nb = {\n  c = \n", err, sizeof(err)));
	assert_true(strncmp(err, "t.conf:", 7) == 0);
	assert_non_null(strstr(err, "t.conf:4:"));
	assert_null(conf_load("t.conf", "a = 1\nb = nil + 1\n", err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:2: attempt to perform arithmetic"));
	/* Not even error() exists in the sandbox. */
	assert_null(conf_load("t.conf", "error('custom failure')\n", err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: attempt to call a nil value (global 'error')");
}

static void test_long_file_name_kept(void **state)
{
	const char *name = "/a/very/long/folder/name/that/lua/would/shorten/with/dots/parley.conf";
	assert_null(conf_load(name, "x = = 1\n", err, sizeof(err)));
	assert_true(strncmp(err, name, strlen(name)) == 0);
	assert_int_equal(err[strlen(name)], ':');
}

static void test_bad_values(void **state)
{
	assert_null(conf_load("t.conf", "a = 1\nf = function() end\n", err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: f: a function is not a config value");
	assert_null(conf_load("t.conf", "t = { x = 1 }\nt.self = t\n", err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:2: t.self: a table that contains itself"));
	assert_null(conf_load("t.conf", "t = { [5] = 1 }\n", err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:1: t: key [5]"));
	assert_null(conf_load("t.conf", "t = { [true] = 1 }\n", err, sizeof(err)));
	assert_non_null(strstr(err, "boolean key"));
	assert_null(
	    conf_load("t.conf", "t = {}\nfor i = 1, 40 do t = { t } end\n", err, sizeof(err)));
	assert_non_null(strstr(err, "nested too deep"));
	assert_null(conf_load("t.conf", "s = 'a\\0b'\n", err, sizeof(err)));
	assert_non_null(strstr(err, "NUL"));
}

static void test_runaway_stopped(void **state)
{
	assert_null(conf_load("t.conf", "x = 1\nwhile true do end\n", err, sizeof(err)));
	assert_non_null(strstr(err, "t.conf:2: the config runs too long"));
	/* Also from inside a function the file defines. */
	assert_null(conf_load("t.conf", "local function f() return f() + 1 end\nx = f()\n", err,
	                      sizeof(err)));
	assert_true(strncmp(err, "t.conf:", 7) == 0);
}

static void test_memory_bomb_stopped(void **state)
{
	assert_null(conf_load("t.conf", "local s = 'x'\nfor i = 1, 40 do s = s .. s end\n", err,
	                      sizeof(err)));
	assert_non_null(strstr(err, "memory"));
	assert_null(
	    conf_load("t.conf", "t = {}\nfor i = 1, 1e9 do t[i] = { i } end\n", err, sizeof(err)));
	assert_true(strstr(err, "memory") || strstr(err, "too long"));
}

static void test_file_and_empty(void **state)
{
	char path[] = "/tmp/parley_test_conf_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *src = "log = { level = 'warn' }\n";
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	conf_node *root = conf_load(path, NULL, err, sizeof(err));
	assert_non_null(root);
	assert_string_equal(root->file, path);
	assert_string_equal(conf_get(root, "log")->file, path);
	conf_free(root);
	unlink(path);
	assert_null(conf_load(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read"));

	root = conf_empty(NULL);
	assert_int_equal(root->n_items, 0);
	assert_null(conf_get(root, "server"));
	conf_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nested_lines_and_order),
	    cmocka_unit_test(test_same_key_in_list_items),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_empty_sandbox),
	    cmocka_unit_test(test_unknown_key_report),
	    cmocka_unit_test(test_type_errors),
	    cmocka_unit_test(test_integral_float_is_int),
	    cmocka_unit_test(test_syntax_and_runtime_errors),
	    cmocka_unit_test(test_long_file_name_kept),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_runaway_stopped),
	    cmocka_unit_test(test_memory_bomb_stopped),
	    cmocka_unit_test(test_file_and_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
