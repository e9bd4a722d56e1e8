/* The search query parser (see search_query.h). One pass over the text:
 * a quote opens a phrase, anything else is a token up to the next space
 * or quote. A token's words are split at punctuation like the stores'
 * tokenizers do, so "e-mail" is the phrase "e mail". */
#include "chat/search_query.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <parley/search_fold.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Folds the words of s[0..len) into out->buf joined by single spaces;
 * *n_words and *last_chars (characters of the last word) tell the caller
 * what it got. Returns the text, or NULL with err set. */
static const char *fold_words(struct search_query *out, const char *s, size_t len, size_t *n_words,
                              size_t *last_chars, char *err, size_t errlen)
{
	char *start = out->buf + out->used, *w = start;
	size_t i = 0, word_bytes = 0, chars = 0;
	int in_word = 0;
	*n_words = 0;
	while (i < len) {
		uint32_t cp;
		if (parley_utf8_next(s, len, &i, &cp) < 0) {
			snprintf(err, errlen, "query: not valid UTF-8");
			return NULL;
		}
		if (!parley_is_word_cp(cp)) {
			in_word = 0;
			continue;
		}
		if (!in_word) {
			if (++*n_words > SEARCH_PHRASE_MAX) {
				snprintf(err, errlen, "query: at most %d words in a phrase",
				         SEARCH_PHRASE_MAX);
				return NULL;
			}
			if (w > start)
				*w++ = ' ';
			in_word = 1;
			word_bytes = chars = 0;
		}
		size_t n = parley_utf8_put(w, parley_fold_cp(cp));
		w += n;
		chars++;
		if ((word_bytes += n) > SEARCH_WORD_MAX) {
			snprintf(err, errlen, "query: a word is longer than %d bytes",
			         SEARCH_WORD_MAX);
			return NULL;
		}
	}
	*w++ = '\0';
	out->used = (size_t)(w - out->buf);
	*last_chars = chars;
	return start;
}

static int add_term(struct search_query *out, int kind, const char *text, char *err, size_t errlen)
{
	if (out->n_terms == PARLEY_SEARCH_TERMS_MAX) {
		snprintf(err, errlen, "query: at most %d terms", PARLEY_SEARCH_TERMS_MAX);
		return -1;
	}
	out->terms[out->n_terms].kind = kind;
	out->terms[out->n_terms].text = text;
	out->n_terms++;
	return 0;
}

/* A phrase's or token's words as one term; nothing for punctuation only. */
static int add_words(struct search_query *out, const char *s, size_t len, int prefix, char *err,
                     size_t errlen)
{
	size_t n_words, last_chars;
	const char *text = fold_words(out, s, len, &n_words, &last_chars, err, errlen);
	if (!text)
		return -1;
	if (n_words == 0)
		return 0;
	if (prefix && n_words == 1 && last_chars < SEARCH_PREFIX_MIN) {
		snprintf(err, errlen, "query: a prefix needs at least %d characters before '*'",
		         SEARCH_PREFIX_MIN);
		return -1;
	}
	int kind = n_words > 1 ? PARLEY_TERM_PHRASE
	           : prefix    ? PARLEY_TERM_PREFIX
	                       : PARLEY_TERM_WORD;
	return add_term(out, kind, text, err, errlen);
}

/* from:NAME / in:NAME: the name as given, minus one leading sigil. */
static int add_filter(struct search_query *out, const char **slot, const char *key, const char *v,
                      size_t len, char sigil, char *err, size_t errlen)
{
	if (len > 0 && v[0] == sigil)
		v++, len--;
	if (len == 0 || len > SEARCH_FILTER_MAX) {
		snprintf(err, errlen, "query: %s needs a name of 1 to %d bytes", key,
		         SEARCH_FILTER_MAX);
		return -1;
	}
	if (*slot) {
		snprintf(err, errlen, "query: %s may be given once", key);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		if (parley_utf8_next(v, len, &i, &cp) < 0) {
			snprintf(err, errlen, "query: not valid UTF-8");
			return -1;
		}
	}
	char *d = out->buf + out->used;
	memcpy(d, v, len);
	d[len] = '\0';
	out->used += len + 1;
	*slot = d;
	return 0;
}

int search_query_parse(const char *q, size_t len, struct search_query *out, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > SEARCH_QUERY_MAX) {
		snprintf(err, errlen, "query: at most %d bytes", SEARCH_QUERY_MAX);
		return -1;
	}
	if (memchr(q, '\0', len)) {
		snprintf(err, errlen, "query: must not contain NUL");
		return -1;
	}
	size_t i = 0;
	while (i < len) {
		if (is_space(q[i])) {
			i++;
			continue;
		}
		if (q[i] == '"') {
			const char *end = memchr(q + i + 1, '"', len - i - 1);
			if (!end) {
				snprintf(err, errlen, "query: a quoted phrase is not closed");
				return -1;
			}
			size_t start = i + 1, plen = (size_t)(end - q) - start;
			if (add_words(out, q + start, plen, 0, err, errlen) < 0)
				return -1;
			i = (size_t)(end - q) + 1;
			continue;
		}
		size_t start = i;
		while (i < len && !is_space(q[i]) && q[i] != '"')
			i++;
		const char *tok = q + start;
		size_t tlen = i - start;
		if (tlen >= 5 && strncasecmp(tok, "from:", 5) == 0) {
			if (add_filter(out, &out->from, "from:", tok + 5, tlen - 5, '@', err,
			               errlen) < 0)
				return -1;
			continue;
		}
		if (tlen >= 3 && strncasecmp(tok, "in:", 3) == 0) {
			if (add_filter(out, &out->in, "in:", tok + 3, tlen - 3, '#', err, errlen) <
			    0)
				return -1;
			continue;
		}
		int prefix = 0;
		while (tlen > 0 && tok[tlen - 1] == '*')
			tlen--, prefix = 1;
		if (add_words(out, tok, tlen, prefix, err, errlen) < 0)
			return -1;
	}
	if (out->n_terms == 0) {
		snprintf(err, errlen, "query: give at least one word to look for");
		return -1;
	}
	return 0;
}
