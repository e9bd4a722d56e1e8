/* The network layer as one module: connections, HTTP on them, and the
 * WebSocket upgrade. conn.c names no protocol; this is where HTTP is made
 * the protocol every accepted connection starts with. */
#ifndef PARLEY_NET_H
#define PARLEY_NET_H

struct config;

/* Limits from cfg (kept, not copied: it must outlive the module). */
void net_module_init(const struct config *cfg);
/* Closes every connection. */
void net_module_fini(void);

#endif
