/* The serving process: config -> plugins -> listeners -> loop, and the
 * signals (SIGTERM/SIGINT: graceful stop within limits.shutdown_timeout;
 * SIGHUP: reload what can be reloaded). */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

struct config;

/* Serves until a stop signal; returns the process exit code. */
int server_run(struct config *cfg);
/* Process-wide allocator settings for serving (also used by bench/). */
void server_tune_memory(void);
/* Starts a graceful stop (as SIGTERM). */
void server_stop(void);
/* 1 while stopping. */
int server_stopping(void);

#endif
