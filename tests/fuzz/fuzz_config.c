/* libFuzzer target: the config loader. Each input is evaluated as config
 * source text (Lua in the sandbox, with its memory and instruction caps),
 * converted to the tree with source lines, every node is read through the
 * typed getters, unread keys are reported (to /dev/null), and the tree is
 * freed, so leaks and bad reads in any step show. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf_tree.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const conf_node *t)
{
	const char *s;
	int64_t i;
	double d;
	int b;
	const conf_node *sub;
	for (size_t k = 0; k < t->n_items; k++) {
		const conf_node *n = t->items[k];
		if (!n->key) {
			conf_at(t, k);
		} else if (k % 2) {
			/* Leave every other key unread for conf_report_unread. */
			conf_get_str(t, n->key, &s);
			conf_get_int(t, n->key, &i);
			conf_get_num(t, n->key, &d);
			conf_get_bool(t, n->key, &b);
			conf_get_table(t, n->key, &sub);
		}
		if (n->type == CONF_TABLE)
			walk(n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	char err[1024];
	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY);
		log_set_fd(devnull);
	}
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	conf_node *root = conf_load("fuzz.conf", src, err, sizeof(err));
	if (root) {
		walk(root);
		conf_report_unread(root);
		conf_free(root);
	}
	free(src);
	return 0;
}
