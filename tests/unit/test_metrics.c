/* Prometheus text exposition: HELP/TYPE blocks, labelled series sharing
 * one block, cumulative histogram buckets, and the core metrics' names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/metrics.h"

static char *render(void)
{
	size_t len = 0;
	char *text = metrics_render(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_counter_and_gauge(void **state)
{
	metric *c = metric_counter("t_requests_total", "Requests.\nSecond line \\ here", NULL);
	metric *g = metric_gauge("t_open", "Open things.", NULL);
	assert_ptr_equal(metric_counter("t_requests_total", "ignored", NULL), c);
	metric_add(c, 1);
	metric_add(c, 2);
	metric_set(g, 7);
	metric_add(g, -2);
	assert_true(metric_value(c) == 3);
	assert_true(metric_value(g) == 5);
	char *text = render();
	assert_non_null(strstr(text, "# HELP t_requests_total Requests.\\nSecond line \\\\ here\n"
	                             "# TYPE t_requests_total counter\n"
	                             "t_requests_total 3\n"));
	assert_non_null(
	    strstr(text, "# HELP t_open Open things.\n# TYPE t_open gauge\nt_open 5\n"));
	free(text);
	metrics_free_all();
}

static void test_labels_share_a_block(void **state)
{
	metric *a = metric_counter("t_plugin_calls_total", "Calls.", "plugin=\"a\"");
	metric *b = metric_counter("t_plugin_calls_total", "Calls.", "plugin=\"b\"");
	assert_ptr_not_equal(a, b);
	metric_add(a, 1);
	metric_add(b, 0.5);
	/* Another type under a taken name is refused. */
	assert_null(metric_gauge("t_plugin_calls_total", "x", NULL));
	char *text = render();
	assert_int_equal(count(text, "# HELP t_plugin_calls_total"), 1);
	assert_int_equal(count(text, "# TYPE t_plugin_calls_total counter"), 1);
	assert_non_null(strstr(text, "t_plugin_calls_total{plugin=\"a\"} 1\n"
	                             "t_plugin_calls_total{plugin=\"b\"} 0.5\n"));
	free(text);
	metrics_free_all();
}

static void test_histogram(void **state)
{
	const double bounds[] = {0.001, 0.01, 0.1};
	metric *h = metric_histogram("t_latency_seconds", "Latency.", bounds, 3);
	metric_observe(h, 0.0005);
	metric_observe(h, 0.005);
	metric_observe(h, 0.005);
	metric_observe(h, 0.01); /* le is inclusive */
	metric_observe(h, 3);
	assert_true(metric_value(h) == 5);
	char *text = render();
	assert_non_null(strstr(text, "# TYPE t_latency_seconds histogram\n"
	                             "t_latency_seconds_bucket{le=\"0.001\"} 1\n"
	                             "t_latency_seconds_bucket{le=\"0.01\"} 4\n"
	                             "t_latency_seconds_bucket{le=\"0.1\"} 4\n"
	                             "t_latency_seconds_bucket{le=\"+Inf\"} 5\n"
	                             "t_latency_seconds_sum 3.0205\n"
	                             "t_latency_seconds_count 5\n"));
	free(text);
	metrics_free_all();
}

static void test_null_metrics_are_ignored(void **state)
{
	metric_add(NULL, 1);
	metric_set(NULL, 1);
	metric_observe(NULL, 1);
	assert_true(metric_value(NULL) == 0);
}

static void test_core_metrics(void **state)
{
	metrics_init();
	metrics_init(); /* idempotent */
	metric_add(core_metrics.connections, 3);
	metric_add(core_metrics.messages, 1);
	metric_observe(core_metrics.send_ack_seconds, 0.0007);
	char *text = render();
	const char *names[] = {
	    "parley_connections gauge",
	    "parley_ws_sessions gauge",
	    "parley_http_requests_total counter",
	    "parley_messages_total counter",
	    "parley_deliveries_total counter",
	    "parley_send_ack_seconds histogram",
	    "parley_outbound_drops_total counter",
	    "parley_worker_queue_depth gauge",
	    "parley_bad_requests_total counter",
	    "parley_plugin_errors_total counter",
	};
	char want[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "# TYPE %s\n", names[i]);
		if (count(text, want) != 1)
			fail_msg("expected one \"%s\" in:\n%s", want, text);
	}
	assert_non_null(strstr(text, "parley_connections 3\n"));
	assert_non_null(strstr(text, "parley_send_ack_seconds_bucket{le=\"0.0005\"} 0\n"
	                             "parley_send_ack_seconds_bucket{le=\"0.001\"} 1\n"));
	assert_non_null(strstr(text, "parley_send_ack_seconds_bucket{le=\"2.5\"} 1\n"
	                             "parley_send_ack_seconds_bucket{le=\"+Inf\"} 1\n"));
	free(text);
	metrics_free_all();
	assert_null(core_metrics.connections);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_and_gauge),
	    cmocka_unit_test(test_labels_share_a_block),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_null_metrics_are_ignored),
	    cmocka_unit_test(test_core_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
