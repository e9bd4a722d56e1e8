/* libFuzzer target: the script sandbox. Each input is a script's source,
 * run as a main chunk in a fresh sandbox with a 1 MiB heap and a 100,000
 * instruction budget; then its handlers (if it registered any) get a
 * message event, and the state is closed. Whatever the input does, the
 * host must neither crash, leak nor read out of bounds. Nothing of the
 * chat core runs: room and user lookups find nothing, the clock is fake,
 * and functions that wait refuse in the main chunk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "lua/script_config.h"
#include "lua/script_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_handlers(lua_State *L)
{
	struct script *s = lua_touserdata(L, 1);
	parley_user u = {.id = "u_1", .name = "alice", .display_name = "Alice", .role = "member"};
	parley_room r = {.id = "r_1", .name = "general", .kind = "public"};
	parley_message m = {
	    .id = "m_1", .room_id = "r_1", .user_id = "u_1", .text = "hi", .seq = 1};
	parley_hook_args a = {.struct_size = sizeof a, .user = &u, .room = &r, .message = &m};
	for (int e = 0; e < SEV__COUNT; e++) {
		lua_getfield(L, LUA_REGISTRYINDEX, "parley.handlers");
		lua_rawgeti(L, -1, e + 1);
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer i = 1; i <= n && i <= 4; i++) {
			lua_rawgeti(L, -1, i);
			api_push_event(L, s, e, &a);
			lua_State *co = NULL;
			int nres = 0;
			if (e == SEV_BEFORE_MESSAGE) {
				if (task_start(s, 1, 1, 0, "before_message", &co, &nres) == 0 && co)
					task_end_sync(s, co);
			} else {
				task_start(s, 1, 0, 0, event_name(e), NULL, NULL);
			}
		}
		lua_pop(L, 2);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once) {
		log_set_level(LOG_OFF);
		sclock_use_fake(1767225600000LL);
		once = 1;
	}
	struct script *s = calloc(1, sizeof *s);
	if (!s)
		return 0;
	s->spec.name = strdup("fuzz");
	s->spec.file = strdup("fuzz.lua");
	s->spec.lib_dir = strdup("/nonexistent");
	s->spec.options_json = strdup("{\"a\":[1,2,{\"b\":true}]}");
	/* the defaults, with a smaller heap and budget to keep runs short */
	script_limits_default(&s->spec.lim);
	s->spec.lim.memory = 1024 * 1024;
	s->spec.lim.instructions = 100000;
	s->spec.lim.max_failures = 100;
	s->bot_name = strdup("fuzz");
	char err[SCRIPT_ERR_MAX];
	if (s->spec.name && s->spec.file && s->spec.lib_dir && s->spec.options_json &&
	    s->bot_name && (s->L = sandbox_new(s))) {
		if (sandbox_run_buffer(s, (const char *)data, size, err, sizeof err) == 0)
			script_pcall(s, run_handlers, s, "fuzz");
		api_timers_stop(s);
		while (s->tasks)
			task_drop(s->tasks);
		lua_close(s->L);
	}
	for (size_t i = 0; i < s->n_commands; i++) {
		free(s->commands[i]);
		free(s->command_help[i]);
		free(s->command_usage[i]);
	}
	free(s->commands);
	free(s->command_help);
	free(s->command_usage);
	for (size_t i = 0; i < s->n_bots; i++)
		free(s->bots[i]);
	free(s->bots);
	free(s->bot_name);
	free(s->spec.name);
	free(s->spec.file);
	free(s->spec.lib_dir);
	free(s->spec.options_json);
	free(s);
	return 0;
}
