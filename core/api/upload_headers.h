/* The headers of file transfers: Range on downloads, X-Filename on uploads,
 * and the Content-Disposition we answer with. Untrusted input with limits;
 * tests/fuzz/fuzz_upload_headers.c runs all three. */
#ifndef PARLEY_UPLOAD_HEADERS_H
#define PARLEY_UPLOAD_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/* Longest file name kept, in bytes (a file system's NAME_MAX). */
#define UPLOAD_NAME_MAX  255
#define RANGE_HEADER_MAX 200

enum range_result {
	RANGE_NONE = 0,          /* no usable Range: the whole file (200) */
	RANGE_OK = 1,            /* *first..*last, inclusive (206) */
	RANGE_UNSATISFIABLE = -1 /* 416 */
};

/* One "bytes=" range against a file of size bytes. Several ranges, other
 * units and syntax errors are ignored (RANGE_NONE), as RFC 9110 allows. */
enum range_result range_parse(const char *header, int64_t size, int64_t *first, int64_t *last);

/* X-Filename: percent-encoded UTF-8. Returns a malloc'ed file name (the
 * last path component, at most UPLOAD_NAME_MAX bytes cut on a character
 * boundary) or NULL when the value is not valid (bad escape, not UTF-8, a
 * control character, nothing left). NULL header: "file". */
char *upload_filename_decode(const char *header);

/* Content-Disposition for name: "attachment" or "inline", an ASCII
 * fallback (quotes, backslashes and controls replaced) and filename*
 * (RFC 8187), so no name can add a header or a parameter. 0, or -1 when
 * out is too small. */
int upload_content_disposition(char *out, size_t n, int as_inline, const char *name);

/* 1 for types a browser may show inline from our origin without running
 * anything (images but SVG, PDF, audio, video, plain text); everything
 * else downloads. */
int upload_type_inline(const char *type);

#endif
