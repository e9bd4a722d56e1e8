/* libcurl's multi interface on the libev loop (the multi_socket pattern).
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one ev_io
 * per socket, kept in curl's per-socket pointer) and when to wake it
 * (CURLMOPT_TIMERFUNCTION: one ev_timer). On each event we call
 * curl_multi_socket_action and then drain curl_multi_info_read, removing
 * each finished handle from the multi before calling its done, so done may
 * clean the handle up or start new transfers.
 *
 * The caller keeps CURLOPT_PRIVATE for itself: transfers are tracked in our
 * own small list. Loop thread only. */
#include "base/curl_loop.h"

#include <curl/curl.h>
#include <ev.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/loop.h"

struct sock_watch {
	ev_io io;
	curl_socket_t fd;
};

struct xfer {
	struct xfer *next;
	CURL *easy;
	curl_loop_done done;
	void *arg;
};

static CURLM *multi;
static ev_timer timer;
static struct xfer *xfers;
static int n_xfers;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Unlinks and returns the record of easy, or NULL. */
static struct xfer *xfer_take(CURL *easy)
{
	for (struct xfer **p = &xfers; *p; p = &(*p)->next) {
		if ((*p)->easy == easy) {
			struct xfer *x = *p;
			*p = x->next;
			n_xfers--;
			return x;
		}
	}
	return NULL;
}

static void check_done(void)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		struct xfer *x = xfer_take(easy);
		curl_multi_remove_handle(multi, easy);
		if (x) {
			x->done(easy, (int)result, x->arg);
			free(x);
		}
	}
}

static void io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	struct sock_watch *sw = (struct sock_watch *)w;
	int action = 0;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	int still;
	curl_multi_socket_action(multi, sw->fd, action, &still);
	check_done();
}

static void timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	int still;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &still);
	check_done();
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 means as soon as possible
 * (never call socket_action from inside this callback). */
static int multi_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	ev_timer_stop(loop_ev, &timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(loop_ev, &timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-arm or forget one socket. */
static int multi_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)easy;
	(void)userp;
	struct sock_watch *sw = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			ev_io_stop(loop_ev, &sw->io);
			free(sw);
			curl_multi_assign(multi, s, NULL);
		}
		return 0;
	}
	if (!sw) {
		sw = calloc(1, sizeof *sw);
		if (!sw)
			return -1;
		sw->fd = s;
		curl_multi_assign(multi, s, sw);
	} else {
		ev_io_stop(loop_ev, &sw->io);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_init(&sw->io, io_cb, s, events);
	ev_io_start(loop_ev, &sw->io);
	return 0;
}

int curl_loop_init(void)
{
	if (multi)
		return 0;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		log_error("curl_init", NULL, "curl_global_init: %s", curl_easy_strerror(global_rc));
		return -1;
	}
	multi = curl_multi_init();
	if (!multi) {
		log_error("curl_init", NULL, "curl_multi_init failed");
		return -1;
	}
	ev_timer_init(&timer, timer_cb, 0., 0.);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	return 0;
}

void curl_loop_abort_all(void)
{
	if (!multi)
		return;
	struct xfer *x;
	while ((x = xfers)) {
		xfers = x->next;
		n_xfers--;
		curl_multi_remove_handle(multi, x->easy);
		x->done(x->easy, (int)CURLE_ABORTED_BY_CALLBACK, x->arg);
		free(x);
	}
}

void curl_loop_fini(void)
{
	if (!multi)
		return;
	curl_loop_abort_all();
	/* Removing the handles closed their sockets (CURL_POLL_REMOVE). */
	curl_multi_cleanup(multi);
	multi = NULL;
	ev_timer_stop(loop_ev, &timer);
}

int curl_loop_add(void *easy, curl_loop_done done, void *arg)
{
	if (!multi || !easy || !done)
		return -1;
	struct xfer *x = malloc(sizeof *x);
	if (!x)
		return -1;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	/* Timeouts must never raise signals in a threaded server. */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	CURLMcode rc = curl_multi_add_handle(multi, easy);
	if (rc != CURLM_OK) {
		log_warn("curl_add", NULL, "curl_multi_add_handle: %s", curl_multi_strerror(rc));
		free(x);
		return -1;
	}
	x->next = xfers;
	xfers = x;
	n_xfers++;
	return 0;
}

void curl_loop_remove(void *easy)
{
	if (!multi || !easy)
		return;
	struct xfer *x = xfer_take(easy);
	if (!x)
		return;
	curl_multi_remove_handle(multi, easy);
	free(x);
}

int curl_loop_running(void)
{
	return n_xfers;
}
