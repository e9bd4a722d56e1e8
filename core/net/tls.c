/* TLS listeners with mbedTLS 2.28 (see tls.h).
 *
 * Policy: TLS 1.2 and later only (mbedTLS 2.28 has no 1.3 server), ECDHE
 * key exchange with AEAD ciphers only (AES-GCM, ChaCha20-Poly1305), the
 * curves X25519, P-256 and P-384, ALPN "http/1.1", no renegotiation, no
 * session tickets or cache (a resumed session would need per-server
 * state kept across reloads, for a handshake saved now and then).
 *
 * Memory: mbedTLS gives every context an input and an output buffer of
 * MBEDTLS_SSL_IN/OUT_CONTENT_LEN plus record overhead, allocated in
 * mbedtls_ssl_setup. Debian builds both at 16 KiB without
 * MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH, and those sizes are compiled into
 * the shared library, so they cannot be lowered from here:
 * mbedtls_ssl_conf_max_frag_len only lets a client ask for smaller
 * records, it does not shrink the buffers, and mbedtls_ssl_context_save
 * refuses TLS (DTLS only in 2.28). That is ~33 KiB per session.
 *
 * So an idle session is "parked": once it has been idle for
 * TLS_PARK_IDLE_SECONDS with nothing half read or half written, both
 * buffers are freed, keeping only their heads (the 8-byte record
 * counters, the last header and IV, which are live state) and the
 * offsets of mbedTLS's pointers into them. The next call on the session
 * allocates them again and puts heads and pointers back, which is what
 * mbedTLS's own buffer resizing (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH) does
 * on a realloc. Everything past the head is dead between records: the
 * record was consumed (in_left, in_msglen 0, in_offt NULL) and nothing
 * waits to be sent (out_left 0). This touches mbedTLS 2.x's context
 * fields, public in 2.x headers; it is compiled only for 2.x without
 * variable buffers, and other builds simply keep the buffers. An idle
 * TLS WebSocket then costs a few KiB (bench/README.md, "TLS").
 *
 * One random generator (CTR-DRBG over the system entropy) serves every
 * listener; it is used by handshakes, which run on the loop thread. */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "base/config.h"
#include "base/conf_tree.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"

#if MBEDTLS_VERSION_MAJOR == 2 && !defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
#include <mbedtls/ssl_internal.h> /* MBEDTLS_SSL_IN/OUT_BUFFER_LEN */
#define TLS_PARKING 1
#else
#define TLS_PARKING 0
#endif

/* Idle this long, a session's record buffers are freed (see above). */
#define TLS_PARK_IDLE_SECONDS 1.0
/* Sessions parked (~33 KiB each) before their memory goes back to the
 * system. */
#define TLS_TRIM_AFTER 64
/* Bytes kept from the start of each buffer: counter, header, CID, IV. */
#define TLS_PARK_HEAD 64
/* mbedTLS's pointers into one buffer: ctr, hdr, len, iv, msg (+ cid). */
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
#define TLS_PARK_PTRS 6
#else
#define TLS_PARK_PTRS 5
#endif

/* Personalisation string for the DRBG seed. */
#define TLS_DRBG_PERS "parley-tls"

struct tls_server {
	int refs;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
};

/* One parked buffer: its head and where mbedTLS's pointers were. */
struct parked_buf {
	unsigned char head[TLS_PARK_HEAD];
	unsigned char off[TLS_PARK_PTRS];
	unsigned char keep; /* bytes of head that were saved */
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	struct tls_server *srv;
	int fd;
	int last_error;      /* mbedTLS code of the last failure, 0 none */
	unsigned char done;  /* handshake over */
	unsigned char wants; /* after TLS_AGAIN: 1 write, 0 read */
	unsigned char parked;
	struct tls_conn *awake_prev, *awake_next; /* on the awake list */
	double last_used;                         /* loop time of the last call */
	unsigned char awake;                      /* on the awake list */
	struct parked_buf park[2];                /* input, output; while parked */
};

static const int tls_ciphersuites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};

static const mbedtls_ecp_group_id tls_curves[] = {
    MBEDTLS_ECP_DP_CURVE25519,
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE,
};

static const char *tls_alpn[] = {"http/1.1", NULL};

static struct {
	int ready;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
} rng;

/* Sessions whose buffers are allocated, swept by park_timer. */
static struct tls_conn *awake_head;
static ev_timer park_timer;
static int park_timer_init;
static size_t parked_since_trim;

static struct {
	metric *sessions;           /* gauge: open TLS sessions */
	metric *parked;             /* gauge: of those, parked */
	metric *handshake_failures; /* counter */
} tls_metrics;

static void metrics_once(void)
{
	if (tls_metrics.sessions)
		return;
	tls_metrics.sessions = metric_gauge("parley_tls_sessions", "open TLS connections", NULL);
	tls_metrics.parked =
	    metric_gauge("parley_tls_sessions_parked",
	                 "TLS connections idle with their record buffers freed", NULL);
	tls_metrics.handshake_failures = metric_counter("parley_tls_handshake_failures_total",
	                                                "TLS handshakes that failed", NULL);
}

static void describe_error(int code, char *out, size_t n)
{
	mbedtls_strerror(code, out, n);
}

static int rng_init(char *err, size_t n)
{
	if (rng.ready)
		return 0;
	mbedtls_entropy_init(&rng.entropy);
	mbedtls_ctr_drbg_init(&rng.drbg);
	int rc =
	    mbedtls_ctr_drbg_seed(&rng.drbg, mbedtls_entropy_func, &rng.entropy,
	                          (const unsigned char *)TLS_DRBG_PERS, sizeof TLS_DRBG_PERS - 1);
	if (rc != 0) {
		char why[128];
		describe_error(rc, why, sizeof why);
		snprintf(err, n, "cannot seed the random generator: %s", why);
		mbedtls_ctr_drbg_free(&rng.drbg);
		mbedtls_entropy_free(&rng.entropy);
		return -1;
	}
	rng.ready = 1;
	return 0;
}

void tls_module_fini(void)
{
	if (park_timer_init && loop_ev)
		ev_timer_stop(loop_ev, &park_timer);
	memset(&tls_metrics, 0, sizeof tls_metrics); /* freed by metrics_free_all */
	if (!rng.ready)
		return;
	mbedtls_ctr_drbg_free(&rng.drbg);
	mbedtls_entropy_free(&rng.entropy);
	rng.ready = 0;
}

/* mbedTLS reports a missing file as a bare "file I/O error": ask the
 * system first, so the message says why. */
static int readable(const char *path, const char *what, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "%s %s: cannot read: %s", what, path, strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* Parses chain and key and checks that they pair. 0, TLS_BAD_CERT or
 * TLS_BAD_KEY (err set). */
static int load_pair(mbedtls_x509_crt *chain, mbedtls_pk_context *key, const char *cert_path,
                     const char *key_path, char *err, size_t n)
{
	char why[160];
	if (!readable(cert_path, "certificate", err, n))
		return TLS_BAD_CERT;
	if (!readable(key_path, "key", err, n))
		return TLS_BAD_KEY;
	int rc = mbedtls_x509_crt_parse_file(chain, cert_path);
	if (rc != 0) {
		describe_error(rc, why, sizeof why);
		snprintf(err, n, "certificate %s: %s%s", cert_path,
		         rc > 0 ? "some certificates in the file do not parse" : "cannot parse: ",
		         rc > 0 ? "" : why);
		return TLS_BAD_CERT;
	}
	rc = mbedtls_pk_parse_keyfile(key, key_path, NULL);
	if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
		snprintf(err, n,
		         "key %s: is protected by a password (not supported: store it "
		         "unencrypted, readable by the server only)",
		         key_path);
		return TLS_BAD_KEY;
	}
	if (rc != 0) {
		describe_error(rc, why, sizeof why);
		snprintf(err, n, "key %s: cannot parse: %s", key_path, why);
		return TLS_BAD_KEY;
	}
	if (mbedtls_pk_check_pair(&chain->pk, key) != 0) {
		snprintf(err, n,
		         "key %s does not belong to certificate %s (the first one in the file)",
		         key_path, cert_path);
		return TLS_BAD_KEY;
	}
	return 0;
}

int tls_check_files(const char *cert, const char *key, char *err, size_t n)
{
	mbedtls_x509_crt chain;
	mbedtls_pk_context pk;
	mbedtls_x509_crt_init(&chain);
	mbedtls_pk_init(&pk);
	int rc = load_pair(&chain, &pk, cert, key, err, n);
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&chain);
	return rc;
}

struct tls_server *tls_server_new(const char *cert, const char *key, char *err, size_t n)
{
	char why[160];
	if (rng_init(err, n) < 0)
		return NULL;
	metrics_once();
	struct tls_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	s->refs = 1;
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_x509_crt_init(&s->chain);
	mbedtls_pk_init(&s->key);
	if (load_pair(&s->chain, &s->key, cert, key, err, n) != 0)
		goto fail;
	int rc =
	    mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER,
	                                MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc == 0)
		rc = mbedtls_ssl_conf_own_cert(&s->conf, &s->chain, &s->key);
	if (rc == 0)
		rc = mbedtls_ssl_conf_alpn_protocols(&s->conf, tls_alpn);
	if (rc != 0) {
		describe_error(rc, why, sizeof why);
		snprintf(err, n, "TLS settings: %s", why);
		goto fail;
	}
	mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &rng.drbg);
	mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&s->conf, tls_ciphersuites);
	mbedtls_ssl_conf_curves(&s->conf, tls_curves);
	mbedtls_ssl_conf_renegotiation(&s->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	return s;
fail:
	tls_server_unref(s);
	return NULL;
}

struct tls_server *tls_server_ref(struct tls_server *s)
{
	s->refs++;
	return s;
}

void tls_server_unref(struct tls_server *s)
{
	if (!s || --s->refs > 0)
		return;
	mbedtls_ssl_config_free(&s->conf);
	mbedtls_pk_free(&s->key);
	mbedtls_x509_crt_free(&s->chain);
	free(s);
}

void tls_server_describe(const struct tls_server *s, char *out, size_t n)
{
	char subject[200];
	const mbedtls_x509_crt *leaf = &s->chain;
	if (mbedtls_x509_dn_gets(subject, sizeof subject, &leaf->subject) < 0)
		snprintf(subject, sizeof subject, "?");
	const mbedtls_x509_time *t = &leaf->valid_to;
	snprintf(out, n, "%s, valid until %04d-%02d-%02d %02d:%02d:%02d UTC%s", subject, t->year,
	         t->mon, t->day, t->hour, t->min, t->sec,
	         mbedtls_x509_time_is_past(t) ? " (EXPIRED)" : "");
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	for (;;) {
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
		                                             : MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	for (;;) {
		ssize_t n = read(t->fd, buf, len);
		if (n >= 0)
			return (int)n; /* 0: EOF, which mbedTLS reports as CONN_EOF */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
		                           : MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

#if TLS_PARKING
/* mbedTLS's pointers into its input (in) or output buffer. */
static void buf_ptrs(mbedtls_ssl_context *s, int in, unsigned char **p[TLS_PARK_PTRS])
{
	p[0] = in ? &s->in_ctr : &s->out_ctr;
	p[1] = in ? &s->in_hdr : &s->out_hdr;
	p[2] = in ? &s->in_len : &s->out_len;
	p[3] = in ? &s->in_iv : &s->out_iv;
	p[4] = in ? &s->in_msg : &s->out_msg;
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
	p[5] = in ? &s->in_cid : &s->out_cid;
#endif
}

/* Records where the pointers are and saves the head up to the furthest;
 * -1 (nothing changed) when one points past the head. */
static int save_head(unsigned char *buf, unsigned char **const p[TLS_PARK_PTRS],
                     struct parked_buf *pb)
{
	unsigned keep = 0;
	for (int i = 0; i < TLS_PARK_PTRS; i++) {
		if (*p[i] < buf || *p[i] > buf + TLS_PARK_HEAD)
			return -1;
		pb->off[i] = (unsigned char)(*p[i] - buf);
		if (pb->off[i] > keep)
			keep = pb->off[i];
	}
	pb->keep = (unsigned char)keep;
	memcpy(pb->head, buf, keep);
	return 0;
}

static void restore_head(unsigned char *buf, unsigned char **const p[TLS_PARK_PTRS],
                         const struct parked_buf *pb)
{
	memcpy(buf, pb->head, pb->keep);
	for (int i = 0; i < TLS_PARK_PTRS; i++)
		*p[i] = buf + pb->off[i];
}

/* Frees both record buffers of an idle, established session. */
static void park(struct tls_conn *t)
{
	mbedtls_ssl_context *s = &t->ssl;
	unsigned char **in[TLS_PARK_PTRS], **out[TLS_PARK_PTRS];
	if (t->parked || !t->done || !s->in_buf || !s->out_buf || s->in_left || s->in_msglen ||
	    s->in_offt || s->out_left)
		return; /* busy, or mid-record: keep everything */
	buf_ptrs(s, 1, in);
	buf_ptrs(s, 0, out);
	if (save_head(s->in_buf, in, &t->park[0]) < 0 ||
	    save_head(s->out_buf, out, &t->park[1]) < 0)
		return;
	mbedtls_free(s->in_buf);
	mbedtls_free(s->out_buf);
	s->in_buf = s->out_buf = NULL;
	for (int i = 0; i < TLS_PARK_PTRS; i++)
		*in[i] = *out[i] = NULL;
	t->parked = 1;
	metric_add(tls_metrics.parked, 1);
}

static int unpark(struct tls_conn *t)
{
	mbedtls_ssl_context *s = &t->ssl;
	unsigned char **in[TLS_PARK_PTRS], **out[TLS_PARK_PTRS];
	unsigned char *ib = mbedtls_calloc(1, MBEDTLS_SSL_IN_BUFFER_LEN);
	unsigned char *ob = mbedtls_calloc(1, MBEDTLS_SSL_OUT_BUFFER_LEN);
	if (!ib || !ob) {
		mbedtls_free(ib);
		mbedtls_free(ob);
		return -1;
	}
	buf_ptrs(s, 1, in);
	buf_ptrs(s, 0, out);
	s->in_buf = ib;
	s->out_buf = ob;
	restore_head(ib, in, &t->park[0]);
	restore_head(ob, out, &t->park[1]);
	t->parked = 0;
	metric_add(tls_metrics.parked, -1);
	return 0;
}
#endif

static void awake_remove(struct tls_conn *t)
{
	if (!t->awake)
		return;
	if (t->awake_prev)
		t->awake_prev->awake_next = t->awake_next;
	else
		awake_head = t->awake_next;
	if (t->awake_next)
		t->awake_next->awake_prev = t->awake_prev;
	t->awake_prev = t->awake_next = NULL;
	t->awake = 0;
	if (!awake_head && park_timer_init)
		ev_timer_stop(loop_ev, &park_timer);
}

/* Every TLS_PARK_IDLE_SECONDS: parks the sessions idle that long. */
static void park_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	double now = ev_now(l);
	struct tls_conn *t = awake_head;
	size_t parked = 0;
	while (t) {
		struct tls_conn *next = t->awake_next;
#if TLS_PARKING
		if (now - t->last_used >= TLS_PARK_IDLE_SECONDS) {
			park(t);
			if (t->parked) {
				awake_remove(t);
				parked++;
			}
		}
#else
		(void)now;
		awake_remove(t);
#endif
		t = next;
	}
	parked_since_trim += parked;
	if (parked_since_trim >= TLS_TRIM_AFTER) {
		/* The freed buffers sit between live small blocks, so glibc
		 * cannot shrink the heap by itself (and server_tune_memory
		 * raised its trim threshold): give their pages back. At most
		 * once a sweep, and only after a wave of sessions went idle. */
		malloc_trim(0);
		parked_since_trim = 0;
	}
}

/* Before every call into mbedTLS on t: its buffers back (TLS_ERROR when
 * out of memory), and t on the awake list with a fresh time. */
static int wake(struct tls_conn *t)
{
#if TLS_PARKING
	if (t->parked && unpark(t) < 0) {
		t->last_error = MBEDTLS_ERR_SSL_ALLOC_FAILED;
		return TLS_ERROR;
	}
#endif
	if (!loop_ev)
		return 0; /* no loop (a test program): nothing is ever parked */
	t->last_used = ev_now(loop_ev);
	if (t->awake)
		return 0;
	t->awake = 1;
	t->awake_prev = NULL;
	t->awake_next = awake_head;
	if (awake_head)
		awake_head->awake_prev = t;
	awake_head = t;
	if (!park_timer_init) {
		ev_init(&park_timer, park_cb);
		park_timer.repeat = TLS_PARK_IDLE_SECONDS;
		park_timer_init = 1;
	}
	if (!ev_is_active(&park_timer))
		ev_timer_again(loop_ev, &park_timer);
	return 0;
}

struct tls_conn *tls_conn_new(struct tls_server *s, int fd)
{
	struct tls_conn *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &s->conf) != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	t->srv = tls_server_ref(s);
	t->fd = fd;
	metric_add(tls_metrics.sessions, 1);
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	return t;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	awake_remove(t);
	metric_add(tls_metrics.sessions, -1);
	if (t->parked)
		metric_add(tls_metrics.parked, -1);
	mbedtls_ssl_free(&t->ssl); /* parked: in_buf and out_buf are NULL, skipped */
	tls_server_unref(t->srv);
	free(t);
}

/* Maps an mbedTLS result to TLS_AGAIN / TLS_ERROR and remembers why. */
static int outcome(struct tls_conn *t, int rc)
{
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->wants = rc == MBEDTLS_ERR_SSL_WANT_WRITE;
		return TLS_AGAIN;
	}
	t->last_error = rc;
	return TLS_ERROR;
}

int tls_conn_handshake(struct tls_conn *t)
{
	if (t->done)
		return 1;
	if (wake(t) < 0)
		return TLS_ERROR;
	int rc = mbedtls_ssl_handshake(&t->ssl);
	if (rc != 0) {
		int r = outcome(t, rc);
		if (r == TLS_ERROR)
			metric_add(tls_metrics.handshake_failures, 1);
		return r;
	}
	t->done = 1;
	return 1;
}

int tls_conn_handshake_done(const struct tls_conn *t)
{
	return t->done;
}

ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t len)
{
	if (wake(t) < 0)
		return TLS_ERROR;
	int rc = mbedtls_ssl_read(&t->ssl, buf, len);
	if (rc > 0)
		return rc;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return outcome(t, rc);
}

ssize_t tls_conn_write(struct tls_conn *t, const void *buf, size_t len)
{
	if (wake(t) < 0)
		return TLS_ERROR;
	int rc = mbedtls_ssl_write(&t->ssl, buf, len);
	if (rc > 0)
		return rc;
	return outcome(t, rc == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : rc);
}

size_t tls_conn_max_write(struct tls_conn *t)
{
	if (wake(t) < 0)
		return 1024; /* the write that follows reports the error */
	int n = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
	return n > 0 ? (size_t)n : 1024;
}

int tls_conn_wants_write(const struct tls_conn *t)
{
	return t->wants;
}

void tls_conn_close_notify(struct tls_conn *t)
{
	/* A close_notify is one small record sent after the queue has
	 * drained, so the socket takes it; if it does not, the peer sees a
	 * plain EOF, which HTTP and WebSocket tolerate (their own framing
	 * already said where the data ends). */
	if (t->done && wake(t) == 0)
		(void)mbedtls_ssl_close_notify(&t->ssl);
}

const char *tls_conn_error(const struct tls_conn *t)
{
	static char buf[160];
	buf[0] = '\0';
	if (t->last_error)
		describe_error(t->last_error, buf, sizeof buf);
	return buf;
}

int tls_check_config(const struct config *cfg)
{
	int errors = 0;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct listen_spec *l = &cfg->listen[i];
		char err[512];
		if (!l->tls_cert || !l->tls_key)
			continue;
		int bad = tls_check_files(l->tls_cert, l->tls_key, err, sizeof err);
		if (!bad)
			continue;
		errors++;
		if (l->tls_node)
			conf_error(l->tls_node, bad == TLS_BAD_KEY ? "key" : "cert", "%s", err);
		else
			log_error("config_error", NULL, "%s", err);
	}
	return errors;
}
