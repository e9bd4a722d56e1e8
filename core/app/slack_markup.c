/* Slack markup to parley text (see slack_markup.h). One pass over the
 * bytes; every lookahead is bounded (a <token> by SLACK_MARKUP_TOKEN_MAX,
 * an emoji name by EMOJI_NAME_MAX, a *bold* closer by the line), so the
 * work is linear in the input. Only ASCII bytes are markup: UTF-8
 * sequences pass through whole. */
#include "app/slack_markup.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "app/slack_emoji.h"

#define EMOJI_NAME_MAX 64
#define NONE           ((size_t)-1) /* no closer awaited */

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom || n == 0)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->oom = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* &amp; &lt; &gt; at in[i..n): the bytes it takes (0: not an entity). */
static size_t entity(const char *in, size_t i, size_t n, char *ch)
{
	static const struct {
		const char *name;
		char ch;
	} E[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
	for (size_t k = 0; k < 3; k++) {
		size_t len = strlen(E[k].name);
		if (n - i >= len && memcmp(in + i, E[k].name, len) == 0) {
			*ch = E[k].ch;
			return len;
		}
	}
	return 0;
}

/* Copies in[a..b) with its entities decoded. */
static void put_decoded(struct out *o, const char *in, size_t a, size_t b)
{
	while (a < b) {
		char ch;
		size_t len = entity(in, a, b, &ch);
		if (len) {
			put(o, &ch, 1);
			a += len;
		} else {
			put(o, in + a, 1);
			a++;
		}
	}
}

static int span_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* One <target|label> token, its content in[a..b). */
static void token(struct out *o, const char *in, size_t a, size_t b,
                  const struct slack_names *names)
{
	size_t bar = a;
	while (bar < b && in[bar] != '|')
		bar++;
	const char *t = in + a;
	size_t tn = bar - a, la = bar < b ? bar + 1 : b, ln = b - la;
	const char *name = NULL;
	if (tn > 0 && (t[0] == '@' || t[0] == '#')) {
		if (names && t[0] == '@' && names->user)
			name = names->user(names->ud, t + 1, tn - 1);
		else if (names && t[0] == '#' && names->channel)
			name = names->channel(names->ud, t + 1, tn - 1);
		put(o, t, 1);
		if (name)
			puts_(o, name);
		else if (ln)
			put_decoded(o, in, la + (in[la] == t[0]), b);
		else
			put_decoded(o, in, a + 1, bar);
		return;
	}
	if (tn > 0 && t[0] == '!') {
		if (span_is(t + 1, tn - 1, "here"))
			puts_(o, "@here");
		else if (span_is(t + 1, tn - 1, "channel"))
			puts_(o, "@room");
		else if (span_is(t + 1, tn - 1, "everyone"))
			puts_(o, "@all");
		else if (ln) /* subteam^S1|@team, date^…|fallback */
			put_decoded(o, in, la, b);
		else
			put_decoded(o, in, a + 1, bar);
		return;
	}
	/* A link. "mailto:x|x" is the address; "url|url" or "url|" the url. */
	int mailto = tn > 7 && memcmp(t, "mailto:", 7) == 0;
	if (ln == 0 || (ln == tn && memcmp(t, in + la, tn) == 0)) {
		put_decoded(o, in, a + (mailto ? 7 : 0), bar);
	} else if (mailto && ln == tn - 7 && memcmp(t + 7, in + la, ln) == 0) {
		put_decoded(o, in, la, b);
	} else {
		put_decoded(o, in, la, b);
		puts_(o, " (");
		put_decoded(o, in, a + (mailto ? 7 : 0), bar);
		puts_(o, ")");
	}
}

static int emoji_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '+';
}

/* Where the closer of a *bold* / ~struck~ opened at i is, or 0: the same
 * character after a non-space, on the same line, not followed by a
 * letter or digit. */
static size_t closer(const char *in, size_t i, size_t n)
{
	char c = in[i];
	for (size_t j = i + 2; j < n && in[j] != '\n'; j++)
		if (in[j] == c && in[j - 1] != ' ' && in[j - 1] != c &&
		    (j + 1 == n || !isalnum((unsigned char)in[j + 1])))
			return j;
	return 0;
}

char *slack_markup_convert(const char *in, size_t n, const struct slack_names *names)
{
	if (n > SLACK_MARKUP_IN_MAX)
		return NULL;
	/* Room for the text as it is: most of it is copied. */
	struct out o = {.p = malloc(n + 1), .cap = n + 1};
	if (!o.p)
		return NULL;
	o.p[0] = '\0';
	int pre = 0, code = 0;
	size_t close_bold = NONE, close_strike = NONE;
	for (size_t i = 0; i < n && !o.oom;) {
		unsigned char c = (unsigned char)in[i];
		char ch;
		size_t len;
		if (c == '`' && n - i >= 3 && in[i + 1] == '`' && in[i + 2] == '`') {
			pre = !pre;
			code = 0;
			puts_(&o, "```");
			i += 3;
			continue;
		}
		if (c == '\n')
			code = 0;
		if (c == '`' && !pre)
			code = !code;
		if (c == '&' && (len = entity(in, i, n, &ch)) > 0) {
			put(&o, &ch, 1);
			i += len;
			continue;
		}
		if (c == '<') {
			size_t j = i + 1;
			while (j < n && j - i <= SLACK_MARKUP_TOKEN_MAX && in[j] != '>' &&
			       in[j] != '<' && in[j] != '\n')
				j++;
			if (j < n && in[j] == '>' && j - i <= SLACK_MARKUP_TOKEN_MAX) {
				token(&o, in, i + 1, j, names);
				i = j + 1;
				continue;
			}
		}
		if (close_bold != NONE && i > close_bold)
			close_bold = NONE;
		if (close_strike != NONE && i > close_strike)
			close_strike = NONE;
		if ((c == '*' && i == close_bold) || (c == '~' && i == close_strike)) {
			put(&o, in + i, 1);
			put(&o, in + i, 1);
			i++;
			continue;
		}
		if ((c == '*' || c == '~') && !pre && !code && i + 1 < n &&
		    (i == 0 || !isalnum((unsigned char)in[i - 1])) && in[i + 1] != ' ' &&
		    in[i + 1] != '\n' && in[i + 1] != (char)c) {
			size_t j = closer(in, i, n);
			size_t *slot = c == '*' ? &close_bold : &close_strike;
			if (j && *slot == NONE) {
				*slot = j;
				put(&o, in + i, 1);
				put(&o, in + i, 1);
				i++;
				continue;
			}
		}
		if (c == ':' && !pre && !code) {
			size_t j = i + 1;
			while (j < n && j - i <= EMOJI_NAME_MAX && emoji_char((unsigned char)in[j]))
				j++;
			const char *e = j < n && in[j] == ':' && j > i + 1
			                    ? slack_emoji(in + i + 1, j - i - 1)
			                    : NULL;
			if (e) {
				puts_(&o, e);
				i = j + 1;
				continue;
			}
		}
		put(&o, in + i, 1);
		i++;
	}
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	return o.p;
}
