/* State one per cluster (issue 16): kv_add (first writer wins) and
 * counter_add (a count within a window), alone and from several processes
 * on one store at once, as several parley nodes. Each member is optional:
 * tested only when the store's vtable has it. */
#include "contract.h"
#include "contract_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/loop.h"

#define RACERS     4
#define RACER_ADDS 25

void test_kv_add(void **state)
{
	(void)state;
	static struct res r;
	contract_open("kv_add");
	REQUIRE_MEMBER(kv_add);
	assert_int_equal(RUN(&r, S->kv_add(self, "parley:server", "key", "first", res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.text, "first");
	/* Taken: the second writer is told the first one's value. */
	assert_int_equal(RUN(&r, S->kv_add(self, "parley:server", "key", "second", res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.text, "first");
	/* Another owner or key is another slot. */
	assert_int_equal(RUN(&r, S->kv_add(self, "bot", "key", "mine", res_done, &r)), PARLEY_OK);
	assert_str(r.v.text, "mine");
	if (STORE_HAS(kv_get)) {
		assert_int_equal(RUN(&r, S->kv_get(self, "parley:server", "key", res_done, &r)),
		                 PARLEY_OK);
		assert_str(r.v.text, "first");
	}
	assert_int_equal(RUN(&r, S->kv_add(self, "parley:server", "key", NULL, res_done, &r)),
	                 PARLEY_EINVAL);
}

void test_counter_window(void **state)
{
	(void)state;
	static struct res r;
	contract_open("counter");
	REQUIRE_MEMBER(counter_add);
	/* Absent reads 0 and is not created. */
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 0, 500, 1000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 1, 500, 1000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	/* Within the window (it ends at 1500 whatever window later adds give). */
	assert_int_equal(
	    RUN(&r, S->counter_add(self, "login:a:alice", 2, 9000, 1200, res_done, &r)), PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 0, 500, 1499, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 3);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:bob", 1, 500, 1200, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	/* Ended: reads 0, and the next add begins a new window. */
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 0, 500, 1500, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 1, 500, 1600, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 1, 500, 1650, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 2);
	/* window 0 deletes. */
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 0, 0, 1660, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:alice", 0, 500, 1660, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 0);
	/* bob's window (1200..1700) was not touched by alice's delete. */
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:bob", 0, 500, 1660, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, 1);
	assert_int_equal(RUN(&r, S->counter_add(self, "login:a:bob", -1, 500, 1650, res_done, &r)),
	                 PARLEY_EINVAL);
	assert_int_equal(RUN(&r, S->counter_add(self, "", 1, 500, 1650, res_done, &r)),
	                 PARLEY_EINVAL);
}

struct racer {
	int fd;
	int pending, failed;
	int64_t top; /* the highest count an add reported */
	char value[64];
};

static void racer_added(void *ud, const parley_store_result *res)
{
	struct racer *x = ud;
	x->pending--;
	if (res->rc != PARLEY_OK || !res->text) {
		x->failed = 1;
		return;
	}
	snprintf(x->value, sizeof x->value, "%s", res->text);
}

static void racer_counted(void *ud, const parley_store_result *res)
{
	struct racer *x = ud;
	x->pending--;
	if (res->rc != PARLEY_OK)
		x->failed = 1;
	else if (res->value > x->top)
		x->top = res->value;
}

/* The child: one kv_add with its own value, RACER_ADDS counter adds all in
 * flight; writes the value it was told and its highest count. */
static void racer_run(int fd, long i)
{
	if (contract_open_quiet() != 0)
		_exit(2);
	static struct racer x;
	x = (struct racer){.fd = fd};
	char mine[32];
	snprintf(mine, sizeof mine, "node%ld", i);
	if (S->kv_add(self, "parley:server", "race", mine, racer_added, &x) != PARLEY_PENDING)
		_exit(3);
	x.pending++;
	for (int k = 0; k < RACER_ADDS; k++) {
		if (S->counter_add(self, "race", 1, 3600000, 1000, racer_counted, &x) !=
		    PARLEY_PENDING)
			_exit(3);
		x.pending++;
	}
	double deadline = contract_timeout() * 4;
	ev_tstamp start = ev_time();
	while (x.pending > 0 && ev_time() - start < deadline)
		ev_run(loop_ev, EVRUN_ONCE);
	int ok = x.pending == 0 && !x.failed;
	char line[128];
	int n = snprintf(line, sizeof line, "%s %lld\n", x.value, (long long)x.top);
	ok = ok && write(fd, line, (size_t)n) == n;
	contract_close();
	close(fd);
	_exit(ok ? 0 : 4);
}

void test_cluster_racers(void **state)
{
	(void)state;
	static struct res r;
	contract_open("cluster_race");
	REQUIRE_MEMBER(kv_add);
	REQUIRE_MEMBER(counter_add);
	contract_close(); /* no loop or thread of ours lives on in the children */

	int fds[RACERS];
	pid_t pids[RACERS];
	for (long i = 0; i < RACERS; i++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(p[0]);
			for (long k = 0; k < i; k++)
				close(fds[k]);
			racer_run(p[1], i);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	char winner[64] = "";
	int64_t top = 0;
	int bad = 0;
	for (long i = 0; i < RACERS; i++) {
		char line[128] = "";
		ssize_t got = read(fds[i], line, sizeof line - 1);
		close(fds[i]);
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		char value[64];
		long long count;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got <= 0 ||
		    sscanf(line, "%63s %lld", value, &count) != 2) {
			print_error("racer %ld: exit status %d, said '%s'\n", i, status, line);
			bad = 1;
			continue;
		}
		/* Every racer was told the same winner. */
		if (!winner[0])
			snprintf(winner, sizeof winner, "%s", value);
		else if (strcmp(winner, value) != 0) {
			print_error("racer %ld was told %s, another %s\n", i, value, winner);
			bad = 1;
		}
		if (count > top)
			top = count;
	}
	assert_false(bad);
	/* No step lost: the last add saw every other one. */
	assert_int_equal(top, RACERS * RACER_ADDS);
	contract_reopen();
	assert_int_equal(RUN(&r, S->counter_add(self, "race", 0, 3600000, 1000, res_done, &r)),
	                 PARLEY_OK);
	assert_int_equal(r.v.value, RACERS * RACER_ADDS);
	assert_int_equal(RUN(&r, S->kv_add(self, "parley:server", "race", "late", res_done, &r)),
	                 PARLEY_OK);
	assert_str(r.v.text, winner);
}
