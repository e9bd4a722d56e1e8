/* The CPU budget of each script: the loop's time spent running its Lua
 * code, summed over all its handlers, timers, completions and its main
 * chunk, per window of cpu_window seconds. The per-slice instruction
 * budget stops one runaway slice; this stops a script whose many slices,
 * each within its budget (1,000 timers), stall everyone else. A script over
 * its budget is stopped where it runs (the count hook asks cpu_over) and
 * switched off when its outermost run returns.
 *
 * The clock is the monotonic one: what a stalled loop costs the others is
 * wall time, and it is cheap enough to read in the count hook. */
#include <stdio.h>

#include "base/metrics.h"
#include "lua/script_internal.h"

/* The script whose code runs now (innermost). */
static struct script *running;

static void charge(struct script *s, double now)
{
	if (now - s->cpu_window_start >= s->spec.lim.cpu_window) {
		s->cpu_window_start = now;
		s->cpu_used = 0;
	}
	double d = now - s->cpu_since;
	if (d < 0)
		d = 0;
	s->cpu_since = now;
	s->cpu_used += d;
	s->cpu_total += d;
	if (s->m_cpu)
		metric_add(s->m_cpu, d);
	if (s->cpu_used * 1000 > s->spec.lim.cpu_ms)
		s->cpu_exceeded = 1;
}

void cpu_enter(struct script *s, struct cpu_mark *m)
{
	double now = mono_now();
	m->prev = running;
	if (running)
		charge(running, now); /* paused while s runs */
	s->cpu_since = now;
	s->cpu_depth++;
	running = s;
}

void cpu_leave(struct script *s, struct cpu_mark *m)
{
	double now = mono_now();
	charge(s, now);
	s->cpu_depth--;
	running = m->prev;
	if (running)
		running->cpu_since = now;
	if (!s->cpu_exceeded || s->cpu_depth > 0 || s->disabled || s->retired)
		return;
	char reason[SCRIPT_ERR_MAX];
	snprintf(reason, sizeof reason,
	         "CPU budget exceeded: %.0f ms of the loop's time within %g s (cpu_ms = %g)",
	         s->cpu_used * 1000, s->spec.lim.cpu_window, s->spec.lim.cpu_ms);
	if (s->m_cpu_exceeded)
		metric_add(s->m_cpu_exceeded, 1);
	script_disable(s, reason);
}

int cpu_over(struct script *s)
{
	if (running == s)
		charge(s, mono_now());
	return s->cpu_exceeded;
}

double cpu_used_ms(const struct script *s)
{
	if (mono_now() - s->cpu_window_start >= s->spec.lim.cpu_window)
		return 0;
	return s->cpu_used * 1000;
}
