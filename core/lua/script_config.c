/* A scripts list entry -> struct script_spec, with the defaults of
 * docs/configuration.md. Each problem is reported with conf_error (file,
 * key path, line) and makes the entry invalid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf_tree.h"
#include "base/config.h"
#include "lua/script_config.h"
#include "lua/script_internal.h"
#include "lua/scripts.h"

#define MEM_DEFAULT    (16u * 1024 * 1024)
#define MEM_MIN        (256u * 1024)
#define MEM_MAX        (1024u * 1024 * 1024)
#define INSNS_DEFAULT  1000000
#define INSNS_MIN      10000
#define INSNS_MAX      1000000000
#define BM_MS_DEFAULT  50.0
#define FAILS_DEFAULT  5
#define WINDOW_DEF     60.0
#define CPU_MS_DEF     1000.0 /* a tenth of the loop ... */
#define CPU_WINDOW_DEF 10.0   /* ... over ten seconds */
#define TIMERS_DEF     100
#define KV_KEYS_DEF    10000
#define KV_BYTES_DEF   (8u * 1024 * 1024)
#define KV_BYTES_MIN   (1u * 1024)
#define KV_BYTES_MAX   (1024u * 1024 * 1024)

static const char *const known_keys[] = {"file",         "name",           "options",
                                         "rooms",        "moderation",     "http_allow",
                                         "memory",       "instructions",   "before_message_ms",
                                         "max_failures", "failure_window", "cpu_ms",
                                         "cpu_window",   "max_timers",     "kv_max_keys",
                                         "kv_max_bytes"};

void script_limits_default(struct script_limits *lim)
{
	*lim = (struct script_limits){.memory = MEM_DEFAULT,
	                              .instructions = INSNS_DEFAULT,
	                              .before_message_ms = BM_MS_DEFAULT,
	                              .max_failures = FAILS_DEFAULT,
	                              .failure_window = WINDOW_DEF,
	                              .cpu_ms = CPU_MS_DEF,
	                              .cpu_window = CPU_WINDOW_DEF,
	                              .max_timers = TIMERS_DEF,
	                              .kv_max_keys = KV_KEYS_DEF,
	                              .kv_max_bytes = KV_BYTES_DEF};
}

void script_spec_free(struct script_spec *sp)
{
	free(sp->name);
	free(sp->file);
	free(sp->lib_dir);
	free(sp->options_json);
	for (size_t i = 0; i < sp->n_rooms; i++)
		free(sp->rooms[i]);
	free(sp->rooms);
	for (size_t i = 0; i < sp->n_http_allow; i++)
		free(sp->http_allow[i]);
	free(sp->http_allow);
	memset(sp, 0, sizeof *sp);
}

static json_t *conf_to_json(const conf_node *n)
{
	switch (n->type) {
	case CONF_BOOL:
		return json_boolean(n->b);
	case CONF_INT:
		return json_integer(n->i);
	case CONF_NUM:
		return json_real(n->num);
	case CONF_STR:
		return json_string(n->str);
	case CONF_TABLE:
		break;
	default:
		return json_null();
	}
	if (n->n_items && n->n_list == n->n_items) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->n_items; i++)
			json_array_append_new(a, conf_to_json(n->items[i]));
		return a;
	}
	json_t *o = json_object();
	for (size_t i = 0; i < n->n_items; i++) {
		char key[32];
		const char *k = n->items[i]->key;
		if (!k) {
			snprintf(key, sizeof key, "%zu", i + 1);
			k = key;
		}
		json_object_set_new(o, k, conf_to_json(n->items[i]));
	}
	return o;
}

/* "16M", "512K", "1G", or a number of bytes. 0 when malformed. */
static size_t parse_size(const conf_node *n)
{
	if (n->type == CONF_INT)
		return n->i > 0 ? (size_t)n->i : 0;
	if (n->type != CONF_STR)
		return 0;
	char *end;
	unsigned long long v = strtoull(n->str, &end, 10);
	if (end == n->str)
		return 0;
	switch (*end) {
	case 'K':
	case 'k':
		v *= 1024;
		end++;
		break;
	case 'M':
	case 'm':
		v *= 1024 * 1024;
		end++;
		break;
	case 'G':
	case 'g':
		v *= 1024ull * 1024 * 1024;
		end++;
		break;
	}
	return *end ? 0 : (size_t)v;
}

static int str_list(const conf_node *it, const char *key, char ***out, size_t *n)
{
	const conf_node *l = conf_get(it, key);
	if (!l)
		return 0;
	if (l->type != CONF_TABLE || l->n_list != l->n_items) {
		conf_error(it, key, "expected a list of strings");
		return -1;
	}
	*out = calloc(l->n_items + 1, sizeof **out);
	for (size_t i = 0; *out && i < l->n_items; i++) {
		if (l->items[i]->type != CONF_STR || !*l->items[i]->str) {
			conf_error(l->items[i], NULL, "expected a non-empty string");
			return -1;
		}
		(*out)[(*n)++] = strdup(l->items[i]->str);
	}
	return *out ? 0 : -1;
}

static char *name_from_file(const char *file)
{
	const char *b = strrchr(file, '/');
	b = b ? b + 1 : file;
	size_t n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".lua") == 0)
		n -= 4;
	char *name = malloc(n + 1);
	if (name) {
		memcpy(name, b, n);
		name[n] = 0;
	}
	return name;
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= SCRIPT_NAME_MAX || n > 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return 0;
	return 1;
}

int script_spec_parse(const conf_node *it, const char *base_dir, struct script_spec *sp)
{
	memset(sp, 0, sizeof *sp);
	int bad = 0;
	const char *file = NULL, *name = NULL;
	if (it->type != CONF_TABLE) {
		conf_error(it, NULL, "expected a table { file = \"…\" }, got %s",
		           conf_type_name(it));
		return -1;
	}
	for (size_t i = 0; i < it->n_items; i++) {
		const char *k = it->items[i]->key;
		int known = 0;
		for (size_t j = 0; k && j < sizeof known_keys / sizeof known_keys[0]; j++)
			known |= strcmp(k, known_keys[j]) == 0;
		if (!known) {
			conf_error(it->items[i], NULL, "unknown key (a script entry has %s)",
			           "file, name, options, rooms, moderation, http_allow, memory, "
			           "instructions, before_message_ms, max_failures, failure_window, "
			           "cpu_ms, cpu_window, max_timers, kv_max_keys, kv_max_bytes");
			bad = 1;
		}
	}
	if (conf_get_str(it, "file", &file) != 1) {
		if (!conf_get(it, "file"))
			conf_error(it, "file", "is required");
		return -1;
	}
	sp->file = config_resolve(base_dir, file);
	if (conf_get_str(it, "name", &name) < 0)
		bad = 1;
	sp->name = name ? strdup(name) : name_from_file(file);
	if (sp->name && !valid_name(sp->name)) {
		conf_error(it, name ? "name" : "file",
		           "the script's name \"%s\" must be 1-32 of a-z, 0-9, _ and - "
		           "(it names the script's bot and its kv space)",
		           sp->name);
		bad = 1;
	}
	/* lib/ beside the script file */
	const char *slash = sp->file ? strrchr(sp->file, '/') : NULL;
	if (sp->file) {
		size_t dl = slash ? (size_t)(slash - sp->file) : 1;
		sp->lib_dir = malloc(dl + 5);
		if (sp->lib_dir)
			snprintf(sp->lib_dir, dl + 5, "%.*s/lib", (int)dl, slash ? sp->file : ".");
	}
	const conf_node *opts = conf_get(it, "options");
	if (opts && opts->type != CONF_TABLE) {
		conf_error(it, "options", "expected a table");
		bad = 1;
	}
	json_t *oj = opts && opts->type == CONF_TABLE ? conf_to_json(opts) : json_object();
	if (oj && json_is_array(oj) && json_array_size(oj) == 0) {
		json_decref(oj);
		oj = json_object();
	}
	sp->options_json = oj ? json_dumps(oj, JSON_COMPACT) : NULL;
	json_decref(oj);
	if (str_list(it, "rooms", &sp->rooms, &sp->n_rooms) < 0 ||
	    str_list(it, "http_allow", &sp->http_allow, &sp->n_http_allow) < 0)
		bad = 1;
	if (conf_get_bool(it, "moderation", &sp->moderation) < 0)
		bad = 1;
	sp->lim.memory = MEM_DEFAULT;
	const conf_node *mem = conf_get(it, "memory");
	if (mem) {
		size_t v = parse_size(mem);
		if (v < MEM_MIN || v > MEM_MAX) {
			conf_error(it, "memory",
			           "expected a size from 256K to 1G (\"16M\", or bytes)");
			bad = 1;
		} else {
			sp->lim.memory = v;
		}
	}
	int64_t insns = INSNS_DEFAULT, fails = FAILS_DEFAULT;
	double bm = BM_MS_DEFAULT, window = WINDOW_DEF;
	if (conf_get_int(it, "instructions", &insns) < 0 || insns < INSNS_MIN ||
	    insns > INSNS_MAX) {
		conf_error(it, "instructions", "expected an integer from %d to %d", INSNS_MIN,
		           INSNS_MAX);
		bad = 1;
	}
	if (conf_get_num(it, "before_message_ms", &bm) < 0 || !(bm >= 1 && bm <= 10000)) {
		conf_error(it, "before_message_ms", "expected milliseconds from 1 to 10000");
		bad = 1;
	}
	if (conf_get_int(it, "max_failures", &fails) < 0 || fails < 1 || fails > SCRIPT_FAILS_CAP) {
		conf_error(it, "max_failures", "expected an integer from 1 to %d",
		           SCRIPT_FAILS_CAP);
		bad = 1;
	}
	if (conf_get_num(it, "failure_window", &window) < 0 || !(window >= 1 && window <= 86400)) {
		conf_error(it, "failure_window", "expected seconds from 1 to 86400");
		bad = 1;
	}
	double cpu_ms = CPU_MS_DEF, cpu_window = CPU_WINDOW_DEF;
	int64_t timers = TIMERS_DEF, kv_keys = KV_KEYS_DEF;
	if (conf_get_num(it, "cpu_ms", &cpu_ms) < 0 || !(cpu_ms >= 1 && cpu_ms <= 600000)) {
		conf_error(it, "cpu_ms", "expected milliseconds from 1 to 600000");
		bad = 1;
	}
	if (conf_get_num(it, "cpu_window", &cpu_window) < 0 ||
	    !(cpu_window >= 1 && cpu_window <= 86400)) {
		conf_error(it, "cpu_window", "expected seconds from 1 to 86400");
		bad = 1;
	} else if (cpu_ms > cpu_window * 1000) {
		conf_error(it, "cpu_ms", "is more than cpu_window (%g s) holds", cpu_window);
		bad = 1;
	}
	if (conf_get_int(it, "max_timers", &timers) < 0 || timers < 1 ||
	    timers > SCRIPT_TIMERS_CAP) {
		conf_error(it, "max_timers", "expected an integer from 1 to %d", SCRIPT_TIMERS_CAP);
		bad = 1;
	}
	if (conf_get_int(it, "kv_max_keys", &kv_keys) < 0 || kv_keys < 1 || kv_keys > 10000000) {
		conf_error(it, "kv_max_keys", "expected an integer from 1 to 10000000");
		bad = 1;
	}
	sp->lim.kv_max_bytes = KV_BYTES_DEF;
	const conf_node *kvb = conf_get(it, "kv_max_bytes");
	if (kvb) {
		size_t v = parse_size(kvb);
		if (v < KV_BYTES_MIN || v > KV_BYTES_MAX) {
			conf_error(it, "kv_max_bytes",
			           "expected a size from 1K to 1G (\"8M\", or bytes)");
			bad = 1;
		} else {
			sp->lim.kv_max_bytes = (int64_t)v;
		}
	}
	sp->lim.cpu_ms = cpu_ms;
	sp->lim.cpu_window = cpu_window;
	sp->lim.max_timers = (int)timers;
	sp->lim.kv_max_keys = kv_keys;
	sp->lim.instructions = insns;
	sp->lim.before_message_ms = bm;
	sp->lim.max_failures = (int)fails;
	sp->lim.failure_window = window;
	if (!sp->name || !sp->file || !sp->lib_dir || !sp->options_json)
		bad = 1;
	if (bad) {
		script_spec_free(sp);
		return -1;
	}
	return 0;
}

void scripts_validate(const struct parley_conf *list, const char *base_dir)
{
	char **names = calloc(list->n_list + 1, sizeof *names);
	for (size_t i = 0; i < list->n_list; i++) {
		struct script_spec sp;
		if (script_spec_parse(list->items[i], base_dir, &sp) < 0)
			continue;
		for (size_t j = 0; names && j < i; j++)
			if (names[j] && strcmp(names[j], sp.name) == 0)
				conf_error(list->items[i], NULL,
				           "two scripts are named \"%s\" (set name = … on one)",
				           sp.name);
		if (names)
			names[i] = strdup(sp.name);
		script_spec_free(&sp);
	}
	for (size_t i = 0; names && i < list->n_list; i++)
		free(names[i]);
	free(names);
}
