/* What the contract program was told to test: set by contract_main.c from
 * the command line and the environment, read by the harness. */
#ifndef PARLEY_STORE_CONTRACT_OPTIONS_H
#define PARLEY_STORE_CONTRACT_OPTIONS_H

struct contract_options {
	const char *plugin_name; /* "store_sqlite" */
	const char *plugin_path; /* an explicit .so, or NULL: plugin_dir/NAME.so */
	const char *plugin_dir;  /* where auth_local (and a named store) are */
	const char *section;     /* the store's config section, @CASE@ per case */
	char data_dir[256];      /* server.data_dir: a temp folder of this run */
	char run_id[16];         /* unique per run: stores are never reused */
};

extern struct contract_options contract_opt;

#endif
