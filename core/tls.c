/* TLS listeners with mbedTLS 2.28 (see tls.h).
 *
 * Policy: TLS 1.2 and later only (mbedTLS 2.28 has no 1.3 server), ECDHE
 * key exchange with AEAD ciphers only (AES-GCM, ChaCha20-Poly1305), the
 * curves X25519, P-256 and P-384, ALPN "http/1.1", no renegotiation, no
 * session tickets or cache (a resumed session would need per-server
 * state shared across reloads; a full handshake costs ~1 ms here).
 *
 * Memory: mbedTLS gives every context an input and an output buffer of
 * MBEDTLS_SSL_IN/OUT_CONTENT_LEN plus record overhead, allocated in
 * mbedtls_ssl_setup. Debian builds both at 16 KiB without
 * MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH, and those sizes are compiled into
 * the shared library, so they cannot be lowered from here:
 * mbedtls_ssl_conf_max_frag_len only lets a client ask for smaller
 * records, it does not shrink the buffers. An idle TLS session therefore
 * holds ~33 KiB that a plain one does not (bench/README.md, "TLS").
 *
 * One random generator (CTR-DRBG over the system entropy) serves every
 * listener; it is used by handshakes, which run on the loop thread. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
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
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

/* Personalisation string for the DRBG seed. */
#define TLS_DRBG_PERS "parley-tls"

struct tls_server {
	int refs;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	struct tls_server *srv;
	int fd;
	int last_error;      /* mbedTLS code of the last failure, 0 none */
	unsigned char done;  /* handshake over */
	unsigned char wants; /* after TLS_AGAIN: 1 write, 0 read */
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
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	return t;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
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
	int rc = mbedtls_ssl_handshake(&t->ssl);
	if (rc != 0)
		return outcome(t, rc);
	t->done = 1;
	return 1;
}

int tls_conn_handshake_done(const struct tls_conn *t)
{
	return t->done;
}

ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t len)
{
	int rc = mbedtls_ssl_read(&t->ssl, buf, len);
	if (rc > 0)
		return rc;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return outcome(t, rc);
}

ssize_t tls_conn_write(struct tls_conn *t, const void *buf, size_t len)
{
	int rc = mbedtls_ssl_write(&t->ssl, buf, len);
	if (rc > 0)
		return rc;
	return outcome(t, rc == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : rc);
}

size_t tls_conn_max_write(const struct tls_conn *t)
{
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
	if (t->done)
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
