/* Structured logging.
 *
 * Each line is formatted into a buffer on the caller's stack and written
 * with one write(2), so lines from the loop thread and worker threads never
 * interleave (writes to a pipe or file up to PIPE_BUF are atomic, and longer
 * lines are still one call). The message is JSON-escaped here; invalid UTF-8
 * becomes U+FFFD so every line stays valid JSON. A line that would not fit
 * is cut at a character boundary and still closed properly. */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest line written; longer messages are truncated. */
#define LOG_LINE_MAX 8192
/* Longest formatted message before escaping. */
#define LOG_MSG_MAX 4096
/* Room kept at the end of the line for the closing "}\n. */
#define LOG_TAIL 4

int log_min_level = LOG_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int log_level_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = LOG_DEBUG; i <= LOG_OFF; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(int level)
{
	if (level < LOG_DEBUG || level > LOG_OFF)
		return "unknown";
	return level_names[level];
}

void log_set_level(int level)
{
	if (level >= LOG_DEBUG && level <= LOG_OFF)
		log_min_level = level;
}

void log_set_fd(int fd)
{
	log_fd = fd >= 0 ? fd : 2;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_valid_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

size_t log_escape(char *out, size_t n, const char *s)
{
	size_t o = 0;
	if (n == 0)
		return 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		char tmp[8];
		size_t tl = 0, adv = 1;
		switch (*p) {
		case '"':
			memcpy(tmp, "\\\"", tl = 2);
			break;
		case '\\':
			memcpy(tmp, "\\\\", tl = 2);
			break;
		case '\n':
			memcpy(tmp, "\\n", tl = 2);
			break;
		case '\r':
			memcpy(tmp, "\\r", tl = 2);
			break;
		case '\t':
			memcpy(tmp, "\\t", tl = 2);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			} else if (*p < 0x80) {
				tmp[0] = (char)*p;
				tl = 1;
			} else if ((adv = utf8_valid_len(p)) > 0) {
				memcpy(tmp, p, adv);
				tl = adv;
			} else {
				memcpy(tmp, "\\ufffd", tl = 6);
				adv = 1;
			}
		}
		/* Never split an escape or a character: stop before it. */
		if (o + tl >= n)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
		p += adv;
	}
	out[o] = '\0';
	return o;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(log_fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to report a failing log */
		buf += w;
		len -= (size_t)w;
	}
}

void log_writev(int level, const char *event, const char *ctx, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char msg[LOG_MSG_MAX];
	size_t len;
	const size_t room = sizeof(line) - LOG_TAIL;

	vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
	len = (size_t)snprintf(line, room, "{\"ts\":%lld,\"level\":\"%s\",\"event\":\"", now_ms(),
	                       log_level_name(level));
	len += log_escape(line + len, room - len, event ? event : "event");
	if (ctx && *ctx && len + strlen(ctx) + 16 < room)
		len += (size_t)snprintf(line + len, room - len, "\",%s,\"msg\":\"", ctx);
	else
		len += (size_t)snprintf(line + len, room - len, "\",\"msg\":\"");
	if (len < room)
		len += log_escape(line + len, room - len, msg);
	if (len > room)
		len = room;
	memcpy(line + len, "\"}\n", 3);
	len += 3;
	write_all(line, len);
}

void log_write(int level, const char *event, const char *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_writev(level, event, ctx, fmt, ap);
	va_end(ap);
}
