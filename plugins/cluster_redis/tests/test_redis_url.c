/* Unit tests of cluster_redis's url parser: the forms it takes, its
 * limits, and rediss:// refused with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "redis_url.h"

static void test_forms(void **state)
{
	(void)state;
	struct redis_url u;
	char err[256];
	assert_int_equal(redis_url_parse("redis://127.0.0.1:6380", &u, err, sizeof err), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_string_equal(u.password, "");
	assert_int_equal(redis_url_parse("redis://cache.internal", &u, err, sizeof err), 0);
	assert_int_equal(u.port, 6379);
	assert_int_equal(redis_url_parse("redis://:s3cret@h:1/2", &u, err, sizeof err), 0);
	assert_string_equal(u.password, "s3cret");
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 1);
	assert_int_equal(u.db, 2);
	assert_int_equal(redis_url_parse("redis://user:pw@h/", &u, err, sizeof err), 0);
	assert_string_equal(u.password, "pw");
}

static void test_refused(void **state)
{
	(void)state;
	struct redis_url u;
	char err[256];
	assert_int_equal(redis_url_parse("rediss://h:6380", &u, err, sizeof err), -1);
	assert_non_null(strstr(err, "hiredis 0.14 has no TLS"));
	assert_int_equal(redis_url_parse("http://h", &u, err, sizeof err), -1);
	assert_non_null(strstr(err, "redis://"));
	assert_int_equal(redis_url_parse("redis://", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse("redis://h:0", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse("redis://h:65536", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse("redis://h:12ab", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse("redis://h/16", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse("redis://h/1/x", &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse(NULL, &u, err, sizeof err), -1);
	/* Limits: the url, the host, the password. */
	char long_url[REDIS_URL_MAX + 20];
	memset(long_url, 'a', sizeof long_url - 1);
	long_url[sizeof long_url - 1] = '\0';
	memcpy(long_url, "redis://", 8);
	assert_int_equal(redis_url_parse(long_url, &u, err, sizeof err), -1);
	char long_host[REDIS_HOST_MAX + 20] = "redis://";
	memset(long_host + 8, 'h', REDIS_HOST_MAX + 1);
	long_host[8 + REDIS_HOST_MAX + 1] = '\0';
	assert_int_equal(redis_url_parse(long_host, &u, err, sizeof err), -1);
	assert_non_null(strstr(err, "host"));
	char long_pw[REDIS_URL_MAX] = "redis://:";
	memset(long_pw + 9, 'p', REDIS_PASS_MAX + 1);
	strcpy(long_pw + 9 + REDIS_PASS_MAX + 1, "@h");
	assert_int_equal(redis_url_parse(long_pw, &u, err, sizeof err), -1);
	assert_non_null(strstr(err, "password"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
