/* The hook registry. One growable array per event, kept sorted by priority
 * with insertion stable (a new hook goes after every hook of equal or lower
 * priority), so ties run in registration order: C plugins in config order,
 * then Lua handlers, which register later.
 *
 * A run keeps its state (deny reason, rewritten text) in a record on the
 * stack that args->host_private points at while the chain runs, so
 * hook_deny/hook_rewrite reach it and a nested run (a hook that sends a
 * message) does not clobber it. The results outlive the run in static
 * slots until the next run, as hooks.h promises. Loop thread only. */
#include "host/hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"

/* A hook owner's name is for logs only. */
#define HOOK_OWNER_MAX 64
/* Deny reasons are shown to people; longer ones are cut. */
#define HOOK_REASON_MAX 512

struct hook {
	int priority;
	parley_hook_fn fn;
	void *ud;
	char owner[HOOK_OWNER_MAX];
};

struct hook_list {
	struct hook *items;
	size_t n, cap;
};

struct hook_run {
	char *rewritten; /* malloc'ed, or NULL */
	char reason[HOOK_REASON_MAX];
	int denied_reason_set;
};

static struct hook_list lists[PARLEY_HOOK__COUNT];
static char last_reason[HOOK_REASON_MAX];
static char *last_rewritten;

int hooks_add(int event, int priority, parley_hook_fn fn, void *ud, const char *owner)
{
	if (event < 0 || event >= PARLEY_HOOK__COUNT || !fn)
		return PARLEY_EINVAL;
	struct hook_list *l = &lists[event];
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct hook *items = realloc(l->items, cap * sizeof *items);
		if (!items)
			return PARLEY_ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	size_t pos = l->n;
	while (pos > 0 && l->items[pos - 1].priority > priority)
		pos--;
	memmove(&l->items[pos + 1], &l->items[pos], (l->n - pos) * sizeof *l->items);
	struct hook *h = &l->items[pos];
	h->priority = priority;
	h->fn = fn;
	h->ud = ud;
	snprintf(h->owner, sizeof h->owner, "%s", owner ? owner : "?");
	l->n++;
	return PARLEY_OK;
}

void hooks_clear(void)
{
	for (int e = 0; e < PARLEY_HOOK__COUNT; e++) {
		free(lists[e].items);
		memset(&lists[e], 0, sizeof lists[e]);
	}
	free(last_rewritten);
	last_rewritten = NULL;
	last_reason[0] = '\0';
}

int hooks_count(int event)
{
	if (event < 0 || event >= PARLEY_HOOK__COUNT)
		return 0;
	return (int)lists[event].n;
}

static void hook_misbehaved(const struct hook *h, int event, int rc)
{
	char ctx[HOOK_OWNER_MAX * 2 + 16];
	char esc[HOOK_OWNER_MAX * 2];
	log_escape(esc, sizeof esc, h->owner);
	snprintf(ctx, sizeof ctx, "\"plugin\":\"%s\"", esc);
	log_warn("hook_bad_return", ctx, "hook for event %d returned %d; treated as continue",
	         event, rc);
	if (core_metrics.plugin_errors)
		metric_add(core_metrics.plugin_errors, 1);
}

int hooks_run(parley_hook_args *args, const char **deny_reason, const char **rewritten)
{
	if (deny_reason)
		*deny_reason = NULL;
	if (rewritten)
		*rewritten = NULL;
	if (!args || args->event < 0 || args->event >= PARLEY_HOOK__COUNT)
		return PARLEY_EINVAL;
	const int event = args->event;
	/* Events whose hooks may refuse: a message before it is stored, a
	 * file before it can be attached. */
	const int gate = event == PARLEY_HOOK_BEFORE_MESSAGE || event == PARLEY_HOOK_UPLOAD;
	struct hook_run run = {0};
	void *saved_private = args->host_private;
	args->host_private = &run;
	int result = PARLEY_OK;

	/* Index, not pointer: a hook may register another hook (realloc). */
	for (size_t i = 0; i < lists[event].n; i++) {
		struct hook h = lists[event].items[i];
		int rc = h.fn(h.ud, args);
		if (rc == PARLEY_OK || rc == PARLEY_REWRITE)
			continue;
		if (rc == PARLEY_DENY && gate) {
			result = PARLEY_DENY;
			if (!run.denied_reason_set)
				snprintf(run.reason, sizeof run.reason, "rejected by %s", h.owner);
			break;
		}
		if (rc == PARLEY_DENY)
			continue; /* deny means nothing after the fact */
		hook_misbehaved(&h, event, rc);
	}
	args->host_private = saved_private;

	free(last_rewritten);
	last_rewritten = run.rewritten;
	if (rewritten)
		*rewritten = last_rewritten;
	if (result == PARLEY_DENY) {
		memcpy(last_reason, run.reason, sizeof last_reason);
		if (deny_reason)
			*deny_reason = last_reason;
	}
	return result;
}

void hooks_deny(parley_hook_args *args, const char *reason)
{
	struct hook_run *run = args ? args->host_private : NULL;
	if (!run || !reason)
		return;
	snprintf(run->reason, sizeof run->reason, "%s", reason);
	run->denied_reason_set = 1;
}

void hooks_rewrite(parley_hook_args *args, const char *text)
{
	struct hook_run *run = args ? args->host_private : NULL;
	if (!run || !text)
		return;
	if (args->event == PARLEY_HOOK_UPLOAD) {
		/* An upload's "rewrite" is its tags; the record takes them. */
		char *tags = strdup(text);
		if (tags) {
			free(run->rewritten);
			run->rewritten = tags;
		}
		return;
	}
	if (args->event != PARLEY_HOOK_BEFORE_MESSAGE || !args->message)
		return;
	char *copy = strdup(text);
	if (!copy)
		return; /* the text stays as it was: better than a lost message */
	/* The message struct is the caller's; only its text pointer changes. */
	((parley_message *)args->message)->text = copy;
	free(run->rewritten);
	run->rewritten = copy;
}
