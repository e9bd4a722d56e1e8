/* The web client from server.web_root: Content-Type by extension, ETag
 * (size and mtime) with 304, Cache-Control, and no way out of web_root
 * ("..", encoded dots, symlinks pointing outside are all 404). */
#ifndef PARLEY_STATIC_FILES_H
#define PARLEY_STATIC_FILES_H

#include "net/http.h"

struct config;
void static_files_init(const struct config *cfg);
/* Where the web client may also load images and media from (the uploads
 * provider's presigned origin), asked per page; the api layer sets it. */
void static_files_set_media_origin(const char *(*fn)(void));
/* Answers GET/HEAD req for req->path from web_root ("/" -> index.html). */
void static_files_serve(struct http_request *req);

#endif
