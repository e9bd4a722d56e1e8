/* parley test-script FILE (script_test.c). */
#ifndef PARLEY_SCRIPT_TEST_H
#define PARLEY_SCRIPT_TEST_H

/* Runs the test file with the config file's plugin settings (NULL: the
 * defaults) and data in a temporary folder; prints TAP; returns the exit
 * code (0: every case passed). */
int script_test_main(const char *config_file, const char *file);

#endif
