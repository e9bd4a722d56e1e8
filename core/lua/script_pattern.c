/* string.find, match, gmatch and gsub for scripts, on a matcher that counts
 * its steps against the script's instruction budget. Lua's own matcher is
 * C code that backtracks without ever returning to the VM, so no count
 * hook fires inside it: one find with a pattern like ("a*"):rep(20) .. "b"
 * on a few hundred bytes ran for seconds. This one follows the pattern
 * language of the Lua 5.4 manual (§6.4.1) and charges every step (a
 * pattern item tried at a position, a byte scanned by %b or compared by a
 * back-reference) to the running slice, so the budget stops it like any
 * loop, and the script's CPU budget sees the time it took. */
#include <ctype.h>
#include <lauxlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memmem: _GNU_SOURCE is set by the build */

#include "lua/script_internal.h"

#define PAT_CAPTURES   32  /* LUA_MAXCAPTURES */
#define PAT_DEPTH      200 /* nested pattern items (C recursion) */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION   (-2)
#define PAT_SPECIALS   "^$*+?.([%-"

struct matcher {
	const char *src, *src_end, *pat_end;
	lua_State *L;
	int depth;    /* recursion left */
	int level;    /* captures open or closed */
	int64_t left; /* steps before the next charge to the budget */
	struct {
		const char *init;
		ptrdiff_t len;
	} cap[PAT_CAPTURES];
};

/* Charges a whole block of steps at once; raises when the budget is spent. */
static void refill(struct matcher *m)
{
	sandbox_charge(m->L, SCRIPT_HOOK_STEP);
	m->left = SCRIPT_HOOK_STEP;
}

static inline void step(struct matcher *m, int64_t n)
{
	m->left -= n;
	if (m->left <= 0)
		refill(m);
}

static const char *match(struct matcher *m, const char *s, const char *p);

/* The end of the single-character class at p. */
static const char *class_end(struct matcher *m, const char *p)
{
	char c = *p++;
	if (c == '%') {
		if (p >= m->pat_end)
			luaL_error(m->L, "malformed pattern (ends with '%%')");
		return p + 1;
	}
	if (c == '[') {
		if (p < m->pat_end && *p == '^')
			p++;
		do { /* the first character is taken as is, even ']' */
			if (p >= m->pat_end)
				luaL_error(m->L, "malformed pattern (missing ']')");
			c = *p++;
			if (c == '%' && p < m->pat_end)
				p++;
		} while (p >= m->pat_end || *p != ']');
		return p + 1;
	}
	return p;
}

static int class_matches(int c, int cl)
{
	int r;
	switch (tolower(cl)) {
	case 'a':
		r = isalpha(c);
		break;
	case 'c':
		r = iscntrl(c);
		break;
	case 'd':
		r = isdigit(c);
		break;
	case 'g':
		r = isgraph(c);
		break;
	case 'l':
		r = islower(c);
		break;
	case 'p':
		r = ispunct(c);
		break;
	case 's':
		r = isspace(c);
		break;
	case 'u':
		r = isupper(c);
		break;
	case 'w':
		r = isalnum(c);
		break;
	case 'x':
		r = isxdigit(c);
		break;
	case 'z': /* deprecated in the manual, still in Lua's library */
		r = c == 0;
		break;
	default:
		return cl == c;
	}
	r = r != 0;
	return isupper(cl) ? !r : r;
}

/* [set]: p at '[', last at the closing ']'. */
static int set_matches(int c, const char *p, const char *last)
{
	int hit = 1;
	p++;
	if (*p == '^') {
		hit = 0;
		p++;
	}
	for (; p < last; p++) {
		if (*p == '%' && p + 1 < last) {
			p++;
			if (class_matches(c, (unsigned char)*p))
				return hit;
		} else if (p + 2 < last && p[1] == '-') {
			if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
				return hit;
			p += 2;
		} else if ((unsigned char)*p == c) {
			return hit;
		}
	}
	return !hit;
}

static int single_matches(struct matcher *m, const char *s, const char *p, const char *ep)
{
	if (s >= m->src_end)
		return 0;
	int c = (unsigned char)*s;
	switch (*p) {
	case '.':
		return 1;
	case '%':
		return class_matches(c, (unsigned char)p[1]);
	case '[':
		return set_matches(c, p, ep - 1);
	default:
		return (unsigned char)*p == c;
	}
}

static const char *match_balance(struct matcher *m, const char *s, const char *p)
{
	if (p + 1 >= m->pat_end)
		luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
	if (s >= m->src_end || *s != *p)
		return NULL;
	char open = p[0], close = p[1];
	int depth = 1;
	while (++s < m->src_end) {
		step(m, 1);
		if (*s == close) {
			if (--depth == 0)
				return s + 1;
		} else if (*s == open) {
			depth++;
		}
	}
	return NULL;
}

static const char *max_expand(struct matcher *m, const char *s, const char *p, const char *ep)
{
	ptrdiff_t n = 0;
	while (single_matches(m, s + n, p, ep)) {
		step(m, 1);
		n++;
	}
	for (; n >= 0; n--) { /* try the longest run first */
		const char *r = match(m, s + n, ep + 1);
		if (r)
			return r;
	}
	return NULL;
}

static const char *min_expand(struct matcher *m, const char *s, const char *p, const char *ep)
{
	for (;;) {
		const char *r = match(m, s, ep + 1);
		if (r)
			return r;
		if (!single_matches(m, s, p, ep))
			return NULL;
		s++;
		step(m, 1);
	}
}

static const char *start_capture(struct matcher *m, const char *s, const char *p, ptrdiff_t what)
{
	if (m->level >= PAT_CAPTURES)
		luaL_error(m->L, "too many captures");
	m->cap[m->level].init = s;
	m->cap[m->level].len = what;
	m->level++;
	const char *r = match(m, s, p);
	if (!r)
		m->level--;
	return r;
}

static const char *end_capture(struct matcher *m, const char *s, const char *p)
{
	int l = m->level - 1;
	while (l >= 0 && m->cap[l].len != CAP_UNFINISHED)
		l--;
	if (l < 0)
		luaL_error(m->L, "invalid pattern capture");
	m->cap[l].len = s - m->cap[l].init;
	const char *r = match(m, s, p);
	if (!r)
		m->cap[l].len = CAP_UNFINISHED;
	return r;
}

static const char *match_back_ref(struct matcher *m, const char *s, int digit)
{
	int l = digit - '1';
	if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNFINISHED)
		luaL_error(m->L, "invalid capture index %%%d", l + 1);
	size_t len = (size_t)m->cap[l].len;
	step(m, (int64_t)len);
	if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].init, s, len) == 0)
		return s + len;
	return NULL;
}

static const char *match(struct matcher *m, const char *s, const char *p)
{
	if (m->depth-- == 0)
		luaL_error(m->L, "pattern too complex");
	for (;;) {
		step(m, 1);
		if (p >= m->pat_end)
			break;
		if (*p == '(') {
			s = p + 1 < m->pat_end && p[1] == ')'
			        ? start_capture(m, s, p + 2, CAP_POSITION)
			        : start_capture(m, s, p + 1, CAP_UNFINISHED);
			break;
		}
		if (*p == ')') {
			s = end_capture(m, s, p + 1);
			break;
		}
		if (*p == '$' && p + 1 == m->pat_end) {
			s = s == m->src_end ? s : NULL;
			break;
		}
		if (*p == '%' && p + 1 < m->pat_end && p[1] == 'b') {
			s = match_balance(m, s, p + 2);
			if (!s)
				break;
			p += 4;
			continue;
		}
		if (*p == '%' && p + 1 < m->pat_end && p[1] == 'f') {
			p += 2;
			if (p >= m->pat_end || *p != '[')
				luaL_error(m->L, "missing '[' after '%%f' in pattern");
			const char *ep = class_end(m, p);
			int prev = s == m->src ? 0 : (unsigned char)s[-1];
			int cur = s < m->src_end ? (unsigned char)*s : 0;
			if (!set_matches(prev, p, ep - 1) && set_matches(cur, p, ep - 1)) {
				p = ep;
				continue;
			}
			s = NULL;
			break;
		}
		if (*p == '%' && p + 1 < m->pat_end && isdigit((unsigned char)p[1])) {
			s = match_back_ref(m, s, (unsigned char)p[1]);
			if (!s)
				break;
			p += 2;
			continue;
		}
		/* A single-character class, maybe with a quantifier. */
		const char *ep = class_end(m, p);
		char q = ep < m->pat_end ? *ep : 0;
		if (!single_matches(m, s, p, ep)) {
			if (q == '*' || q == '?' || q == '-') {
				p = ep + 1; /* zero repetitions */
				continue;
			}
			s = NULL;
			break;
		}
		if (q == '?') {
			const char *r = match(m, s + 1, ep + 1);
			if (r) {
				s = r;
				break;
			}
			p = ep + 1;
			continue;
		}
		if (q == '+') {
			s = max_expand(m, s + 1, p, ep);
			break;
		}
		if (q == '*') {
			s = max_expand(m, s, p, ep);
			break;
		}
		if (q == '-') {
			s = min_expand(m, s, p, ep);
			break;
		}
		s++;
		p = ep;
	}
	m->depth++;
	return s;
}

/* ---------------------------------------------------------------- */
/* Captures and the library functions                                 */
/* ---------------------------------------------------------------- */

static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
	if (i >= m->level) {
		if (i != 0)
			luaL_error(m->L, "invalid capture index %%%d", i + 1);
		lua_pushlstring(m->L, s, (size_t)(e - s)); /* the whole match */
		return;
	}
	ptrdiff_t len = m->cap[i].len;
	if (len == CAP_UNFINISHED)
		luaL_error(m->L, "unfinished capture");
	if (len == CAP_POSITION)
		lua_pushinteger(m->L, (lua_Integer)(m->cap[i].init - m->src) + 1);
	else
		lua_pushlstring(m->L, m->cap[i].init, (size_t)len);
}

/* The captures (or the whole match when s is given and there are none). */
static int push_captures(struct matcher *m, const char *s, const char *e)
{
	int n = m->level == 0 && s ? 1 : m->level;
	luaL_checkstack(m->L, n, "too many captures");
	for (int i = 0; i < n; i++)
		push_capture(m, i, s, e);
	return n;
}

static void matcher_init(struct matcher *m, lua_State *L, const char *s, size_t ls, const char *p,
                         size_t lp)
{
	m->L = L;
	m->src = s;
	m->src_end = s + ls;
	m->pat_end = p + lp;
	m->left = SCRIPT_HOOK_STEP;
}

/* Before each attempt at a new position. */
static void matcher_reset(struct matcher *m)
{
	m->level = 0;
	m->depth = PAT_DEPTH;
}

/* The steps not yet charged (less than a block). */
static void matcher_done(struct matcher *m)
{
	sandbox_charge(m->L, SCRIPT_HOOK_STEP - m->left);
}

static int has_specials(const char *p, size_t lp)
{
	for (size_t i = 0; i < lp; i++)
		if (p[i] && strchr(PAT_SPECIALS, p[i]))
			return 1;
	return 0;
}

/* A start position from a 1-based, maybe negative, argument. */
static size_t start_of(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return (size_t)pos;
	if (pos == 0 || pos < -(lua_Integer)len)
		return 1;
	return len + (size_t)pos + 1;
}

static int find_or_match(lua_State *L, int find)
{
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_of(luaL_optinteger(L, 3, 1), ls) - 1;
	if (init > ls) {
		luaL_pushfail(L);
		return 1;
	}
	if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
		/* memmem is linear: no steps to count */
		const char *hit = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
		if (hit) {
			lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
			lua_pushinteger(L, (lua_Integer)(hit - s + (ptrdiff_t)lp));
			return 2;
		}
		luaL_pushfail(L);
		return 1;
	}
	struct matcher m;
	int anchor = lp > 0 && *p == '^';
	if (anchor) {
		p++;
		lp--;
	}
	matcher_init(&m, L, s, ls, p, lp);
	const char *at = s + init;
	do {
		matcher_reset(&m);
		const char *e = match(&m, at, p);
		if (e) {
			matcher_done(&m);
			if (find) {
				lua_pushinteger(L, (lua_Integer)(at - s) + 1);
				lua_pushinteger(L, (lua_Integer)(e - s));
				return push_captures(&m, NULL, NULL) + 2;
			}
			return push_captures(&m, at, e);
		}
	} while (at++ < m.src_end && !anchor);
	matcher_done(&m);
	luaL_pushfail(L);
	return 1;
}

static int str_find(lua_State *L)
{
	return find_or_match(L, 1);
}

static int str_match(lua_State *L)
{
	return find_or_match(L, 0);
}

/* gmatch's state between calls: where to go on, and where the last match
 * ended (an empty match there is skipped). */
struct gmatch_state {
	size_t pos;
	ptrdiff_t last_end; /* -1: none */
};

static int gmatch_next(lua_State *L)
{
	size_t ls, lp;
	const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
	const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
	struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
	if (g->pos > ls)
		return 0; /* done (or started past the end) */
	struct matcher m;
	matcher_init(&m, L, s, ls, p, lp);
	for (const char *at = s + g->pos; at <= m.src_end; at++) {
		matcher_reset(&m);
		const char *e = match(&m, at, p);
		if (e && e - s != g->last_end) {
			matcher_done(&m);
			g->pos = (size_t)(e - s);
			g->last_end = e - s;
			return push_captures(&m, at, e);
		}
	}
	matcher_done(&m);
	g->pos = ls + 1;
	return 0;
}

static int str_gmatch(lua_State *L)
{
	size_t ls;
	luaL_checklstring(L, 1, &ls);
	luaL_checkstring(L, 2);
	size_t init = start_of(luaL_optinteger(L, 3, 1), ls) - 1;
	lua_settop(L, 2);
	struct gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
	g->pos = init > ls ? ls + 1 : init;
	g->last_end = -1;
	lua_pushcclosure(L, gmatch_next, 3);
	return 1;
}

/* A string replacement: %0-%9 and %%. */
static void add_template(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
	lua_State *L = m->L;
	size_t l;
	const char *r = lua_tolstring(L, 3, &l);
	const char *end = r + l;
	step(m, (int64_t)l);
	for (; r < end; r++) {
		if (*r != '%') {
			luaL_addchar(b, *r);
			continue;
		}
		r++;
		if (r < end && *r == '%') {
			luaL_addchar(b, '%');
		} else if (r < end && isdigit((unsigned char)*r)) {
			if (*r == '0') {
				luaL_addlstring(b, s, (size_t)(e - s));
			} else {
				push_capture(m, *r - '1', s, e);
				luaL_tolstring(L, -1, NULL);
				lua_remove(L, -2);
				luaL_addvalue(b);
			}
		} else {
			luaL_error(L, "invalid use of '%%' in replacement string");
		}
	}
}

static void add_replacement(struct matcher *m, luaL_Buffer *b, const char *s, const char *e,
                            int type)
{
	lua_State *L = m->L;
	if (type == LUA_TFUNCTION) {
		lua_pushvalue(L, 3);
		int n = push_captures(m, s, e);
		lua_call(L, n, 1);
	} else if (type == LUA_TTABLE) {
		push_capture(m, 0, s, e);
		lua_gettable(L, 3);
	} else {
		add_template(m, b, s, e);
		return;
	}
	if (!lua_toboolean(L, -1)) { /* nil or false: keep the original */
		lua_pop(L, 1);
		luaL_addlstring(b, s, (size_t)(e - s));
	} else if (!lua_isstring(L, -1)) {
		luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
	} else {
		luaL_addvalue(b);
	}
}

static int str_gsub(lua_State *L)
{
	size_t ls, lp;
	const char *src = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	int type = lua_type(L, 3);
	lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
	luaL_argexpected(L,
	                 type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION ||
	                     type == LUA_TTABLE,
	                 3, "string/function/table");
	int anchor = lp > 0 && *p == '^';
	if (anchor) {
		p++;
		lp--;
	}
	struct matcher m;
	matcher_init(&m, L, src, ls, p, lp);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	const char *at = src, *last_end = NULL;
	lua_Integer n = 0;
	while (n < max_n) {
		matcher_reset(&m);
		const char *e = match(&m, at, p);
		if (e && e != last_end) {
			n++;
			add_replacement(&m, &b, at, e, type);
			at = last_end = e;
		} else if (at < m.src_end) {
			luaL_addchar(&b, *at++);
		} else {
			break;
		}
		if (anchor)
			break;
	}
	matcher_done(&m);
	if (n == 0) {
		lua_pushvalue(L, 1); /* unchanged */
	} else {
		luaL_addlstring(&b, at, (size_t)(m.src_end - at));
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return 2;
}

void pattern_open(lua_State *L)
{
	static const luaL_Reg fns[] = {{"find", str_find},
	                               {"match", str_match},
	                               {"gmatch", str_gmatch},
	                               {"gsub", str_gsub},
	                               {NULL, NULL}};
	lua_getglobal(L, "string");
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 1);
}
