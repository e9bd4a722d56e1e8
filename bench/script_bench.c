/* The cost of Lua moderation on the send path, alone: the before_message
 * hook chain (hooks_run, exactly what chat_post_message calls) over N
 * messages from 10 senders, first with no script, then with antiflood.lua
 * and wordfilter.lua loaded as bench/run_scripts.sh configures them (limits
 * raised: nothing is ever rejected). Prints one JSON line with the CPU time
 * per message of each (CLOCK_PROCESS_CPUTIME_ID, so other processes on a
 * shared machine matter less than to wall-clock figures).
 *
 *   build/release/bench/script_bench [messages=200000] [source_dir]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/conf_tree.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"
#include "lua/script_clock.h"
#include "lua/scripts.h"
#include "base/metrics.h"

#ifndef PARLEY_SOURCE_DIR
#define PARLEY_SOURCE_DIR "."
#endif

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const texts[] = {"hello everyone",
                                    "lg-message with a few words in it to look like chat",
                                    "what about lunch?", "darn, the build broke again", "ok"};

/* CPU seconds per message of the before_message chain over n messages. */
static double run_chain(long n, int *denied, int *rewritten)
{
	char uid[16];
	parley_room room = {.id = "r_1", .name = "general", .kind = "public"};
	double t0 = cpu_now();
	for (long i = 0; i < n; i++) {
		snprintf(uid, sizeof uid, "u_%ld", i % 10 + 1);
		parley_user user = {.id = uid, .name = uid, .display_name = uid, .role = "member"};
		parley_message msg = {.room_id = "r_1", .user_id = uid, .text = texts[i % 5]};
		parley_hook_args a = {.struct_size = sizeof a,
		                      .event = PARLEY_HOOK_BEFORE_MESSAGE,
		                      .user = &user,
		                      .room = &room,
		                      .message = &msg};
		const char *deny = NULL, *rw = NULL;
		if (hooks_run(&a, &deny, &rw) == PARLEY_DENY)
			(*denied)++;
		if (rw)
			(*rewritten)++;
		if (i % 1000 == 999)
			sclock_advance(1, NULL); /* 1000 messages a second */
	}
	return (cpu_now() - t0) / (double)n;
}

static int load(const char *source_dir, const char *entry)
{
	char text[2048], err[512];
	snprintf(text, sizeof text, "scripts = { %s }", entry);
	conf_node *root = conf_load("bench", text, err, sizeof err);
	if (!root) {
		fprintf(stderr, "script_bench: %s\n", err);
		return -1;
	}
	int rc =
	    scripts_load_one(conf_at(conf_get(root, "scripts"), 0), source_dir, err, sizeof err);
	conf_free(root);
	if (rc < 0)
		fprintf(stderr, "script_bench: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	const char *src = argc > 2 ? argv[2] : PARLEY_SOURCE_DIR;
	if (n <= 0)
		return 2;
	log_set_level(LOG_ERROR);
	metrics_init();
	if (loop_init() < 0)
		return 1;
	sclock_use_fake(1767225600000LL);
	int denied = 0, rewritten = 0;
	run_chain(n / 10, &denied, &rewritten); /* warm-up */
	double none = run_chain(n, &denied, &rewritten);
	/* cpu_ms: the whole window (the budget would switch a script off
	 * within a long run: the cost measured is the check) */
	if (load(src, "{ file = \"scripts/antiflood.lua\", moderation = true,"
	              " cpu_ms = 600000, cpu_window = 600,"
	              " options = { max_messages = 100000, per_seconds = 10 } }") < 0 ||
	    load(src, "{ file = \"scripts/wordfilter.lua\", cpu_ms = 600000, cpu_window = 600,"
	              " options = { patterns = {"
	              " { pattern = \"buy cheap\", plain = true, action = \"reject\" },"
	              " { pattern = \"%f[%w]darn%f[%W]\", action = \"mask\" },"
	              " { pattern = \"password\", action = \"warn\" } } } }") < 0)
		return 1;
	denied = rewritten = 0;
	run_chain(n / 10, &denied, &rewritten);
	denied = rewritten = 0;
	double both = run_chain(n, &denied, &rewritten);
	printf("{\"messages\":%ld,\"no_scripts_us\":%.3f,\"antiflood_wordfilter_us\":%.3f,"
	       "\"denied\":%d,\"rewritten\":%d}\n",
	       n, none * 1e6, both * 1e6, denied, rewritten);
	scripts_fini();
	hooks_clear();
	loop_fini();
	metrics_free_all();
	return denied ? 1 : 0;
}
