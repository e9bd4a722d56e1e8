/* The configuration tree, from a Lua file.
 *
 * The file is evaluated as a text chunk whose _ENV is a fresh table holding
 * only env(name); the globals it assigns are the config root. A custom
 * lua_Alloc caps the memory and a count hook caps the instructions, so a
 * broken or hostile file ends with an error instead of hanging or eating
 * the process. The chunk runs under a fixed chunk name (CHUNK_ID) so Lua's
 * "name:line:" prefixes can be rewritten to the full file name (Lua shortens
 * long names).
 *
 * The result is copied into plain C nodes (no Lua state survives). Lua does
 * not remember where a field was written, so lines come from the source
 * text with comments blanked: a key is the first `key =` (or `["key"] =`) at
 * or after where its parent was found; list items are searched in order
 * (strings by their quoted text, tables by their contents). Map entries are
 * then sorted by that position, so the tree keeps the file's order. */
#include "base/conf_tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "base/log.h"
#include "base/lua_alloc.h"

/* Memory a config file may use while it is evaluated. */
#define CONF_MEM_LIMIT (16u * 1024 * 1024)
/* Lua VM instructions a config file may run. */
#define CONF_INSTR_LIMIT 20000000L
/* The count hook fires every CONF_HOOK_STEP instructions. */
#define CONF_HOOK_STEP 1000
/* Largest config file read. */
#define CONF_MAX_FILE (1024 * 1024)
/* Deepest table nesting converted. */
#define CONF_MAX_DEPTH 32
/* Longest error message built for a node. */
#define CONF_MSG_MAX 1024

#define CHUNK_ID "CONFIG"

struct conf_rootbox {
	conf_node node; /* first: the root is handed out as a conf_node */
	int errors;
};

struct budget {
	struct lua_heap heap; /* first: the allocator's ud is the budget */
	long steps;
};

/* ---- evaluation ---------------------------------------------------------- */

static void conf_hook(lua_State *L, lua_Debug *ar)
{
	struct budget *b;
	lua_getallocf(L, (void **)&b);
	b->steps += CONF_HOOK_STEP;
	if (b->steps <= CONF_INSTR_LIMIT)
		return;
	lua_getinfo(L, "l", ar);
	lua_pushfstring(L, CHUNK_ID ":%d: the config runs too long (over %d instructions)",
	                ar->currentline, (int)CONF_INSTR_LIMIT);
	lua_error(L);
}

static int conf_env(lua_State *L)
{
	const char *v = getenv(luaL_checkstring(L, 1));
	if (v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
	return 1;
}

struct chunk {
	const char *src;
	size_t len;
};

/* Runs in protected mode: loads and runs the chunk, returns its _ENV. */
static int conf_run(lua_State *L)
{
	const struct chunk *ch = lua_touserdata(L, 1);
	if (luaL_loadbufferx(L, ch->src, ch->len, "=" CHUNK_ID, "t") != LUA_OK)
		return lua_error(L);
	lua_newtable(L);
	lua_pushcfunction(L, conf_env);
	lua_setfield(L, -2, "env");
	lua_pushvalue(L, -1);
	lua_setupvalue(L, -3, 1); /* the chunk's only upvalue is _ENV */
	lua_insert(L, -2);
	lua_call(L, 0, 0);
	return 1;
}

/* Copies a Lua error message, with CHUNK_ID replaced by the file name. */
static void format_lua_error(const char *file, const char *msg, char *err, size_t errlen)
{
	size_t idl = strlen(CHUNK_ID);
	if (strncmp(msg, CHUNK_ID ":", idl + 1) == 0)
		snprintf(err, errlen, "%s:%s", file, msg + idl + 1);
	else
		snprintf(err, errlen, "%s: %s", file, msg);
}

/* ---- conversion ---------------------------------------------------------- */

struct conv {
	lua_State *L;
	struct conf_rootbox *box;
	const void *stack[CONF_MAX_DEPTH]; /* tables being converted: cycles */
	int depth;
	conf_node *bad; /* first bad value: reported once lines are known */
	char bad_msg[CONF_MSG_MAX];
	int oom;
};

static void conv_bad(struct conv *c, conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conv_bad(struct conv *c, conf_node *n, const char *fmt, ...)
{
	if (c->bad)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->bad_msg, sizeof(c->bad_msg), fmt, ap);
	va_end(ap);
	c->bad = n;
}

static void node_free(conf_node *n);

/* Frees what a node owns, not the node itself. */
static void node_clear(conf_node *n)
{
	for (size_t i = 0; i < n->n_items; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->key);
	free(n->path);
	free(n->str);
}

static void node_free(conf_node *n)
{
	if (!n)
		return;
	node_clear(n);
	free(n);
}

static char *path_join(const char *parent, const char *key, size_t index)
{
	char *p = NULL;
	int rc;
	if (key)
		rc = parent && *parent ? asprintf(&p, "%s.%s", parent, key)
		                       : asprintf(&p, "%s", key);
	else
		rc = asprintf(&p, "%s[%zu]", parent ? parent : "", index);
	return rc < 0 ? NULL : p;
}

static conf_node *node_new(struct conv *c, const conf_node *parent, const char *key, size_t index)
{
	conf_node *n = calloc(1, sizeof(*n));
	if (!n)
		goto fail;
	n->pos = -1;
	n->file = c->box->node.file;
	n->errors = &c->box->errors;
	n->path = path_join(parent->path, key, index);
	if (key)
		n->key = strdup(key);
	if (!n->path || (key && !n->key))
		goto fail;
	return n;
fail:
	if (n) {
		free(n->path);
		free(n->key);
		free(n);
	}
	c->oom = 1;
	return NULL;
}

static void convert_table(struct conv *c, int idx, conf_node *t);

/* Converts the value at stack index idx into n. */
static void convert_value(struct conv *c, int idx, conf_node *n)
{
	lua_State *L = c->L;
	size_t len;
	const char *s;
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		n->type = CONF_BOOL;
		n->b = lua_toboolean(L, idx);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			n->type = CONF_INT;
			n->i = lua_tointeger(L, idx);
			n->num = (double)n->i;
		} else {
			n->type = CONF_NUM;
			n->num = lua_tonumber(L, idx);
		}
		break;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (strlen(s) != len) {
			conv_bad(c, n, "strings may not contain NUL bytes");
			break;
		}
		n->type = CONF_STR;
		n->str = strdup(s);
		if (!n->str)
			c->oom = 1;
		break;
	case LUA_TTABLE:
		convert_table(c, idx, n);
		break;
	default:
		conv_bad(c, n, "a %s is not a config value", luaL_typename(L, idx));
		break;
	}
}

static int is_list_key(lua_State *L, int kidx, size_t n_list)
{
	if (!lua_isinteger(L, kidx))
		return 0;
	lua_Integer k = lua_tointeger(L, kidx);
	return k >= 1 && (lua_Unsigned)k <= n_list;
}

static void convert_table(struct conv *c, int idx, conf_node *t)
{
	lua_State *L = c->L;
	const void *self = lua_topointer(L, idx);
	size_t n_list = 0, n_map = 0;
	int is_root = t == &c->box->node;

	t->type = CONF_TABLE;
	if (c->depth >= CONF_MAX_DEPTH) {
		conv_bad(c, t, "tables nested too deep (over %d levels)", CONF_MAX_DEPTH);
		return;
	}
	for (int i = 0; i < c->depth; i++)
		if (c->stack[i] == self) {
			conv_bad(c, t, "a table that contains itself is not a config value");
			return;
		}
	if (!lua_checkstack(L, 4)) {
		c->oom = 1;
		return;
	}
	c->stack[c->depth++] = self;

	while (lua_rawgeti(L, idx, (lua_Integer)n_list + 1) != LUA_TNIL) {
		lua_pop(L, 1);
		n_list++;
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (!is_list_key(L, -2, n_list))
			n_map++;
		lua_pop(L, 1);
	}
	t->items = calloc(n_list + n_map + 1, sizeof(*t->items));
	if (!t->items) {
		c->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < n_list && !c->oom; i++) {
		conf_node *n = node_new(c, t, NULL, i + 1);
		if (!n)
			break;
		t->items[t->n_items++] = n;
		t->n_list++;
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		convert_value(c, lua_gettop(L), n);
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	while (!c->oom && lua_next(L, idx)) {
		if (is_list_key(L, -2, n_list)) {
			lua_pop(L, 1);
			continue;
		}
		if (lua_type(L, -2) != LUA_TSTRING) {
			if (lua_isinteger(L, -2))
				conv_bad(c, t, "key [%lld]: lists must run 1, 2, 3... without gaps",
				         (long long)lua_tointeger(L, -2));
			else
				conv_bad(c, t, "a %s key is not allowed (keys are names)",
				         luaL_typename(L, -2));
			lua_pop(L, 1);
			continue;
		}
		const char *key = lua_tostring(L, -2);
		if (is_root && strcmp(key, "env") == 0 && lua_tocfunction(L, -1) == conf_env) {
			lua_pop(L, 1);
			continue;
		}
		conf_node *n = node_new(c, t, key, 0);
		if (!n) {
			lua_pop(L, 2);
			break;
		}
		t->items[t->n_items++] = n;
		convert_value(c, lua_gettop(L), n);
		lua_pop(L, 1);
	}
out:
	c->depth--;
}

/* ---- source positions ---------------------------------------------------- */

struct locator {
	const char *src; /* the source with comments blanked */
	size_t len;
	size_t *line_start;
	size_t n_lines;
};

static size_t long_bracket_level(const char *s, size_t len, size_t i)
{
	/* At '[': returns level+1 for [==[ form, 0 when not a long bracket. */
	size_t j = i + 1, lvl = 0;
	while (j < len && s[j] == '=') {
		lvl++;
		j++;
	}
	return j < len && s[j] == '[' ? lvl + 1 : 0;
}

static size_t long_bracket_end(const char *s, size_t len, size_t i, size_t lvl)
{
	/* From inside a long bracket of level lvl: index after its close. */
	for (; i < len; i++) {
		if (s[i] != ']')
			continue;
		size_t j = i + 1, k = 0;
		while (j < len && s[j] == '=' && k < lvl) {
			j++;
			k++;
		}
		if (k == lvl && j < len && s[j] == ']')
			return j + 1;
	}
	return len;
}

/* Copies src with comments replaced by spaces (newlines kept). */
static char *blank_comments(const char *src, size_t len)
{
	char *m = malloc(len + 1);
	if (!m)
		return NULL;
	memcpy(m, src, len + 1);
	for (size_t i = 0; i < len;) {
		char ch = m[i];
		if (ch == '"' || ch == '\'') {
			for (i++; i < len && m[i] != ch && m[i] != '\n'; i++)
				if (m[i] == '\\')
					i++;
			i++;
		} else if (ch == '[' && long_bracket_level(m, len, i)) {
			size_t lvl = long_bracket_level(m, len, i) - 1;
			i = long_bracket_end(m, len, i + lvl + 2, lvl);
		} else if (ch == '-' && i + 1 < len && m[i + 1] == '-') {
			size_t end, lvl;
			if (i + 2 < len && m[i + 2] == '[' &&
			    (lvl = long_bracket_level(m, len, i + 2)))
				end = long_bracket_end(m, len, i + 2 + lvl + 1, lvl - 1);
			else
				for (end = i; end < len && m[end] != '\n'; end++)
					;
			for (; i < end; i++)
				if (m[i] != '\n')
					m[i] = ' ';
		} else {
			i++;
		}
	}
	return m;
}

static int is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

static size_t skip_space_back(const char *s, size_t i)
{
	/* i: index just after the text; returns the index after the last
	 * non-space character before it. */
	while (i > 0 &&
	       (s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\r' || s[i - 1] == '\n'))
		i--;
	return i;
}

static int assign_at(const char *s, size_t len, size_t i)
{
	i = skip_space(s, len, i);
	return i < len && s[i] == '=' && (i + 1 >= len || s[i + 1] != '=');
}

/* First `key =` or `["key"] =` at or after from; -1 when absent. */
static long find_key(const struct locator *lc, const char *key, size_t from)
{
	size_t kl = strlen(key);
	const char *s = lc->src;
	if (kl == 0)
		return -1;
	for (size_t i = from; i + kl <= lc->len;) {
		const char *p = memmem(s + i, lc->len - i, key, kl);
		if (!p)
			return -1;
		size_t at = (size_t)(p - s), end = at + kl;
		i = at + 1;
		if ((at == 0 || !is_ident(s[at - 1])) && (end >= lc->len || !is_ident(s[end])) &&
		    assign_at(s, lc->len, end))
			return (long)at;
		if (at > 0 && (s[at - 1] == '"' || s[at - 1] == '\'') && end < lc->len &&
		    s[end] == s[at - 1]) {
			size_t b = skip_space_back(s, at - 1);
			size_t e = skip_space(s, lc->len, end + 1);
			if (b > 0 && s[b - 1] == '[' && e < lc->len && s[e] == ']' &&
			    assign_at(s, lc->len, e + 1))
				return (long)(b - 1);
		}
	}
	return -1;
}

/* First quoted occurrence of str at or after from; -1 when absent. */
static long find_quoted(const struct locator *lc, const char *str, size_t from)
{
	size_t sl = strlen(str);
	const char *s = lc->src;
	for (size_t i = from; i + sl + 2 <= lc->len;) {
		const char *q = memchr(s + i, '"', lc->len - i);
		const char *q2 = memchr(s + i, '\'', lc->len - i);
		if (!q || (q2 && q2 < q))
			q = q2;
		if (!q)
			return -1;
		size_t at = (size_t)(q - s);
		i = at + 1;
		if (at + sl + 1 < lc->len && memcmp(s + at + 1, str, sl) == 0 &&
		    s[at + 1 + sl] == *q)
			return (long)at;
	}
	return -1;
}

static int line_of(const struct locator *lc, long pos)
{
	if (pos < 0)
		return 0;
	size_t lo = 0, hi = lc->n_lines; /* last line_start <= pos */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (lc->line_start[mid] <= (size_t)pos)
			lo = mid;
		else
			hi = mid;
	}
	return (int)lo + 1;
}

static int cmp_pos(const void *a, const void *b)
{
	const conf_node *x = *(conf_node *const *)a, *y = *(conf_node *const *)b;
	if (x->pos >= 0 && y->pos >= 0 && x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if ((x->pos >= 0) != (y->pos >= 0))
		return x->pos >= 0 ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Finds the children of t searching from `from`; sets pos and line of each,
 * sorts map entries by position, and returns the furthest position found
 * under t (or -1), with *first the nearest one among t's own items. */
static long locate(const struct locator *lc, conf_node *t, size_t from, long *first)
{
	size_t cursor = from;
	long furthest = -1;
	*first = -1;
	for (size_t i = 0; i < t->n_list; i++) {
		conf_node *n = t->items[i];
		long far = -1, near = -1;
		if (n->type == CONF_STR) {
			far = near = find_quoted(lc, n->str, cursor);
		} else if (n->type == CONF_TABLE) {
			far = locate(lc, n, cursor, &near);
		}
		if (near < 0)
			continue;
		n->pos = near;
		n->line = line_of(lc, near);
		if (*first < 0 || near < *first)
			*first = near;
		if (far > furthest)
			furthest = far;
		cursor = (size_t)far + 1;
	}
	for (size_t i = t->n_list; i < t->n_items; i++) {
		conf_node *n = t->items[i];
		long near;
		n->pos = find_key(lc, n->key, from);
		n->line = line_of(lc, n->pos);
		if (n->pos < 0)
			continue;
		if (*first < 0 || n->pos < *first)
			*first = n->pos;
		long far = n->pos;
		if (n->type == CONF_TABLE) {
			long sub = locate(lc, n, (size_t)n->pos, &near);
			if (sub > far)
				far = sub;
		}
		if (far > furthest)
			furthest = far;
	}
	if (t->n_items > t->n_list)
		qsort(t->items + t->n_list, t->n_items - t->n_list, sizeof(*t->items), cmp_pos);
	return furthest;
}

static int locate_all(conf_node *root, const char *src, size_t len)
{
	struct locator lc = {.len = len};
	long first;
	int rc = -1;
	lc.src = blank_comments(src, len);
	size_t n = 1;
	for (size_t i = 0; i < len; i++)
		n += src[i] == '\n';
	lc.line_start = malloc(n * sizeof(*lc.line_start));
	if (!lc.src || !lc.line_start)
		goto out;
	lc.line_start[lc.n_lines++] = 0;
	for (size_t i = 0; i < len; i++)
		if (src[i] == '\n')
			lc.line_start[lc.n_lines++] = i + 1;
	locate(&lc, root, 0, &first);
	rc = 0;
out:
	free(lc.line_start);
	free((char *)lc.src);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static struct conf_rootbox *root_new(const char *file)
{
	struct conf_rootbox *box = calloc(1, sizeof(*box));
	if (!box)
		return NULL;
	box->node.type = CONF_TABLE;
	box->node.pos = -1;
	box->node.errors = &box->errors;
	box->node.used = 1;
	box->node.path = strdup("");
	box->node.file = file ? strdup(file) : NULL;
	if (!box->node.path || (file && !box->node.file)) {
		free(box->node.path);
		free((char *)box->node.file);
		free(box);
		return NULL;
	}
	return box;
}

conf_node *conf_empty(const char *file)
{
	struct conf_rootbox *box = root_new(file);
	return box ? &box->node : NULL;
}

void conf_free(conf_node *root)
{
	if (!root)
		return;
	node_clear(root);
	free((char *)root->file);
	free(root); /* the root box: node first */
}

static char *read_file(const char *file, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	FILE *f = fopen(file, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot read: %s", file, strerror(errno));
		return NULL;
	}
	buf = malloc(CONF_MAX_FILE + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	*len = fread(buf, 1, CONF_MAX_FILE + 1, f);
	if (ferror(f) || *len > CONF_MAX_FILE) {
		snprintf(err, errlen, "%s: %s", file,
		         ferror(f) ? strerror(errno) : "larger than 1 MiB");
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[*len] = '\0';
out:
	fclose(f);
	return buf;
}

conf_node *conf_load(const char *file, const char *source, char *err, size_t errlen)
{
	struct budget b = {.heap.limit = CONF_MEM_LIMIT};
	struct conf_rootbox *box = NULL;
	char *text = NULL;
	lua_State *L = NULL;
	struct chunk ch;
	const char *name = file ? file : "config";

	if (errlen)
		err[0] = '\0';
	if (source) {
		ch.src = source;
		ch.len = strlen(source);
	} else {
		text = read_file(name, &ch.len, err, errlen);
		if (!text)
			goto fail;
		ch.src = text;
	}
	L = lua_newstate(lua_heap_alloc, &b.heap);
	if (!L) {
		snprintf(err, errlen, "%s: cannot start Lua", name);
		goto fail;
	}
	lua_sethook(L, conf_hook, LUA_MASKCOUNT, CONF_HOOK_STEP);
	lua_pushcfunction(L, conf_run);
	lua_pushlightuserdata(L, &ch);
	int rc = lua_pcall(L, 1, 1, 0);
	if (rc == LUA_ERRMEM) {
		snprintf(err, errlen, "%s: the config uses too much memory (over %u MiB)", name,
		         CONF_MEM_LIMIT / (1024 * 1024));
		goto fail;
	}
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		format_lua_error(name, msg ? msg : "error object is not a string", err, errlen);
		goto fail;
	}
	lua_sethook(L, NULL, 0, 0);

	box = root_new(file);
	if (!box)
		goto oom;
	struct conv c = {.L = L, .box = box};
	convert_table(&c, lua_gettop(L), &box->node);
	if (c.oom || locate_all(&box->node, ch.src, ch.len) < 0)
		goto oom;
	if (c.bad) {
		if (c.bad->line > 0)
			snprintf(err, errlen, "%s:%d: %s: %s", name, c.bad->line, c.bad->path,
			         c.bad_msg);
		else
			snprintf(err, errlen, "%s: %s%s%s", name, c.bad->path,
			         *c.bad->path ? ": " : "", c.bad_msg);
		goto fail;
	}
	lua_close(L);
	free(text);
	return &box->node;
oom:
	snprintf(err, errlen, "%s: out of memory", name);
fail:
	if (box)
		conf_free(&box->node);
	if (L)
		lua_close(L);
	free(text);
	return NULL;
}

/* ---- access -------------------------------------------------------------- */

static conf_node *find(const conf_node *t, const char *key)
{
	if (!t || t->type != CONF_TABLE || !key)
		return NULL;
	for (size_t i = t->n_list; i < t->n_items; i++)
		if (strcmp(t->items[i]->key, key) == 0)
			return t->items[i];
	return NULL;
}

conf_node *conf_get(const conf_node *t, const char *key)
{
	conf_node *n = find(t, key);
	if (n)
		n->used = 1;
	return n;
}

conf_node *conf_at(const conf_node *t, size_t i)
{
	if (!t || t->type != CONF_TABLE || i >= t->n_list)
		return NULL;
	t->items[i]->used = 1;
	return t->items[i];
}

const char *conf_type_name(const conf_node *n)
{
	static const char *const names[] = {"nil",    "boolean", "number",
	                                    "number", "string",  "table"};
	return n ? names[n->type] : "nil";
}

static void type_error(const conf_node *n, const char *want)
{
	conf_error(n, NULL, "expected %s, got %s", want, conf_type_name(n));
}

int conf_get_str(const conf_node *t, const char *key, const char **out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	if (n->type != CONF_STR) {
		type_error(n, "a string");
		return -1;
	}
	*out = n->str;
	return 1;
}

int conf_get_int(const conf_node *t, const char *key, int64_t *out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	/* 1e6 is a float in Lua; accept any float that is a whole number
	 * (range first: converting an out-of-range double is undefined). */
	if (n->type == CONF_NUM && n->num < 9.2e18 && n->num > -9.2e18 &&
	    n->num == (double)(int64_t)n->num) {
		*out = (int64_t)n->num;
		return 1;
	}
	if (n->type != CONF_INT) {
		type_error(n, "an integer");
		return -1;
	}
	*out = n->i;
	return 1;
}

int conf_get_num(const conf_node *t, const char *key, double *out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	if (n->type != CONF_INT && n->type != CONF_NUM) {
		type_error(n, "a number");
		return -1;
	}
	*out = n->type == CONF_INT ? (double)n->i : n->num;
	return 1;
}

int conf_get_bool(const conf_node *t, const char *key, int *out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	if (n->type != CONF_BOOL) {
		type_error(n, "a boolean");
		return -1;
	}
	*out = n->b;
	return 1;
}

int conf_get_table(const conf_node *t, const char *key, const conf_node **out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	if (n->type != CONF_TABLE) {
		type_error(n, "a table");
		return -1;
	}
	*out = n;
	return 1;
}

void conf_error(const conf_node *t, const char *key, const char *fmt, ...)
{
	char msg[CONF_MSG_MAX], text[CONF_MSG_MAX + 512], ctx[1024], efile[256], epath[256];
	const conf_node *n = key ? find(t, key) : t;
	char *joined = NULL;
	const char *path;
	int line;
	va_list ap;

	if (!t)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n) {
		path = n->path;
		line = n->line;
	} else {
		joined = path_join(t->path, key, 0);
		path = joined ? joined : key;
		line = t->line; /* a missing key: point at its table */
	}
	int o = 0;
	if (t->file && line > 0)
		o = snprintf(text, sizeof(text), "%s:%d: ", t->file, line);
	else if (t->file)
		o = snprintf(text, sizeof(text), "%s: ", t->file);
	snprintf(text + o, sizeof(text) - (size_t)o, "%s%s%s", path && *path ? path : "",
	         path && *path ? ": " : "", msg);
	log_escape(efile, sizeof(efile), t->file ? t->file : "");
	log_escape(epath, sizeof(epath), path ? path : "");
	snprintf(ctx, sizeof(ctx), "\"file\":\"%s\",\"line\":%d,\"path\":\"%s\"", efile, line,
	         epath);
	log_write(LOG_ERROR, "config_error", ctx, "%s", text);
	if (t->errors)
		(*t->errors)++;
	free(joined);
}

int conf_report_unread(const conf_node *t)
{
	int count = 0;
	if (!t || t->type != CONF_TABLE)
		return 0;
	for (size_t i = 0; i < t->n_items; i++) {
		const conf_node *n = t->items[i];
		if (!n->used) {
			conf_error(n, NULL, i < t->n_list ? "unexpected list item" : "unknown key");
			count++;
		} else {
			count += conf_report_unread(n);
		}
	}
	return count;
}

void conf_mark_used(const conf_node *t)
{
	if (!t)
		return;
	((conf_node *)t)->used = 1;
	for (size_t i = 0; i < t->n_items; i++)
		conf_mark_used(t->items[i]);
}

int conf_error_count(const conf_node *root)
{
	return root && root->errors ? *root->errors : 0;
}
