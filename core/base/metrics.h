/* Prometheus metrics: counters, gauges and histograms, registered by name
 * and rendered as text exposition for GET /metrics. Loop thread only, except
 * metric_add_atomic for the few counters that worker threads bump. */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H

#include <stddef.h>

typedef struct metric metric;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Registers (or returns the existing) metric. name: full Prometheus name.
 * label: optional 'key="value"' fragment for a labelled series, else NULL.
 * buckets/n_buckets: histogram upper bounds, ascending (seconds). */
metric *metric_counter(const char *name, const char *help, const char *label);
metric *metric_gauge(const char *name, const char *help, const char *label);
metric *metric_histogram(const char *name, const char *help, const double *buckets,
                         size_t n_buckets);

void metric_add(metric *m, double v);
void metric_set(metric *m, double v);
void metric_observe(metric *m, double v); /* histograms */
double metric_value(const metric *m);

/* Renders every metric into a malloc'ed NUL-terminated buffer; *len set. */
char *metrics_render(size_t *len);
/* Frees every registered metric (at exit, for leak checkers). */
void metrics_free_all(void);

/* The core's own metrics, registered by metrics_init(). */
struct core_metrics {
	metric *connections;      /* gauge: open TCP connections */
	metric *ws_sessions;      /* gauge: open WebSocket sessions */
	metric *http_requests;    /* counter */
	metric *messages;         /* counter: messages stored */
	metric *deliveries;       /* counter: message frames queued to recipients */
	metric *send_ack_seconds; /* histogram: send received -> ack queued */
	metric *outbound_drops;   /* counter: connections cut for a full outbound queue */
	metric *worker_queue;     /* gauge: jobs waiting for a worker */
	metric *bad_requests;     /* counter: bad_request errors sent */
	metric *plugin_errors;    /* counter */
	metric *conn_refused;     /* counter: connections refused (per-address limit) */
	metric *conn_shed;        /* counter: unauthenticated connections closed for room */
	metric *ws_buffered;      /* gauge: bytes of incomplete WebSocket messages held */
};
extern struct core_metrics core_metrics;
void metrics_init(void);

#endif
