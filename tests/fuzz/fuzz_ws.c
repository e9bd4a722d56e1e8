/* libFuzzer target: the WebSocket frame path. A fresh connection on a
 * socketpair is upgraded (the router calls ws_accept), then the input is
 * fed as the client's frame stream in two reads split where its first
 * byte says; a test app echoes text. The first byte's top bit says
 * whether the app authenticates the session at once, so both sides of
 * limits.preauth_bytes are reached, and limits.max_fragments with them
 * (all limits are the schema's defaults). The connection is closed and
 * freed after each input. */
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
#include "net/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static int app_state;
static int auth_at_open;

static void *app_open(conn *c, const struct http_request *req)
{
	(void)req;
	if (auth_at_open)
		ws_set_authenticated(c);
	return &app_state;
}

static void app_text(conn *c, const char *data, size_t len)
{
	ws_send_text(c, data, len);
}

static void app_closed(conn *c)
{
	(void)c;
}

static const struct ws_app app = {app_open, app_text, app_closed};

static void router(struct http_request *req)
{
	ws_accept(req);
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
	cfg.limits.max_frame = 4096; /* small frames: more of them per input */
	net_module_init(&cfg);
	http_set_router(router);
	ws_set_app(&app);
}

static const char upgrade[] =
    "GET /ws HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	init_once();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	auth_at_open = size && (data[0] & 0x80);
	conn *c = conn_new(sv[1], "fuzz", "fuzz", 0);
	if (c) {
		http_conn_input(c, upgrade, sizeof upgrade - 1);
		size_t split = size ? data[0] % size : 0;
		if (c->proto == CONN_WS) {
			ws_input(c, (const char *)data, split);
			ws_input(c, (const char *)data + split, size - split);
		}
		conn_close(c, "fuzz");
	}
	conn_run_deferred();
	close(sv[0]);
	return 0;
}
