/* Search on MongoDB (see search.h).
 *
 * A term is a sequence of folded words: a word is one, a phrase several in
 * order, a prefix's last word matches any word it starts ("e-ma*" is "e"
 * then a word starting "ma", as FTS5 reads it). The filter asks the rooms,
 * deleted = 0, the author and time bounds, every whole word ($all) and
 * every prefix (an anchored $regex on `words`); the candidates come newest
 * first in chunks, paged by their (ts, n) key, and each is checked on its
 * text (phrases in order, and a text that changed under a stale `words`
 * cannot match).
 *
 * Cursors: recent pages by the last row's key, "t<ts>.<n>"; relevance by
 * offset, "o<offset>" (store_sqlite's shapes). Relevance scores the
 * newest SEARCH_CANDIDATES matches by projection (ts, n, text only), sorts
 * them, and reads the whole documents of the one page asked. */
#include "search.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <parley/search_fold.h>

#include "docs.h"
#include "ids.h"
#include "lanes.h"
#include "mdb.h"
#include "store.h"

static const char MESSAGES[] = "messages";

/* Candidates per round trip: recent starts at its page and grows when
 * phrases drop candidates; relevance takes its whole window at once. */
#define CHUNK_MAX 1000

/* ------------------------------------------------------------------ */
/* Words                                                               */
/* ------------------------------------------------------------------ */

/* The folded words of a text, in order (duplicates kept). */
struct words {
	char *buf;
	const char **w;
	size_t n;
};

static void words_free(struct words *ws)
{
	free(ws->buf);
	free(ws->w);
	memset(ws, 0, sizeof *ws);
}

/* 0, or -1 without memory. Invalid UTF-8 separates words (the parser
 * refuses it in queries; stored text is valid, the core checks it). */
static int words_split(const char *text, struct words *ws)
{
	size_t len = text ? strlen(text) : 0, i = 0;
	memset(ws, 0, sizeof *ws);
	/* Folding never lengthens a code point; each word adds one NUL. */
	if (!(ws->buf = malloc(2 * len + 1)) || !(ws->w = malloc((len / 2 + 1) * sizeof *ws->w))) {
		words_free(ws);
		return -1;
	}
	char *o = ws->buf, *start = NULL;
	size_t bytes = 0;
	while (i < len) {
		uint32_t cp;
		if (parley_utf8_next(text, len, &i, &cp) < 0) {
			i++;
			cp = ' ';
		}
		if (!parley_is_word_cp(cp)) {
			if (start) {
				*o++ = '\0';
				start = NULL;
			}
			continue;
		}
		if (!start) {
			start = o;
			bytes = 0;
			ws->w[ws->n++] = start;
		}
		char tmp[4];
		size_t k = parley_utf8_put(tmp, parley_fold_cp(cp));
		if (bytes + k <= SEARCH_WORD_BYTES) {
			memcpy(o, tmp, k);
			o += k;
			bytes += k;
		}
	}
	if (start)
		*o = '\0';
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append_index_key(bson_t *arr, uint32_t i, const char *s)
{
	char idx[16];
	const char *k;
	bson_uint32_to_string(i, &k, idx, sizeof idx);
	bson_append_utf8(arr, k, -1, s, -1);
}

void search_append_words(bson_t *parent, const char *key, const char *text)
{
	bson_t arr;
	struct words ws;
	BSON_APPEND_ARRAY_BEGIN(parent, key, &arr);
	if (text && words_split(text, &ws) == 0) {
		qsort(ws.w, ws.n, sizeof *ws.w, cmp_str);
		uint32_t kept = 0;
		for (size_t i = 0; i < ws.n && kept < SEARCH_WORDS_MAX; i++)
			if (i == 0 || strcmp(ws.w[i], ws.w[i - 1]) != 0)
				append_index_key(&arr, kept++, ws.w[i]);
		words_free(&ws);
	}
	bson_append_array_end(parent, &arr);
}

int search_backfill(mongoc_client_t *client, const char *database, char *err, size_t errlen)
{
	mongoc_collection_t *col = mongoc_client_get_collection(client, database, MESSAGES);
	bson_t *q = BCON_NEW("words", "{", "$exists", BCON_BOOL(false), "}");
	bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "text", BCON_INT32(1),
	                        "deleted", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		const char *text = NULL;
		if (bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it))
			text = bson_iter_utf8(&it, NULL);
		if (bson_iter_init_find(&it, doc, "deleted") && bson_iter_as_int64(&it))
			text = NULL;
		if (!bson_iter_init_find(&it, doc, "_id"))
			continue;
		bson_t sel = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
		bson_append_iter(&sel, "_id", -1, &it);
		BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
		search_append_words(&set, "words", text);
		bson_append_document_end(&u, &set);
		if (!mongoc_collection_update_one(col, &sel, &u, NULL, NULL, &e)) {
			snprintf(err, errlen, "schema 3: the words of older messages: %s",
			         e.message);
			rc = PARLEY_EUNAVAIL;
		}
		bson_destroy(&sel);
		bson_destroy(&u);
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e)) {
		snprintf(err, errlen, "schema 3: reading older messages: %s", e.message);
		rc = PARLEY_EUNAVAIL;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(q);
	mongoc_collection_destroy(col);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Matching a candidate                                                */
/* ------------------------------------------------------------------ */

/* The terms split into words once per search (exec). */
struct term {
	int prefix; /* the last word matches by prefix */
	char buf[PARLEY_SEARCH_TERMS_MAX * (SEARCH_WORD_BYTES + 1)];
	const char *part[PARLEY_SEARCH_TERMS_MAX * 2];
	size_t part_len[PARLEY_SEARCH_TERMS_MAX * 2];
	size_t n_parts;
};

static void terms_read(const struct search_args *a, struct term *t)
{
	for (size_t i = 0; i < a->n_terms; i++) {
		t[i].prefix = a->terms[i].kind == PARLEY_TERM_PREFIX;
		snprintf(t[i].buf, sizeof t[i].buf, "%s", a->terms[i].words);
		t[i].n_parts = 0;
		char *save = NULL;
		for (char *p = strtok_r(t[i].buf, " ", &save);
		     p && t[i].n_parts < PARLEY_SEARCH_TERMS_MAX * 2;
		     p = strtok_r(NULL, " ", &save)) {
			t[i].part_len[t[i].n_parts] = strlen(p);
			t[i].part[t[i].n_parts++] = p;
		}
	}
}

/* How often term occurs in ws (0: not at all). */
static size_t occurrences(const struct term *t, const struct words *ws)
{
	size_t hits = 0;
	for (size_t i = 0; i + t->n_parts <= ws->n; i++) {
		size_t k = 0;
		while (k < t->n_parts) {
			int last = k + 1 == t->n_parts;
			int same = t->prefix && last
			               ? strncmp(ws->w[i + k], t->part[k], t->part_len[k]) == 0
			               : strcmp(ws->w[i + k], t->part[k]) == 0;
			if (!same)
				break;
			k++;
		}
		hits += k == t->n_parts;
	}
	return hits;
}

/* 1 and a score when every term occurs in text, 0 when not, -1 without
 * memory. The score leans like bm25: hits over the text's length. */
static int matches(const struct term *t, size_t n, const char *text, double *score)
{
	struct words ws;
	if (!text)
		return 0;
	if (words_split(text, &ws) < 0)
		return -1;
	double hits = 0;
	int ok = 1;
	for (size_t i = 0; ok && i < n; i++) {
		size_t h = occurrences(&t[i], &ws);
		ok = h > 0;
		hits += (double)h;
	}
	*score = hits / sqrt((double)(ws.n ? ws.n : 1));
	words_free(&ws);
	return ok;
}

/* ------------------------------------------------------------------ */
/* The filter                                                          */
/* ------------------------------------------------------------------ */

static void regex_prefix(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	out[n++] = '^';
	for (; *s && n + 3 < cap; s++) {
		if (strchr("\\^$.|?*+()[]{}", *s))
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
}

static void and_open(bson_t *and, uint32_t *n, bson_t *one)
{
	char idx[16];
	const char *k;
	bson_uint32_to_string((*n)++, &k, idx, sizeof idx);
	BSON_APPEND_DOCUMENT_BEGIN(and, k, one);
}

/* The candidates' filter; (from_ts, from_n) > 0: only those after that key
 * in newest-first order. */
static bson_t *filter_new(const struct search_args *a, const struct term *t, int64_t from_ts,
                          int64_t from_n)
{
	bson_t *f = bson_new(), arr, and, one, sub;
	BSON_APPEND_DOCUMENT_BEGIN(f, "room", &sub);
	BSON_APPEND_ARRAY_BEGIN(&sub, "$in", &arr);
	uint32_t i = 0;
	for (const char *p = a->rooms; *p;) {
		const char *tab = strchr(p, '\t');
		char id[48];
		snprintf(id, sizeof id, "%.*s", (int)(tab - p), p);
		append_index_key(&arr, i++, id);
		p = tab + 1;
	}
	bson_append_array_end(&sub, &arr);
	bson_append_document_end(f, &sub);
	BSON_APPEND_INT32(f, "deleted", 0);
	if (a->author)
		BSON_APPEND_UTF8(f, "user", a->author);
	/* $all [] matches nothing: only when a whole word is asked. */
	size_t whole = 0;
	for (size_t j = 0; j < a->n_terms; j++)
		whole += t[j].n_parts - (t[j].prefix ? 1 : 0);
	if (whole) {
		BSON_APPEND_DOCUMENT_BEGIN(f, "words", &sub);
		BSON_APPEND_ARRAY_BEGIN(&sub, "$all", &arr);
		i = 0;
		for (size_t j = 0; j < a->n_terms; j++)
			for (size_t p = 0; p + (t[j].prefix ? 1 : 0) < t[j].n_parts; p++)
				append_index_key(&arr, i++, t[j].part[p]);
		bson_append_array_end(&sub, &arr);
		bson_append_document_end(f, &sub);
	}
	BSON_APPEND_ARRAY_BEGIN(f, "$and", &and);
	uint32_t n_and = 0;
	for (size_t j = 0; j < a->n_terms; j++) {
		if (!t[j].prefix)
			continue;
		char re[2 * SEARCH_WORD_BYTES + 4];
		regex_prefix(re, sizeof re, t[j].part[t[j].n_parts - 1]);
		and_open(&and, &n_and, &one);
		BSON_APPEND_DOCUMENT_BEGIN(&one, "words", &sub);
		BSON_APPEND_UTF8(&sub, "$regex", re);
		bson_append_document_end(&one, &sub);
		bson_append_document_end(&and, &one);
	}
	if (a->before_ts > 0 || a->after_ts > 0) {
		and_open(&and, &n_and, &one);
		BSON_APPEND_DOCUMENT_BEGIN(&one, "ts", &sub);
		if (a->before_ts > 0)
			BSON_APPEND_INT64(&sub, "$lt", a->before_ts);
		if (a->after_ts > 0)
			BSON_APPEND_INT64(&sub, "$gt", a->after_ts);
		bson_append_document_end(&one, &sub);
		bson_append_document_end(&and, &one);
	}
	if (from_ts > 0) {
		bson_t *after = BCON_NEW("$or", "[", "{", "ts", "{", "$lt", BCON_INT64(from_ts),
		                         "}", "}", "{", "ts", BCON_INT64(from_ts), "n", "{", "$lt",
		                         BCON_INT64(from_n), "}", "}", "]");
		and_open(&and, &n_and, &one);
		bson_concat(&one, after);
		bson_append_document_end(&and, &one);
		bson_destroy(after);
	}
	/* An empty $and is refused by MongoDB: a match-all stands in. */
	if (n_and == 0) {
		and_open(&and, &n_and, &one);
		bson_append_document_end(&and, &one);
	}
	bson_append_array_end(f, &and);
	return f;
}

/* ------------------------------------------------------------------ */
/* Scanning candidates newest first                                    */
/* ------------------------------------------------------------------ */

/* Called for each candidate that matches: 0 goes on, 1 stops, < 0 fails. */
typedef int (*visit_fn)(struct op *op, void *ctx, const bson_t *doc, double score);

/* Walks the matches from (from_ts, from_n) (0: the newest) in chunks,
 * starting at `chunk` candidates and growing while phrases drop them.
 * projection may be NULL (whole documents). */
static int scan(struct dbconn *c, struct op *op, const struct term *t, int64_t from_ts,
                int64_t from_n, int64_t chunk, const bson_t *projection, visit_fn visit, void *ctx)
{
	const struct search_args *a = &op->args.search;
	mongoc_collection_t *col = mdb_coll(c, MESSAGES);
	int rc = PARLEY_OK, stop = 0;
	while (rc == PARLEY_OK && !stop) {
		bson_t *filter = filter_new(a, t, from_ts, from_n);
		bson_t *opts = BCON_NEW("sort", "{", "ts", BCON_INT32(-1), "n", BCON_INT32(-1), "}",
		                        "limit", BCON_INT64(chunk));
		if (projection)
			BSON_APPEND_DOCUMENT(opts, "projection", projection);
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, opts, NULL);
		const bson_t *doc;
		int64_t seen = 0;
		while (rc == PARLEY_OK && !stop && mongoc_cursor_next(cur, &doc)) {
			seen++;
			from_ts = mdb_int(doc, "ts");
			from_n = mdb_int(doc, "n");
			bson_iter_t it;
			const char *text = NULL;
			double score = 0;
			if (bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it))
				text = bson_iter_utf8(&it, NULL);
			int m = matches(t, a->n_terms, text, &score);
			if (m < 0)
				rc = op_fail(op, PARLEY_ENOMEM, "search: out of memory");
			else if (m > 0 && (stop = visit(op, ctx, doc, score)) < 0)
				rc = stop;
		}
		bson_error_t e;
		if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e))
			rc = mdb_fail(c, op, &e);
		mongoc_cursor_destroy(cur);
		bson_destroy(opts);
		bson_destroy(filter);
		if (seen < chunk || from_ts <= 0)
			break; /* no more candidates */
		if (chunk < CHUNK_MAX)
			chunk = chunk * 4 < CHUNK_MAX ? chunk * 4 : CHUNK_MAX;
	}
	mongoc_collection_destroy(col);
	return rc;
}

/* Recent: the page's whole documents, one past it for `more`. */
static int visit_recent(struct op *op, void *ctx, const bson_t *doc, double score)
{
	(void)ctx;
	(void)score;
	if (op->n_msgs == (size_t)op->args.search.limit) {
		op->res.more = 1;
		return 1;
	}
	if (docs_message(op, doc) < 0)
		return op_fail(op, PARLEY_ENOMEM, "search: out of memory");
	return 0;
}

struct ranked {
	double score;
	int64_t ts, n;
};

struct ranking {
	struct ranked *r;
	size_t n, cap;
};

static int visit_rank(struct op *op, void *ctx, const bson_t *doc, double score)
{
	struct ranking *rk = ctx;
	if (rk->n == rk->cap) {
		size_t cap = rk->cap ? 2 * rk->cap : 256;
		struct ranked *r = realloc(rk->r, cap * sizeof *r);
		if (!r)
			return op_fail(op, PARLEY_ENOMEM, "search: out of memory");
		rk->r = r;
		rk->cap = cap;
	}
	rk->r[rk->n++] =
	    (struct ranked){.score = score, .ts = mdb_int(doc, "ts"), .n = mdb_int(doc, "n")};
	return rk->n == SEARCH_CANDIDATES;
}

static int by_rank(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts > b->ts ? -1 : 1;
	return a->n > b->n ? -1 : a->n < b->n;
}

/* Reads the documents of page (their n, in rank order) into the results,
 * in that order. */
static int read_page(struct dbconn *c, struct op *op, const struct ranked *page, size_t count)
{
	bson_t *q = bson_new(), sub, arr;
	BSON_APPEND_DOCUMENT_BEGIN(q, "n", &sub);
	BSON_APPEND_ARRAY_BEGIN(&sub, "$in", &arr);
	for (size_t i = 0; i < count; i++) {
		char idx[16];
		const char *k;
		bson_uint32_to_string((uint32_t)i, &k, idx, sizeof idx);
		BSON_APPEND_INT64(&arr, k, page[i].n);
	}
	bson_append_array_end(&sub, &arr);
	bson_append_document_end(q, &sub);
	/* Deleted since it was ranked: left out of the page. */
	BSON_APPEND_INT32(q, "deleted", 0);
	int rc = mdb_each(c, op, MESSAGES, q, NULL, docs_message);
	bson_destroy(q);
	if (rc < 0)
		return rc;
	/* Back into rank order (a page is at most 100: a plain search). */
	for (size_t i = 0; i < count && i < op->n_msgs; i++) {
		char want[32];
		snprintf(want, sizeof want, "m_%" PRId64, page[i].n);
		for (size_t j = i; j < op->n_msgs; j++) {
			if (strcmp(op->msgs[j].id, want) == 0) {
				parley_message tmp = op->msgs[i];
				op->msgs[i] = op->msgs[j];
				op->msgs[j] = tmp;
				break;
			}
		}
	}
	return PARLEY_OK;
}

static int cursor_bad(struct op *op)
{
	return op_fail(op, PARLEY_EINVAL, "search: a cursor this store did not give");
}

static int search_recent(struct dbconn *c, struct op *op, const struct term *t)
{
	int64_t from_ts = 0, from_n = 0;
	const char *cursor = op->args.search.cursor;
	if (cursor) {
		char *end;
		if (cursor[0] != 't')
			return cursor_bad(op);
		from_ts = strtoll(cursor + 1, &end, 10);
		if (end == cursor + 1 || *end != '.' || from_ts <= 0)
			return cursor_bad(op);
		const char *p = end + 1;
		from_n = strtoll(p, &end, 10);
		if (*end || end == p || from_n <= 0)
			return cursor_bad(op);
	}
	int rc =
	    scan(c, op, t, from_ts, from_n, op->args.search.limit + 1, NULL, visit_recent, NULL);
	if (rc == PARLEY_OK && op->res.more) {
		const parley_message *last = &op->msgs[op->n_msgs - 1];
		int64_t n = 0;
		ids_parse(last->id, "m", &n);
		op->res.text = op_printf(op, "t%" PRId64 ".%" PRId64, last->ts, n);
	}
	return rc;
}

static int search_relevance(struct dbconn *c, struct op *op, const struct term *t)
{
	int64_t offset = 0;
	const char *cursor = op->args.search.cursor;
	if (cursor) {
		char *end;
		if (cursor[0] != 'o')
			return cursor_bad(op);
		offset = strtoll(cursor + 1, &end, 10);
		if (*end || end == cursor + 1 || offset <= 0 || offset > SEARCH_OFFSET_MAX)
			return cursor_bad(op);
	}
	bson_t *projection = BCON_NEW("_id", BCON_INT32(0), "ts", BCON_INT32(1), "n", BCON_INT32(1),
	                              "text", BCON_INT32(1));
	struct ranking rk = {0};
	int rc = scan(c, op, t, 0, 0, SEARCH_CANDIDATES, projection, visit_rank, &rk);
	bson_destroy(projection);
	if (rc == PARLEY_OK) {
		if (rk.n > 1)
			qsort(rk.r, rk.n, sizeof *rk.r, by_rank);
		size_t limit = (size_t)op->args.search.limit;
		size_t from = (size_t)offset < rk.n ? (size_t)offset : rk.n;
		size_t count = rk.n - from < limit ? rk.n - from : limit;
		rc = count ? read_page(c, op, rk.r + from, count) : PARLEY_OK;
		if (rc == PARLEY_OK && from + count < rk.n && from + count <= SEARCH_OFFSET_MAX) {
			op->res.more = 1;
			op->res.text = op_printf(op, "o%zu", from + count);
		}
	}
	free(rk.r);
	return rc;
}

static int search_exec(struct dbconn *c, struct op *op)
{
	struct term *t = calloc(PARLEY_SEARCH_TERMS_MAX, sizeof *t);
	if (!t)
		return op_fail(op, PARLEY_ENOMEM, "search: out of memory");
	terms_read(&op->args.search, t);
	int rc = op->args.search.recent ? search_recent(c, op, t) : search_relevance(c, op, t);
	free(t);
	if (rc == PARLEY_OK && op->res.more && !op->res.text)
		rc = op_fail(op, PARLEY_ENOMEM, "search: out of memory");
	return rc;
}

/* ------------------------------------------------------------------ */
/* The call                                                            */
/* ------------------------------------------------------------------ */

/* One term re-split by this plugin's rules into the op: its words joined
 * by single spaces, its kind from their number. 0, or -1 when it has no
 * word or too many. */
static int term_copy(struct op *op, const parley_search_term *in, struct search_term *out)
{
	struct words ws;
	if (!in->text || in->kind < PARLEY_TERM_WORD || in->kind > PARLEY_TERM_PHRASE)
		return -1;
	if (words_split(in->text, &ws) < 0) {
		op->oom = 1;
		return 0;
	}
	int ok = ws.n > 0 && ws.n <= PARLEY_SEARCH_TERMS_MAX * 2;
	char buf[PARLEY_SEARCH_TERMS_MAX * 2 * (SEARCH_WORD_BYTES + 1)];
	size_t n = 0;
	for (size_t j = 0; ok && j < ws.n; j++) {
		int w = snprintf(buf + n, sizeof buf - n, "%s%s", j ? " " : "", ws.w[j]);
		ok = w >= 0 && (size_t)w < sizeof buf - n;
		n += ok ? (size_t)w : 0;
	}
	if (ok) {
		out->kind = in->kind == PARLEY_TERM_PREFIX ? PARLEY_TERM_PREFIX
		            : ws.n > 1                     ? PARLEY_TERM_PHRASE
		                                           : PARLEY_TERM_WORD;
		out->words = op_strdup(op, buf);
	}
	words_free(&ws);
	return ok ? 0 : -1;
}

/* The rooms, each followed by a tab, in the arena; NULL for an id this
 * store does not make (or without memory: op->oom). */
static const char *rooms_copy(struct op *op, const parley_search_query *q)
{
	size_t len = 1;
	for (size_t i = 0; i < q->n_rooms; i++) {
		int64_t n;
		if (!ids_parse(q->room_ids[i], "r", &n))
			return NULL;
		len += strlen(q->room_ids[i]) + 1;
	}
	char *buf = malloc(len), *p = buf;
	if (!buf) {
		op->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < q->n_rooms; i++) {
		size_t l = strlen(q->room_ids[i]);
		memcpy(p, q->room_ids[i], l);
		p += l;
		*p++ = '\t';
	}
	*p = '\0';
	const char *out = op_strdup(op, buf);
	free(buf);
	return out;
}

int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud)
{
	if (!q || q->struct_size < sizeof *q || q->n_terms < 1 ||
	    q->n_terms > PARLEY_SEARCH_TERMS_MAX || !q->terms || q->n_rooms < 1 || !q->room_ids ||
	    q->limit < 1 || q->limit > 100 || q->before_ts < 0 || q->after_ts < 0 ||
	    (q->sort != PARLEY_SEARCH_RELEVANCE && q->sort != PARLEY_SEARCH_RECENT))
		return PARLEY_EINVAL;
	int64_t author;
	if (q->user_id && !ids_parse(q->user_id, "u", &author))
		return PARLEY_EINVAL;
	struct op *op = store_op_begin(self, "search", search_exec, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	struct search_args *a = &op->args.search;
	for (size_t i = 0; i < q->n_terms; i++) {
		if (term_copy(op, &q->terms[i], &a->terms[i]) < 0) {
			op_free(op);
			return PARLEY_EINVAL;
		}
	}
	a->n_terms = q->n_terms;
	a->rooms = rooms_copy(op, q);
	if (!a->rooms && !op->oom) {
		op_free(op);
		return PARLEY_EINVAL;
	}
	a->author = op_strdup(op, q->user_id);
	a->cursor = op_strdup(op, q->cursor);
	a->before_ts = q->before_ts;
	a->after_ts = q->after_ts;
	a->limit = q->limit;
	a->recent = q->sort == PARLEY_SEARCH_RECENT;
	/* On the first room's lane: after the writes to it made before. */
	return store_op_submit(op, q->room_ids[0]);
}
