/* The reader of ListObjectsV2's answer (issue 17: backups list their
 * objects). A small pull parser over the whole element tree, not a search
 * for tags: an element is read only where the schema puts it
 * (ListBucketResult/Contents/Key…), so a key whose text looks like markup
 * cannot pass for another field. Every limit is checked: nesting depth, a
 * name's length, a key's length (S3's 1024 bytes), objects per page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"

#define NAME_MAX_LEN 64
#define TEXT_MAX     (S3_KEY_MAX + 1)

enum field { F_NONE, F_KEY, F_SIZE, F_MTIME, F_TRUNCATED, F_TOKEN };

struct parser {
	const char *p, *end;
	char stack[S3_LIST_DEPTH_MAX][NAME_MAX_LEN + 1];
	int depth;
	int root_closed;
	enum field field;
	char text[TEXT_MAX];
	size_t tlen;
	/* The object being read (inside Contents). */
	char key[TEXT_MAX];
	int has_key;
	int64_t size, mtime_ms;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *why)
{
	snprintf(ps->err, ps->errlen, "ListObjectsV2 answer: %s", why);
	return -1;
}

/* Where the element just opened sits: the field it is, or none. */
static enum field field_of(const struct parser *ps)
{
	const char *top = ps->stack[ps->depth - 1];
	if (ps->depth == 3 && strcmp(ps->stack[1], "Contents") == 0) {
		if (strcmp(top, "Key") == 0)
			return F_KEY;
		if (strcmp(top, "Size") == 0)
			return F_SIZE;
		if (strcmp(top, "LastModified") == 0)
			return F_MTIME;
	}
	if (ps->depth == 2) {
		if (strcmp(top, "IsTruncated") == 0)
			return F_TRUNCATED;
		if (strcmp(top, "NextContinuationToken") == 0)
			return F_TOKEN;
	}
	return F_NONE;
}

/* Appends code point cp as UTF-8 to the field's text. */
static int put_utf8(struct parser *ps, unsigned long cp)
{
	unsigned char b[4];
	size_t n;
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return fail(ps, "a character reference out of range");
	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6)), b[1] = (unsigned char)(0x80 | (cp & 63)),
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
		b[2] = (unsigned char)(0x80 | (cp & 63)), n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
		b[3] = (unsigned char)(0x80 | (cp & 63)), n = 4;
	}
	if (ps->tlen + n >= sizeof ps->text)
		return fail(ps, "a value longer than 1024 bytes");
	memcpy(ps->text + ps->tlen, b, n);
	ps->tlen += n;
	return 0;
}

/* Text up to the next '<', entities decoded, kept when inside a field. */
static int read_text(struct parser *ps)
{
	static const struct {
		const char *name;
		char ch;
	} ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
	while (ps->p < ps->end && *ps->p != '<') {
		char ch = *ps->p++;
		if (ch == '&') {
			const char *semi = memchr(ps->p, ';', (size_t)(ps->end - ps->p));
			if (!semi || semi - ps->p > 10 || semi == ps->p)
				return fail(ps, "a broken entity");
			size_t el = (size_t)(semi - ps->p);
			int known = 0;
			if (*ps->p == '#') {
				char num[12], *stop;
				int hex = el > 1 && (ps->p[1] == 'x' || ps->p[1] == 'X');
				memcpy(num, ps->p + 1 + hex, el - 1 - (size_t)hex);
				num[el - 1 - (size_t)hex] = '\0';
				unsigned long cp = strtoul(num, &stop, hex ? 16 : 10);
				if (!num[0] || *stop || num[0] == '-' || num[0] == '+' ||
				    num[0] == ' ')
					return fail(ps, "a broken character reference");
				ps->p = semi + 1;
				if (ps->field != F_NONE && put_utf8(ps, cp) < 0)
					return -1;
				continue;
			}
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
				if (strlen(ents[i].name) == el &&
				    !memcmp(ps->p, ents[i].name, el)) {
					ch = ents[i].ch;
					known = 1;
				}
			if (!known)
				return fail(ps, "an unknown entity");
			ps->p = semi + 1;
		}
		if (ps->field == F_NONE)
			continue;
		if (ps->tlen + 1 >= sizeof ps->text)
			return fail(ps, "a value longer than 1024 bytes");
		ps->text[ps->tlen++] = ch;
	}
	return 0;
}

/* "2026-12-06T05:00:00.000Z" as ms since the epoch; 0 when not that shape. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	int ms = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return 0;
	const char *rest = s + n;
	if (*rest == '.') {
		int digits = 0;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*rest - '0');
		while (digits > 0 && digits < 3)
			ms *= 10, digits++;
	}
	if (strcmp(rest, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t < 0 ? 0 : (int64_t)t * 1000 + ms;
}

/* The field just closed: into the object or the page. */
static int close_field(struct parser *ps, struct s3_list_page *page)
{
	ps->text[ps->tlen] = '\0';
	switch (ps->field) {
	case F_KEY:
		if (ps->tlen == 0 || ps->tlen > S3_KEY_MAX || memchr(ps->text, '\0', ps->tlen))
			return fail(ps, "an empty or too long key");
		memcpy(ps->key, ps->text, ps->tlen + 1);
		ps->has_key = 1;
		break;
	case F_SIZE: {
		char *stop;
		long long v = strtoll(ps->text, &stop, 10);
		if (!ps->text[0] || *stop || ps->text[0] == '-' || ps->text[0] == '+' ||
		    ps->text[0] == ' ' || v < 0 || v > (1LL << 50))
			return fail(ps, "a Size that is not a byte count");
		ps->size = v;
		break;
	}
	case F_MTIME:
		ps->mtime_ms = parse_time(ps->text);
		break;
	case F_TRUNCATED:
		page->truncated = strcmp(ps->text, "true") == 0;
		break;
	case F_TOKEN:
		if (ps->tlen >= sizeof page->next_token)
			return fail(ps, "a continuation token longer than 1024 bytes");
		memcpy(page->next_token, ps->text, ps->tlen + 1);
		break;
	case F_NONE:
		break;
	}
	ps->field = F_NONE;
	ps->tlen = 0;
	return 0;
}

/* "<?…?>" and "<!--…-->" are skipped; other "<!" (DOCTYPE, CDATA) refused. */
static int skip_markup(struct parser *ps)
{
	size_t left = (size_t)(ps->end - ps->p);
	const char *close = NULL;
	size_t clen = 0;
	if (left >= 2 && ps->p[1] == '?')
		close = "?>", clen = 2;
	else if (left >= 4 && !memcmp(ps->p, "<!--", 4))
		close = "-->", clen = 3;
	else
		return fail(ps, "markup S3 does not send (DOCTYPE or CDATA)");
	const char *e = memmem(ps->p + 2, left - 2, close, clen);
	if (!e)
		return fail(ps, "an unterminated comment or declaration");
	ps->p = e + clen;
	return 0;
}

static int read_tag(struct parser *ps, size_t max_objects, s3_list_object_fn fn, void *ud,
                    struct s3_list_page *page)
{
	ps->p++; /* '<' */
	int closing = ps->p < ps->end && *ps->p == '/';
	if (closing)
		ps->p++;
	const char *name = ps->p;
	while (ps->p < ps->end && !strchr(" \t\r\n/>", *ps->p))
		ps->p++;
	size_t nlen = (size_t)(ps->p - name);
	if (nlen == 0 || nlen > NAME_MAX_LEN)
		return fail(ps, "an element name that is empty or longer than 64 bytes");
	/* Attributes (S3 sends xmlns): skipped, quotes respected. */
	char quote = 0;
	while (ps->p < ps->end && (quote || *ps->p != '>')) {
		if (quote && *ps->p == quote)
			quote = 0;
		else if (!quote && (*ps->p == '"' || *ps->p == '\''))
			quote = *ps->p;
		ps->p++;
	}
	if (ps->p >= ps->end)
		return fail(ps, "an unterminated tag");
	int empty = ps->p[-1] == '/';
	ps->p++; /* '>' */
	if (closing) {
		if (ps->depth == 0 || strlen(ps->stack[ps->depth - 1]) != nlen ||
		    memcmp(ps->stack[ps->depth - 1], name, nlen) != 0)
			return fail(ps, "a closing tag that does not match");
		if (close_field(ps, page) < 0)
			return -1;
		if (ps->depth == 2 && strcmp(ps->stack[1], "Contents") == 0) {
			if (!ps->has_key)
				return fail(ps, "an object without a Key");
			if (++page->n > max_objects)
				return fail(ps, "more objects than the page asked for");
			if (fn(ud, ps->key, ps->size, ps->mtime_ms) < 0)
				return fail(ps, "the object could not be kept");
		}
		if (--ps->depth == 0)
			ps->root_closed = 1;
		return 0;
	}
	if (ps->root_closed)
		return fail(ps, "a second root element");
	if (empty)
		return 0;
	if (ps->depth == S3_LIST_DEPTH_MAX)
		return fail(ps, "elements nested too deep");
	if (ps->depth == 0 && (nlen != 16 || memcmp(name, "ListBucketResult", 16) != 0))
		return fail(ps, "the root is not ListBucketResult");
	memcpy(ps->stack[ps->depth], name, nlen);
	ps->stack[ps->depth][nlen] = '\0';
	ps->depth++;
	if (ps->field != F_NONE)
		return fail(ps, "an element inside a value");
	if (ps->depth == 2 && strcmp(ps->stack[1], "Contents") == 0) {
		ps->has_key = 0;
		ps->size = 0;
		ps->mtime_ms = 0;
	}
	ps->field = field_of(ps);
	ps->tlen = 0;
	return 0;
}

int s3_list_parse(const char *xml, size_t len, size_t max_objects, s3_list_object_fn fn, void *ud,
                  struct s3_list_page *page, char *err, size_t errlen)
{
	struct parser *ps = calloc(1, sizeof *ps);
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(page, 0, sizeof *page);
	ps->p = xml;
	ps->end = xml + len;
	ps->err = err;
	ps->errlen = errlen;
	int rc = 0;
	while (rc == 0 && ps->p < ps->end) {
		if (*ps->p != '<')
			rc = read_text(ps);
		else if (ps->end - ps->p >= 2 && (ps->p[1] == '?' || ps->p[1] == '!'))
			rc = skip_markup(ps);
		else
			rc = read_tag(ps, max_objects, fn, ud, page);
	}
	if (rc == 0 && !ps->root_closed)
		rc = fail(ps, "incomplete (no closing ListBucketResult)");
	if (rc == 0 && page->truncated && !page->next_token[0])
		rc = fail(ps, "truncated without a NextContinuationToken");
	free(ps);
	return rc;
}
