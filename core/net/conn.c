/* Client connections.
 *
 * Design: the read watcher is on unless paused; every read lands in ONE
 * static 64 KiB buffer and is handed at once to the protocol (HTTP or
 * WebSocket), so an idle connection owns no buffer at all. The outbound
 * queue is a list of segments: owned copies (small writes coalesce into
 * the tail) or references into shared sbufs (one broadcast frame for many
 * recipients). Queueing only marks the connection dirty; one ev_prepare
 * watcher, which runs right before the loop sleeps, writes every dirty
 * connection with writev until EAGAIN, and only then arms the write
 * watcher (Redis' "handleClientsWithPendingWrites"). A burst of broadcasts
 * therefore costs one writev per recipient.
 *
 * Closing is deferred: conn_close marks the connection and puts it on a
 * list that the same prepare step tears down after the current callbacks
 * have returned, so callers up the stack never touch freed memory.
 * conn_close_after_write drains the queue, shuts the write side, and reads
 * (discarding) for a short linger so the peer sees our last response
 * rather than a reset.
 *
 * The protocol on top (HTTP, WebSocket) is reached only through the
 * conn_proto_ops it handed in, so this file names neither.
 *
 * Unauthenticated connections sit on a list in accept order: when
 * descriptors run short the oldest one is closed to make room
 * (conn_shed_unauthenticated), so an idle crowd cannot keep health
 * checks and signed-in people out. */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "net/addr_count.h"
#include "net/tls.h"

#define CONN_READ_BUF_SIZE (64 * 1024)
/* Owned segments are at least this big so small writes coalesce. */
#define CONN_SEG_MIN 1024
/* How long a closing connection may take to drain its queue (unless the
 * server is stopping: conn_set_drain_bound), and to linger after it. */
#define CONN_LINGER_SECONDS 2.0
/* A queue this many times over the high-water mark is cut at once. */
#define CONN_HARD_LIMIT_FACTOR 4
/* Period of the slow-consumer check while some queue is over the mark. */
#define CONN_SLOW_CHECK_SECONDS 0.5
#define CONN_HASH_MIN           64
/* TLS records decrypted per read event: one busy peer cannot hold the
 * loop; what is left stays in the socket and libev calls again. */
#define CONN_TLS_RECORDS_PER_EVENT 4
/* Plaintext gathered from several queued segments into one TLS record;
 * mbedTLS records carry at most 16 KiB. */
#define CONN_TLS_STAGE_SIZE (16 * 1024)
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

struct seg {
	struct seg *next;
	sbuf *ref;  /* NULL: the bytes are data[] below */
	size_t off; /* first unwritten byte (in ref->data or data[]) */
	size_t end; /* one past the last byte */
	size_t cap; /* owned: size of data[] */
	char data[];
};

struct conn_private {
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	struct seg *qhead, *qtail;
	size_t queued;
	conn *hash_next;
	conn *dirty_next;
	conn *close_next;
	conn *over_next;
	conn *unauth_prev, *unauth_next; /* the unauthenticated list, oldest first */
	ev_tstamp over_since;            /* when the queue went over the mark; 0: under */
	struct tls_conn *tls;            /* NULL on a plain listener */
	size_t tls_pending;              /* bytes of a record mbedTLS has half sent; 0 none */
	void (*drained)(void *arg);      /* conn_when_drained */
	void *drained_arg;
	size_t drained_low;
	uint8_t flush_result; /* enum flush_result, set by whichever thread wrote */
	unsigned dirty : 1, closing : 1, draining : 1, lingering : 1, paused : 1, over : 1,
	    unauth_listed : 1;
};

/* The connection and its private part in one allocation. */
struct conn_full {
	struct conn pub;
	struct conn_private priv;
};

static const struct config *conn_cfg;
static char read_buf[CONN_READ_BUF_SIZE];
static struct iovec iov[IOV_MAX];
static char tls_stage[CONN_TLS_STAGE_SIZE];
static ev_prepare flush_watcher;
static ev_timer slow_timer;
static uint64_t next_id;
static conn **hash;
static size_t hash_size, hash_count;
static conn *dirty_head, *closing_head, *over_head;
static conn *unauth_head, *unauth_tail;
static const struct conn_proto_ops *first_proto;
static double drain_bound = CONN_LINGER_SECONDS;

void conn_ctx(const conn *c, char *out, size_t n)
{
	char peer[sizeof c->peer * 2];
	log_escape(peer, sizeof peer, c->peer);
	snprintf(out, n, "\"conn\":%llu,\"peer\":\"%s\"", (unsigned long long)c->id, peer);
}

void conn_set_first_proto(const struct conn_proto_ops *ops)
{
	first_proto = ops;
}

void conn_set_proto(conn *c, const struct conn_proto_ops *ops)
{
	c->ops = ops;
	c->proto = ops->proto;
}

static void unauth_unlink(conn *c)
{
	struct conn_private *p = c->priv;
	if (!p->unauth_listed)
		return;
	if (p->unauth_prev)
		p->unauth_prev->priv->unauth_next = p->unauth_next;
	else
		unauth_head = p->unauth_next;
	if (p->unauth_next)
		p->unauth_next->priv->unauth_prev = p->unauth_prev;
	else
		unauth_tail = p->unauth_prev;
	p->unauth_prev = p->unauth_next = NULL;
	p->unauth_listed = 0;
}

static void unauth_append(conn *c)
{
	struct conn_private *p = c->priv;
	p->unauth_prev = unauth_tail;
	p->unauth_next = NULL;
	if (unauth_tail)
		unauth_tail->priv->unauth_next = c;
	else
		unauth_head = c;
	unauth_tail = c;
	p->unauth_listed = 1;
}

void conn_set_authenticated(conn *c)
{
	c->authenticated = 1;
	unauth_unlink(c);
}

int conn_count_addr(conn *c, const char *addr)
{
	if (strcmp(c->counted_addr, addr) == 0)
		return 0;
	int64_t max = conn_cfg ? conn_cfg->limits.max_connections_per_addr : 0;
	if (max <= 0)
		return 0; /* off: nothing is counted */
	if (addr_count_take(addr, (size_t)max) < 0)
		return -1;
	if (c->counted_addr[0])
		addr_count_put(c->counted_addr);
	snprintf(c->counted_addr, sizeof c->counted_addr, "%s", addr);
	return 0;
}

size_t conn_addr_count(const char *addr)
{
	return addr_count_get(addr);
}

void conn_set_drain_bound(double seconds)
{
	drain_bound = seconds > 0 ? seconds : CONN_LINGER_SECONDS;
	/* Connections draining now get the new bound too (from now). */
	for (size_t i = 0; i < hash_size; i++)
		for (conn *c = hash[i]; c; c = c->priv->hash_next) {
			struct conn_private *p = c->priv;
			if (p->draining && !p->lingering && !p->closing) {
				ev_timer_stop(loop_ev, &p->timer);
				ev_timer_set(&p->timer, drain_bound, 0.);
				ev_timer_start(loop_ev, &p->timer);
			}
		}
}

static void metric_bump(metric *m, double v)
{
	/* The metrics module may not be initialised in every test program. */
	if (m)
		metric_add(m, v);
}

static size_t hash_slot(uint64_t id, size_t size)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (size - 1);
}

static int hash_grow(void)
{
	size_t nsize = hash_size ? hash_size * 2 : CONN_HASH_MIN;
	conn **nh = calloc(nsize, sizeof *nh);
	if (!nh)
		return -1;
	for (size_t i = 0; i < hash_size; i++) {
		conn *c = hash[i];
		while (c) {
			conn *next = c->priv->hash_next;
			size_t s = hash_slot(c->id, nsize);
			c->priv->hash_next = nh[s];
			nh[s] = c;
			c = next;
		}
	}
	free(hash);
	hash = nh;
	hash_size = nsize;
	return 0;
}

static void hash_remove(conn *c)
{
	conn **pp = &hash[hash_slot(c->id, hash_size)];
	while (*pp && *pp != c)
		pp = &(*pp)->priv->hash_next;
	if (*pp) {
		*pp = c->priv->hash_next;
		hash_count--;
	}
}

static void queue_drop(conn *c)
{
	struct seg *s = c->priv->qhead;
	while (s) {
		struct seg *next = s->next;
		sbuf_unref(s->ref);
		free(s);
		s = next;
	}
	c->priv->qhead = c->priv->qtail = NULL;
	c->priv->queued = 0;
}

static void mark_dirty(conn *c)
{
	if (c->priv->dirty)
		return;
	c->priv->dirty = 1;
	c->priv->dirty_next = dirty_head;
	dirty_head = c;
}

static void start_linger(conn *c)
{
	struct conn_private *p = c->priv;
	p->lingering = 1;
	/* The queue is out: what is left is a short wait for the peer's EOF,
	 * whatever bound the drain had. */
	if (drain_bound > CONN_LINGER_SECONDS) {
		ev_timer_stop(loop_ev, &p->timer);
		ev_timer_set(&p->timer, CONN_LINGER_SECONDS, 0.);
		ev_timer_start(loop_ev, &p->timer);
	}
	if (p->tls)
		tls_conn_close_notify(p->tls);
	/* Half-close, then read and discard until EOF or the linger bound, so
	 * unread request bytes do not turn our last response into a reset. */
	shutdown(c->fd, SHUT_WR);
	if (!ev_is_active(&p->rio))
		ev_io_start(loop_ev, &p->rio);
}

/* Writes as much of the queue as the kernel takes. */
enum flush_result { FLUSH_DONE = 0, FLUSH_AGAIN, FLUSH_ERROR };

/* Releases the first n queued bytes (written). */
static void queue_consume(struct conn_private *p, size_t n)
{
	p->queued -= n;
	while (n && p->qhead) {
		struct seg *s = p->qhead;
		size_t avail = s->end - s->off;
		if (n < avail) {
			s->off += n;
			break;
		}
		n -= avail;
		p->qhead = s->next;
		sbuf_unref(s->ref);
		free(s);
	}
	if (!p->qhead)
		p->qtail = NULL;
}

/* Writes as much of c's queue as the socket takes and releases what was
 * written. It touches only c's own queue and sbuf counts (atomic), so a
 * split flush may run it on the I/O thread; watchers and closing stay on
 * the loop thread (finish_flush). */
static int write_queue(conn *c, struct iovec *v)
{
	struct conn_private *p = c->priv;
	while (p->qhead) {
		int n = 0;
		for (struct seg *s = p->qhead; s && n < IOV_MAX; s = s->next, n++) {
			const char *base = s->ref ? s->ref->data : s->data;
			v[n].iov_base = (void *)(base + s->off);
			v[n].iov_len = s->end - s->off;
		}
		ssize_t w = writev(c->fd, v, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return FLUSH_AGAIN;
			return FLUSH_ERROR;
		}
		queue_consume(p, (size_t)w);
	}
	return FLUSH_DONE;
}

/* The next len queued bytes in one piece: the head segment itself when it
 * holds them, else a copy in tls_stage (len <= its size). */
static const char *queue_gather(struct conn_private *p, size_t len)
{
	struct seg *s = p->qhead;
	const char *base = s->ref ? s->ref->data : s->data;
	if (s->end - s->off >= len)
		return base + s->off;
	size_t got = 0;
	for (; s && got < len; s = s->next) {
		base = s->ref ? s->ref->data : s->data;
		size_t take = s->end - s->off;
		if (take > len - got)
			take = len - got;
		memcpy(tls_stage + got, base + s->off, take);
		got += take;
	}
	return tls_stage;
}

/* write_queue for a TLS connection: one record per call, each up to the
 * record size, gathered from as many segments as fit. After TLS_AGAIN
 * mbedTLS holds a half-sent record and must be called again with the same
 * length (tls_pending), which the unchanged queue head gives back. Runs on
 * the loop thread only (see flush_many). */
static int write_queue_tls(conn *c)
{
	struct conn_private *p = c->priv;
	while (p->qhead) {
		size_t want = p->tls_pending;
		if (!want) {
			want = tls_conn_max_write(p->tls);
			if (want > sizeof tls_stage)
				want = sizeof tls_stage;
			if (want > p->queued)
				want = p->queued;
		}
		ssize_t w = tls_conn_write(p->tls, queue_gather(p, want), want);
		if (w == TLS_AGAIN) {
			p->tls_pending = want;
			return FLUSH_AGAIN;
		}
		if (w < 0)
			return FLUSH_ERROR;
		p->tls_pending = 0;
		queue_consume(p, (size_t)w);
	}
	return FLUSH_DONE;
}

/* Runs the drain waiter once (it may queue more and wait again). */
static void drained_call(conn *c)
{
	struct conn_private *p = c->priv;
	void (*fn)(void *) = p->drained;
	p->drained = NULL;
	if (fn)
		fn(p->drained_arg);
}

static void finish_flush(conn *c, int result)
{
	struct conn_private *p = c->priv;
	if (result != FLUSH_ERROR && p->drained && p->queued <= p->drained_low && !p->closing)
		drained_call(c);
	if (result == FLUSH_ERROR) {
		conn_close(c, "write_error");
		return;
	}
	if (result == FLUSH_AGAIN) {
		if (!ev_is_active(&p->wio))
			ev_io_start(loop_ev, &p->wio);
		return;
	}
	if (ev_is_active(&p->wio))
		ev_io_stop(loop_ev, &p->wio);
	if (p->queued <= (size_t)conn_cfg->limits.outbound_high_water)
		p->over_since = 0;
	if (p->draining && !p->lingering)
		start_linger(c);
}

static void flush_conn(conn *c)
{
	finish_flush(c, c->priv->tls ? write_queue_tls(c) : write_queue(c, iov));
}

/* The split flush. A broadcast to N members leaves as N writev calls, and
 * on loopback each one also runs the receiver's TCP path (~10 us here), so
 * one message to 1,000 people keeps one core busy for ~10 ms. When a flush
 * has at least limits.write_split dirty connections, a second thread
 * writes half of them while the loop thread writes the other half and then
 * waits: the loop thread still owns every connection and decides all;
 * the I/O thread only performs system calls on a disjoint set (the Redis 6
 * "I/O threads" shape). */
static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started, stop;
	unsigned gen, done_gen;
	conn **work;
	size_t n;
	struct iovec iov[IOV_MAX];
} io = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static conn **flush_list;
static size_t flush_cap;

static void *io_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&io.lock);
	for (;;) {
		while (io.gen == io.done_gen && !io.stop)
			pthread_cond_wait(&io.cond, &io.lock);
		if (io.stop)
			break;
		conn **work = io.work;
		size_t n = io.n;
		pthread_mutex_unlock(&io.lock);
		for (size_t i = 0; i < n; i++)
			work[i]->priv->flush_result = (uint8_t)write_queue(work[i], io.iov);
		pthread_mutex_lock(&io.lock);
		io.done_gen = io.gen;
		pthread_cond_broadcast(&io.cond);
	}
	pthread_mutex_unlock(&io.lock);
	return NULL;
}

static int io_start(void)
{
	if (io.started)
		return 0;
	io.stop = 0;
	if (pthread_create(&io.thread, NULL, io_main, NULL) != 0)
		return -1;
	io.started = 1;
	return 0;
}

static void io_stop(void)
{
	if (!io.started)
		return;
	pthread_mutex_lock(&io.lock);
	io.stop = 1;
	pthread_cond_broadcast(&io.cond);
	pthread_mutex_unlock(&io.lock);
	pthread_join(io.thread, NULL);
	io.started = 0;
}

/* Flushes the n connections of flush_list, on two threads when it pays. */
static void flush_many(size_t n)
{
	size_t split = (size_t)conn_cfg->limits.write_split;
	/* TLS connections are written here, on the loop thread, and never by
	 * the I/O thread: encrypting touches the connection's mbedTLS context
	 * and the one staging buffer, which stay single-threaded that way.
	 * The split pays for many cheap loopback writes; fan-outs that large
	 * over TLS are meant to terminate TLS at a proxy (architecture.md,
	 * rule 4), so they are not worth a second staging buffer. */
	size_t plain = 0;
	for (size_t i = 0; i < n; i++) {
		if (flush_list[i]->priv->tls)
			flush_conn(flush_list[i]);
		else
			flush_list[plain++] = flush_list[i];
	}
	n = plain;
	if (!split || n < split || io_start() < 0) {
		for (size_t i = 0; i < n; i++)
			flush_conn(flush_list[i]);
		return;
	}
	size_t half = n / 2;
	pthread_mutex_lock(&io.lock);
	io.work = flush_list + half;
	io.n = n - half;
	io.gen++;
	pthread_cond_broadcast(&io.cond);
	pthread_mutex_unlock(&io.lock);
	for (size_t i = 0; i < half; i++)
		flush_list[i]->priv->flush_result = (uint8_t)write_queue(flush_list[i], iov);
	pthread_mutex_lock(&io.lock);
	while (io.done_gen != io.gen)
		pthread_cond_wait(&io.cond, &io.lock);
	pthread_mutex_unlock(&io.lock);
	for (size_t i = 0; i < n; i++)
		finish_flush(flush_list[i], flush_list[i]->priv->flush_result);
}

static void teardown(conn *c)
{
	struct conn_private *p = c->priv;
	char ctx[160];
	hash_remove(c);
	if (p->over) {
		conn **pp = &over_head;
		while (*pp && *pp != c)
			pp = &(*pp)->priv->over_next;
		if (*pp)
			*pp = p->over_next;
	}
	unauth_unlink(c);
	if (c->counted_addr[0])
		addr_count_put(c->counted_addr);
	if (c->ops && c->ops->free)
		c->ops->free(c);
	drained_call(c); /* gone: the waiter finds no connection */
	queue_drop(c);
	tls_conn_free(p->tls);
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("conn_free", ctx, "connection freed");
	close(c->fd);
	metric_bump(core_metrics.connections, -1);
	free(c);
}

void conn_run_deferred(void)
{
	while (dirty_head || closing_head) {
		size_t n = 0;
		while (dirty_head) {
			conn *c = dirty_head;
			dirty_head = c->priv->dirty_next;
			c->priv->dirty = 0;
			if (c->priv->closing)
				continue;
			if (n == flush_cap) {
				size_t ncap = flush_cap ? flush_cap * 2 : 256;
				conn **nl = realloc(flush_list, ncap * sizeof *nl);
				if (!nl) {
					flush_conn(c); /* no list: write this one alone */
					continue;
				}
				flush_list = nl;
				flush_cap = ncap;
			}
			flush_list[n++] = c;
		}
		flush_many(n);
		/* A snapshot: connections closed by the callbacks below (the
		 * app's closed) wait for the next round, after the flush that
		 * takes them off the dirty list. */
		conn *list = closing_head;
		closing_head = NULL;
		while (list) {
			conn *next = list->priv->close_next;
			teardown(list);
			list = next;
		}
	}
}

static void flush_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	conn_run_deferred();
}

/* Drops every queued segment but the head: the head may be half written
 * (or half encrypted: tls_pending), and segments hold whole frames, so
 * what stays ends at a frame boundary and a goodbye can follow it. */
static void queue_trim_to_head(struct conn_private *p)
{
	struct seg *head = p->qhead;
	if (!head)
		return;
	struct seg *s = head->next;
	while (s) {
		struct seg *next = s->next;
		p->queued -= s->end - s->off;
		sbuf_unref(s->ref);
		free(s);
		s = next;
	}
	head->next = NULL;
	p->qtail = head;
	/* No small write may coalesce into a segment being written. */
	if (!head->ref)
		head->cap = head->end;
}

static void slow_consumer(conn *c, const char *why)
{
	char ctx[200];
	conn_ctx(c, ctx, sizeof ctx);
	size_t len = strlen(ctx);
	snprintf(ctx + len, sizeof ctx - len, ",\"bytes\":%zu", c->priv->queued);
	log_warn("slow_consumer", ctx, "outbound queue of %zu bytes %s; closing", c->priv->queued,
	         why);
	metric_bump(core_metrics.outbound_drops, 1);
	struct conn_private *p = c->priv;
	if (!c->ops || !c->ops->cut || p->draining) {
		conn_close(c, "slow_consumer");
		return;
	}
	/* The backlog goes; the protocol queues its goodbye (WebSocket: close
	 * 1013), written if the peer's socket takes it within the drain
	 * bound. The memory is freed now either way. */
	queue_trim_to_head(p);
	p->over_since = 0;
	c->ops->cut(c, "slow_consumer");
	if (!conn_is_closing(c))
		conn_close(c, "slow_consumer");
}

/* Over the mark for longer than the grace period? */
static int check_slow(conn *c)
{
	struct conn_private *p = c->priv;
	size_t hw = (size_t)conn_cfg->limits.outbound_high_water;
	if (p->closing || p->queued <= hw) {
		p->over_since = 0;
		return 0;
	}
	if (p->queued > hw * CONN_HARD_LIMIT_FACTOR) {
		slow_consumer(c, "is far over the high-water mark");
		return 1;
	}
	ev_tstamp now = ev_now(loop_ev);
	if (!p->over_since) {
		p->over_since = now;
		if (!p->over) {
			p->over = 1;
			p->over_next = over_head;
			over_head = c;
			if (!ev_is_active(&slow_timer))
				ev_timer_again(loop_ev, &slow_timer);
		}
		return 0;
	}
	if (now - p->over_since >= conn_cfg->limits.outbound_grace) {
		slow_consumer(c, "stayed over the high-water mark");
		return 1;
	}
	return 0;
}

static void slow_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	conn **pp = &over_head;
	while (*pp) {
		conn *c = *pp;
		if (c->priv->closing || check_slow(c) || !c->priv->over_since) {
			/* Done with it (under the mark again, or cut): unlink. A
			 * cut conn stays findable by teardown's unlink otherwise. */
			c->priv->over = 0;
			*pp = c->priv->over_next;
			continue;
		}
		pp = &c->priv->over_next;
	}
	if (!over_head)
		ev_timer_stop(loop_ev, w);
}

static int queue_append(conn *c, sbuf *ref, const void *data, size_t off, size_t len)
{
	struct conn_private *p = c->priv;
	if (p->closing || p->draining)
		return -1;
	if (!len)
		return 0;
	struct seg *t = p->qtail;
	if (!ref && data && t && !t->ref && t->cap - t->end >= len) {
		memcpy(t->data + t->end, data, len);
		t->end += len;
	} else {
		size_t cap = ref ? 0 : (len > CONN_SEG_MIN ? len : CONN_SEG_MIN);
		struct seg *s = malloc(sizeof *s + cap);
		if (!s) {
			conn_close(c, "out_of_memory");
			return -1;
		}
		s->next = NULL;
		s->cap = cap;
		if (ref) {
			s->ref = sbuf_ref(ref);
			s->off = off;
			s->end = off + len;
		} else {
			s->ref = NULL;
			s->off = 0;
			s->end = len;
			if (data)
				memcpy(s->data, data, len);
		}
		if (t)
			t->next = s;
		else
			p->qhead = s;
		p->qtail = s;
	}
	p->queued += len;
	mark_dirty(c);
	if (p->queued > (size_t)conn_cfg->limits.outbound_high_water && check_slow(c))
		return -1;
	return 0;
}

int conn_write(conn *c, const void *data, size_t len)
{
	return queue_append(c, NULL, data, 0, len);
}

int conn_write_sbuf(conn *c, sbuf *b, size_t off, size_t len)
{
	if (off > b->len || len > b->len - off)
		return -1;
	return queue_append(c, b, NULL, off, len);
}

void conn_when_drained(conn *c, size_t low, void (*fn)(void *arg), void *arg)
{
	struct conn_private *p = c->priv;
	p->drained = fn;
	p->drained_arg = arg;
	p->drained_low = low;
	mark_dirty(c); /* the next flush checks the mark */
}

size_t conn_queued(const conn *c)
{
	return c->priv->queued;
}

/* Hands bytes read (decrypted, on TLS) to the protocol on top. */
static void deliver(conn *c, const char *data, size_t len)
{
	if (c->ops && c->ops->input)
		c->ops->input(c, data, len);
}

static void want_write(conn *c, int on)
{
	struct conn_private *p = c->priv;
	if (on && !ev_is_active(&p->wio))
		ev_io_start(loop_ev, &p->wio);
	else if (!on && ev_is_active(&p->wio))
		ev_io_stop(loop_ev, &p->wio);
}

static void tls_failed(conn *c, const char *event, const char *reason)
{
	if (log_min_level <= LOG_DEBUG) {
		char ctx[512], why[256];
		conn_ctx(c, ctx, sizeof ctx);
		log_escape(why, sizeof why, tls_conn_error(c->priv->tls));
		size_t len = strlen(ctx);
		snprintf(ctx + len, sizeof ctx - len, ",\"tls_error\":\"%s\"", why);
		log_debug(event, ctx, "TLS: %s", why[0] ? why : "failed");
	}
	conn_close(c, reason);
}

/* Advances the handshake on either readiness; when it is over, HTTP
 * starts (its idle timeout replaces the handshake bound). */
static void tls_handshake_step(conn *c)
{
	struct conn_private *p = c->priv;
	int rc = tls_conn_handshake(p->tls);
	if (rc == TLS_ERROR) {
		tls_failed(c, "tls_handshake_failed", "tls_handshake_failed");
		return;
	}
	if (rc == TLS_AGAIN) {
		want_write(c, tls_conn_wants_write(p->tls));
		return;
	}
	want_write(c, p->qhead != NULL);
	if (c->ops && c->ops->start)
		c->ops->start(c);
}

static void tls_input(conn *c)
{
	struct conn_private *p = c->priv;
	if (!tls_conn_handshake_done(p->tls)) {
		tls_handshake_step(c);
		if (p->closing || !tls_conn_handshake_done(p->tls))
			return;
	}
	/* mbedTLS reads exactly one record per call and keeps nothing past
	 * it, so stopping early (paused, budget) leaves the rest in the
	 * socket, where libev sees it. */
	for (int i = 0; i < CONN_TLS_RECORDS_PER_EVENT; i++) {
		if (p->closing || p->draining || p->paused)
			return;
		ssize_t n = tls_conn_read(p->tls, read_buf, sizeof read_buf);
		if (n == 0) {
			conn_close(c, "peer_closed");
			return;
		}
		if (n == TLS_AGAIN)
			return;
		if (n < 0) {
			tls_failed(c, "tls_read_failed", "tls_error");
			return;
		}
		deliver(c, read_buf, (size_t)n);
	}
}

static void read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)revents;
	conn *c = w->data;
	struct conn_private *p = c->priv;
	if (p->tls && !p->draining) {
		tls_input(c);
		return;
	}
	ssize_t n = read(c->fd, read_buf, sizeof read_buf);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c, "read_error");
		return;
	}
	if (n == 0) {
		conn_close(c, p->lingering ? "closed" : "peer_closed");
		return;
	}
	if (p->draining)
		return; /* closing: what the peer still sends is discarded */
	deliver(c, read_buf, (size_t)n);
}

static void write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)revents;
	conn *c = w->data;
	struct conn_private *p = c->priv;
	if (p->closing)
		return;
	if (p->tls && !tls_conn_handshake_done(p->tls))
		tls_handshake_step(c);
	else
		flush_conn(c);
}

static void timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	conn *c = w->data;
	if (c->priv->draining) {
		conn_close(c, "linger_done");
		return;
	}
	if (c->priv->tls && !tls_conn_handshake_done(c->priv->tls)) {
		conn_close(c, "tls_handshake_timeout");
		return;
	}
	if (c->ops && c->ops->timeout)
		c->ops->timeout(c);
}

conn *conn_new(int fd, const char *peer, const char *peer_ip, struct tls_server *tls)
{
	struct conn_full *f = NULL;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	int one = 1;
	/* Fails harmlessly on non-TCP sockets (tests use socketpairs). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (hash_count >= hash_size && hash_grow() < 0)
		goto fail;
	f = calloc(1, sizeof *f);
	if (!f)
		goto fail;
	conn *c = &f->pub;
	c->priv = &f->priv;
	c->id = ++next_id;
	c->fd = fd;
	if (first_proto)
		conn_set_proto(c, first_proto);
	c->tls = tls != NULL;
	c->opened = ev_now(loop_ev);
	if (tls && !(f->priv.tls = tls_conn_new(tls, fd)))
		goto fail;
	snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
	snprintf(c->peer_ip, sizeof c->peer_ip, "%s", peer_ip ? peer_ip : "");
	ev_io_init(&f->priv.rio, read_cb, fd, EV_READ);
	ev_io_init(&f->priv.wio, write_cb, fd, EV_WRITE);
	ev_init(&f->priv.timer, timer_cb);
	f->priv.rio.data = f->priv.wio.data = f->priv.timer.data = c;
	size_t s = hash_slot(c->id, hash_size);
	f->priv.hash_next = hash[s];
	hash[s] = c;
	hash_count++;
	ev_io_start(loop_ev, &f->priv.rio);
	unauth_append(c);
	metric_bump(core_metrics.connections, 1);
	char ctx[160];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("conn_open", ctx, "connection opened");
	if (tls)
		/* HTTP starts once the handshake is over; until then the
		 * header timeout bounds it (a client that opened the socket
		 * should be sending its request head right away). */
		conn_set_timeout(c, conn_cfg ? conn_cfg->limits.header_timeout : 10);
	else if (c->ops && c->ops->start)
		c->ops->start(c);
	return c;
fail:
	free(f);
	close(fd);
	return NULL;
}

static void stop_watchers(conn *c)
{
	ev_io_stop(loop_ev, &c->priv->rio);
	ev_io_stop(loop_ev, &c->priv->wio);
	ev_timer_stop(loop_ev, &c->priv->timer);
}

void conn_close(conn *c, const char *reason)
{
	struct conn_private *p = c->priv;
	if (p->closing)
		return;
	if (log_min_level <= LOG_DEBUG) {
		char ctx[160];
		conn_ctx(c, ctx, sizeof ctx);
		log_debug("conn_close", ctx, "closing: %s", reason ? reason : "unknown");
	}
	p->closing = 1;
	stop_watchers(c);
	queue_drop(c);
	p->close_next = closing_head;
	closing_head = c;
}

void conn_close_after_write(conn *c, const char *reason)
{
	struct conn_private *p = c->priv;
	if (p->closing || p->draining)
		return;
	char ctx[160];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("conn_close", ctx, "closing after write: %s", reason ? reason : "unknown");
	p->draining = 1;
	ev_timer_stop(loop_ev, &p->timer);
	ev_timer_set(&p->timer, drain_bound, 0.);
	ev_timer_start(loop_ev, &p->timer);
	/* Keep reading (and discarding) so a closed peer is noticed. */
	if (!ev_is_active(&p->rio))
		ev_io_start(loop_ev, &p->rio);
	if (!p->qhead)
		start_linger(c);
	else
		mark_dirty(c);
}

int conn_is_closing(const conn *c)
{
	return c->priv->closing || c->priv->draining;
}

void conn_pause_read(conn *c)
{
	c->priv->paused = 1;
	if (!c->priv->draining)
		ev_io_stop(loop_ev, &c->priv->rio);
}

void conn_resume_read(conn *c)
{
	struct conn_private *p = c->priv;
	p->paused = 0;
	if (!p->closing && !ev_is_active(&p->rio))
		ev_io_start(loop_ev, &p->rio);
}

void conn_set_timeout(conn *c, double seconds)
{
	struct conn_private *p = c->priv;
	if (p->closing || p->draining)
		return; /* the linger bound owns the timer now */
	ev_timer_stop(loop_ev, &p->timer);
	if (seconds > 0) {
		ev_timer_set(&p->timer, seconds, 0.);
		ev_timer_start(loop_ev, &p->timer);
	}
}

conn *conn_find(uint64_t id)
{
	if (!hash_size)
		return NULL;
	for (conn *c = hash[hash_slot(id, hash_size)]; c; c = c->priv->hash_next)
		if (c->id == id)
			return c->priv->closing ? NULL : c;
	return NULL;
}

size_t conn_count(void)
{
	return hash_count;
}

void conn_foreach(void (*fn)(conn *c, void *arg), void *arg)
{
	/* Closing only marks, so the chains stay intact while fn runs. */
	for (size_t i = 0; i < hash_size; i++) {
		for (conn *c = hash[i]; c; c = c->priv->hash_next)
			if (!c->priv->closing && !c->priv->draining)
				fn(c, arg);
	}
}

int conn_shed_unauthenticated(void)
{
	/* Connections already closing hold their descriptor only until the
	 * deferred step below; skip them to find one that still counts. */
	conn *c = unauth_head;
	while (c && (c->priv->closing || c->priv->draining))
		c = c->priv->unauth_next;
	if (!c)
		return 0;
	char ctx[160];
	conn_ctx(c, ctx, sizeof ctx);
	log_debug("conn_shed", ctx, "descriptors short: closing the oldest unauthenticated");
	metric_bump(core_metrics.conn_shed, 1);
	conn_close(c, "shed_unauthenticated");
	conn_run_deferred(); /* the descriptor is free when this returns */
	return 1;
}

void conn_module_init(const struct config *cfg)
{
	conn_cfg = cfg;
	drain_bound = CONN_LINGER_SECONDS;
	ev_prepare_init(&flush_watcher, flush_cb);
	ev_prepare_start(loop_ev, &flush_watcher);
	/* The flush step alone must not keep the loop alive. */
	ev_unref(loop_ev);
	double period = cfg->limits.outbound_grace / 2;
	if (period <= 0 || period > CONN_SLOW_CHECK_SECONDS)
		period = CONN_SLOW_CHECK_SECONDS;
	ev_init(&slow_timer, slow_cb);
	slow_timer.repeat = period;
}

static void close_each(conn *c, void *arg)
{
	conn_close(c, arg);
}

void conn_module_fini(void)
{
	if (!conn_cfg)
		return;
	conn_foreach(close_each, "shutdown");
	/* Draining connections are skipped by foreach: close them too. */
	for (size_t i = 0; i < hash_size; i++)
		for (conn *c = hash[i]; c; c = c->priv->hash_next)
			conn_close(c, "shutdown");
	conn_run_deferred();
	io_stop();
	free(flush_list);
	flush_list = NULL;
	flush_cap = 0;
	ev_timer_stop(loop_ev, &slow_timer);
	ev_ref(loop_ev);
	ev_prepare_stop(loop_ev, &flush_watcher);
	free(hash);
	hash = NULL;
	hash_size = hash_count = 0;
	over_head = NULL;
	unauth_head = unauth_tail = NULL;
	addr_count_clear();
	conn_cfg = NULL;
}
