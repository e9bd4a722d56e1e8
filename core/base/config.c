/* The server's settings: defaults, then the config file, then the command
 * line.
 *
 * Every section is read through the conf getters, which report wrong types
 * with file, line and key path; bad values are reported the same way, and
 * loading goes on after an error so one run shows every problem. Keys the
 * core never read are reported as unknown at the end, except in plugin
 * sections: those belong to the plugins, whose own check() reads them. */
#include "base/config.h"
#include "base/duration.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define MIB (1024 * 1024)

#define DEFAULT_LISTEN      "127.0.0.1:8080"
#define DEFAULT_DATA_DIR    "data"
#define DEFAULT_SERVER_NAME "parley"
#define DATA_DIR_MODE       0700

/* The embedded plugin list when the config has none. */
static const char *const default_plugins[] = {"auth_local", "store_sqlite", "uploads_local"};

/* The limits section, as a table: one row per key. */
enum limit_kind { LIM_SIZE, LIM_COUNT, LIM_SECONDS };
struct limit_def {
	const char *key;
	enum limit_kind kind;
	size_t offset; /* in struct config */
	double def;
	int zero_ok; /* 0 means "off" or "automatic" */
};

#define LIM(k, kind, def, zero_ok)                                                                 \
	{                                                                                          \
#k, kind, offsetof(struct config, limits.k), def, zero_ok                          \
	}
static const struct limit_def limit_defs[] = {
    LIM(max_text, LIM_COUNT, CONFIG_MAX_TEXT_DEFAULT, 0),
    LIM(max_frame, LIM_SIZE, 65536, 0),
    LIM(max_upload, LIM_SIZE, 25 * MIB, 0),
    LIM(max_header, LIM_SIZE, 16384, 0),
    LIM(max_body, LIM_SIZE, 1 * MIB, 0),
    LIM(header_timeout, LIM_SECONDS, 10, 0),
    LIM(idle_timeout, LIM_SECONDS, 60, 0),
    LIM(auth_timeout, LIM_SECONDS, 10, 0),
    LIM(ping_interval, LIM_SECONDS, 30, 1),
    LIM(pong_timeout, LIM_SECONDS, 75, 0),
    LIM(outbound_high_water, LIM_SIZE, 4 * MIB, 0),
    LIM(outbound_grace, LIM_SECONDS, 5, 0),
    LIM(presence_room_max, LIM_COUNT, 100, 1),
    LIM(max_connections, LIM_COUNT, 0, 1),
    LIM(shutdown_timeout, LIM_SECONDS, 10, 0),
    LIM(workers, LIM_COUNT, 0, 1),
    LIM(write_split, LIM_COUNT, 256, 1),
    LIM(max_fragments, LIM_COUNT, 64, 0),
    LIM(preauth_bytes, LIM_SIZE, 16384, 0),
    LIM(ws_input_budget, LIM_SIZE, 64 * MIB, 0),
    LIM(max_connections_per_addr, LIM_COUNT, 256, 1),
    LIM(preauth_timeout, LIM_SECONDS, 30, 1),
    LIM(fd_reserve, LIM_COUNT, 64, 1),
    LIM(group_dm_max, LIM_COUNT, 8, 0),
    LIM(mention_all_max, LIM_COUNT, 50, 0),
};

const char *const rate_action_names[RATE_ACTIONS] = {"send", "react", "create_room", "join"};

/* Defaults: a person types a burst and then a few messages a second; a room
 * a minute is plenty; bots (webhooks, relays) send more in bursts. */
static const struct rate_spec default_rates[RATE_ACTIONS] = {
    [RATE_SEND] = {5, 20},
    [RATE_REACT] = {10, 30},
    [RATE_CREATE_ROOM] = {1.0 / 60, 10},
    [RATE_JOIN] = {2, 30},
};
static const struct rate_spec default_bot_rates[RATE_ACTIONS] = {
    [RATE_SEND] = {20, 100},
    [RATE_REACT] = {20, 100},
    [RATE_CREATE_ROOM] = {1.0 / 60, 10},
    [RATE_JOIN] = {5, 50},
};

void config_limits_default(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(limit_defs) / sizeof(limit_defs[0]); i++) {
		char *field = (char *)cfg + limit_defs[i].offset;
		if (limit_defs[i].kind == LIM_SECONDS)
			*(double *)(void *)field = limit_defs[i].def;
		else
			*(int64_t *)(void *)field = (int64_t)limit_defs[i].def;
	}
	memcpy(cfg->limits.rates, default_rates, sizeof default_rates);
	memcpy(cfg->limits.bot_rates, default_bot_rates, sizeof default_bot_rates);
	/* 150 begun flows per network within auth_jwt's default state_ttl
	 * (600 s), against its cap of 4096: a NAT-ed office signing in at
	 * nine still fits the burst. */
	cfg->limits.oidc_logins = (struct rate_spec){0.2, 30};
}

char *config_resolve(const char *base, const char *path)
{
	char *out = NULL;
	if (!path)
		return NULL;
	if (path[0] == '/' || !base || !*base)
		return strdup(path);
	if (asprintf(&out, "%s/%s", base, path) < 0)
		return NULL;
	return out;
}

static int valid_port(const char *s, int *port)
{
	char *end;
	if (!*s || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	long v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* An IPv4 address or a host name (letters, digits, dots, dashes). */
static int valid_host(const char *h)
{
	struct in_addr a4;
	if (!*h)
		return 0;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return 1;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return 0;
	return h[0] != '-' && h[0] != '.';
}

int config_parse_listen(const char *s, struct listen_spec *out)
{
	char host[256];
	const char *port;
	int pn;
	if (!s)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return -1;
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)) ||
		    (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		if (!*host)
			strcpy(host, "0.0.0.0"); /* ":port": every IPv4 address */
		else if (!valid_host(host))
			return -1;
		port = colon + 1;
	}
	if (valid_port(port, &pn) < 0)
		return -1;
	char *h = strdup(host);
	if (!h)
		return -1;
	memset(out, 0, sizeof(*out));
	out->host = h;
	out->port = pn;
	return 0;
}

static void listen_free(struct listen_spec *l)
{
	free(l->host);
	free(l->tls_cert);
	free(l->tls_key);
	memset(l, 0, sizeof(*l));
}

static void set_str(char **dst, char *value)
{
	free(*dst);
	*dst = value;
}

/* A string key whose value is a path, resolved against the config folder. */
static void read_path(struct config *cfg, const conf_node *t, const char *key, char **dst)
{
	const char *s;
	if (conf_get_str(t, key, &s) != 1)
		return;
	if (!*s) {
		conf_error(t, key, "must not be empty");
		return;
	}
	set_str(dst, config_resolve(cfg->base_dir, s));
}

/* A list of strings into a NULL-terminated array. */
static void read_str_list(const conf_node *t, const char *key, char ***out, size_t *n)
{
	const conf_node *l;
	if (conf_get_table(t, key, &l) != 1)
		return;
	char **arr = calloc(l->n_list + 1, sizeof(*arr));
	if (!arr)
		return;
	for (size_t i = 0; i < l->n_list; i++) {
		const conf_node *it = conf_at(l, i);
		if (it->type != CONF_STR) {
			conf_error(it, NULL, "expected a string, got %s", conf_type_name(it));
			continue;
		}
		arr[(*n)++] = strdup(it->str);
	}
	*out = arr;
}

static int valid_url(const char *s)
{
	const char *rest = NULL;
	if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	return rest && *rest && *rest != '/' && !strpbrk(s, " \t\r\n");
}

static void read_listen_item(struct config *cfg, const conf_node *it)
{
	struct listen_spec spec = {0};
	const char *addr = NULL;
	if (cfg->n_listen >= CONFIG_MAX_LISTEN) {
		conf_error(it, NULL, "too many listen addresses (at most %d)", CONFIG_MAX_LISTEN);
		return;
	}
	if (it->type == CONF_STR) {
		addr = it->str;
	} else if (it->type == CONF_TABLE) {
		if (conf_get_str(it, "addr", &addr) == 0)
			conf_error(it, "addr", "is required (\"host:port\")");
	} else {
		conf_error(it, NULL, "expected a string \"host:port\" or a table, got %s",
		           conf_type_name(it));
		return;
	}
	if (!addr)
		return;
	if (config_parse_listen(addr, &spec) < 0) {
		conf_error(it, it->type == CONF_TABLE ? "addr" : NULL,
		           "bad address \"%s\" (expected host:port or [v6]:port)", addr);
		return;
	}
	const conf_node *tls;
	if (it->type == CONF_TABLE && conf_get_table(it, "tls", &tls) == 1) {
		read_path(cfg, tls, "cert", &spec.tls_cert);
		read_path(cfg, tls, "key", &spec.tls_key);
		if (!conf_get(tls, "cert"))
			conf_error(tls, "cert", "is required with tls");
		if (!conf_get(tls, "key"))
			conf_error(tls, "key", "is required with tls");
		spec.tls_node = tls;
	}
	cfg->listen[cfg->n_listen++] = spec;
}

static void read_server(struct config *cfg, const conf_node *root)
{
	const conf_node *s, *l;
	const char *str;
	if (conf_get_table(root, "server", &s) != 1)
		return;
	if (conf_get_table(s, "listen", &l) == 1) {
		for (size_t i = 0; i < cfg->n_listen; i++)
			listen_free(&cfg->listen[i]);
		cfg->n_listen = 0;
		for (size_t i = 0; i < l->n_list; i++)
			read_listen_item(cfg, conf_at(l, i));
		if (l->n_list == 0)
			conf_error(l, NULL, "needs at least one address");
	}
	read_str_list(s, "trusted_proxies", &cfg->trusted_proxies, &cfg->n_trusted_proxies);
	read_str_list(s, "origins", &cfg->origins, &cfg->n_origins);
	for (size_t i = 0; i < cfg->n_origins; i++)
		if (!valid_url(cfg->origins[i]))
			conf_error(s, "origins",
			           "bad origin \"%s\" (expected http://… or https://…)",
			           cfg->origins[i]);
	if (conf_get_str(s, "public_url", &str) == 1) {
		if (valid_url(str))
			set_str(&cfg->public_url, strdup(str));
		else
			conf_error(s, "public_url",
			           "bad URL \"%s\" (expected http://host… or https://host…)", str);
	}
	read_path(cfg, s, "data_dir", &cfg->data_dir);
	read_path(cfg, s, "web_root", &cfg->web_root);
	read_path(cfg, s, "plugin_dir", &cfg->plugin_dir);
	if (conf_get_str(s, "name", &str) == 1) {
		if (*str)
			set_str(&cfg->server_name, strdup(str));
		else
			conf_error(s, "name", "must not be empty");
	}
	conf_report_unread(s);
}

/* One { per_s, burst } table into *out (missing keys keep its values). */
static void read_rate_spec(const conf_node *r, struct rate_spec *out)
{
	double per_s = out->per_s, burst = out->burst;
	conf_get_num(r, "per_s", &per_s);
	conf_get_num(r, "burst", &burst);
	if (!(per_s >= 0) || per_s > 1e6)
		conf_error(r, "per_s", "must be 0 (no limit) to 1000000");
	else if (!(burst >= 1) || burst > 1e6)
		conf_error(r, "burst", "must be 1 to 1000000");
	else
		*out = (struct rate_spec){per_s, burst};
	conf_report_unread(r);
}

/* 1 when l's key is a boolean (false: *off set; true: an error). */
static int rate_bool(const conf_node *l, const char *key, int *off, const char *what)
{
	int on;
	if (!conf_get(l, key) || conf_type_name(conf_get(l, key))[0] != 'b')
		return 0;
	if (conf_get_bool(l, key, &on) == 1 && !on)
		*off = 1;
	else
		conf_error(l, key, "must be false or %s", what);
	return 1;
}

/* limits.rates / limits.bot_rates: false turns every limit off; a table
 * has one { per_s, burst } per action (missing keys keep their default). */
static void read_rates(const conf_node *l, const char *key, struct rate_spec *out)
{
	int off = 0;
	const conf_node *t;
	if (rate_bool(l, key, &off, "a table of { per_s, burst }")) {
		for (int a = 0; off && a < RATE_ACTIONS; a++)
			out[a].per_s = 0;
		return;
	}
	if (conf_get_table(l, key, &t) != 1)
		return;
	for (int a = 0; a < RATE_ACTIONS; a++) {
		const conf_node *r;
		if (conf_get_table(t, rate_action_names[a], &r) == 1)
			read_rate_spec(r, &out[a]);
	}
	conf_report_unread(t);
}

/* A single { per_s, burst } key, or false for no limit. */
static void read_rate(const conf_node *l, const char *key, struct rate_spec *out)
{
	int off = 0;
	const conf_node *r;
	if (rate_bool(l, key, &off, "{ per_s, burst }")) {
		if (off)
			out->per_s = 0;
		return;
	}
	if (conf_get_table(l, key, &r) == 1)
		read_rate_spec(r, out);
}

static void read_limits(struct config *cfg, const conf_node *root)
{
	const conf_node *l;
	if (conf_get_table(root, "limits", &l) != 1)
		return;
	for (size_t i = 0; i < sizeof(limit_defs) / sizeof(limit_defs[0]); i++) {
		const struct limit_def *d = &limit_defs[i];
		char *field = (char *)cfg + d->offset;
		double v;
		int64_t iv = 0;
		if (d->kind == LIM_SECONDS) {
			if (conf_get_num(l, d->key, &v) != 1)
				continue;
		} else {
			if (conf_get_int(l, d->key, &iv) != 1)
				continue;
			v = (double)iv;
		}
		if (v < 0 || (v == 0 && !d->zero_ok) || v != v) {
			conf_error(l, d->key, "must be %s",
			           d->zero_ok ? "0 or more" : "more than 0");
			continue;
		}
		if (d->kind == LIM_SECONDS)
			*(double *)(void *)field = v;
		else
			*(int64_t *)(void *)field = iv;
	}
	read_rates(l, "rates", cfg->limits.rates);
	read_rates(l, "bot_rates", cfg->limits.bot_rates);
	read_rate(l, "oidc_logins", &cfg->limits.oidc_logins);
	conf_report_unread(l);
}

static void read_log(struct config *cfg, const conf_node *root)
{
	const conf_node *l;
	const char *level;
	if (conf_get_table(root, "log", &l) != 1)
		return;
	if (conf_get_str(l, "level", &level) == 1) {
		int lv = log_level_parse(level);
		if (lv < 0 || lv == LOG_OFF)
			conf_error(l, "level",
			           "unknown log level \"%s\" (debug, info, warn or error)", level);
		else
			cfg->log_level = lv;
	}
	conf_report_unread(l);
}

static int valid_plugin_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void read_plugin(struct config *cfg, const conf_node *it)
{
	/* A bare "name" is short for { "name" }: a plugin without settings.
	 * Its section is then the string node itself, which has no keys, so
	 * the plugin reads its defaults and errors still point at its line. */
	const conf_node *name = it->type == CONF_STR ? it : conf_at(it, 0);
	const char *path;
	if (it->type != CONF_TABLE && it->type != CONF_STR) {
		conf_error(it, NULL, "expected a name or a table { \"name\", … }, got %s",
		           conf_type_name(it));
		return;
	}
	if (!name || name->type != CONF_STR) {
		conf_error(it, NULL, "the first item must be the plugin's name (a string)");
		return;
	}
	if (!valid_plugin_name(name->str)) {
		conf_error(name, NULL, "bad plugin name \"%s\" (a-z, 0-9, _)", name->str);
		return;
	}
	for (size_t i = 0; i < cfg->n_plugins; i++)
		if (strcmp(cfg->plugins[i].name, name->str) == 0) {
			conf_error(name, NULL, "plugin \"%s\" is listed twice", name->str);
			return;
		}
	for (size_t i = 1; i < it->n_list; i++)
		conf_error(conf_at(it, i), NULL,
		           "a plugin entry has one list item, its name; settings are key = value");
	if (cfg->n_plugins >= CONFIG_MAX_PLUGINS) {
		conf_error(it, NULL, "too many plugins (at most %d)", CONFIG_MAX_PLUGINS);
		return;
	}
	struct plugin_spec *p = &cfg->plugins[cfg->n_plugins++];
	p->name = strdup(name->str);
	p->section = it;
	/* The core's own key in a plugin's section: where its .so is. (Not
	 * `path`: that is store_sqlite's database, as DESIGN.md shows.) */
	if (it->type == CONF_TABLE && conf_get_str(it, "so", &path) == 1)
		p->path = config_resolve(cfg->base_dir, path);
}

static void read_plugins(struct config *cfg, const conf_node *root)
{
	const conf_node *l;
	int rc = conf_get_table(root, "plugins", &l);
	if (rc == 0) {
		for (size_t i = 0; i < sizeof(default_plugins) / sizeof(default_plugins[0]); i++)
			cfg->plugins[cfg->n_plugins++].name = strdup(default_plugins[i]);
		cfg->plugins_default = 1;
		return;
	}
	if (rc < 0)
		return;
	for (size_t i = 0; i < l->n_list; i++)
		read_plugin(cfg, conf_at(l, i));
	for (size_t i = l->n_list; i < l->n_items; i++)
		conf_error(l->items[i], NULL,
		           "unknown key (plugins is a list: { \"name\", { \"name\", … }, … })");
}

const struct config *server_config;

/* The script host checks the scripts list's entries (the settings schema
 * knows only its shape); app start-up hands the check in. */
static config_scripts_check *scripts_validator;

void config_set_scripts_check(config_scripts_check *fn)
{
	scripts_validator = fn;
}

static void read_scripts(struct config *cfg, const conf_node *root)
{
	const conf_node *l;
	if (conf_get_table(root, "scripts", &l) != 1)
		return;
	/* The script host reads the rest; here only the shape is checked. */
	conf_mark_used(l);
	for (size_t i = 0; i < l->n_list; i++) {
		const conf_node *it = conf_at(l, i);
		const char *file;
		if (it->type != CONF_TABLE)
			conf_error(it, NULL, "expected a table { file = \"…\" }, got %s",
			           conf_type_name(it));
		else if (conf_get_str(it, "file", &file) == 0)
			conf_error(it, "file", "is required");
	}
	for (size_t i = l->n_list; i < l->n_items; i++)
		conf_error(l->items[i], NULL,
		           "unknown key (scripts is a list: { { file = \"…\" }, … })");
	if (scripts_validator)
		scripts_validator(l, cfg->base_dir);
	cfg->scripts = l;
}

static int dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int set_defaults(struct config *cfg)
{
	struct stat st;
	if (config_parse_listen(DEFAULT_LISTEN, &cfg->listen[0]) < 0)
		return -1;
	cfg->n_listen = 1;
	cfg->data_dir = config_resolve(cfg->base_dir, DEFAULT_DATA_DIR);
	/* Run from the build tree: the sources' web/ and the built plugins. */
	if (stat(PARLEY_SOURCE_DIR "/web/index.html", &st) == 0 &&
	    dir_exists(PARLEY_BUILD_PLUGIN_DIR)) {
		cfg->web_root = strdup(PARLEY_SOURCE_DIR "/web");
		cfg->plugin_dir = strdup(PARLEY_BUILD_PLUGIN_DIR);
	} else {
		cfg->web_root = strdup(PARLEY_INSTALL_WEB_DIR);
		cfg->plugin_dir = strdup(PARLEY_INSTALL_PLUGIN_DIR);
	}
	cfg->server_name = strdup(DEFAULT_SERVER_NAME);
	config_limits_default(cfg);
	cfg->log_level = LOG_INFO;
	return cfg->data_dir && cfg->web_root && cfg->plugin_dir && cfg->server_name ? 0 : -1;
}

/* The folder of file (made absolute), or the working folder. */
static char *base_dir_of(const char *file)
{
	char cwd[PATH_MAX], *out = NULL;
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (!file)
		return strdup(cwd);
	const char *slash = strrchr(file, '/');
	if (!slash)
		return strdup(cwd);
	if (slash == file)
		return strdup("/");
	if (file[0] == '/')
		return strndup(file, (size_t)(slash - file));
	if (asprintf(&out, "%s/%.*s", cwd, (int)(slash - file), file) < 0)
		return NULL;
	return out;
}

static int apply_overrides(struct config *cfg, const struct config_overrides *ov)
{
	int errors = 0;
	char cwd[PATH_MAX];
	if (ov->n_listen > 0) {
		for (size_t i = 0; i < cfg->n_listen; i++)
			listen_free(&cfg->listen[i]);
		cfg->n_listen = 0;
	}
	for (size_t i = 0; i < ov->n_listen && i < CONFIG_MAX_LISTEN; i++) {
		if (config_parse_listen(ov->listen[i], &cfg->listen[cfg->n_listen]) < 0) {
			log_error("config_error", NULL,
			          "--listen: bad address \"%s\" (expected host:port or [v6]:port)",
			          ov->listen[i]);
			errors++;
			continue;
		}
		cfg->n_listen++;
	}
	if (ov->data_dir) {
		/* Command-line paths are relative to the working folder. */
		if (!*ov->data_dir || !getcwd(cwd, sizeof(cwd))) {
			log_error("config_error", NULL, "--data-dir: must not be empty");
			errors++;
		} else {
			set_str(&cfg->data_dir, config_resolve(cwd, ov->data_dir));
		}
	}
	return errors;
}

/* mkdir -p with mode for the missing parts. */
static int mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	int rc = -1;
	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		goto out;
	rc = dir_exists(p) ? 0 : -1;
	if (rc < 0)
		errno = ENOTDIR;
out:
	free(p);
	return rc;
}

/* A media-type pattern: type/subtype, a whole type (image/ and a star) or any
 * type (star/star), in lower case. */
static int valid_type_pattern(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("/*.+-", *p)))
			return 0;
	return 1;
}

static void read_uploads(struct config *cfg, const conf_node *root)
{
	const conf_node *u;
	cfg->uploads.unattached_max_age = 86400;
	cfg->uploads.cleanup_interval = 3600;
	if (conf_get_table(root, "uploads", &u) != 1)
		return;
	read_str_list(u, "allow", &cfg->uploads.allow, &cfg->uploads.n_allow);
	read_str_list(u, "deny", &cfg->uploads.deny, &cfg->uploads.n_deny);
	for (size_t i = 0; i < cfg->uploads.n_allow; i++)
		if (!valid_type_pattern(cfg->uploads.allow[i]))
			conf_error(u, "allow",
			           "bad media type \"%s\" (expected type/subtype or type/*)",
			           cfg->uploads.allow[i]);
	for (size_t i = 0; i < cfg->uploads.n_deny; i++)
		if (!valid_type_pattern(cfg->uploads.deny[i]))
			conf_error(u, "deny",
			           "bad media type \"%s\" (expected type/subtype or type/*)",
			           cfg->uploads.deny[i]);
	int64_t quota;
	if (conf_get_int(u, "quota_per_day", &quota) == 1) {
		if (quota < 0)
			conf_error(u, "quota_per_day", "must be 0 (no quota) or more");
		else
			cfg->uploads.quota_per_day = quota;
	}
	double v;
	if (conf_get_num(u, "unattached_max_age", &v) == 1) {
		if (!(v > 0))
			conf_error(u, "unattached_max_age", "must be more than 0");
		else
			cfg->uploads.unattached_max_age = v;
	}
	if (conf_get_num(u, "cleanup_interval", &v) == 1) {
		if (!(v > 0))
			conf_error(u, "cleanup_interval", "must be more than 0");
		else
			cfg->uploads.cleanup_interval = v;
	}
	int keep;
	if (conf_get_bool(u, "keep_metadata", &keep) == 1)
		cfg->uploads.keep_metadata = keep;
	conf_report_unread(u);
}

/* "90s", "15m", "1h", "2d" or a number of seconds; -1 when not one. */
static double parse_interval(const conf_node *n)
{
	if (n->type == CONF_INT || n->type == CONF_NUM) {
		double v = n->type == CONF_INT ? (double)n->i : n->num;
		return v > 0 && v <= CONFIG_BACKUP_EVERY_MAX ? v : -1;
	}
	if (n->type != CONF_STR)
		return -1;
	char *end;
	double v = strtod(n->str, &end), unit = 0;
	if (end != n->str && end[0] && !end[1])
		unit = end[0] == 's'   ? 1
		       : end[0] == 'm' ? 60
		       : end[0] == 'h' ? 3600
		       : end[0] == 'd' ? 86400
		                       : 0;
	return unit > 0 && v > 0 && v * unit <= CONFIG_BACKUP_EVERY_MAX ? v * unit : -1;
}

static void read_backup(struct config *cfg, const conf_node *root)
{
	const conf_node *b;
	cfg->backup.keep = CONFIG_BACKUP_KEEP;
	if (conf_get_table(root, "backup", &b) != 1)
		return;
	const conf_node *every = conf_get(b, "every");
	if (!every) {
		conf_error(b, "every", "is required (how often: \"1h\", \"30m\", \"1d\")");
	} else if ((cfg->backup.every = parse_interval(every)) < CONFIG_BACKUP_EVERY_MIN) {
		conf_error(b, "every", "must be a duration from 1s to 30d (\"1h\", \"30m\", 3600)");
		cfg->backup.every = 0;
	}
	int64_t keep;
	if (conf_get_int(b, "keep", &keep) == 1) {
		if (keep < 1 || keep > CONFIG_BACKUP_KEEP_MAX)
			conf_error(b, "keep", "must be 1 to %d", CONFIG_BACKUP_KEEP_MAX);
		else
			cfg->backup.keep = keep;
	}
	const char *to;
	if (conf_get_str(b, "to", &to) == 1 && strncmp(to, "s3://", 5) == 0)
		set_str(&cfg->backup.to, strdup(to)); /* an S3 place, not a path */
	else
		read_path(cfg, b, "to", &cfg->backup.to);
	if (!cfg->backup.to)
		conf_error(b, "to", "is required (the folder scheduled backups go in)");
	/* backup.s3 (endpoint, keys) is gone: s3:// backups go through the
	 * uploads provider (issue 17), whose config says all of it. */
	const conf_node *gone = conf_get(b, "s3");
	if (gone) {
		conf_mark_used(gone); /* one error, not one per key */
		conf_error(b, "s3",
		           "is no longer read: backups to s3:// go through the uploads_s3 provider "
		           "(its endpoint, region, keys and bucket); remove backup.s3");
	}
	conf_report_unread(b);
}

/* "10.0.0.0/8", "::1/128" or a bare address. */
static int valid_cidr(const char *s)
{
	char addr[64];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof addr)
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	int max = inet_pton(AF_INET, addr, bin) == 1    ? 32
	          : inet_pton(AF_INET6, addr, bin) == 1 ? 128
	                                                : -1;
	if (max < 0)
		return 0;
	if (!slash)
		return 1;
	char *end;
	errno = 0;
	long bits = strtol(slash + 1, &end, 10);
	return slash[1] && !*end && !errno && bits >= 0 && bits <= max;
}

static void read_int_min(const conf_node *t, const char *key, int64_t min, int64_t *out)
{
	int64_t v;
	if (conf_get_int(t, key, &v) != 1)
		return;
	if (v < min)
		conf_error(t, key, "must be %lld or more", (long long)min);
	else
		*out = v;
}

static void read_link_previews(struct config *cfg, const conf_node *root)
{
	const conf_node *t;
	cfg->link_previews.timeout = 5;
	cfg->link_previews.max_bytes = 256 * 1024;
	cfg->link_previews.max_redirects = 3;
	cfg->link_previews.per_message = 3;
	cfg->link_previews.cache_size = 1000;
	cfg->link_previews.cache_ttl = 3600;
	if (conf_get_table(root, "link_previews", &t) != 1)
		return;
	int b;
	if (conf_get_bool(t, "enabled", &b) == 1)
		cfg->link_previews.enabled = b;
	read_str_list(t, "allow", &cfg->link_previews.allow, &cfg->link_previews.n_allow);
	for (size_t i = 0; i < cfg->link_previews.n_allow; i++)
		if (!valid_cidr(cfg->link_previews.allow[i]))
			conf_error(t, "allow",
			           "bad address range \"%s\" (expected 10.0.0.0/8, ::1/128 "
			           "or an address)",
			           cfg->link_previews.allow[i]);
	double v;
	if (conf_get_num(t, "timeout", &v) == 1) {
		if (!(v > 0 && v <= 60))
			conf_error(t, "timeout", "must be more than 0 and at most 60");
		else
			cfg->link_previews.timeout = v;
	}
	if (conf_get_num(t, "cache_ttl", &v) == 1) {
		if (!(v > 0))
			conf_error(t, "cache_ttl", "must be more than 0");
		else
			cfg->link_previews.cache_ttl = v;
	}
	read_int_min(t, "max_bytes", 1024, &cfg->link_previews.max_bytes);
	read_int_min(t, "max_redirects", 0, &cfg->link_previews.max_redirects);
	read_int_min(t, "per_message", 1, &cfg->link_previews.per_message);
	read_int_min(t, "cache_size", 1, &cfg->link_previews.cache_size);
	if (cfg->link_previews.max_bytes > 16 * 1024 * 1024)
		conf_error(t, "max_bytes", "must be at most 16 MiB (a page's head is small)");
	if (cfg->link_previews.per_message > 10)
		conf_error(t, "per_message", "must be at most 10");
	conf_report_unread(t);
}

/* A duration: seconds as a number, a string like "365d", or "forever"
 * (0). Returns 1 with *out set, 0 absent, -1 reported. */
static int read_duration(const conf_node *t, const char *key, int64_t *out)
{
	const conf_node *n = conf_get(t, key);
	if (!n)
		return 0;
	int64_t v;
	const char *s;
	if (strcmp(conf_type_name(n), "string") == 0 && conf_get_str(t, key, &s) == 1) {
		if (strcmp(s, "forever") == 0) {
			*out = 0;
			return 1;
		}
		long long d = duration_parse(s);
		if (d <= 0) {
			conf_error(t, key,
			           "bad duration \"%s\" (seconds, or e.g. 90s, 15m, 12h, 365d, or "
			           "\"forever\")",
			           s);
			return -1;
		}
		*out = d;
		return 1;
	}
	if (conf_get_int(t, key, &v) != 1)
		return -1;
	if (v <= 0) {
		conf_error(t, key, "must be more than 0 seconds (or \"forever\")");
		return -1;
	}
	*out = v;
	return 1;
}

static void read_retention(struct config *cfg, const conf_node *root)
{
	const conf_node *r;
	cfg->retention.interval = 3600;
	cfg->retention.lease = 300;
	cfg->retention.batch = 200;
	if (conf_get_table(root, "retention", &r) != 1)
		return;
	read_duration(r, "messages", &cfg->retention.messages);
	read_duration(r, "uploads", &cfg->retention.uploads);
	double v;
	if (conf_get_num(r, "interval", &v) == 1) {
		if (!(v >= 0.05 && v <= 86400 * 30))
			conf_error(r, "interval", "must be between 0.05 and 2592000 seconds");
		else
			cfg->retention.interval = v;
	}
	if (conf_get_num(r, "lease", &v) == 1) {
		if (!(v >= 1 && v <= 86400))
			conf_error(r, "lease", "must be between 1 and 86400 seconds");
		else
			cfg->retention.lease = v;
	}
	int64_t b;
	if (conf_get_int(r, "batch", &b) == 1) {
		if (b < 1 || b > 1000)
			conf_error(r, "batch", "must be between 1 and 1000");
		else
			cfg->retention.batch = b;
	}
	conf_report_unread(r);
}

int config_load(struct config *cfg, const char *file, const struct config_overrides *ov)
{
	char err[1024];
	int errors = 0;
	memset(cfg, 0, sizeof(*cfg));
	cfg->base_dir = base_dir_of(file);
	if (file)
		cfg->file = strdup(file);
	if (!cfg->base_dir || (file && !cfg->file) || set_defaults(cfg) < 0) {
		log_error("config_error", NULL, "out of memory loading the config");
		goto fail;
	}
	cfg->root = file ? conf_load(file, NULL, err, sizeof(err)) : conf_empty(NULL);
	if (!cfg->root) {
		log_error("config_error", NULL, "%s", err);
		goto fail;
	}
	read_server(cfg, cfg->root);
	read_limits(cfg, cfg->root);
	read_log(cfg, cfg->root);
	read_uploads(cfg, cfg->root);
	read_backup(cfg, cfg->root);
	read_link_previews(cfg, cfg->root);
	read_retention(cfg, cfg->root);
	read_plugins(cfg, cfg->root);
	read_scripts(cfg, cfg->root);
	/* Top-level keys nobody read; sections report their own. */
	for (size_t i = 0; i < cfg->root->n_items; i++)
		if (!cfg->root->items[i]->used)
			conf_error(cfg->root->items[i], NULL,
			           i < cfg->root->n_list ? "unexpected list item" : "unknown key");
	errors += conf_error_count(cfg->root);
	if (ov)
		errors += apply_overrides(cfg, ov);
	if (errors)
		goto fail;
	if ((!ov || !ov->check_only) && mkdir_p(cfg->data_dir, DATA_DIR_MODE) < 0) {
		log_error("config_error", NULL, "data_dir %s: cannot create: %s", cfg->data_dir,
		          strerror(errno));
		goto fail;
	}
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_listen; i++)
		listen_free(&cfg->listen[i]);
	for (size_t i = 0; i < cfg->n_trusted_proxies; i++)
		free(cfg->trusted_proxies[i]);
	free(cfg->trusted_proxies);
	for (size_t i = 0; i < cfg->n_origins; i++)
		free(cfg->origins[i]);
	free(cfg->origins);
	for (size_t i = 0; i < cfg->uploads.n_allow; i++)
		free(cfg->uploads.allow[i]);
	free(cfg->uploads.allow);
	for (size_t i = 0; i < cfg->uploads.n_deny; i++)
		free(cfg->uploads.deny[i]);
	for (size_t i = 0; i < cfg->link_previews.n_allow; i++)
		free(cfg->link_previews.allow[i]);
	free(cfg->link_previews.allow);
	free(cfg->uploads.deny);
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		free(cfg->plugins[i].name);
		free(cfg->plugins[i].path);
	}
	free(cfg->public_url);
	free(cfg->data_dir);
	free(cfg->backup.to);
	free(cfg->web_root);
	free(cfg->plugin_dir);
	free(cfg->server_name);
	free(cfg->file);
	free(cfg->base_dir);
	conf_free(cfg->root);
	memset(cfg, 0, sizeof(*cfg));
}
