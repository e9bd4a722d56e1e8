/* Structured logging: one JSON object per line on stderr.
 *
 *   {"ts":1764000000000,"level":"info","event":"conn_open","conn":12,"msg":"..."}
 *
 * The macros test the level before formatting anything, so a disabled debug
 * line costs one comparison. Key/value context (conn, user, room, plugin,
 * script) is passed as a preformatted JSON fragment without braces, such
 * as the "\"conn\":12" each connection keeps (net/conn.h). */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

extern int log_min_level;

/* "debug", "info", "warn", "error" -> level; -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);
void log_set_level(int level);
/* Sends log lines to fd instead of stderr (tests capture them); -1: stderr. */
void log_set_fd(int fd);

/* Writes one line. ctx: extra JSON members without braces, e.g.
 * "\"conn\":12,\"user\":\"u_1\"", or NULL. event: a short snake_case name.
 * The message is JSON-escaped. */
void log_write(int level, const char *event, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_writev(int level, const char *event, const char *ctx, const char *fmt, va_list ap);

#define LOG_AT(lvl, event, ctx, ...)                                                               \
	do {                                                                                       \
		if ((lvl) >= log_min_level)                                                        \
			log_write((lvl), (event), (ctx), __VA_ARGS__);                             \
	} while (0)
#define log_debug(event, ctx, ...) LOG_AT(LOG_DEBUG, event, ctx, __VA_ARGS__)
#define log_info(event, ctx, ...)  LOG_AT(LOG_INFO, event, ctx, __VA_ARGS__)
#define log_warn(event, ctx, ...)  LOG_AT(LOG_WARN, event, ctx, __VA_ARGS__)
#define log_error(event, ctx, ...) LOG_AT(LOG_ERROR, event, ctx, __VA_ARGS__)

/* Appends JSON escaping of s (without quotes) into out (size n, always
 * NUL-terminated); returns the length written. Used for ctx fragments. */
size_t log_escape(char *out, size_t n, const char *s);

#endif
