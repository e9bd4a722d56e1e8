/* store_contract: one contract suite for every store provider.
 *
 *   store_contract [--plugin NAME|FILE.so] [--section 'FIELDS'] [--plugin-dir DIR]
 *                  [--filter PATTERN]
 *
 * --plugin: the store, by name in the plugin dir or as a path to its .so
 * (PARLEY_CONTRACT_PLUGIN; default store_sqlite). --section: the fields of
 * its config table (PARLEY_CONTRACT_SECTION; default path = "@CASE@.db"),
 * where @CASE@ becomes a name unique to each case and run (every case gets
 * a fresh store) and ${VAR} the environment's VAR. --plugin-dir: where
 * auth_local (which the host demands) and a named store are
 * (PARLEY_CONTRACT_PLUGIN_DIR; default the build's). --filter: the cases
 * to run, a cmocka pattern like "test_kv" or "test_*session*".
 * PARLEY_CONTRACT_TIMEOUT: seconds one call may take (30);
 * PARLEY_CONTRACT_APPENDS: appends per writer in the concurrency case (50);
 * PARLEY_CONTRACT_NODES: processes appending to one store at once (3; 1
 * skips that case), PARLEY_CONTRACT_NODE_APPENDS: appends of each (100).
 * server.data_dir is a fresh temp folder, removed at the end. */
#include "contract.h"
#include "contract_cases.h"
#include "contract_options.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* The section with ${VAR} replaced from the environment; exits when a
 * variable is unset (a test against nothing must not pass). */
static char *expand_env(const char *in)
{
	static char out[2048];
	size_t len = 0;
	while (*in) {
		const char *end;
		if (in[0] == '$' && in[1] == '{' && (end = strchr(in, '}'))) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)(end - in - 2), in + 2);
			const char *v = getenv(name);
			if (!v || !*v) {
				fprintf(stderr,
				        "store_contract: the section names ${%s}, which is unset\n",
				        name);
				exit(2);
			}
			int w = snprintf(out + len, sizeof out - len, "%s", v);
			len += w > 0 ? (size_t)w : 0;
			in = end + 1;
		} else if (len + 1 < sizeof out) {
			out[len++] = *in++;
		} else {
			break;
		}
		if (len + 1 >= sizeof out) {
			fprintf(stderr, "store_contract: the section is too long\n");
			exit(2);
		}
	}
	out[len] = '\0';
	return out;
}

static const char *opt_or_env(const char *given, const char *env, const char *def)
{
	if (given)
		return given;
	const char *v = getenv(env);
	return v && *v ? v : def;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: store_contract [--plugin NAME|FILE.so] [--section 'FIELDS'] "
	                "[--plugin-dir DIR] [--filter PATTERN]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *plugin = NULL, *section = NULL, *plugin_dir = NULL, *filter = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage();
		if (strcmp(a, "--plugin") == 0)
			plugin = argv[++i];
		else if (strcmp(a, "--section") == 0)
			section = argv[++i];
		else if (strcmp(a, "--plugin-dir") == 0)
			plugin_dir = argv[++i];
		else if (strcmp(a, "--filter") == 0)
			filter = argv[++i];
		else
			usage();
	}
	plugin = opt_or_env(plugin, "PARLEY_CONTRACT_PLUGIN", "store_sqlite");
	contract_opt.section =
	    expand_env(opt_or_env(section, "PARLEY_CONTRACT_SECTION", "path = \"@CASE@.db\""));
	contract_opt.plugin_dir =
	    opt_or_env(plugin_dir, "PARLEY_CONTRACT_PLUGIN_DIR", PARLEY_BUILD_DIR "/plugins");
	/* A path names the .so; its name is the file's, less ".so". */
	static char name[128];
	const char *slash = strrchr(plugin, '/');
	if (slash) {
		contract_opt.plugin_path = plugin;
		snprintf(name, sizeof name, "%s", slash + 1);
		char *dot = strstr(name, ".so");
		if (dot)
			*dot = '\0';
	} else {
		snprintf(name, sizeof name, "%s", plugin);
	}
	contract_opt.plugin_name = name;

	unsigned char rnd[3];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return 2;
	snprintf(contract_opt.run_id, sizeof contract_opt.run_id, "c%02x%02x%02x", rnd[0], rnd[1],
	         rnd[2]);
	const char *tmp = getenv("TMPDIR");
	snprintf(contract_opt.data_dir, sizeof contract_opt.data_dir, "%s/parley-contract-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(contract_opt.data_dir)) {
		perror("store_contract: mkdtemp");
		return 2;
	}
	if (filter)
		cmocka_set_test_filter(filter);
	printf("store contract: %s%s%s, section { %s }, run %s\n", name,
	       contract_opt.plugin_path ? " from " : "",
	       contract_opt.plugin_path ? contract_opt.plugin_path : "", contract_opt.section,
	       contract_opt.run_id);
	fflush(stdout);

#define CASE(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
	const struct CMUnitTest tests[] = {
	    CASE(test_vtable),
	    CASE(test_append_fields),
	    CASE(test_append_dedup),
	    CASE(test_seq_dense_per_room),
	    CASE(test_tombstone),
	    CASE(test_history_paging),
	    CASE(test_get_edit),
	    CASE(test_react),
	    CASE(test_rooms),
	    CASE(test_dm_room),
	    CASE(test_group_dm_room),
	    CASE(test_members),
	    CASE(test_names_fold_ascii_only),
	    CASE(test_users),
	    CASE(test_user_by_email),
	    CASE(test_sessions),
	    CASE(test_sessions_scoped),
	    CASE(test_invites),
	    CASE(test_invites_admin),
	    CASE(test_tokens),
	    CASE(test_lookup_needs_a_key),
	    CASE(test_audit),
	    CASE(test_settings),
	    CASE(test_kv),
	    CASE(test_kv_capped),
	    CASE(test_token_peek),
	    CASE(test_uploads),
	    CASE(test_snapshot),
	    CASE(test_prune),
	    CASE(test_lease),
	    CASE(test_kv_add),
	    CASE(test_counter_window),
	    CASE(test_cluster_racers),
	    CASE(test_calls_pending),
	    CASE(test_room_retention),
	    CASE(test_edits_history),
	    CASE(test_uploads_expire),
	    CASE(test_pins),
	    CASE(test_pins_expired),
	    CASE(test_notify_levels),
	    CASE(test_mentions_unread),
	    CASE(test_threads_replies),
	    CASE(test_threads_history),
	    CASE(test_threads_follow_and_list),
	    CASE(test_threads_keep_their_place),
	    CASE(test_room_rename),
	    CASE(test_room_settings),
	    CASE(test_room_delete),
	    CASE(test_room_delete_many),
	    CASE(test_room_delete_leaves_nothing),
	    CASE(test_records_copy),
	    CASE(test_records_every_kind),
	    CASE(test_search_terms),
	    CASE(test_search_filters),
	    CASE(test_search_tombstones_and_edits),
	    CASE(test_search_expired),
	    CASE(test_search_order_and_paging),
	    CASE(test_search_recent_ties_and_history),
	    CASE(test_search_refused),
	    CASE(test_concurrent_appends),
	    CASE(test_dedup_in_flight),
	    CASE(test_failed_appends_leave_no_hole),
	    CASE(test_foreign_ids),
	    CASE(test_restart),
	    CASE(test_several_nodes),
	};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = cmocka_run_group_tests_name(name, tests, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("store contract: %s: %d failed, %.2f s\n", name, failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (!getenv("PARLEY_CONTRACT_KEEP"))
		nftw(contract_opt.data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		printf("store contract: data kept in %s\n", contract_opt.data_dir);
	return failed ? 1 : 0;
}
