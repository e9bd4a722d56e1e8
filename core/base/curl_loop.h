/* One curl multi handle driven by libev (an ev_io per socket from
 * CURLMOPT_SOCKETFUNCTION, one ev_timer from CURLMOPT_TIMERFUNCTION),
 * shared by every plugin and script that makes HTTP or SMTP calls. */
#ifndef PARLEY_CURL_LOOP_H
#define PARLEY_CURL_LOOP_H

typedef void (*curl_loop_done)(void *easy, int curlcode, void *arg);

int curl_loop_init(void);
void curl_loop_fini(void); /* aborts transfers in flight (done with an error) */
/* Aborts every transfer in flight now: each done runs with
 * CURLE_ABORTED_BY_CALLBACK (the plugin host, before plugins finish). */
void curl_loop_abort_all(void);
/* Adds a prepared easy handle; done(easy, code, arg) on the loop thread
 * when the transfer ends. The handle remains the caller's to clean up. */
int curl_loop_add(void *easy, curl_loop_done done, void *arg);
/* Removes a transfer early; its done is not called. */
void curl_loop_remove(void *easy);
/* Transfers in flight. */
int curl_loop_running(void);

#endif
