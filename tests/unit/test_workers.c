/* workers.c: jobs run off the loop thread, every done runs on the loop
 * thread exactly once, and stop cancels what is still queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "base/loop.h"
#include "base/workers.h"

#define N_JOBS    200
#define N_THREADS 4
/* Blocking jobs that keep every worker busy while more are queued. */
#define N_BLOCKERS N_THREADS
#define N_WAITING  50

struct job {
	int ran;
	int done;
	int cancelled;
	int work_off_loop;
	int done_on_loop;
};

static pthread_t main_thread;
static int finished;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int blockers_started;

static void work(void *arg)
{
	struct job *j = arg;
	j->work_off_loop = !pthread_equal(pthread_self(), main_thread);
	__atomic_add_fetch(&j->ran, 1, __ATOMIC_SEQ_CST);
}

static void done(void *arg, int cancelled)
{
	struct job *j = arg;
	j->done++;
	j->cancelled = cancelled;
	j->done_on_loop = pthread_equal(pthread_self(), main_thread);
	if (++finished == N_JOBS)
		ev_break(loop_ev, EVBREAK_ALL);
}

static int setup(void **state)
{
	(void)state;
	main_thread = pthread_self();
	finished = 0;
	return loop_init();
}

static int teardown(void **state)
{
	(void)state;
	loop_fini();
	return 0;
}

static void test_many_jobs(void **state)
{
	(void)state;
	static struct job jobs[N_JOBS];
	assert_int_equal(workers_start(N_THREADS), 0);
	for (int i = 0; i < N_JOBS; i++)
		assert_int_equal(workers_submit(work, done, &jobs[i]), 0);
	/* The post watcher alone does not hold the loop: hold it until the
	 * last done breaks out. */
	ev_ref(loop_ev);
	ev_run(loop_ev, 0);
	ev_unref(loop_ev);
	assert_int_equal(finished, N_JOBS);
	for (int i = 0; i < N_JOBS; i++) {
		assert_int_equal(jobs[i].ran, 1);
		assert_int_equal(jobs[i].done, 1);
		assert_int_equal(jobs[i].cancelled, 0);
		assert_true(jobs[i].work_off_loop);
		assert_true(jobs[i].done_on_loop);
	}
	assert_int_equal(workers_queued(), 0);
	/* The last job posts its done before it stops counting as busy (the
	 * order the shutdown drain relies on): its thread may still be between
	 * the two when that done has run here. */
	for (int i = 0; i < 1000 && workers_busy(); i++)
		usleep(1000);
	assert_int_equal(workers_busy(), 0);
	workers_stop();
	/* Stopped: no more jobs. */
	assert_int_equal(workers_submit(work, done, &jobs[0]), -1);
}

static void blocker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_lock);
	blockers_started++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void *open_gate_later(void *arg)
{
	(void)arg;
	usleep(50 * 1000);
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	return NULL;
}

static int cancel_done_calls, cancel_cancelled;
static void count_done(void *arg, int cancelled)
{
	struct job *j = arg;
	j->done++;
	j->cancelled = cancelled;
	j->done_on_loop = pthread_equal(pthread_self(), main_thread);
	cancel_done_calls++;
	cancel_cancelled += cancelled;
}

static void test_cancel_at_stop(void **state)
{
	(void)state;
	static struct job blockers[N_BLOCKERS], waiting[N_WAITING];
	cancel_done_calls = cancel_cancelled = 0;
	blockers_started = 0;
	gate_open = 0;
	assert_int_equal(workers_start(N_THREADS), 0);
	for (int i = 0; i < N_BLOCKERS; i++)
		assert_int_equal(workers_submit(blocker, count_done, &blockers[i]), 0);
	/* Wait until every thread holds a blocker: the rest must stay queued. */
	pthread_mutex_lock(&gate_lock);
	while (blockers_started < N_BLOCKERS)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < N_WAITING; i++)
		assert_int_equal(workers_submit(work, count_done, &waiting[i]), 0);
	assert_int_equal(workers_queued(), N_WAITING);
	assert_int_equal(workers_busy(), N_BLOCKERS + N_WAITING);

	/* The running blockers finish after stop began; stop waits for them. */
	pthread_t opener;
	assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
	workers_stop();
	pthread_join(opener, NULL);

	assert_int_equal(cancel_done_calls, N_BLOCKERS + N_WAITING);
	assert_int_equal(cancel_cancelled, N_WAITING);
	for (int i = 0; i < N_BLOCKERS; i++) {
		assert_int_equal(blockers[i].done, 1);
		assert_int_equal(blockers[i].cancelled, 0);
		assert_true(blockers[i].done_on_loop);
	}
	for (int i = 0; i < N_WAITING; i++) {
		assert_int_equal(waiting[i].ran, 0);
		assert_int_equal(waiting[i].done, 1);
		assert_int_equal(waiting[i].cancelled, 1);
		assert_true(waiting[i].done_on_loop);
	}
	assert_int_equal(workers_queued(), 0);
}

/* The shutdown drain's order (plugins_drain): a job counts as busy until
 * its done is posted, so once the pool reads idle, running the posts runs
 * every done; loop_wait_posts sees a post without ev_run. */
static void test_busy_until_posted(void **state)
{
	(void)state;
	static struct job j;
	cancel_done_calls = 0;
	blockers_started = 0;
	gate_open = 0;
	assert_int_equal(workers_start(1), 0);
	assert_int_equal(loop_wait_posts(0), 0);
	assert_int_equal(workers_submit(blocker, count_done, &j), 0);
	pthread_mutex_lock(&gate_lock);
	while (!blockers_started)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	assert_int_equal(workers_busy(), 1);
	assert_int_equal(loop_wait_posts(20), 0); /* running, nothing posted */
	pthread_t opener;
	assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
	assert_int_equal(loop_wait_posts(5000), 1);
	pthread_join(opener, NULL);
	while (workers_busy())
		usleep(1000);
	assert_int_equal(j.done, 0); /* posted, not run: no ev_run here */
	loop_drain_posts();
	assert_int_equal(j.done, 1);
	assert_int_equal(j.cancelled, 0);
	workers_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_many_jobs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_at_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_until_posted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
