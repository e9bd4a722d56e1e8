/* The worker pool. Submitted jobs wait on a FIFO list guarded by one mutex
 * and condition variable; a thread takes the head, runs work() off the loop
 * and hands the job back with loop_post, so done() always runs on the loop
 * thread. At stop, jobs still queued are cancelled (done(arg, 1)) right on
 * the calling (loop) thread, running ones finish, and the posts they left
 * are drained after the join so no done is lost. */
#include "base/workers.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"

/* More threads than this would only contend for two cores and SQLite. */
#define WORKERS_MAX 64

struct job {
	struct job *next;
	worker_fn work;
	worker_done_fn done;
	void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static size_t n_queued;
static size_t n_running;
static int stopping;
static int running; /* between a successful start and stop */
static pthread_t threads[WORKERS_MAX];
static int n_threads;

static void gauge_update(void)
{
	if (core_metrics.worker_queue)
		metric_set(core_metrics.worker_queue, (double)workers_queued());
}

/* On the loop thread: the job ran. */
static void job_finished(void *arg)
{
	struct job *j = arg;
	j->done(j->arg, 0);
	free(j);
	gauge_update();
}

static void *worker_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!head && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (stopping)
			break;
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = NULL;
		n_queued--;
		n_running++;
		pthread_mutex_unlock(&lock);
		j->work(j->arg);
		loop_post(job_finished, j);
		pthread_mutex_lock(&lock);
		n_running--;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int workers_start(int n)
{
	if (running || n < 1)
		return -1;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	stopping = 0;
	n_threads = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, worker_main, NULL) != 0) {
			log_error("workers_start", NULL, "cannot start worker thread %d of %d",
			          i + 1, n);
			goto error;
		}
		n_threads++;
	}
	running = 1;
	return 0;
error:
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	n_threads = 0;
	return -1;
}

int workers_submit(worker_fn work, worker_done_fn done, void *arg)
{
	if (!running || !work || !done)
		return -1;
	struct job *j = malloc(sizeof *j);
	if (!j)
		return -1;
	j->next = NULL;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&lock);
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	n_queued++;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	gauge_update();
	return 0;
}

size_t workers_queued(void)
{
	pthread_mutex_lock(&lock);
	size_t n = n_queued;
	pthread_mutex_unlock(&lock);
	return n;
}

size_t workers_busy(void)
{
	pthread_mutex_lock(&lock);
	size_t n = n_queued + n_running;
	pthread_mutex_unlock(&lock);
	return n;
}

void workers_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	struct job *cancelled = head;
	head = tail = NULL;
	n_queued = 0;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);

	while (cancelled) {
		struct job *next = cancelled->next;
		cancelled->done(cancelled->arg, 1);
		free(cancelled);
		cancelled = next;
	}
	for (int i = 0; i < n_threads; i++)
		pthread_join(threads[i], NULL);
	n_threads = 0;
	running = 0;
	/* Jobs that were running when we stopped posted their done. */
	loop_drain_posts();
	gauge_update();
}
