/* The server key (see secret.h). */
#include "base/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/log.h"

#define SECRET_FILE "server.key"

static unsigned char key[SECRET_BYTES];
static int have_key;
static unsigned char previous[SECRET_BYTES];
static int have_previous;

static int read_all(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int make_key(const char *path)
{
	char tmp[4096 + 8];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
	close(fd);
	/* Two processes racing (server and CLI): link fails for the second,
	 * which then reads the winner's key. */
	if (ok && link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	unlink(tmp);
	return 1;
}

static int key_path(const char *data_dir, char *path, size_t size)
{
	if (snprintf(path, size, "%s/%s", data_dir ? data_dir : ".", SECRET_FILE) >= (int)size) {
		log_error("secret", NULL, "the data_dir path is too long");
		return -1;
	}
	return 0;
}

int secret_file_read(const char *data_dir, unsigned char out[SECRET_BYTES])
{
	char path[4096];
	if (key_path(data_dir, path, sizeof path) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_error("secret", NULL, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = read_all(fd, out, SECRET_BYTES);
	close(fd);
	if (rc < 0) {
		log_error("secret", NULL, "%s is shorter than %d bytes", path, SECRET_BYTES);
		return -1;
	}
	return 1;
}

void secret_set(const unsigned char k[SECRET_BYTES])
{
	memcpy(key, k, SECRET_BYTES);
	have_key = 1;
}

void secret_set_previous(const unsigned char k[SECRET_BYTES])
{
	memcpy(previous, k, SECRET_BYTES);
	have_previous = 1;
}

int secret_init(const char *data_dir)
{
	char path[4096];
	if (key_path(data_dir, path, sizeof path) < 0)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			int rc = read_all(fd, key, sizeof key);
			close(fd);
			if (rc == 0) {
				have_key = 1;
				return 0;
			}
			log_error("secret", NULL, "%s is shorter than %d bytes", path,
			          SECRET_BYTES);
			return -1;
		}
		if (errno != ENOENT)
			break;
		int rc = make_key(path);
		if (rc == 0) {
			have_key = 1;
			return 0;
		}
		if (rc < 0)
			break;
	}
	log_error("secret", NULL, "cannot read or create %s: %s", path, strerror(errno));
	return -1;
}

static void sign_with(const unsigned char *k, const char *purpose, const char *msg, char *out)
{
	unsigned char mac[32];
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;

	out[0] = '\0';
	mbedtls_md_init(&ctx);
	if (mbedtls_md_setup(&ctx, md, 1) != 0 || mbedtls_md_hmac_starts(&ctx, k, SECRET_BYTES) ||
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)purpose, strlen(purpose)) ||
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)":", 1) ||
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)msg, strlen(msg)) ||
	    mbedtls_md_hmac_finish(&ctx, mac)) {
		mbedtls_md_free(&ctx);
		return;
	}
	mbedtls_md_free(&ctx);
	for (size_t i = 0; i < sizeof mac; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void secret_sign(const char *purpose, const char *msg, char *out)
{
	out[0] = '\0';
	if (have_key)
		sign_with(key, purpose, msg, out);
}

static int same_sig(const unsigned char *k, const char *purpose, const char *msg, const char *sig)
{
	char want[SECRET_SIG_HEX + 1];
	unsigned diff = 0;

	sign_with(k, purpose, msg, want);
	if (!want[0])
		return 0;
	for (size_t i = 0; i < SECRET_SIG_HEX; i++)
		diff |= (unsigned)(want[i] ^ sig[i]);
	return diff == 0;
}

int secret_verify(const char *purpose, const char *msg, const char *sig)
{
	if (!sig || strlen(sig) != SECRET_SIG_HEX)
		return 0;
	/* Both compared: the time does not tell which key matched. */
	int current = have_key && same_sig(key, purpose, msg, sig);
	int before = have_previous && same_sig(previous, purpose, msg, sig);
	return current || before;
}
