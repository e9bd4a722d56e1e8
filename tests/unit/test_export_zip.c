/* app/export_zip.c: a folder round-trips through an archive; archives an
 * export never has (names outside the folder, too many entries, too many
 * bytes) are refused before anything is written. */
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
#include <zip.h>

#include "app/export_zip.h"

static char tmp[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/parley-zip-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_round_trip(void **state)
{
	(void)state;
	char dir[128], zip[128], back[128], path[256], err[200];
	snprintf(dir, sizeof dir, "%s/ex", tmp);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/ex/files", tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	put("ex/manifest.json", "{\"format\":\"parley-export\"}\n");
	put("ex/messages.jsonl", "{\"seq\":1}\n{\"seq\":2}\n");
	put("ex/files/up_7", "binary\001\002");
	snprintf(zip, sizeof zip, "%s/ex.zip", tmp);
	assert_int_equal(export_zip_write(dir, zip, err, sizeof err), 0);
	/* A second write to the same name is refused: exports never overwrite. */
	assert_int_equal(export_zip_write(dir, zip, err, sizeof err), -1);

	snprintf(back, sizeof back, "%s/back", tmp);
	assert_int_equal(export_zip_extract(zip, back, 10, 1 << 20, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/messages.jsonl", back);
	assert_string_equal(slurp(path), "{\"seq\":1}\n{\"seq\":2}\n");
	snprintf(path, sizeof path, "%s/files/up_7", back);
	assert_string_equal(slurp(path), "binary\001\002");

	/* Limits: entries and bytes. */
	snprintf(back, sizeof back, "%s/few", tmp);
	assert_int_equal(export_zip_extract(zip, back, 2, 1 << 20, err, sizeof err), -1);
	assert_non_null(strstr(err, "too many entries"));
	assert_int_equal(access(back, F_OK), -1);
	assert_int_equal(export_zip_extract(zip, back, 10, 20, err, sizeof err), -1);
	assert_non_null(strstr(err, "more than the limit"));
	assert_int_equal(access(back, F_OK), -1);

	export_dir_remove(dir);
	assert_int_equal(access(dir, F_OK), -1);
}

/* An archive with one entry named name (made with libzip directly). */
static void hostile(const char *zip, const char *name)
{
	int zerr;
	zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	assert_non_null(za);
	zip_source_t *src = zip_source_buffer(za, "x", 1, 0);
	assert_true(zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) >= 0);
	assert_int_equal(zip_close(za), 0);
}

static void test_bad_names_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"../evil", "/etc/passwd", "files/../../x",
	                                  ".hidden", "a/b/c",       "files/.x",
	                                  "sp ace",  "back\\slash", ""};
	char zip[128], back[128], err[200];
	snprintf(zip, sizeof zip, "%s/bad.zip", tmp);
	snprintf(back, sizeof back, "%s/bad", tmp);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!bad[i][0])
			continue;
		hostile(zip, bad[i]);
		assert_int_equal(export_zip_extract(zip, back, 10, 1 << 20, err, sizeof err), -1);
		assert_int_equal(access(back, F_OK), -1);
	}
	/* Not a zip at all. */
	put("bad.zip", "PK but not really");
	assert_int_equal(export_zip_extract(zip, back, 10, 1 << 20, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a readable zip"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
