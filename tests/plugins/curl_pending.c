/* Test plugin: starts one HTTP transfer through the host's curl multi to
 * its `url` (the test points it at a socket that never answers) and keeps
 * the transfer's state in accounted memory, freed by the done callback.
 * The host must finish such a transfer while the plugin is still loaded:
 * before its fini, with done called (aborted), so nothing leaks and no
 * callback runs into unloaded code. */
#include <curl/curl.h>

#include <parley/plugin.h>

struct pending {
	const parley_host *host;
	parley_ctx *ctx;
	CURL *easy;
};

static int check(const parley_host *host, parley_ctx *ctx)
{
	const char *url;
	if (host->conf_str(host->conf(ctx), "url", &url) != 1) {
		host->conf_error(host->conf(ctx), "url", "is required");
		return PARLEY_EINVAL;
	}
	return PARLEY_OK;
}

static void transfer_done(void *easy, int curlcode, void *arg)
{
	struct pending *p = arg;
	p->host->log(p->ctx, PARLEY_LOG_INFO, "transfer_done", "curl code %d", curlcode);
	curl_easy_cleanup(easy);
	p->host->free(p->ctx, p);
}

static int init(const parley_host *host, parley_ctx *ctx, void **state)
{
	const char *url;
	host->conf_str(host->conf(ctx), "url", &url);
	struct pending *p = host->calloc(ctx, 1, sizeof *p);
	if (!p)
		return PARLEY_ENOMEM;
	p->host = host;
	p->ctx = ctx;
	p->easy = curl_easy_init();
	if (!p->easy) {
		host->free(ctx, p);
		return PARLEY_ENOMEM;
	}
	curl_easy_setopt(p->easy, CURLOPT_URL, url);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT, 60L);
	if (host->curl_add(ctx, p->easy, transfer_done, p) != PARLEY_OK) {
		curl_easy_cleanup(p->easy);
		host->free(ctx, p);
		return PARLEY_EUNAVAIL;
	}
	*state = NULL;
	return PARLEY_OK;
}

static void fini(void *state)
{
	(void)state;
}

static const parley_plugin curl_pending = {
    .abi = PARLEY_PLUGIN_ABI,
    .name = "curl_pending",
    .version = "0.0.1",
    .check = check,
    .init = init,
    .fini = fini,
};

PARLEY_PLUGIN_DEFINE(curl_pending)
