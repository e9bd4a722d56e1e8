/* Search on MongoDB (see search.h). Cursors: recent pages by the last
 * row's (ts, n) key, "t<ts>.<n>"; relevance by offset, "o<offset>".
 * Arguments in the op: s[0] the terms as kind:text lines, s[1] the rooms
 * as a tab-separated list, s[2] cursor or NULL, s[3] author or NULL;
 * n[1] before_ts, n[2] after_ts; flag limit | sort << 16. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <parley/search_fold.h>

#include "docs.h"
#include "lanes.h"
#include "store.h"

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
}

/* 0, or -1 without memory. */
static int words_split(const char *text, struct words *ws)
{
	size_t len = text ? strlen(text) : 0, i = 0;
	memset(ws, 0, sizeof *ws);
	/* Folding never lengthens; each word adds one NUL at most. */
	if (!(ws->buf = malloc(2 * len + 1)) || !(ws->w = malloc((len / 2 + 1) * sizeof *ws->w))) {
		words_free(ws);
		return -1;
	}
	char *o = ws->buf, *start = NULL;
	size_t bytes = 0;
	while (i < len) {
		uint32_t cp;
		if (parley_utf8_next(text, len, &i, &cp) < 0) {
			i++; /* not UTF-8: a separator */
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
		*o++ = '\0';
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void search_append_words(bson_t *parent, const char *key, const char *text)
{
	bson_t arr;
	struct words ws;
	BSON_APPEND_ARRAY_BEGIN(parent, key, &arr);
	if (text && words_split(text, &ws) == 0) {
		qsort(ws.w, ws.n, sizeof *ws.w, cmp_str);
		size_t kept = 0;
		for (size_t i = 0; i < ws.n && kept < SEARCH_WORDS_MAX; i++) {
			if (i > 0 && strcmp(ws.w[i], ws.w[i - 1]) == 0)
				continue;
			char idx[16];
			const char *k;
			bson_uint32_to_string((uint32_t)kept++, &k, idx, sizeof idx);
			bson_append_utf8(&arr, k, -1, ws.w[i], -1);
		}
		words_free(&ws);
	}
	bson_append_array_end(parent, &arr);
}

int search_backfill(mongoc_client_t *client, const char *database, char *err, size_t errlen)
{
	mongoc_collection_t *col = mongoc_client_get_collection(client, database, "messages");
	bson_t *q = BCON_NEW("words", "{", "$exists", BCON_BOOL(false), "}");
	bson_t *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "text", BCON_INT32(1),
	                        "deleted", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = 0;
	while (rc == 0 && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		const char *text = NULL;
		if (bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it))
			text = bson_iter_utf8(&it, NULL);
		if (bson_iter_init_find(&it, doc, "deleted") && bson_iter_as_int64(&it))
			text = NULL;
		bson_t sel = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
		if (bson_iter_init_find(&it, doc, "_id"))
			bson_append_iter(&sel, "_id", -1, &it);
		BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
		search_append_words(&set, "words", text);
		bson_append_document_end(&u, &set);
		if (!mongoc_collection_update_one(col, &sel, &u, NULL, NULL, &e)) {
			snprintf(err, errlen, "indexing the words of older messages: %s",
			         e.message);
			rc = -1;
		}
		bson_destroy(&sel);
		bson_destroy(&u);
	}
	if (rc == 0 && mongoc_cursor_error(cur, &e)) {
		snprintf(err, errlen, "indexing the words of older messages: %s", e.message);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(q);
	mongoc_collection_destroy(col);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The query                                                           */
/* ------------------------------------------------------------------ */

struct term {
	int kind;
	char text[PARLEY_SEARCH_TERMS_MAX * (SEARCH_WORD_BYTES + 1)];
	const char *part[PARLEY_SEARCH_TERMS_MAX * 2]; /* a phrase's words */
	size_t n_parts;
};

/* The terms back from s[0] ("k:text\n" lines), each split into words. */
static size_t terms_read(const char *s, struct term *t, size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (len < 3 || len - 2 >= sizeof t[n].text)
			break;
		t[n].kind = s[0] - '0';
		memcpy(t[n].text, s + 2, len - 2);
		t[n].text[len - 2] = '\0';
		t[n].n_parts = 0;
		for (char *p = strtok(t[n].text, " ");
		     p && t[n].n_parts < PARLEY_SEARCH_TERMS_MAX * 2; p = strtok(NULL, " "))
			t[n].part[t[n].n_parts++] = p;
		n++;
		s += len + (nl ? 1 : 0);
	}
	return n;
}

/* How often term occurs in ws (0: not at all). */
static size_t occurrences(const struct term *t, const struct words *ws)
{
	size_t hits = 0;
	for (size_t i = 0; i < ws->n; i++) {
		if (t->kind == PARLEY_TERM_PREFIX) {
			hits += strncmp(ws->w[i], t->part[0], strlen(t->part[0])) == 0;
			continue;
		}
		size_t k = 0;
		while (k < t->n_parts && i + k < ws->n && strcmp(ws->w[i + k], t->part[k]) == 0)
			k++;
		hits += k == t->n_parts;
	}
	return hits;
}

/* 1 and a score when every term occurs in text. */
static int matches(const struct term *t, size_t n, const char *text, double *score)
{
	struct words ws;
	if (!text || words_split(text, &ws) < 0)
		return 0;
	double hits = 0;
	int ok = 1;
	for (size_t i = 0; ok && i < n; i++) {
		size_t h = occurrences(&t[i], &ws);
		ok = h > 0;
		hits += (double)h;
	}
	/* Term frequency over the text's length, as bm25 leans. */
	*score = hits / sqrt((double)(ws.n ? ws.n : 1));
	words_free(&ws);
	return ok;
}

static void regex_escape(char *out, size_t cap, const char *s)
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

static bson_t *filter_new(struct op *op, const struct term *t, size_t n_terms, int recent,
                          int64_t cur_ts, int64_t cur_n)
{
	bson_t *f = bson_new(), arr, and, one, sub;
	char key[16];
	const char *k;
	BSON_APPEND_DOCUMENT_BEGIN(f, "room", &sub);
	BSON_APPEND_ARRAY_BEGIN(&sub, "$in", &arr);
	char *rooms = strdup(op->s[1]);
	uint32_t i = 0;
	for (char *p = rooms ? strtok(rooms, "\t") : NULL; p; p = strtok(NULL, "\t")) {
		bson_uint32_to_string(i++, &k, key, sizeof key);
		bson_append_utf8(&arr, k, -1, p, -1);
	}
	free(rooms);
	bson_append_array_end(&sub, &arr);
	bson_append_document_end(f, &sub);
	BSON_APPEND_INT32(f, "deleted", 0);
	if (op->s[3])
		BSON_APPEND_UTF8(f, "user", op->s[3]);
	/* Whole words (phrases' too) through $all, prefixes through $and;
	 * each only when there is one ($all [] matches nothing). */
	size_t n_whole = 0, n_and = 0;
	for (size_t j = 0; j < n_terms; j++)
		t[j].kind == PARLEY_TERM_PREFIX ? n_and++ : n_whole++;
	if (op->n[1] > 0 || op->n[2] > 0)
		n_and++;
	if (recent && cur_ts > 0)
		n_and++;
	if (n_whole) {
		BSON_APPEND_DOCUMENT_BEGIN(f, "words", &sub);
		BSON_APPEND_ARRAY_BEGIN(&sub, "$all", &arr);
		i = 0;
		for (size_t j = 0; j < n_terms; j++) {
			if (t[j].kind == PARLEY_TERM_PREFIX)
				continue;
			for (size_t p = 0; p < t[j].n_parts; p++) {
				bson_uint32_to_string(i++, &k, key, sizeof key);
				bson_append_utf8(&arr, k, -1, t[j].part[p], -1);
			}
		}
		bson_append_array_end(&sub, &arr);
		bson_append_document_end(f, &sub);
	}
	if (!n_and)
		return f;
	BSON_APPEND_ARRAY_BEGIN(f, "$and", &and);
	uint32_t a = 0;
	for (size_t j = 0; j < n_terms; j++) {
		if (t[j].kind != PARLEY_TERM_PREFIX)
			continue;
		char re[2 * SEARCH_WORD_BYTES + 4];
		regex_escape(re, sizeof re, t[j].part[0]);
		bson_uint32_to_string(a++, &k, key, sizeof key);
		BSON_APPEND_DOCUMENT_BEGIN(&and, k, &one);
		BSON_APPEND_DOCUMENT_BEGIN(&one, "words", &sub);
		BSON_APPEND_UTF8(&sub, "$regex", re);
		bson_append_document_end(&one, &sub);
		bson_append_document_end(&and, &one);
	}
	if (op->n[1] > 0 || op->n[2] > 0) {
		bson_uint32_to_string(a++, &k, key, sizeof key);
		BSON_APPEND_DOCUMENT_BEGIN(&and, k, &one);
		BSON_APPEND_DOCUMENT_BEGIN(&one, "ts", &sub);
		if (op->n[1] > 0)
			BSON_APPEND_INT64(&sub, "$lt", op->n[1]);
		if (op->n[2] > 0)
			BSON_APPEND_INT64(&sub, "$gt", op->n[2]);
		bson_append_document_end(&one, &sub);
		bson_append_document_end(&and, &one);
	}
	if (recent && cur_ts > 0) {
		bson_t *after = BCON_NEW("$or", "[", "{", "ts", "{", "$lt", BCON_INT64(cur_ts), "}",
		                         "}", "{", "ts", BCON_INT64(cur_ts), "n", "{", "$lt",
		                         BCON_INT64(cur_n), "}", "}", "]");
		bson_uint32_to_string(a++, &k, key, sizeof key);
		BSON_APPEND_DOCUMENT(&and, k, after);
		bson_destroy(after);
	}
	bson_append_array_end(f, &and);
	return f;
}

struct ranked {
	double score;
	int64_t ts, n;
	size_t at; /* index in op->msgs */
};

static int by_rank(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts > b->ts ? -1 : 1;
	return a->n > b->n ? -1 : a->n < b->n;
}

static int search_exec(struct dbconn *c, struct op *op)
{
	int limit = op->flag & 0xffff, recent = op->flag >> 16;
	struct term terms[PARLEY_SEARCH_TERMS_MAX];
	size_t n_terms = terms_read(op->s[0], terms, PARLEY_SEARCH_TERMS_MAX);
	int64_t cur_ts = 0, cur_n = 0, offset = 0;
	const char *cursor = op->s[2];
	if (cursor) {
		char *end;
		if (!recent && cursor[0] == 'o') {
			offset = strtoll(cursor + 1, &end, 10);
			if (*end || end == cursor + 1 || offset <= 0 || offset > SEARCH_OFFSET_MAX)
				return op_fail(op, PARLEY_EINVAL,
				               "search: a cursor this store did not give");
		} else if (recent && cursor[0] == 't') {
			cur_ts = strtoll(cursor + 1, &end, 10);
			const char *p = end + 1;
			if (end == cursor + 1 || *end != '.' || cur_ts <= 0 ||
			    (cur_n = strtoll(p, &end, 10)) <= 0 || *end || end == p)
				return op_fail(op, PARLEY_EINVAL,
				               "search: a cursor this store did not give");
		} else {
			return op_fail(op, PARLEY_EINVAL,
			               "search: a cursor this store did not give");
		}
	}
	bson_t *filter = filter_new(op, terms, n_terms, recent, cur_ts, cur_n);
	bson_t *opts = BCON_NEW("sort", "{", "ts", BCON_INT32(-1), "n", BCON_INT32(-1), "}",
	                        "limit", BCON_INT64(recent ? 0 : SEARCH_CANDIDATES_MAX));
	mongoc_collection_t *col = mdb_coll(c, "messages");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, opts, NULL);
	struct ranked *rank = NULL;
	size_t n_rank = 0, cap = 0;
	const bson_t *doc;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		const char *text = NULL;
		double score;
		if (bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it))
			text = bson_iter_utf8(&it, NULL);
		if (!matches(terms, n_terms, text, &score))
			continue; /* a phrase in the wrong order, or words apart */
		if (recent && op->n_msgs == (size_t)limit) {
			op->res.more = 1;
			break;
		}
		if (n_rank == cap) {
			size_t nc = cap ? 2 * cap : 64;
			struct ranked *nr = realloc(rank, nc * sizeof *nr);
			if (!nr) {
				rc = op_fail(op, PARLEY_ENOMEM, "search: out of memory");
				break;
			}
			rank = nr, cap = nc;
		}
		rank[n_rank] = (struct ranked){.score = score,
		                               .ts = mdb_int(doc, "ts"),
		                               .n = mdb_int(doc, "n"),
		                               .at = op->n_msgs};
		n_rank++;
		if (docs_message(op, doc) < 0)
			rc = op_fail(op, PARLEY_ENOMEM, "search: out of memory");
	}
	bson_error_t e;
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e))
		rc = mdb_fail(c, op, &e);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(opts);
	bson_destroy(filter);
	if (rc == PARLEY_OK && recent && op->res.more) {
		const struct ranked *last = &rank[n_rank - 1];
		op->res.text = op_printf(op, "t%lld.%lld", (long long)last->ts, (long long)last->n);
	} else if (rc == PARLEY_OK && !recent) {
		/* Best first; the page at offset. */
		qsort(rank, n_rank, sizeof *rank, by_rank);
		parley_message *all = malloc((n_rank ? n_rank : 1) * sizeof *all);
		if (!all) {
			rc = op_fail(op, PARLEY_ENOMEM, "search: out of memory");
		} else {
			size_t from = (size_t)offset < n_rank ? (size_t)offset : n_rank;
			size_t count =
			    n_rank - from < (size_t)limit ? n_rank - from : (size_t)limit;
			for (size_t i = 0; i < count; i++)
				all[i] = op->msgs[rank[from + i].at];
			memcpy(op->msgs, all, count * sizeof *all);
			op->n_msgs = count;
			free(all);
			if (from + count < n_rank && from + count + 0 <= SEARCH_OFFSET_MAX) {
				op->res.more = 1;
				op->res.text = op_printf(op, "o%zu", from + count);
			}
		}
	}
	free(rank);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The call                                                            */
/* ------------------------------------------------------------------ */

/* Terms as "k:text" lines, each text re-split by this plugin's rules. */
static int terms_write(const parley_search_query *q, char *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < q->n_terms; i++) {
		const parley_search_term *t = &q->terms[i];
		struct words ws;
		if (!t->text || t->kind < PARLEY_TERM_WORD || t->kind > PARLEY_TERM_PHRASE ||
		    words_split(t->text, &ws) < 0)
			return -1;
		int ok = ws.n > 0 && ws.n <= PARLEY_SEARCH_TERMS_MAX * 2;
		int kind = t->kind == PARLEY_TERM_PHRASE && ws.n == 1 ? PARLEY_TERM_WORD : t->kind;
		if (ok && kind == PARLEY_TERM_PREFIX && ws.n != 1)
			kind = PARLEY_TERM_PHRASE; /* "e-ma*": its words in order */
		if (ok && kind == PARLEY_TERM_WORD && ws.n > 1)
			kind = PARLEY_TERM_PHRASE;
		int w = ok ? snprintf(buf + n, cap - n, "%d:", kind) : -1;
		ok = w > 0 && (size_t)w < cap - n;
		if (ok)
			n += (size_t)w;
		for (size_t j = 0; ok && j < ws.n; j++) {
			w = snprintf(buf + n, cap - n, "%s%s", j ? " " : "", ws.w[j]);
			ok = w >= 0 && (size_t)w < cap - n;
			if (ok)
				n += (size_t)w;
		}
		words_free(&ws);
		if (!ok || n + 2 >= cap)
			return -1;
		buf[n++] = '\n';
		buf[n] = '\0';
	}
	return 0;
}

int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud)
{
	struct store *st = self;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	if (!q || q->struct_size < sizeof *q || q->n_terms < 1 ||
	    q->n_terms > PARLEY_SEARCH_TERMS_MAX || !q->terms || q->n_rooms < 1 || !q->room_ids ||
	    q->limit < 1 || q->limit > 100 || q->before_ts < 0 || q->after_ts < 0 ||
	    (q->sort != PARLEY_SEARCH_RELEVANCE && q->sort != PARLEY_SEARCH_RECENT))
		return PARLEY_EINVAL;
	char terms[PARLEY_SEARCH_TERMS_MAX * 2 * (SEARCH_WORD_BYTES + 4)];
	if (terms_write(q, terms, sizeof terms) < 0)
		return PARLEY_EINVAL;
	size_t rooms_len = 1;
	for (size_t i = 0; i < q->n_rooms; i++) {
		if (!q->room_ids[i] || !*q->room_ids[i] || strchr(q->room_ids[i], '\t'))
			return PARLEY_EINVAL;
		rooms_len += strlen(q->room_ids[i]) + 1;
	}
	struct op *op = op_new(st, "search", search_exec, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	char *rooms = malloc(rooms_len), *p = rooms;
	if (!rooms) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	for (size_t i = 0; i < q->n_rooms; i++) {
		size_t l = strlen(q->room_ids[i]);
		memcpy(p, q->room_ids[i], l);
		p += l;
		*p++ = '\t';
	}
	*p = '\0';
	op->s[0] = op_strdup(op, terms);
	op->s[1] = op_strdup(op, rooms);
	op->s[2] = op_strdup(op, q->cursor);
	op->s[3] = op_strdup(op, q->user_id);
	free(rooms);
	op->n[1] = q->before_ts;
	op->n[2] = q->after_ts;
	op->flag = q->limit | (q->sort == PARLEY_SEARCH_RECENT) << 16;
	if (op->oom) {
		op_free(op);
		return PARLEY_ENOMEM;
	}
	__atomic_add_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
	int rc = lanes_submit(st->lanes, op, NULL);
	if (rc != PARLEY_OK) {
		__atomic_sub_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
		op_free(op);
		return rc;
	}
	return PARLEY_PENDING;
}
