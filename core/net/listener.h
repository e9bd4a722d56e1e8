/* Listening sockets from server.listen (IPv4 and IPv6); accepted sockets
 * become connections speaking HTTP. */
#ifndef PARLEY_LISTENER_H
#define PARLEY_LISTENER_H

struct config;

/* Binds every configured address; 0, or -1 after logging which failed. */
int listener_start(const struct config *cfg);
/* SIGHUP: loads every TLS listener's certificate and key again; new
 * connections get them, open ones keep theirs. A file that fails to load
 * is logged and the certificate in use stays. */
void listener_reload_tls(void);
/* Stops accepting (SIGTERM) and closes the sockets. */
void listener_stop(void);
/* The port actually bound by the i-th listener (for ":0" in tests). */
int listener_port(int i);

#endif
