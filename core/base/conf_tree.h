/* The configuration tree: what the Lua config file evaluated to, converted
 * into plain C nodes that remember the file, the key path
 * ("plugins[2].path") and the source line where the key was written.
 * This is the host's `parley_conf`; plugins read it through the host table.
 *
 * Every node records whether it was read. After a plugin's check(), keys it
 * never read are reported as unknown (conf_report_unread), which is how each
 * plugin validates its own section without declaring a schema twice. */
#ifndef PARLEY_CONF_H
#define PARLEY_CONF_H

#include <stddef.h>
#include <stdint.h>

enum conf_type { CONF_NIL, CONF_BOOL, CONF_INT, CONF_NUM, CONF_STR, CONF_TABLE };

typedef struct parley_conf conf_node;

struct parley_conf {
	enum conf_type type;
	char *key;        /* this node's key in its parent ("path"), or NULL for list items */
	char *path;       /* full key path: "plugins[2].path" */
	const char *file; /* the config file (shared, owned by the root) */
	int line;         /* 0 when unknown */
	int used;         /* read by someone */
	int *errors;      /* shared error counter of the whole tree */
	int64_t i;
	double num;
	int b;
	char *str;
	/* CONF_TABLE: items in order; list items have key NULL, map entries a key */
	conf_node **items;
	size_t n_items;
	size_t n_list; /* how many of the items are the array part (1..n) */
	long pos;      /* internal: source offset where the key was found, -1 unknown */
};

/* Evaluates a Lua config file in an empty environment (only env(name)),
 * converting the result into a tree. source: NULL reads `file`; otherwise
 * the text (for tests). On error returns NULL and writes "file:line: msg"
 * into err. */
conf_node *conf_load(const char *file, const char *source, char *err, size_t errlen);
/* An empty table (no config file). */
conf_node *conf_empty(const char *file);
void conf_free(conf_node *root);

/* Lookup in a table by key; marks the node used. NULL when absent. */
conf_node *conf_get(const conf_node *t, const char *key);
/* The i-th list item (0-based); NULL past the end. */
conf_node *conf_at(const conf_node *t, size_t i);

/* Typed getters: 1 found (out set), 0 absent, -1 wrong type (reported). */
int conf_get_str(const conf_node *t, const char *key, const char **out);
int conf_get_int(const conf_node *t, const char *key, int64_t *out);
int conf_get_num(const conf_node *t, const char *key, double *out);
int conf_get_bool(const conf_node *t, const char *key, int *out);
int conf_get_table(const conf_node *t, const char *key, const conf_node **out);

/* Reports "file:line: path.key: message" on stderr (as a log line) and
 * counts an error in the tree. key may be NULL (the node itself). */
void conf_error(const conf_node *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports every unread key under t as "unknown key"; returns how many. */
int conf_report_unread(const conf_node *t);
/* Marks t and everything under it as read (a section kept for later use). */
void conf_mark_used(const conf_node *t);
/* The Lua type name of a node's value ("string", "number", "table"...). */
const char *conf_type_name(const conf_node *n);
int conf_error_count(const conf_node *root);

#endif
