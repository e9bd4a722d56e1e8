/* Files: POST /api/uploads streams a request body to the uploads provider
 * (sniffing its type, hashing it, counting it against max_upload and the
 * daily quota, pausing the socket while the provider is behind), runs the
 * upload hooks and records it in the store; GET /api/uploads/{id} checks
 * access and streams the file or redirects to a presigned URL
 * (downloads.c); a timer removes uploads left unattached. */
#ifndef PARLEY_UPLOADS_H
#define PARLEY_UPLOADS_H

#include <stdint.h>

#include <parley/plugin.h>

/* The routes themselves are api_upload and api_download (api_internal.h). */
/* downloads.c: the origin presigned download links point to (for the
 * web client's CSP), or NULL when downloads are streamed by the server. */
const char *downloads_redirect_origin(void);

/* The cleanup timer (serving starts / stops). */
void uploads_start(void);
void uploads_stop(void);

#endif
