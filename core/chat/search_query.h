/* The search box's language: words, prefixes (buff*), "quoted phrases",
 * and from:name / in:room filters, parsed into the store's
 * parley_search_term list with every word folded (parley/search_fold.h). Bounded:
 * a query is at most SEARCH_QUERY_MAX bytes and PARLEY_SEARCH_TERMS_MAX
 * terms; every refusal has a message for the person. */
#ifndef PARLEY_SEARCH_QUERY_H
#define PARLEY_SEARCH_QUERY_H

#include <stddef.h>

#include <parley/plugin.h>

#define SEARCH_QUERY_MAX  256 /* bytes of query text */
#define SEARCH_WORD_MAX   64  /* bytes of one folded word */
#define SEARCH_PHRASE_MAX 8   /* words in one phrase */
#define SEARCH_PREFIX_MIN 2   /* characters before a '*' */
#define SEARCH_FILTER_MAX 64  /* bytes of a from:/in: name */
#define SEARCH_QUERY_ERR  160

struct search_query {
	parley_search_term terms[PARLEY_SEARCH_TERMS_MAX];
	size_t n_terms;
	const char *from; /* from:NAME without a leading '@', or NULL */
	const char *in;   /* in:NAME without a leading '#', or NULL */
	/* The texts above point here: folding never lengthens text, and each
	 * piece adds one NUL at most per input byte. */
	char buf[2 * SEARCH_QUERY_MAX + 2];
	size_t used;
};

/* Parses len bytes of q into out. 0, or -1 with a message in err (the
 * protocol's bad_request). */
int search_query_parse(const char *q, size_t len, struct search_query *out, char *err,
                       size_t errlen);

#endif
