/* A search's arguments in the op (op.h): the query as search.c re-split
 * it at the call, so the lane thread only builds the filter. */
#ifndef STORE_MONGO_SEARCH_ARGS_H
#define STORE_MONGO_SEARCH_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

struct search_term {
	int kind;          /* enum parley_search_term_kind, after re-splitting */
	const char *words; /* folded words joined by single spaces */
};

struct search_args {
	struct search_term terms[PARLEY_SEARCH_TERMS_MAX];
	size_t n_terms;
	const char *rooms;  /* room ids, each followed by a tab */
	const char *author; /* NULL: anyone */
	const char *cursor; /* NULL: the first page */
	int64_t before_ts, after_ts;
	int limit, recent;
};

#endif
