/* libFuzzer target: the search query parser on arbitrary bytes. Every
 * accepted query keeps its limits: 1..8 terms, each non-empty valid
 * UTF-8 text inside the parser's own buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <parley/search_fold.h>
#include "chat/search_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const struct search_query *q, const char *s)
{
	if (s < q->buf || s >= q->buf + sizeof q->buf)
		abort();
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		if (parley_utf8_next(s, len, &i, &cp) < 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct search_query q;
	char err[SEARCH_QUERY_ERR];
	if (search_query_parse((const char *)data, size, &q, err, sizeof err) < 0) {
		if (!err[0])
			abort(); /* every refusal says why */
		return 0;
	}
	if (q.n_terms < 1 || q.n_terms > PARLEY_SEARCH_TERMS_MAX || q.used > sizeof q.buf)
		abort();
	for (size_t i = 0; i < q.n_terms; i++) {
		if (!q.terms[i].text[0])
			abort();
		check_text(&q, q.terms[i].text);
	}
	if (q.from)
		check_text(&q, q.from);
	if (q.in)
		check_text(&q, q.in);
	return 0;
}
