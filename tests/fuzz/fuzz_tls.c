/* libFuzzer target: the TLS listener's input path. Each input is what a
 * client sends first on a TLS connection (a ClientHello, usually broken),
 * written in two parts, split where its first byte says, into a socketpair
 * whose other end is a fresh connection accepted with a TLS listener's
 * settings; the loop runs once after each part, so conn.c's handshake
 * step and mbedTLS's parsing see it as they would from a socket. The
 * connection is then closed and freed, so leaks show.
 *
 * The certificate is made at start-up (P-256, self-signed), so no key is
 * checked in. Seeds: tests/fuzz/corpus/tls/ (real ClientHellos). */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "base/config.h"
#include "net/conn.h"
#include "net/net.h"
#include "base/log.h"
#include "base/loop.h"
#include "net/tls.h"

#define FUZZ_PEM_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct tls_server *srv;

static int write_file(const char *path, const unsigned char *pem)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs((const char *)pem, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A self-signed P-256 certificate and key in dir; 0 or -1. */
static int make_cert(const char *cert_path, const char *key_path)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context key;
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char pem[FUZZ_PEM_MAX];
	int rc = -1;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
	    mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
	                        mbedtls_ctr_drbg_random, &drbg) != 0 ||
	    mbedtls_pk_write_key_pem(&key, pem, sizeof pem) != 0 || write_file(key_path, pem) < 0)
		goto out;
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	if (mbedtls_x509write_crt_set_subject_name(&crt, "CN=localhost") != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&crt, "CN=localhost") != 0 ||
	    mbedtls_mpi_lset(&serial, 1) != 0 ||
	    mbedtls_x509write_crt_set_serial(&crt, &serial) != 0 ||
	    mbedtls_x509write_crt_set_validity(&crt, "20250101000000", "20450101000000") != 0 ||
	    mbedtls_x509write_crt_pem(&crt, pem, sizeof pem, mbedtls_ctr_drbg_random, &drbg) != 0 ||
	    write_file(cert_path, pem) < 0)
		goto out;
	rc = 0;
out:
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return rc;
}

static void init_once(void)
{
	static int done;
	char dir[] = "/tmp/parley-fuzz-tls-XXXXXX", cert[64], key[64], err[512];
	if (done)
		return;
	done = 1;
	loop_init();
	log_min_level = LOG_OFF;
	/* The schema's defaults, so the target meets the limits a server has. */
	config_limits_default(&cfg);
	net_module_init(&cfg);
	if (!mkdtemp(dir))
		abort();
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	if (make_cert(cert, key) < 0)
		abort();
	srv = tls_server_new(cert, key, err, sizeof err);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	if (!srv) {
		fprintf(stderr, "fuzz_tls: %s\n", err);
		abort();
	}
}

/* Writes part to the client end and lets the loop take it in once. */
static void feed(int fd, const uint8_t *part, size_t len)
{
	if (len && write(fd, part, len) < 0)
		return;
	ev_run(loop_ev, EVRUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	init_once();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	conn *c = conn_new(sv[1], "fuzz", "fuzz", srv);
	if (c) {
		uint64_t id = c->id;
		size_t split = size ? data[0] % size : 0;
		feed(sv[0], data, split);
		if (conn_find(id))
			feed(sv[0], data + split, size - split);
		if ((c = conn_find(id)))
			conn_close(c, "fuzz");
	}
	conn_run_deferred();
	close(sv[0]);
	return 0;
}
