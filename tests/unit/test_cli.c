/* The command line: durations, and argument errors (exit 2) through
 * cli_main in-process; only paths that stop before serving or touching a
 * store are run here (the integration tests run the rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "app/cli.h"
#include "base/log.h"

/* cli_main with a NULL-terminated argument list. */
static int cli(const char *first, ...)
{
	char *argv[32] = {"parley"};
	int argc = 1;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return cli_main(argc, argv);
}

static void test_durations(void **state)
{
	assert_int_equal(cli_parse_duration("3600"), 3600);
	assert_int_equal(cli_parse_duration("90s"), 90);
	assert_int_equal(cli_parse_duration("15m"), 900);
	assert_int_equal(cli_parse_duration("12h"), 43200);
	assert_int_equal(cli_parse_duration("30d"), 2592000);
	assert_int_equal(cli_parse_duration("2w"), 1209600);
	assert_int_equal(cli_parse_duration("0"), 0);
	const char *bad[] = {"",
	                     "d",
	                     "-5",
	                     "5x",
	                     "5dd",
	                     "1.5h",
	                     " 5",
	                     "5 d",
	                     "30D",
	                     "+3",
	                     "99999999999999999999",
	                     "9999999999999999d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cli_parse_duration(bad[i]) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(cli_parse_duration(NULL), -1);
}

static void test_help_and_version(void **state)
{
	assert_int_equal(cli("--help", NULL), 0);
	assert_int_equal(cli("--version", NULL), 0);
	assert_int_equal(cli("user", "add", "x", "--help", NULL), 0);
}

static void test_usage_errors(void **state)
{
	assert_int_equal(cli("--no-such-option", NULL), 2);
	assert_int_equal(cli("frobnicate", NULL), 2);
	assert_int_equal(cli("--config", NULL), 2);
	assert_int_equal(cli("--listen", NULL), 2);
	assert_int_equal(cli("check-config", "extra", NULL), 2);
	assert_int_equal(cli("check-config", "--listen", "127.0.0.1:1", NULL), 2);
	assert_int_equal(cli("user", NULL), 2);
	assert_int_equal(cli("user", "remove", "x", NULL), 2);
	assert_int_equal(cli("user", "add", NULL), 2);
	assert_int_equal(cli("user", "add", "a", "b", NULL), 2);
	assert_int_equal(cli("user", "add", "a", "--role", "king", NULL), 2);
	assert_int_equal(cli("user", "add", "a", "--ttl", "1d", NULL), 2);
	assert_int_equal(cli("user", "import", NULL), 2);
	assert_int_equal(cli("user", "import", "a.csv", "--email", "x@y", NULL), 2);
	assert_int_equal(cli("session", NULL), 2);
	assert_int_equal(cli("session", "old", "a", NULL), 2);
	assert_int_equal(cli("session", "new", NULL), 2);
	assert_int_equal(cli("session", "new", "a", "--ttl", "soon", NULL), 2);
	assert_int_equal(cli("session", "new", "a", "--ttl=0", NULL), 2);
	assert_int_equal(cli("session", "new", "a", "--role", "admin", NULL), 2);
}

/* A bad config file stops every command with exit 1, before it runs. */
static void test_bad_config_exits_1(void **state)
{
	char path[] = "/tmp/parley_test_cli_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("server = { no_such_key = 1 }\n", f);
	fclose(f);
	int devnull = open("/dev/null", O_WRONLY);
	log_set_fd(devnull);
	assert_int_equal(cli("check-config", "--config", path, NULL), 1);
	assert_int_equal(cli("--config=/nonexistent/parley.conf", "check-config", NULL), 1);
	setenv("PARLEY_CONFIG", path, 1);
	assert_int_equal(cli("session", "new", "a", "b", "--ttl", "1h", NULL), 1);
	assert_int_equal(cli("--listen", "127.0.0.1:0", NULL), 1);
	unsetenv("PARLEY_CONFIG");
	/* A bad --listen is a config error too. */
	assert_int_equal(cli("--listen", "nowhere", "--data-dir", "/tmp", NULL), 1);
	log_set_fd(-1);
	close(devnull);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_bad_config_exits_1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
