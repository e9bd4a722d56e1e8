/* The cluster's server secret (server_secret.h). kv_add makes the first
 * node's candidate the key of every node; a node whose own server.key
 * lost keeps it as the previous key, so the links it mailed still work. */
#include "host/server_secret.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/secret.h"
#include "host/plugin_host.h"

#define OWNER "parley:server"
#define KEY   "secret_key"
#define HEX   (2 * SECRET_BYTES)
/* The store's own timeouts end a call; this only ends a loop that would
 * otherwise wait on a store that never answers. */
#define WAIT_S 60.0

struct settle {
	int done, rc;
	int store_rc; /* the store's answer */
	unsigned char key[SECRET_BYTES];
};

static void to_hex(const unsigned char *in, char *out)
{
	for (size_t i = 0; i < SECRET_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int from_hex(const char *in, unsigned char *out)
{
	if (!in || strlen(in) != HEX)
		return -1;
	for (size_t i = 0; i < SECRET_BYTES; i++) {
		unsigned v;
		if (sscanf(in + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

static void added(void *ud, const parley_store_result *res)
{
	struct settle *s = ud;
	s->done = 1;
	s->store_rc = res->rc;
	if (res->rc == PARLEY_ENOTFOUND) {
		s->rc = -1; /* none yet: kv_add puts one there */
	} else if (res->rc != PARLEY_OK) {
		log_warn("server_key", NULL, "the store cannot give the server key: %s",
		         res->error ? res->error : "store error");
		s->rc = -1;
	} else if (from_hex(res->text, s->key) < 0) {
		log_error("server_key", NULL,
		          "the store's server key (kv %s/%s) is not %d hex digits", OWNER, KEY,
		          HEX);
		s->rc = -1;
	}
}

/* Runs the loop until s is settled (or WAIT_S passed); 0 when it was. */
static int wait_for(struct settle *s)
{
	ev_tstamp start = ev_time();
	while (!s->done && ev_time() - start < WAIT_S)
		ev_run(loop_ev, EVRUN_ONCE);
	if (!s->done)
		log_warn("server_key", NULL, "the store did not answer for the server key");
	return s->done && s->rc == 0 ? 0 : -1;
}

/* Read first: a restart writes nothing, and a store that cannot write
 * (full, read-only: it serves and says so on /readyz) still has the key a
 * write put there before. */
static int read_stored(const parley_store_vtable *st, void *self, struct settle *s)
{
	if (!st->kv_get)
		return -1;
	*s = (struct settle){0};
	if (st->kv_get(self, OWNER, KEY, added, s) != PARLEY_PENDING)
		return -1;
	return wait_for(s);
}

int server_secret_load(const char *data_dir)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, kv_add))
		return secret_init(data_dir);

	unsigned char own[SECRET_BYTES], candidate[SECRET_BYTES];
	int have_own = secret_file_read(data_dir, own);
	if (have_own < 0)
		return -1;
	if (have_own)
		memcpy(candidate, own, sizeof candidate);
	else if (getrandom(candidate, sizeof candidate, 0) != (ssize_t)sizeof candidate) {
		log_error("server_key", NULL, "no random bytes for the server key");
		return -1;
	}
	static struct settle s;
	int rc = read_stored(st, self, &s);
	if (rc < 0 && (!st->kv_get || s.store_rc == PARLEY_ENOTFOUND)) {
		/* The first node: its candidate, unless another was first. */
		char hex[HEX + 1];
		to_hex(candidate, hex);
		s = (struct settle){0};
		rc = st->kv_add(self, OWNER, KEY, hex, added, &s) == PARLEY_PENDING ? wait_for(&s)
		                                                                    : -1;
		memset(hex, 0, sizeof hex);
	}
	if (rc < 0) {
		/* Serving beats refusing to start: this node signs alone until
		 * the store takes the key (its links verify here only). */
		log_warn("server_key", NULL,
		         "no server key from the store: this node uses data_dir/server.key");
		return secret_init(data_dir);
	}
	secret_set(s.key);
	int same = have_own && memcmp(own, s.key, sizeof own) == 0;
	if (have_own && !same)
		secret_set_previous(own);
	log_info("server_key", NULL, "server key from the store%s",
	         !have_own ? ""
	         : same    ? " (this node's server.key, moved there)"
	                   : " (another node's; this node's server.key still verifies its links)");
	memset(&s, 0, sizeof s);
	memset(own, 0, sizeof own);
	memset(candidate, 0, sizeof candidate);
	return 0;
}
