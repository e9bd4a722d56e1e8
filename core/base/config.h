/* The server's settings: defaults, then the config file's values, then the
 * command line's. The `server`, `limits`, `log`, `plugins`, `scripts`
 * sections of DESIGN.md; plugin sections stay as conf nodes for the plugins. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/conf_tree.h"

#define CONFIG_MAX_LISTEN       16
#define CONFIG_MAX_PLUGINS      32
#define CONFIG_BACKUP_KEEP      48
#define CONFIG_BACKUP_KEEP_MAX  10000
#define CONFIG_BACKUP_EVERY_MIN 1.0
#define CONFIG_BACKUP_EVERY_MAX (30.0 * 86400)
/* limits.max_text's default: code points in one message. */
#define CONFIG_MAX_TEXT_DEFAULT 4000

struct listen_spec {
	char *host; /* "127.0.0.1", "::" */
	int port;
	char *tls_cert; /* NULL: plain */
	char *tls_key;
	const conf_node *tls_node; /* the tls table, for errors at its line */
};

/* Per-user rate limits (token buckets): the actions limited and one
 * bucket's shape. per_s 0: that action is not limited. */
enum rate_action { RATE_SEND, RATE_REACT, RATE_CREATE_ROOM, RATE_JOIN, RATE_ACTIONS };
struct rate_spec {
	double per_s; /* tokens added a second */
	double burst; /* the bucket's size: actions allowed at once */
};
/* The config keys of each action ("send", "react", "create_room", "join"). */
extern const char *const rate_action_names[RATE_ACTIONS];

struct plugin_spec {
	char *name;               /* "store_sqlite" */
	char *path;               /* explicit .so path, or NULL: plugin_dir/name.so */
	const conf_node *section; /* the plugin's table, or NULL (defaults) */
};

struct config {
	conf_node *root; /* owns every conf node */
	char *file;      /* the config file, or NULL */
	char *base_dir;  /* folder of the config file, or the working folder */

	struct listen_spec listen[CONFIG_MAX_LISTEN];
	size_t n_listen;
	char **trusted_proxies;
	size_t n_trusted_proxies;
	char *public_url; /* may be NULL */
	char **origins;
	size_t n_origins;
	char *data_dir;
	char *web_root;
	char *plugin_dir;
	char *server_name; /* shown in the client and emails; default "parley" */

	struct {
		int64_t max_text;            /* code points; CONFIG_MAX_TEXT_DEFAULT */
		int64_t max_frame;           /* bytes; 65536 */
		int64_t max_upload;          /* bytes; 25 MiB */
		int64_t max_header;          /* HTTP header bytes; 16384 */
		int64_t max_body;            /* HTTP API body bytes; 1 MiB */
		double header_timeout;       /* s to receive a whole request head; 10 */
		double idle_timeout;         /* s a keep-alive HTTP connection may idle; 60 */
		double auth_timeout;         /* s for a WebSocket to authenticate; 10 */
		double ping_interval;        /* s; 30 */
		double pong_timeout;         /* s of silence before closing; 75 */
		int64_t outbound_high_water; /* bytes queued before a consumer is cut; 4 MiB */
		double outbound_grace;       /* s a consumer may stay over the mark; 5 */
		int64_t presence_room_max;   /* 100 */
		int64_t max_connections;     /* 0: only the fd limit */
		double shutdown_timeout;     /* s for SIGTERM to finish; 10 */
		int64_t workers;             /* worker threads; 0: ncpu (min 2) */
		int64_t write_split;     /* dirty conns from which a flush uses 2 cores; 0: never */
		int64_t max_fragments;   /* frames per WebSocket message; 64 */
		int64_t preauth_bytes;   /* bytes a WebSocket may send before auth; 16384 */
		int64_t ws_input_budget; /* bytes of incomplete messages, all sessions; 64 MiB */
		int64_t max_connections_per_addr; /* per client address; 256; 0: off */
		double preauth_timeout;  /* s a connection may live unauthenticated; 30; 0: off */
		int64_t fd_reserve;      /* descriptors kept from connections; 64; 0: off */
		int64_t group_dm_max;    /* people in a DM, the caller counted; 8 */
		int64_t mention_all_max; /* members above which only moderators @room; 50 */
		struct rate_spec rates[RATE_ACTIONS]; /* people's sessions */
		struct rate_spec oidc_logins; /* browser sign-in starts per client network */
		struct rate_spec bot_rates[RATE_ACTIONS]; /* bot accounts' */
	} limits;

	int log_level;

	/* The uploads section: the core's policy whatever the provider. */
	struct {
		char *
		    *allow; /* media types (image/png; image/ plus a star: all images); none: all */
		size_t n_allow;
		char **deny;
		size_t n_deny;
		int64_t quota_per_day;     /* bytes per user per 24 h; 0: none */
		double unattached_max_age; /* s before an unattached upload goes; 86400 */
		double cleanup_interval;   /* s between cleanup runs; 3600 */
		int keep_metadata;         /* 1: photos keep EXIF/XMP (GPS!); 0 strips them */
	} uploads;

	/* Scheduled backups (the backup section): off while every is 0. */
	struct {
		double every; /* s between backups */
		int64_t keep; /* finished backups kept in `to`; 48 */
		char *to;     /* the folder they go in (absolute), or s3://BUCKET/PREFIX */
	} backup;
	/* Link previews (core/app/link_previews.c): the server fetches the
	 * head of pages linked in messages. */
	struct {
		int enabled;  /* 0 (default): no fetches at all */
		char **allow; /* CIDRs fetched although private/loopback/link-local */
		size_t n_allow;
		double timeout;        /* s for one page, redirects included; 5 */
		int64_t max_bytes;     /* of a page's body read; 262144 */
		int64_t max_redirects; /* 3 */
		int64_t per_message;   /* links previewed per message; 3 */
		int64_t cache_size;    /* pages remembered; 1000 */
		double cache_ttl;      /* s a page is remembered; 3600 */
	} link_previews;
	/* The retention section (docs/operations.md "Retention"). */
	struct {
		int64_t messages; /* s a message is kept; 0: forever (the default) */
		int64_t uploads;  /* s an attached file is kept; 0: as its message */
		double interval;  /* s between background passes; 3600 */
		double lease;     /* s a node holds the job between renewals; 300 */
		int64_t batch;    /* messages per store call; 200 */
	} retention;

	struct plugin_spec plugins[CONFIG_MAX_PLUGINS];
	size_t n_plugins;
	int plugins_default; /* 1 when the config had no plugins list */

	const conf_node *scripts; /* the scripts list, for the Lua host */
};

/* Command-line overrides. */
struct config_overrides {
	const char *listen[CONFIG_MAX_LISTEN];
	size_t n_listen;
	const char *data_dir;
	int check_only; /* validate only: create no directories */
};

/* Loads file (NULL: no file, defaults only), applies overrides (ov may be
 * NULL), validates, and creates data_dir (mode 0700) unless ov->check_only.
 * Returns 0, or -1 after reporting every problem as "file:line: message"
 * on stderr. check_only: no directories are created. */
int config_load(struct config *cfg, const char *file, const struct config_overrides *ov);
/* Sets every limits.* field to the schema's default (fuzz targets and
 * test harnesses start from these rather than from copies). */
void config_limits_default(struct config *cfg);
void config_free(struct config *cfg);

/* The config being served (NULL in admin commands until loaded): read by
 * every layer, set once by the app at start and on reload. */
extern const struct config *server_config;

/* Checks the entries of the `scripts` list (the script host's rules);
 * app start-up sets it before the first config_load. */
typedef void config_scripts_check(const struct parley_conf *list, const char *base_dir);
void config_set_scripts_check(config_scripts_check *fn);

/* Resolves path against base (absolute paths are kept); malloc'ed. */
char *config_resolve(const char *base, const char *path);

/* Parses "host:port", "[v6]:port" or ":port"; 0 or -1. */
int config_parse_listen(const char *s, struct listen_spec *out);

#endif
