/* The loop and its thread-safe post queue. Other threads append to a
 * mutex-guarded list and signal one ev_async; the loop thread takes the
 * whole list at once, so any number of posts cost one wake-up. */
#include "base/loop.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

struct ev_loop *loop_ev;

struct post {
	struct post *next;
	void (*fn)(void *arg);
	void *arg;
};

static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;
/* Signalled with each post, for loop_wait_posts (the ev_async wakes ev_run). */
static pthread_cond_t post_cond = PTHREAD_COND_INITIALIZER;
static struct post *post_head, *post_tail;
static ev_async post_async;
static pthread_t loop_thread;

void loop_drain_posts(void)
{
	pthread_mutex_lock(&post_lock);
	struct post *p = post_head;
	post_head = post_tail = NULL;
	pthread_mutex_unlock(&post_lock);
	while (p) {
		struct post *next = p->next;
		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static void post_cb(struct ev_loop *l, ev_async *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	loop_drain_posts();
}

int loop_init(void)
{
	loop_ev = ev_default_loop(EVFLAG_AUTO);
	if (!loop_ev)
		return -1;
	loop_thread = pthread_self();
	ev_async_init(&post_async, post_cb);
	ev_async_start(loop_ev, &post_async);
	/* The post watcher alone must not keep the loop alive. */
	ev_unref(loop_ev);
	return 0;
}

void loop_fini(void)
{
	if (!loop_ev)
		return;
	loop_drain_posts();
	ev_ref(loop_ev);
	ev_async_stop(loop_ev, &post_async);
	ev_loop_destroy(loop_ev);
	loop_ev = NULL;
}

void loop_post(void (*fn)(void *arg), void *arg)
{
	struct post *p = malloc(sizeof *p);
	if (!p)
		abort(); /* a lost completion would hang its requester forever */
	p->next = NULL;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&post_lock);
	if (post_tail)
		post_tail->next = p;
	else
		post_head = p;
	post_tail = p;
	pthread_cond_signal(&post_cond);
	pthread_mutex_unlock(&post_lock);
	ev_async_send(loop_ev, &post_async);
}

int loop_wait_posts(int ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&post_lock);
	while (!post_head)
		if (pthread_cond_timedwait(&post_cond, &post_lock, &deadline) != 0)
			break;
	int have = post_head != NULL;
	pthread_mutex_unlock(&post_lock);
	return have;
}

long long loop_now_ms(void)
{
	if (loop_ev && pthread_equal(pthread_self(), loop_thread))
		return (long long)(ev_now(loop_ev) * 1000.0);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
