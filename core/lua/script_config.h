/* Parsing one entry of the config's scripts list (script_config.c). */
#ifndef PARLEY_SCRIPT_CONFIG_H
#define PARLEY_SCRIPT_CONFIG_H

#include "base/conf_tree.h"

struct script_spec;
struct script_limits;

/* The limits of an entry that sets none (docs/configuration.md). */
void script_limits_default(struct script_limits *lim);

/* 0 and *sp filled (free with script_spec_free), or -1 after reporting. */
int script_spec_parse(const conf_node *entry, const char *base_dir, struct script_spec *sp);
void script_spec_free(struct script_spec *sp);

#endif
