/* Wires the network layer's modules together (see net.h). */
#include "net/net.h"

#include "net/conn.h"
#include "net/http.h"
#include "net/ws.h"

void net_module_init(const struct config *cfg)
{
	conn_module_init(cfg);
	http_module_init(cfg);
	ws_module_init(cfg);
	conn_set_first_proto(&http_conn_ops);
}

void net_module_fini(void)
{
	conn_module_fini();
}
