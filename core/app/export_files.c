/* Attached files into an export folder (see export_files.h). */
#include "app/export_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/sha256.h>

#include "app/cli_runtime.h"
#include "host/plugin_host.h"

#define FILES_PATH 4096

static struct {
	int pending, rc, fd;
	int64_t got; /* bytes of the last read, -1 on error */
	char key[256], name[256], type[128], error[200];
	mbedtls_sha256_context sha;
	int64_t size;
} xf;

static void turn(void)
{
	cli_runtime_wait(&xf.pending);
}

static void record_done(void *ud, const parley_store_result *res)
{
	(void)ud;
	xf.pending = 0;
	xf.rc = res->rc;
	if (res->rc == PARLEY_OK && res->n_uploads == 1) {
		const parley_upload *u = &res->uploads[0];
		snprintf(xf.key, sizeof xf.key, "%s", u->key);
		snprintf(xf.name, sizeof xf.name, "%s", u->name ? u->name : "");
		snprintf(xf.type, sizeof xf.type, "%s", u->type ? u->type : "");
	}
}

static int take(const void *data, size_t n)
{
	if (write(xf.fd, data, n) != (ssize_t)n)
		return -1;
	mbedtls_sha256_update_ret(&xf.sha, data, n);
	xf.size += (int64_t)n;
	return 0;
}

static void chunk_done(void *ud, int rc, const void *data, size_t n, const char *error)
{
	(void)ud;
	xf.pending = 0;
	xf.got = rc == PARLEY_OK ? (int64_t)n : -1;
	if (rc != PARLEY_OK)
		snprintf(xf.error, sizeof xf.error, "%s", error ? error : "read failed");
	else if (n && take(data, n) < 0) {
		xf.got = -1;
		snprintf(xf.error, sizeof xf.error, "%s", strerror(errno));
	}
}

static int by_reads(const parley_uploads_vtable *vt, void *self)
{
	for (;;) {
		xf.pending = 1;
		int rc = vt->read(self, xf.key, xf.size, EXPORT_FILE_CHUNK, chunk_done, NULL);
		if (rc != PARLEY_PENDING) {
			snprintf(xf.error, sizeof xf.error, "the provider refused the read");
			return -1;
		}
		turn();
		if (xf.got < 0)
			return -1;
		if (xf.got == 0)
			return 0;
	}
}

static size_t curl_take(char *data, size_t size, size_t n, void *ud)
{
	(void)ud;
	return take(data, size * n) < 0 ? 0 : size * n;
}

/* A provider that only presigns (uploads_s3): one GET of the URL. */
static int by_url(const parley_uploads_vtable *vt, void *self)
{
	char *url = NULL;
	if (vt->presign(self, xf.key, NULL, NULL, &url) != PARLEY_OK || !url) {
		snprintf(xf.error, sizeof xf.error, "the provider cannot presign");
		return -1;
	}
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode cc = CURLE_FAILED_INIT;
	if (c) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_take);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	plugins_host()->free(NULL, url);
	if (cc != CURLE_OK || status != 200) {
		snprintf(xf.error, sizeof xf.error, "GET of the presigned URL: %s (HTTP %ld)",
		         curl_easy_strerror(cc), status);
		return -1;
	}
	return 0;
}

static int id_ok(const char *id)
{
	if (strncmp(id, "up_", 3) != 0 || !id[3] || strlen(id) > 32)
		return 0;
	for (const char *p = id + 3; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static int fetch_one(const char *dir, const char *id, json_t **entry, char *err, size_t errlen)
{
	void *sself, *uself;
	const parley_store_vtable *st = plugins_uploads_store(&sself);
	const parley_uploads_vtable *vt = plugins_uploads(&uself);
	char path[FILES_PATH];
	*entry = NULL;
	if (!id_ok(id))
		return 0;
	xf.pending = 1;
	xf.key[0] = '\0';
	if (!st || st->upload_get(sself, id, record_done, NULL) != PARLEY_PENDING) {
		snprintf(err, errlen, "the store has no upload records");
		return -1;
	}
	turn();
	if (xf.rc == PARLEY_ENOTFOUND || !xf.key[0]) {
		fprintf(stderr, "parley: export: %s: no such upload (left out)\n", id);
		return 0;
	}
	if (!vt || (!vt->read && !vt->presign)) {
		snprintf(err, errlen, "no uploads provider to read %s from", id);
		return -1;
	}
	snprintf(path, sizeof path, "%s/files/%s", dir, id);
	xf.fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (xf.fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	xf.size = 0;
	xf.error[0] = '\0';
	mbedtls_sha256_init(&xf.sha);
	mbedtls_sha256_starts_ret(&xf.sha, 0);
	int rc = vt->read ? by_reads(vt, uself) : by_url(vt, uself);
	unsigned char digest[32];
	char hex[65];
	mbedtls_sha256_finish_ret(&xf.sha, digest);
	mbedtls_sha256_free(&xf.sha);
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	if (close(xf.fd) < 0 && rc == 0)
		snprintf(xf.error, sizeof xf.error, "%s", strerror(errno)), rc = -1;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", id, xf.error);
		return -1;
	}
	*entry = json_pack("{s:s, s:s, s:I, s:s}", "name", xf.name, "type", xf.type, "size",
	                   (json_int_t)xf.size, "sha256", hex);
	return *entry ? 0 : -1;
}

int export_files_fetch(const char *dir, json_t *files, char *err, size_t errlen)
{
	char path[FILES_PATH];
	if (snprintf(path, sizeof path, "%s/files", dir) >= (int)sizeof path ||
	    mkdir(path, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	const char *id;
	json_t *v, *tmp;
	json_object_foreach_safe(files, tmp, id, v)
	{
		json_t *entry;
		if (fetch_one(dir, id, &entry, err, errlen) < 0)
			return -1;
		if (entry)
			json_object_set_new(files, id, entry);
		else
			json_object_del(files, id);
	}
	return 0;
}
