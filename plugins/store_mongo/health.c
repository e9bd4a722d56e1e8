/* The health monitor (see health.h). It uses a client of its own (not one
 * of the pool's), single-threaded mode: server selection tries once and
 * fails within connectTimeoutMS, so a dead database is noticed quickly. */
#include "health.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "messages.h"
#include "schema.h"
#include "store.h"

#define UP_INTERVAL_MS   2000
#define DOWN_INTERVAL_MS 500
/* How often the seq-hole sweep runs while up (and once after each start
 * or outage). */
#define SWEEP_INTERVAL_MS (10 * 60 * 1000)

struct hole {
	struct hole *next;
	struct hole_info info;
};

struct health {
	struct store *st;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stopping;
	int up, schema_done, checked;
	int64_t swept_ms; /* the last sweep (monotonic clock); 0: none since up */
	char why[256];
	struct hole *holes;
	int n_holes;
};

int health_ok(struct health *h, char *why, size_t n)
{
	pthread_mutex_lock(&h->mu);
	int up = h->up;
	if (!up)
		snprintf(why, n, "%s", h->why);
	pthread_mutex_unlock(&h->mu);
	return up;
}

void health_down(struct health *h, const char *why)
{
	pthread_mutex_lock(&h->mu);
	if (h->up)
		snprintf(h->why, sizeof h->why, "database unreachable: %s", why);
	h->up = 0;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void health_hole(struct health *h, const char *room_id, int64_t room_n, int64_t seq, int64_t seq_at,
                 const char *user_id, const uint8_t oid[12])
{
	struct hole *x = calloc(1, sizeof *x);
	if (!x)
		return; /* counted nowhere: store_copy's verification would find it */
	snprintf(x->info.room_id, sizeof x->info.room_id, "%s", room_id);
	snprintf(x->info.user_id, sizeof x->info.user_id, "%s", user_id);
	x->info.room_n = room_n;
	x->info.seq = seq;
	x->info.seq_at = seq_at;
	memcpy(x->info.oid, oid, 12);
	pthread_mutex_lock(&h->mu);
	x->next = h->holes;
	h->holes = x;
	h->n_holes++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int health_holes(struct health *h)
{
	pthread_mutex_lock(&h->mu);
	int n = h->n_holes;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static int ping(mongoc_client_t *client, char *why, size_t n)
{
	bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
	bson_error_t err;
	int ok = mongoc_client_command_simple(client, "admin", cmd, NULL, NULL, &err);
	if (!ok)
		snprintf(why, n, "database unreachable: %.200s", err.message);
	bson_destroy(cmd);
	return ok;
}

/* Fills the holes recorded so far; the ones that fail stay. */
static void fill_holes(struct health *h, mongoc_client_t *client)
{
	pthread_mutex_lock(&h->mu);
	struct hole *list = h->holes;
	h->holes = NULL;
	pthread_mutex_unlock(&h->mu);
	while (list) {
		struct hole *x = list;
		list = x->next;
		char err[200];
		if (messages_fill_hole(client, h->st->database, &x->info, err, sizeof err) == 0) {
			store_log(h->st, PARLEY_LOG_WARN, "seq_hole_filled",
			          "room %s seq %lld: tombstone written (the append had failed)",
			          x->info.room_id, (long long)x->info.seq);
			pthread_mutex_lock(&h->mu);
			h->n_holes--;
			pthread_mutex_unlock(&h->mu);
			free(x);
		} else {
			pthread_mutex_lock(&h->mu);
			x->next = h->holes;
			h->holes = x;
			pthread_mutex_unlock(&h->mu);
		}
	}
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The seq-hole sweep (messages_sweep), once after each start or outage
 * and then every SWEEP_INTERVAL_MS. */
static void sweep(struct health *h, mongoc_client_t *client)
{
	/* The interval on a clock that does not jump; the sweep's "now" on
	 * the wall clock that seq_at was taken on (messages.c). */
	int64_t mono = clock_ms(CLOCK_MONOTONIC);
	if (h->swept_ms && mono - h->swept_ms < SWEEP_INTERVAL_MS)
		return;
	char err[256];
	int n = messages_sweep(client, h->st->database, clock_ms(CLOCK_REALTIME),
	                       (int64_t)h->st->cfg.hole_after_s * 1000, err, sizeof err);
	if (n < 0) {
		store_log(h->st, PARLEY_LOG_WARN, "seq_sweep_failed", "%s", err);
		return;
	}
	h->swept_ms = mono > 0 ? mono : 1;
	if (n > 0)
		store_log(h->st, PARLEY_LOG_WARN, "seq_hole_filled",
		          "%d abandoned seqs got tombstones (a node stopped between a counter "
		          "step and its insert)",
		          n);
}

static void *monitor(void *arg)
{
	struct health *h = arg;
	struct store *st = h->st;
	mongoc_client_t *client = NULL;
	pthread_mutex_lock(&h->mu);
	while (!h->stopping) {
		int schema_done = h->schema_done;
		pthread_mutex_unlock(&h->mu);
		char why[256] = "";
		if (!client)
			client = mongoc_client_new_from_uri(st->uri);
		int ok = client && ping(client, why, sizeof why);
		if (!ok && client) {
			/* A fresh client next time: a single-threaded client waits out a
			 * 5 s cooldown before it tries a failed server again. */
			mongoc_client_destroy(client);
			client = NULL;
		}
		int refused = 0;
		if (!ok && !why[0])
			snprintf(why, sizeof why, "cannot create a database client");
		if (ok && !schema_done) {
			int rc = schema_setup(client, st->database, why, sizeof why);
			refused = rc == PARLEY_EINVAL;
			schema_done = rc == PARLEY_OK;
			if (refused)
				store_log(st, PARLEY_LOG_ERROR, "schema_refused", "%s", why);
			ok = schema_done;
		}
		if (ok) {
			fill_holes(h, client);
			sweep(h, client);
		} else {
			h->swept_ms = 0;
		}
		/* Set up again after every outage: the database that comes back
		 * may be a new, empty one (indexes are idempotent). */
		if (!ok)
			schema_done = 0;
		pthread_mutex_lock(&h->mu);
		h->schema_done = schema_done;
		if (ok != h->up || !h->checked) {
			if (ok)
				store_log(st, PARLEY_LOG_INFO, "database_up",
				          "database %s reachable", st->database);
			else
				store_log(st, PARLEY_LOG_WARN, "database_down", "%s", why);
		}
		h->checked = 1;
		h->up = ok;
		if (!ok)
			snprintf(h->why, sizeof h->why, "%s", why);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long ms = ok && !h->holes ? UP_INTERVAL_MS : DOWN_INTERVAL_MS;
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		/* Woken early by health_down (an op failed) or a new hole. */
		if (!h->stopping)
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
	}
	pthread_mutex_unlock(&h->mu);
	if (client)
		mongoc_client_destroy(client);
	return NULL;
}

struct health *health_start(struct store *st, int schema_done)
{
	struct health *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->st = st;
	h->schema_done = schema_done;
	h->up = schema_done;
	snprintf(h->why, sizeof h->why, "connecting to the database");
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->thread, NULL, monitor, h) != 0) {
		health_stop(h);
		return NULL;
	}
	h->started = 1;
	return h;
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thread, NULL);
	while (h->holes) {
		struct hole *x = h->holes;
		h->holes = x->next;
		free(x);
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
