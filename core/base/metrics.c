/* Prometheus metrics registry and text exposition (format 0.0.4).
 *
 * Metrics are grouped in families by name, in registration order; each
 * family has one HELP/TYPE block and one or more series (one per label
 * fragment). A histogram keeps a count per bucket and renders them
 * cumulatively, with the +Inf bucket equal to _count. Everything runs on the
 * loop thread, so there are no locks. Calls on a NULL metric do nothing, so
 * code may bump a metric before metrics_init() ran (unit tests). */
#include "base/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds of the send->ack latency histogram, in seconds. */
static const double send_ack_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};

struct family;

struct metric {
	struct family *family;
	char *label; /* 'key="value"' or NULL */
	double value;
	double sum;          /* histograms */
	uint64_t count;      /* histograms */
	uint64_t *bucket_n;  /* histograms: observations per bucket (not cumulative) */
	struct metric *next; /* next series of the family */
};

struct family {
	char *name;
	char *help;
	enum metric_type type;
	double *bounds;
	size_t n_bounds;
	struct metric *series, **series_tail;
	struct family *next;
};

struct core_metrics core_metrics;

static struct family *families, **families_tail = &families;

static struct family *family_find(const char *name)
{
	for (struct family *f = families; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static struct family *family_new(const char *name, const char *help, enum metric_type type,
                                 const double *bounds, size_t n_bounds)
{
	struct family *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->type = type;
	if (n_bounds) {
		f->bounds = malloc(n_bounds * sizeof(*f->bounds));
		if (f->bounds)
			memcpy(f->bounds, bounds, n_bounds * sizeof(*f->bounds));
		f->n_bounds = n_bounds;
	}
	if (!f->name || !f->help || (n_bounds && !f->bounds))
		goto fail;
	f->series_tail = &f->series;
	*families_tail = f;
	families_tail = &f->next;
	return f;
fail:
	free(f->bounds);
	free(f->help);
	free(f->name);
	free(f);
	return NULL;
}

static metric *series_get(struct family *f, const char *label)
{
	for (metric *m = f->series; m; m = m->next)
		if ((!m->label && !label) || (m->label && label && strcmp(m->label, label) == 0))
			return m;
	metric *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->family = f;
	if (label)
		m->label = strdup(label);
	if (f->n_bounds)
		m->bucket_n = calloc(f->n_bounds, sizeof(*m->bucket_n));
	if ((label && !m->label) || (f->n_bounds && !m->bucket_n))
		goto fail;
	*f->series_tail = m;
	f->series_tail = &m->next;
	return m;
fail:
	free(m->bucket_n);
	free(m->label);
	free(m);
	return NULL;
}

static metric *metric_register(const char *name, const char *help, enum metric_type type,
                               const char *label, const double *bounds, size_t n_bounds)
{
	struct family *f = family_find(name);
	if (!f)
		f = family_new(name, help, type, bounds, n_bounds);
	/* A name registered again with another type is a programming error:
	 * hand back nothing rather than render a mixed family. */
	if (!f || f->type != type)
		return NULL;
	return series_get(f, label);
}

metric *metric_counter(const char *name, const char *help, const char *label)
{
	return metric_register(name, help, METRIC_COUNTER, label, NULL, 0);
}

metric *metric_gauge(const char *name, const char *help, const char *label)
{
	return metric_register(name, help, METRIC_GAUGE, label, NULL, 0);
}

metric *metric_histogram(const char *name, const char *help, const double *buckets,
                         size_t n_buckets)
{
	return metric_register(name, help, METRIC_HISTOGRAM, NULL, buckets, n_buckets);
}

void metric_add(metric *m, double v)
{
	if (m)
		m->value += v;
}

void metric_set(metric *m, double v)
{
	if (m)
		m->value = v;
}

void metric_observe(metric *m, double v)
{
	if (!m || m->family->type != METRIC_HISTOGRAM)
		return;
	m->sum += v;
	m->count++;
	for (size_t i = 0; i < m->family->n_bounds; i++)
		if (v <= m->family->bounds[i]) {
			m->bucket_n[i]++;
			break;
		}
}

double metric_value(const metric *m)
{
	if (!m)
		return 0;
	return m->family->type == METRIC_HISTOGRAM ? (double)m->count : m->value;
}

/* A growing output buffer; on allocation failure it stops growing and the
 * render returns NULL. */
struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (o->failed)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n + 1;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->failed = 1;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
}

/* Prometheus float syntax: shortest round-trip form, +Inf/-Inf/NaN. */
static const char *fmt_value(char *b, size_t n, double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(b, n, "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	return b;
}

static const char *type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

/* HELP text escapes backslash and newline. */
static void out_help(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			out_printf(o, "\\\\");
		else if (*s == '\n')
			out_printf(o, "\\n");
		else
			out_printf(o, "%c", *s);
	}
}

static void render_histogram(struct out *o, const struct family *f, const metric *m)
{
	char v[40];
	uint64_t cum = 0;
	const char *sep = m->label ? "," : "";
	const char *label = m->label ? m->label : "";
	for (size_t i = 0; i < f->n_bounds; i++) {
		cum += m->bucket_n[i];
		out_printf(o, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, label, sep,
		           fmt_value(v, sizeof(v), f->bounds[i]), (unsigned long long)cum);
	}
	out_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, label, sep,
	           (unsigned long long)m->count);
	const char *open = m->label ? "{" : "", *close = m->label ? "}" : "";
	out_printf(o, "%s_sum%s%s%s %s\n", f->name, open, label, close,
	           fmt_value(v, sizeof(v), m->sum));
	out_printf(o, "%s_count%s%s%s %llu\n", f->name, open, label, close,
	           (unsigned long long)m->count);
}

char *metrics_render(size_t *len)
{
	struct out o = {.cap = 4096};
	char v[40];
	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	for (const struct family *f = families; f; f = f->next) {
		out_printf(&o, "# HELP %s ", f->name);
		out_help(&o, f->help);
		out_printf(&o, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		for (const metric *m = f->series; m; m = m->next) {
			if (f->type == METRIC_HISTOGRAM)
				render_histogram(&o, f, m);
			else if (m->label)
				out_printf(&o, "%s{%s} %s\n", f->name, m->label,
				           fmt_value(v, sizeof(v), m->value));
			else
				out_printf(&o, "%s %s\n", f->name,
				           fmt_value(v, sizeof(v), m->value));
		}
	}
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}

void metrics_free_all(void)
{
	struct family *f = families;
	while (f) {
		struct family *fn = f->next;
		metric *m = f->series;
		while (m) {
			metric *mn = m->next;
			free(m->bucket_n);
			free(m->label);
			free(m);
			m = mn;
		}
		free(f->bounds);
		free(f->help);
		free(f->name);
		free(f);
		f = fn;
	}
	families = NULL;
	families_tail = &families;
	memset(&core_metrics, 0, sizeof(core_metrics));
}

void metrics_init(void)
{
	struct core_metrics *c = &core_metrics;
	c->connections = metric_gauge("parley_connections", "Open TCP connections.", NULL);
	c->ws_sessions = metric_gauge("parley_ws_sessions", "Open WebSocket sessions.", NULL);
	c->http_requests =
	    metric_counter("parley_http_requests_total", "HTTP requests received.", NULL);
	c->messages = metric_counter("parley_messages_total", "Messages stored.", NULL);
	c->deliveries =
	    metric_counter("parley_deliveries_total", "Message frames queued to recipients.", NULL);
	c->send_ack_seconds = metric_histogram(
	    "parley_send_ack_seconds", "Time from a send received to its ack queued, in seconds.",
	    send_ack_buckets, sizeof(send_ack_buckets) / sizeof(send_ack_buckets[0]));
	c->outbound_drops =
	    metric_counter("parley_outbound_drops_total",
	                   "Connections cut because their outbound queue stayed full.", NULL);
	c->worker_queue =
	    metric_gauge("parley_worker_queue_depth", "Jobs waiting for a worker thread.", NULL);
	c->bad_requests =
	    metric_counter("parley_bad_requests_total", "bad_request errors sent.", NULL);
	c->plugin_errors =
	    metric_counter("parley_plugin_errors_total", "Errors reported by plugins.", NULL);
	c->conn_refused = metric_counter(
	    "parley_connections_refused_total",
	    "Connections refused because their address had limits.max_connections_per_addr.", NULL);
	c->conn_shed = metric_counter(
	    "parley_connections_shed_total",
	    "Unauthenticated connections closed to free a descriptor for a new one.", NULL);
	c->ws_buffered = metric_gauge(
	    "parley_ws_buffered_bytes",
	    "Bytes of incomplete WebSocket messages held, with per-frame costs.", NULL);
}
