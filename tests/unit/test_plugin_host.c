/* plugin_host.c and host_api.c with real plugins loaded by dlopen: the
 * test-only plugins that fail on purpose are each refused with their
 * message, every problem of a config is reported in one run, a good plugin
 * (deny_hook) loads, inits and denies through the hook chain, and the host
 * table's allocation accounting, timers, fd watchers, paths, commands and
 * provider rules behave. Log lines are captured through log_set_fd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/config.h"
#include "base/curl_loop.h"
#include "host/hooks.h"
#include "host/host_api.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "host/plugin_host.h"

#define PLUGINS     PARLEY_BUILD_DIR "/plugins/"
#define CAPTURE_MAX 65536
#define GUARD_S     10.0 /* a hang guard, not a timing target */

static char tmpdir[] = "/tmp/parley_plugin_host_XXXXXX";
static char conf_path[256];
static char captured[CAPTURE_MAX];
static FILE *capture_file;
static struct config cfg;

/* ---- helpers --------------------------------------------------------- */

static void capture_start(void)
{
	capture_file = tmpfile();
	assert_non_null(capture_file);
	log_set_fd(fileno(capture_file));
	captured[0] = '\0';
}

static const char *capture_end(void)
{
	log_set_fd(-1);
	rewind(capture_file);
	size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
	captured[n] = '\0';
	fclose(capture_file);
	capture_file = NULL;
	return captured;
}

/* Writes the config file and loads it (check only: no directories). */
static int config_from(const char *source)
{
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	fputs(source, f);
	fclose(f);
	struct config_overrides ov = {.check_only = 1};
	return config_load(&cfg, conf_path, &ov);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* A store and an auth provider registered by the test itself, standing in
 * for store_sqlite and auth_local, whose own tests cover them. */
static int never(void)
{
	return PARLEY_EUNAVAIL;
}
/* Every base member set (the host refuses a table without them); none is
 * called by these tests. */
#define NEVER(type) ((type)(void (*)(void))never)
#define BASE_STORE                                                                                 \
	.append = NEVER(void *), .history = NEVER(void *), .message_get = NEVER(void *),           \
	.message_edit = NEVER(void *), .message_delete = NEVER(void *), .react = NEVER(void *),    \
	.room_create = NEVER(void *), .room_get = NEVER(void *), .room_set_topic = NEVER(void *),  \
	.rooms_list = NEVER(void *), .member_set = NEVER(void *), .member_remove = NEVER(void *),  \
	.members_list = NEVER(void *), .read_set = NEVER(void *), .user_create = NEVER(void *),    \
	.user_get = NEVER(void *), .user_update = NEVER(void *), .users_list = NEVER(void *),      \
	.session_create = NEVER(void *), .session_get = NEVER(void *),                             \
	.session_delete = NEVER(void *), .invite_create = NEVER(void *),                           \
	.invite_use = NEVER(void *)
static const parley_store_vtable fake_store = {.struct_size = sizeof fake_store, BASE_STORE};
static const parley_auth_vtable fake_auth = {.struct_size = sizeof fake_auth,
                                             .authenticate = NEVER(void *)};
static parley_ctx fake_ctx = {.name = "test", .log_ctx = "\"plugin\":\"test\""};

static void provide_core_needs(void)
{
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_STORE, &fake_store, NULL), 0);
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_AUTH, &fake_auth, NULL), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	plugins_fini();
	config_free(&cfg);
	return 0;
}

/* ---- loading failures -------------------------------------------------- */

static void test_bad_abi(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = { { 'bad_abi', so = '" PLUGINS "bad_abi.so' } }\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	const char *out = capture_end();
	char want[128];
	snprintf(want, sizeof want, "built for plugin ABI %d, this server speaks ABI %d",
	         PARLEY_PLUGIN_ABI + 98, PARLEY_PLUGIN_ABI);
	assert_contains(out, want);
	assert_contains(out, "plugin bad_abi (");
}

static void test_missing_file(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = { { 'nope', so = '/nonexistent/nope.so' } }\n"), 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	const char *out = capture_end();
	assert_contains(out, "plugin nope: cannot load /nonexistent/nope.so: ");
	assert_contains(out, "server.plugin_dir");

	/* Without `so`, the file is looked for in server.plugin_dir. */
	config_free(&cfg);
	assert_int_equal(config_from("server = { plugin_dir = '/nonexistent/dir' }\n"
	                             "plugins = { { 'ghost' } }\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	assert_contains(capture_end(), "cannot load /nonexistent/dir/ghost.so");
}

static void test_check_fail(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'check_fail', so = '" PLUGINS "check_fail.so',\n"
	                             "    why = 'testing' },\n"
	                             "}\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	const char *out = capture_end();
	/* The plugin's own message, with the file, line and key path. */
	assert_contains(out, "this plugin always fails its check");
	assert_contains(out, ":3: plugins[1].why");
	assert_contains(out, "plugin check_fail: check failed");
}

static void test_unknown_key(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'deny_hook', so = '" PLUGINS "deny_hook.so',\n"
	                             "    colour = 'red' },\n"
	                             "}\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	const char *out = capture_end();
	assert_contains(out, "colour");
	assert_contains(out, "unknown key");
}

static void test_all_problems_reported(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'bad_abi', so = '" PLUGINS "bad_abi.so' },\n"
	                             "  { 'check_fail', so = '" PLUGINS "check_fail.so' },\n"
	                             "  { 'deny_hook', so = '" PLUGINS "deny_hook.so' },\n"
	                             "  { 'nope', so = '/nonexistent/nope.so' },\n"
	                             "}\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), -1);
	const char *out = capture_end();
	assert_contains(out, "plugin bad_abi (");
	assert_contains(out, "plugin check_fail: check failed");
	assert_contains(out, "plugin nope: cannot load");
	assert_null(strstr(out, "deny_hook"));
}

/* ---- init ---------------------------------------------------------------- */

static void test_init_fail_stops_started(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'deny_hook', so = '" PLUGINS "deny_hook.so' },\n"
	                             "  { 'init_fail', so = '" PLUGINS "init_fail.so' },\n"
	                             "}\n"),
	                 0);
	capture_start();
	assert_int_equal(plugins_load(&cfg, 0), 0);
	assert_int_equal(plugins_init(), -1);
	const char *out = capture_end();
	assert_contains(out, "this plugin always fails its init");
	assert_contains(out, "\"plugin\":\"init_fail\"");
	assert_contains(out, "plugin init_fail: init failed (-1)");
	/* deny_hook was finished: its hook is gone and it freed everything. */
	assert_int_equal(hooks_count(PARLEY_HOOK_BEFORE_MESSAGE), 0);
	assert_null(strstr(out, "plugin_leak"));
}

static void test_required_providers(void **state)
{
	(void)state;
	assert_int_equal(
	    config_from("plugins = { { 'deny_hook', so = '" PLUGINS "deny_hook.so' } }\n"), 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	capture_start();
	assert_int_equal(plugins_init(), -1);
	const char *out = capture_end();
	assert_contains(out, "no store provider: add { \\\"store_sqlite\\\" } to plugins in ");
	assert_contains(out, conf_path);
	plugins_fini();

	assert_int_equal(plugins_load(&cfg, 0), 0);
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_STORE, &fake_store, NULL), 0);
	capture_start();
	assert_int_equal(plugins_init(), -1);
	assert_contains(capture_end(), "no auth provider: add { \\\"auth_local\\\" }");
	plugins_fini();

	/* A table without a base member, or shorter than ABI 1's, is refused
	 * naming the plugin and the member; a cluster table needs its members. */
	assert_int_equal(plugins_load(&cfg, 0), 0);
	parley_store_vtable no_append = fake_store;
	no_append.append = NULL;
	capture_start();
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_STORE, &no_append, NULL),
	                 PARLEY_EINVAL);
	assert_contains(capture_end(), "plugin test: its store table has no append");
	parley_store_vtable too_short = fake_store;
	too_short.struct_size = offsetof(parley_store_vtable, invite_use);
	capture_start();
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_STORE, &too_short, NULL),
	                 PARLEY_EINVAL);
	assert_contains(capture_end(), "shorter than ABI 1's");
	parley_notify_vtable no_send = {.struct_size = sizeof no_send};
	capture_start();
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_NOTIFY, &no_send, NULL),
	                 PARLEY_EINVAL);
	assert_contains(capture_end(), "its notify table has no send");
	capture_start();
	parley_cluster_vtable no_publish = {.struct_size = sizeof no_publish};
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_CLUSTER, &no_publish, NULL),
	                 PARLEY_EINVAL);
	assert_contains(capture_end(), "its cluster table has no start");
	/* The uploads table's object members (issue 17): all four or none. */
	parley_uploads_vtable half_objects = {.struct_size = sizeof half_objects,
	                                      .begin = NEVER(void *),
	                                      .write = NEVER(void *),
	                                      .finish = NEVER(void *),
	                                      .abort = NEVER(void *),
	                                      .presign = NEVER(void *),
	                                      .remove = NEVER(void *),
	                                      .delete_object = NEVER(void *)};
	capture_start();
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_UPLOADS, &half_objects, NULL),
	                 PARLEY_EINVAL);
	assert_contains(capture_end(), "its uploads table has 1 of the four object members");
	capture_start();
	assert_int_equal(plugins_init(), -1); /* a refused provider fails the start */
	capture_end();
	plugins_fini();

	/* An ABI 1 store without the appended members loads: only the base is
	 * demanded. */
	assert_int_equal(plugins_load(&cfg, 0), 0);
	parley_store_vtable abi1_first = {
	    .struct_size = offsetof(parley_store_vtable, user_by_email), BASE_STORE};
	assert_int_equal(plugins_provide(&fake_ctx, PARLEY_PROVIDE_STORE, &abi1_first, NULL), 0);
	void *self;
	assert_null(plugins_uploads_store(&self)); /* lacks the upload members */
	plugins_fini();

	/* A second store is refused, naming both plugins. */
	assert_int_equal(plugins_load(&cfg, 0), 0);
	provide_core_needs();
	parley_ctx other = {.name = "other_store", .log_ctx = "\"plugin\":\"other_store\""};
	capture_start();
	assert_int_equal(plugins_provide(&other, PARLEY_PROVIDE_STORE, &fake_store, NULL),
	                 PARLEY_ECONFLICT);
	const char *dup = capture_end();
	assert_contains(dup, "plugin other_store: only one store provider");
	assert_contains(dup, "plugin test is one");
	assert_int_equal(plugins_init(), -1);
}

static void test_deny_hook_denies(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'deny_hook', so = '" PLUGINS "deny_hook.so',\n"
	                             "    word = 'spam', rewrite = true },\n"
	                             "}\n"),
	                 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	provide_core_needs();
	assert_int_equal(plugins_init(), 0);
	assert_int_equal(hooks_count(PARLEY_HOOK_BEFORE_MESSAGE), 1);
	void *self = (void *)1;
	assert_ptr_equal(plugins_store(&self), &fake_store);
	assert_null(self);
	assert_true(plugins_has_provider(PARLEY_PROVIDE_AUTH));
	assert_false(plugins_has_provider(PARLEY_PROVIDE_UPLOADS));

	parley_message msg = {.text = "buy spam now"};
	parley_hook_args args = {
	    .struct_size = sizeof args, .event = PARLEY_HOOK_BEFORE_MESSAGE, .message = &msg};
	const char *reason = NULL, *rewritten = NULL;
	assert_int_equal(hooks_run(&args, &reason, &rewritten), PARLEY_DENY);
	assert_string_equal(reason, "the word spam is not allowed here");

	msg.text = "my cat and your cat";
	assert_int_equal(hooks_run(&args, &reason, &rewritten), PARLEY_OK);
	assert_null(reason);
	assert_string_equal(rewritten, "my dog and your dog");

	/* Its state came from the accounted allocator: it shows per plugin. */
	size_t len;
	char *text = metrics_render(&len);
	assert_non_null(text);
	const char *line = strstr(text, "parley_plugin_memory_bytes{plugin=\"deny_hook\"} ");
	if (!line)
		fail_msg("no memory gauge in:\n%s", text);
	assert_true(atof(line + strlen("parley_plugin_memory_bytes{plugin=\"deny_hook\"} ")) > 0);
	free(text);

	char why[128];
	assert_int_equal(plugins_ready(why, sizeof why), 1);
}

static void test_default_word(void **state)
{
	(void)state;
	assert_int_equal(
	    config_from("plugins = { { 'deny_hook', so = '" PLUGINS "deny_hook.so' } }\n"), 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	provide_core_needs();
	assert_int_equal(plugins_init(), 0);
	parley_message msg = {.text = "a forbidden thing"};
	parley_hook_args args = {
	    .struct_size = sizeof args, .event = PARLEY_HOOK_BEFORE_MESSAGE, .message = &msg};
	const char *reason = NULL;
	assert_int_equal(hooks_run(&args, &reason, NULL), PARLEY_DENY);
	assert_string_equal(reason, "the word forbidden is not allowed here");
	/* Without rewrite = true, cats stay cats. */
	msg.text = "cat";
	assert_int_equal(hooks_run(&args, &reason, NULL), PARLEY_OK);
	assert_string_equal(msg.text, "cat");
}

/* ---- the host table ------------------------------------------------------ */

static void test_accounted_alloc(void **state)
{
	(void)state;
	const parley_host *h = plugins_host();
	assert_int_equal(h->struct_size, sizeof(parley_host));
	assert_int_equal(h->abi, PARLEY_PLUGIN_ABI);
	parley_ctx a = {.name = "a"}, b = {.name = "b"};
	char *p = h->alloc(&a, 100);
	assert_non_null(p);
	assert_int_equal(a.bytes, 100);
	assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	memset(p, 'x', 100);
	p = h->realloc(&a, p, 1000);
	assert_int_equal(a.bytes, 1000);
	assert_int_equal(p[99], 'x');
	int *z = h->calloc(&b, 10, sizeof(int));
	assert_int_equal(b.bytes, 10 * sizeof(int));
	for (int i = 0; i < 10; i++)
		assert_int_equal(z[i], 0);
	char *s = h->strdup(&a, "hello");
	assert_string_equal(s, "hello");
	assert_int_equal(a.bytes, 1006);
	/* The block remembers its owner, whatever ctx frees it. */
	h->free(&b, s);
	assert_int_equal(a.bytes, 1000);
	h->free(&a, p);
	h->free(&b, z);
	h->free(&a, NULL);
	assert_int_equal(a.bytes, 0);
	assert_int_equal(b.bytes, 0);
	assert_null(h->calloc(&a, SIZE_MAX / 2, 4));
	assert_int_equal(a.bytes, 0);

	unsigned char r1[32] = {0}, r2[32] = {0};
	assert_int_equal(h->random(r1, sizeof r1), 0);
	assert_int_equal(h->random(r2, sizeof r2), 0);
	assert_memory_not_equal(r1, r2, sizeof r1);
	assert_true(h->now_ms() > 1600000000000LL);
}

static int fired_once, fired_repeat;
static parley_timer *repeating;

static void once_cb(void *arg)
{
	(void)arg;
	fired_once++;
}

static void repeat_cb(void *arg)
{
	if (++fired_repeat == 3) {
		plugins_host()->timer_stop(repeating);
		ev_break(loop_ev, EVBREAK_ALL);
	}
	(void)arg;
}

static int watch_hits, watch_events;
static parley_watch *the_watch;

static void watch_cb(int fd, int revents, void *arg)
{
	(void)arg;
	char c;
	watch_hits++;
	watch_events = revents;
	assert_int_equal(read(fd, &c, 1), 1);
	/* Unwatching from inside the callback is allowed. */
	plugins_host()->fd_unwatch(the_watch);
}

static void guard_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

/* A plugin's transfer still running at shutdown: its done callback runs
 * before the plugin is finished and unloaded (it used to run from
 * curl_loop_fini, after the dlclose: a crash, and the plugin's memory
 * reported as leaked). */
static void test_transfer_pending_at_fini(void **state)
{
	(void)state;
	assert_int_equal(loop_init(), 0);
	assert_int_equal(curl_loop_init(), 0);
	/* A listener that never accepts: the connect completes in the
	 * backlog and the request never gets an answer. */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	char conf[512];
	snprintf(conf, sizeof conf,
	         "plugins = { { 'curl_pending', so = '" PLUGINS
	         "curl_pending.so', url = 'http://127.0.0.1:%d/never' } }\n",
	         ntohs(a.sin_port));
	assert_int_equal(config_from(conf), 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	provide_core_needs();
	assert_int_equal(plugins_init(), 0);
	ev_timer guard;
	ev_timer_init(&guard, guard_cb, 0.2, 0.); /* let the transfer connect */
	ev_timer_start(loop_ev, &guard);
	ev_run(loop_ev, 0);
	capture_start();
	plugins_fini();
	const char *out = capture_end();
	assert_contains(out, "\"event\":\"transfer_done\"");
	assert_null(strstr(out, "plugin_leak"));
	curl_loop_fini(); /* nothing left to call into */
	close(ls);
	loop_fini();
}

static void test_timers_and_watchers(void **state)
{
	(void)state;
	assert_int_equal(loop_init(), 0);
	const parley_host *h = plugins_host();
	parley_ctx ctx = {.name = "timers"};
	fired_once = fired_repeat = watch_hits = watch_events = 0;
	assert_non_null(h->timer_start(&ctx, 0.001, 0, once_cb, NULL));
	repeating = h->timer_start(&ctx, 0.002, 0.002, repeat_cb, NULL);
	assert_non_null(repeating);
	/* Stopped before firing: never runs. */
	h->timer_stop(h->timer_start(&ctx, 0.001, 0, once_cb, NULL));
	assert_null(h->timer_start(&ctx, -1, 0, once_cb, NULL));

	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	the_watch = h->fd_watch(&ctx, fds[0], PARLEY_FD_READ, watch_cb, NULL);
	assert_non_null(the_watch);
	assert_null(h->fd_watch(&ctx, fds[0], 0, watch_cb, NULL));

	ev_timer guard;
	ev_timer_init(&guard, guard_cb, GUARD_S, 0.);
	ev_timer_start(loop_ev, &guard);
	ev_run(loop_ev, 0);
	ev_timer_stop(loop_ev, &guard);

	assert_int_equal(fired_once, 1);
	assert_int_equal(fired_repeat, 3);
	assert_int_equal(watch_hits, 1);
	assert_int_equal(watch_events, PARLEY_FD_READ);
	/* Fired one-shots, stopped timers and unwatched fds are all gone. */
	assert_null(ctx.timers);
	assert_null(ctx.watches);

	/* What a plugin leaves running is stopped for it at release. */
	assert_non_null(h->timer_start(&ctx, 100, 0, once_cb, NULL));
	assert_non_null(h->fd_watch(&ctx, fds[0], PARLEY_FD_READ, watch_cb, NULL));
	host_api_ctx_release(&ctx);
	assert_null(ctx.timers);
	assert_null(ctx.watches);
	close(fds[0]);
	close(fds[1]);
	loop_fini();
}

static void test_paths_and_names(void **state)
{
	(void)state;
	char src[512];
	snprintf(src, sizeof src,
	         "server = { listen = { '[::1]:8123' }, data_dir = '%s/data' }\n"
	         "plugins = { { 'deny_hook', so = '" PLUGINS "deny_hook.so' } }\n",
	         tmpdir);
	assert_int_equal(config_from(src), 0);
	assert_int_equal(plugins_load(&cfg, 1), 0);
	const parley_host *h = plugins_host();
	parley_ctx ctx = {.name = "paths"};
	assert_string_equal(h->public_url(&ctx), "http://[::1]:8123");
	assert_string_equal(h->server_name(&ctx), "parley");
	assert_int_equal(h->is_admin_command(&ctx), 1);
	char *p = h->data_path(&ctx, "x.db");
	char want[512];
	snprintf(want, sizeof want, "%s/data/x.db", tmpdir);
	assert_string_equal(p, want);
	assert_true(ctx.bytes > 0);
	h->free(&ctx, p);
	assert_int_equal(ctx.bytes, 0);
	p = h->data_path(&ctx, "/abs/file");
	assert_string_equal(p, "/abs/file");
	h->free(&ctx, p);
	/* The store is not handed out before every init ran. */
	void *self;
	assert_null(h->store(&ctx, &self));
	plugins_fini();
	config_free(&cfg);

	assert_int_equal(config_from("server = { public_url = 'https://chat.example.org/' }\n"
	                             "plugins = {}\n"),
	                 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	assert_string_equal(h->public_url(&ctx), "https://chat.example.org");
}

static int cmd_registered;
static char cmd_name[32];
static parley_ctx *cmd_owner;

static int op_command(const char *name, const char *help, parley_command_fn fn, void *ud,
                      parley_ctx *owner)
{
	(void)help;
	(void)fn;
	(void)ud;
	cmd_registered++;
	snprintf(cmd_name, sizeof cmd_name, "%s", name);
	cmd_owner = owner;
	return PARLEY_OK;
}

static void noop_command(void *ud, const parley_command_args *cmd)
{
	(void)ud;
	(void)cmd;
}

static void test_commands_wait_for_core(void **state)
{
	(void)state;
	const parley_host *h = plugins_host();
	parley_ctx ctx = {.name = "cmds"};
	plugins_set_core_ops(NULL);
	cmd_registered = 0;
	/* Plugins init before the chat layer exists: the command waits. */
	assert_int_equal(h->command(&ctx, "hello", "Say hello", noop_command, NULL), PARLEY_OK);
	assert_int_equal(h->command(&ctx, "", "bad", noop_command, NULL), PARLEY_EINVAL);
	assert_int_equal(h->send_message(&ctx, "r_1", "bot", "hi"), PARLEY_EUNAVAIL);
	assert_int_equal(cmd_registered, 0);
	static const struct plugin_core_ops ops = {.command = op_command};
	plugins_set_core_ops(&ops);
	assert_int_equal(cmd_registered, 1);
	assert_string_equal(cmd_name, "hello");
	assert_ptr_equal(cmd_owner, &ctx);
	/* From now on they go straight through. */
	assert_int_equal(h->command(&ctx, "bye", "", noop_command, NULL), PARLEY_OK);
	assert_int_equal(cmd_registered, 2);
	plugins_set_core_ops(NULL);
}

static void test_example_hello_loads(void **state)
{
	(void)state;
	assert_int_equal(config_from("plugins = {\n"
	                             "  { 'example_hello', so = '" PLUGINS "example_hello.so',\n"
	                             "    greeting = 'Howdy' },\n"
	                             "}\n"),
	                 0);
	assert_int_equal(plugins_load(&cfg, 0), 0);
	provide_core_needs();
	capture_start();
	assert_int_equal(plugins_init(), 0);
	assert_contains(capture_end(), "/hello answers with \\\"Howdy\\\"");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(conf_path, sizeof conf_path, "%s/parley.conf", tmpdir);
	metrics_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_abi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_problems_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_fail_stops_started, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_required_providers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deny_hook_denies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_word, setup, teardown),
	    cmocka_unit_test(test_accounted_alloc),
	    cmocka_unit_test(test_timers_and_watchers),
	    cmocka_unit_test_setup_teardown(test_paths_and_names, setup, teardown),
	    cmocka_unit_test(test_commands_wait_for_core),
	    cmocka_unit_test_setup_teardown(test_example_hello_loads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transfer_pending_at_fini, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	metrics_free_all();
	unlink(conf_path);
	rmdir(tmpdir);
	return failed;
}
