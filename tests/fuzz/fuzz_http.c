/* libFuzzer target: the HTTP request path. Each input is fed, in two reads
 * split where its first byte says, to a fresh connection on a socketpair
 * whose router answers 200 to everything; the connection is then closed
 * and freed, so no state is carried over and leaks show. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/http.h"
#include "base/log.h"
#include "base/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;

static void router(struct http_request *req)
{
	http_respond(req, 200, "text/plain", NULL, "ok", 2);
}

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	loop_init();
	log_min_level = LOG_OFF;
	/* The schema's defaults, so the target meets the limits a server has. */
	config_limits_default(&cfg);
	cfg.limits.max_body = 64 * 1024;
	net_module_init(&cfg);
	http_set_router(router);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	init_once();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	conn *c = conn_new(sv[1], "fuzz", "fuzz", 0);
	if (c) {
		size_t split = size ? data[0] % size : 0;
		http_conn_input(c, (const char *)data, split);
		if (!conn_is_closing(c) && c->proto == CONN_HTTP)
			http_conn_input(c, (const char *)data + split, size - split);
		conn_close(c, "fuzz");
	}
	conn_run_deferred();
	close(sv[0]);
	return 0;
}
