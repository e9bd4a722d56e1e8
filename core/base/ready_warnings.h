/* Warnings /readyz shows while still answering 200: things an operator
 * should look at that do not stop the server serving (a scheduled backup
 * overdue). A module sets or clears its own warning by name; the API layer
 * lists them. Loop thread only. */
#ifndef PARLEY_READY_WARNINGS_H
#define PARLEY_READY_WARNINGS_H

#include <stddef.h>

#define READY_WARNINGS_MAX 8
#define READY_WARNING_LEN  256

/* Sets (text) or clears (NULL) the warning of `name` (a static string). */
void ready_warning_set(const char *name, const char *text);
/* The warnings now, "name: text" each; how many were written into out. */
size_t ready_warnings(char out[][READY_WARNING_LEN], size_t max);

#endif
