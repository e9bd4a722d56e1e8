#include "base/serving_state.h"

#include <stdarg.h>
#include <stdio.h>

/* A client refused before the first load finished tries again this soon. */
#define SERVING_RETRY_DEFAULT_MS 1000

static struct {
	int ready;
	int64_t retry_ms;
	char why[SERVING_WHY_LEN];
} st = {0, SERVING_RETRY_DEFAULT_MS, "starting: loading the chat state from the store"};

void serving_state_waiting(int64_t retry_after_ms, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st.why, sizeof st.why, fmt, ap);
	va_end(ap);
	st.ready = 0;
	st.retry_ms = retry_after_ms > 0 ? retry_after_ms : SERVING_RETRY_DEFAULT_MS;
}

void serving_state_ready(void)
{
	st.ready = 1;
	st.why[0] = '\0';
}

int serving_state_is_ready(char *why, size_t n)
{
	if (!st.ready && why && n)
		snprintf(why, n, "%s", st.why);
	return st.ready;
}

int64_t serving_state_retry_ms(void)
{
	return st.retry_ms;
}
