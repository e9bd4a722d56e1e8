/* See html_meta.h. */
#include "base/html_meta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum field { F_TITLE, F_DESC, F_IMAGE, F_SITE };

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t need;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4, cp = c & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return need;
}

/* Appends code point cp as UTF-8 if it fits in cap (with its NUL). */
static void put_cp(char *out, size_t *o, size_t cap, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x20 || cp == 0x7F || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return; /* not text */
	if (cp < 0x80)
		b[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F)),
		n = 2;
	else if (cp < 0x10000)
		b[0] = (unsigned char)(0xE0 | cp >> 12),
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
		b[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
	else
		b[0] = (unsigned char)(0xF0 | cp >> 18),
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)),
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
		b[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
	if (*o + n >= cap)
		return;
	memcpy(out + *o, b, n);
	*o += n;
}

/* A character reference at s[0..n) (s[0] == '&'): its code point and length,
 * or 0 when it is none this knows (then '&' is literal). */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {{"amp;", '&'},       {"lt;", '<'},       {"gt;", '>'},
	             {"quot;", '"'},      {"apos;", '\''},    {"nbsp;", 0xA0},
	             {"#39;", '\''},      {"mdash;", 0x2014}, {"ndash;", 0x2013},
	             {"hellip;", 0x2026}, {"rsquo;", 0x2019}, {"lsquo;", 0x2018},
	             {"rdquo;", 0x201D},  {"ldquo;", 0x201C}};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		size_t l = strlen(named[i].name);
		if (n > l && memcmp(s + 1, named[i].name, l) == 0) {
			*cp = named[i].cp;
			return l + 1;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	size_t i = 2;
	int hex = s[2] == 'x' || s[2] == 'X';
	if (hex)
		i++;
	uint32_t v = 0;
	size_t digits = 0;
	for (; i < n && digits < 8; i++, digits++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'          ? c - '0'
		        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                      : -1;
		if (d < 0)
			break;
		v = v * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (!digits || i >= n || s[i] != ';')
		return 0;
	*cp = v;
	return i + 1;
}

/* Copies s[0..n) into out (cap bytes with the NUL): entities decoded,
 * runs of whitespace as one space, trimmed, invalid UTF-8 dropped; cut at
 * a character boundary. */
static void clean_text(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	int space = 0;
	for (size_t i = 0; i < n && o + 1 < cap;) {
		const unsigned char *p = (const unsigned char *)s + i;
		uint32_t cp = 0;
		size_t l;
		if (is_space(*p) || *p < 0x20 || *p == 0x7F) {
			space = 1;
			i++;
			continue;
		}
		int decoded = *p == '&' && (l = entity(s + i, n - i, &cp)) != 0;
		if (!decoded && !(l = utf8_len(p, n - i))) {
			i++; /* invalid UTF-8: dropped */
			continue;
		}
		i += l;
		if (decoded && (cp == 0xA0 || cp <= 0x20 || cp == 0x7F)) {
			space = 1;
			continue;
		}
		if (decoded && ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
			continue; /* not a character */
		if (space && o)
			put_cp(out, &o, cap, ' ');
		space = 0;
		if (decoded) {
			put_cp(out, &o, cap, cp);
			continue;
		}
		if (o + l >= cap)
			break;
		memcpy(out + o, p, l);
		o += l;
	}
	while (o && out[o - 1] == ' ')
		o--; /* a space kept before a character that did not fit */
	out[o] = '\0';
}

static char *field_buf(struct html_meta *m, enum field f, size_t *cap)
{
	switch (f) {
	case F_TITLE:
		*cap = sizeof m->title;
		return m->title;
	case F_DESC:
		*cap = sizeof m->description;
		return m->description;
	case F_IMAGE:
		*cap = sizeof m->image;
		return m->image;
	default:
		*cap = sizeof m->site_name;
		return m->site_name;
	}
}

/* Keeps value for f when it comes from a better source than the one
 * already there (og: 3, twitter: 2, plain meta/<title>: 1). */
static void offer(struct html_meta *m, enum field f, int rank, const char *v, size_t n)
{
	if (rank <= m->rank[f])
		return;
	size_t cap;
	char *buf = field_buf(m, f, &cap);
	clean_text(v, n, buf, cap);
	if (buf[0])
		m->rank[f] = rank;
}

static int lower_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

struct attr {
	const char *name, *value;
	size_t name_len, value_len;
};

/* Reads a tag's attributes from p (after its name) to '>': returns the
 * position after '>' (or end), up to HTML_META_ATTRS_MAX attributes. */
static size_t read_attrs(const char *s, size_t p, size_t end, struct attr *a, size_t *na)
{
	*na = 0;
	while (p < end) {
		while (p < end && (is_space(s[p]) || s[p] == '/'))
			p++;
		if (p >= end || s[p] == '>')
			return p < end ? p + 1 : end;
		size_t ns = p;
		while (p < end && !is_space(s[p]) && s[p] != '=' && s[p] != '>' && s[p] != '/')
			p++;
		size_t ne = p;
		while (p < end && is_space(s[p]))
			p++;
		const char *v = NULL;
		size_t vl = 0;
		if (p < end && s[p] == '=') {
			p++;
			while (p < end && is_space(s[p]))
				p++;
			if (p < end && (s[p] == '"' || s[p] == '\'')) {
				char q = s[p++];
				const char *close = memchr(s + p, q, end - p);
				size_t ve = close ? (size_t)(close - s) : end;
				v = s + p, vl = ve - p;
				p = close ? ve + 1 : end;
			} else {
				size_t vs = p;
				while (p < end && !is_space(s[p]) && s[p] != '>')
					p++;
				v = s + vs, vl = p - vs;
			}
		}
		if (ne == ns) {
			p++; /* a stray character: skip it */
			continue;
		}
		if (*na < HTML_META_ATTRS_MAX)
			a[(*na)++] = (struct attr){s + ns, v, ne - ns, vl};
	}
	return end;
}

static void meta_tag(struct html_meta *m, const struct attr *a, size_t na)
{
	const char *key = NULL, *content = NULL;
	size_t kl = 0, cl = 0;
	for (size_t i = 0; i < na; i++) {
		if (!a[i].value)
			continue;
		if (lower_eq(a[i].name, a[i].name_len, "property") ||
		    (lower_eq(a[i].name, a[i].name_len, "name") && !key))
			key = a[i].value, kl = a[i].value_len;
		else if (lower_eq(a[i].name, a[i].name_len, "content"))
			content = a[i].value, cl = a[i].value_len;
	}
	if (!key || !content)
		return;
	static const struct {
		const char *key;
		enum field f;
		int rank;
	} map[] = {{"og:title", F_TITLE, 3},
	           {"og:description", F_DESC, 3},
	           {"og:image", F_IMAGE, 3},
	           {"og:image:url", F_IMAGE, 3},
	           {"og:image:secure_url", F_IMAGE, 3},
	           {"og:site_name", F_SITE, 3},
	           {"twitter:title", F_TITLE, 2},
	           {"twitter:description", F_DESC, 2},
	           {"twitter:image", F_IMAGE, 2},
	           {"description", F_DESC, 1}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (lower_eq(key, kl, map[i].key))
			offer(m, map[i].f, map[i].rank, content, cl);
}

/* Finds "</name" (any case) from p; returns its position or end. */
static size_t find_close(const char *s, size_t p, size_t end, const char *name)
{
	size_t nl = strlen(name);
	while (p < end) {
		const char *lt = memchr(s + p, '<', end - p);
		if (!lt)
			return end;
		p = (size_t)(lt - s);
		if (end - p >= nl + 2 && s[p + 1] == '/' && strncasecmp(s + p + 2, name, nl) == 0)
			return p;
		p++;
	}
	return end;
}

void html_meta_parse(const char *s, size_t len, struct html_meta *m)
{
	memset(m, 0, sizeof *m);
	size_t end = len < HTML_META_SCAN_MAX ? len : HTML_META_SCAN_MAX;
	size_t p = 0, tags = 0;
	struct attr a[HTML_META_ATTRS_MAX];
	while (p < end && tags < HTML_META_TAGS_MAX) {
		const char *lt = memchr(s + p, '<', end - p);
		if (!lt)
			break;
		p = (size_t)(lt - s) + 1;
		tags++;
		if (end - p >= 3 && memcmp(s + p, "!--", 3) == 0) {
			const char *close = NULL;
			for (size_t q = p + 3; q + 3 <= end; q++)
				if (memcmp(s + q, "-->", 3) == 0) {
					close = s + q;
					break;
				}
			p = close ? (size_t)(close - s) + 3 : end;
			continue;
		}
		size_t ns = p;
		while (p < end && ((s[p] >= 'a' && s[p] <= 'z') || (s[p] >= 'A' && s[p] <= 'Z') ||
		                   (s[p] >= '0' && s[p] <= '9') || s[p] == '/' || s[p] == '!'))
			p++;
		const char *name = s + ns;
		size_t nl = p - ns;
		if (lower_eq(name, nl, "/head") || lower_eq(name, nl, "body"))
			break;
		size_t na;
		size_t after = read_attrs(s, p, end, a, &na);
		if (lower_eq(name, nl, "meta")) {
			meta_tag(m, a, na);
		} else if (lower_eq(name, nl, "title")) {
			size_t close = find_close(s, after, end, "title");
			offer(m, F_TITLE, 1, s + after, close - after);
			after = close;
		} else if (lower_eq(name, nl, "script") || lower_eq(name, nl, "style")) {
			/* Their text is not markup: skip to the end tag. */
			after = find_close(s, after, end,
			                   lower_eq(name, nl, "script") ? "script" : "style");
		}
		p = after;
	}
}
