/* Structured logging: the level filter, escaping, and that every line is
 * one valid JSON object (parsed back with jansson), also from threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/log.h"

static FILE *captured;

static void capture_start(void)
{
	captured = tmpfile();
	assert_non_null(captured);
	log_set_fd(fileno(captured));
}

/* Parses every captured line into a JSON array; each must be an object. */
static json_t *capture_end(void)
{
	char line[16384];
	json_t *all = json_array();
	log_set_fd(-1);
	rewind(captured);
	while (fgets(line, sizeof(line), captured)) {
		json_error_t e;
		size_t n = strlen(line);
		assert_true(n > 0 && line[n - 1] == '\n');
		json_t *o = json_loads(line, 0, &e);
		if (!o || !json_is_object(o))
			fail_msg("not a JSON object: %s (%s)", line, e.text);
		json_array_append_new(all, o);
	}
	fclose(captured);
	return all;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_levels(void **state)
{
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_level_parse(NULL), -1);
	assert_string_equal(log_level_name(LOG_WARN), "warn");
}

static int formatted;

static const char *count_format(void)
{
	formatted++;
	return "x";
}

static void test_filter(void **state)
{
	log_set_level(LOG_WARN);
	formatted = 0;
	capture_start();
	log_debug("a", NULL, "%s", count_format());
	log_info("b", NULL, "%s", count_format());
	log_warn("c", NULL, "%s", count_format());
	log_error("d", NULL, "%s", count_format());
	json_t *all = capture_end();
	/* Disabled levels do not even evaluate their arguments. */
	assert_int_equal(formatted, 2);
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(str(json_array_get(all, 0), "event"), "c");
	assert_string_equal(str(json_array_get(all, 0), "level"), "warn");
	assert_string_equal(str(json_array_get(all, 1), "level"), "error");
	json_decref(all);
	log_set_level(LOG_INFO);
}

static void test_fields_and_context(void **state)
{
	capture_start();
	log_info("conn_open", "\"conn\":12,\"user\":\"u_1\"", "from %s port %d", "127.0.0.1", 5);
	json_t *all = capture_end();
	json_t *o = json_array_get(all, 0);
	assert_true(json_integer_value(json_object_get(o, "ts")) > 1600000000000LL);
	assert_string_equal(str(o, "level"), "info");
	assert_string_equal(str(o, "event"), "conn_open");
	assert_int_equal(json_integer_value(json_object_get(o, "conn")), 12);
	assert_string_equal(str(o, "user"), "u_1");
	assert_string_equal(str(o, "msg"), "from 127.0.0.1 port 5");
	json_decref(all);
}

static void test_escaping(void **state)
{
	capture_start();
	log_info("esc", NULL, "quote \" backslash \\ newline \n tab \t bell \a del \x7f end");
	log_info("utf8", NULL, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	log_info("bad", NULL,
	         "a\xff"
	         "b\xc3"
	         "c\xed\xa0\x80"
	         "d\xc0\xaf"
	         "e");
	json_t *all = capture_end();
	assert_int_equal(json_array_size(all), 3);
	assert_string_equal(str(json_array_get(all, 0), "msg"),
	                    "quote \" backslash \\ newline \n tab \t bell \a del \x7f end");
	assert_string_equal(str(json_array_get(all, 1), "msg"),
	                    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Each invalid byte becomes U+FFFD (EF BF BD). */
	const char *m = str(json_array_get(all, 2), "msg");
	assert_non_null(m);
	assert_non_null(strstr(m, "a\xef\xbf\xbd"
	                          "b\xef\xbf\xbd"
	                          "c"));
	assert_non_null(strstr(m, "d\xef\xbf\xbd\xef\xbf\xbd"
	                          "e"));
	json_decref(all);

	char out[16];
	assert_int_equal(log_escape(out, sizeof(out), "a\"b"), 4);
	assert_string_equal(out, "a\\\"b");
	/* Never cuts an escape in half. */
	assert_int_equal(log_escape(out, 4, "ab\n"), 2);
	assert_string_equal(out, "ab");
}

static void test_long_message_stays_valid(void **state)
{
	size_t n = 20000;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = i % 3 == 0 ? '"' : (char)0xe2; /* quotes and broken UTF-8 */
	big[n] = '\0';
	capture_start();
	log_info("big", NULL, "%s", big);
	log_info("after", NULL, "ok");
	json_t *all = capture_end();
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(str(json_array_get(all, 1), "msg"), "ok");
	json_decref(all);
	free(big);
}

#define THREADS 4
#define LINES   500

static void *log_many(void *arg)
{
	for (int i = 0; i < LINES; i++)
		log_info("thread", NULL, "thread %d line %d %s", (int)(intptr_t)arg, i,
		         "padding padding padding padding padding padding padding");
	return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
	pthread_t t[THREADS];
	capture_start();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	json_t *all = capture_end();
	assert_int_equal(json_array_size(all), THREADS * LINES);
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_fields_and_context),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_long_message_stays_valid),
	    cmocka_unit_test(test_threads_do_not_interleave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
