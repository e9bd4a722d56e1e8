/* Slash commands registered by plugins and scripts: "/name args" in a send
 * runs the command instead of storing a message. A command answers through
 * a bot (chat_bot_post.c) at the invocation's chain depth plus one. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chat/chat.h"
#include "chat/chat_bot_post.h"
#include "chat/chat_builtins.h"
#include "chat/chat_internal.h"

#define COMMAND_NAME_MAX 32

struct command {
	struct command *next;
	char *name;
	char *help;
	char *usage; /* NULL: "/name" */
	parley_command_fn fn;
	void *ud;
	parley_ctx *owner;
};

static struct command *commands;

json_t *chat_commands_list(void)
{
	json_t *list = json_array();
	if (list)
		chat_builtins_list(list);
	for (struct command *c = commands; list && c; c = c->next) {
		char usage[COMMAND_NAME_MAX + 2];
		snprintf(usage, sizeof usage, "/%s", c->name);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "name", c->name, "help",
		                                      c->help ? c->help : "", "usage",
		                                      c->usage ? c->usage : usage, "builtin", 0));
	}
	return list;
}

int chat_command_usage_set(const char *name, const char *usage)
{
	for (struct command *c = commands; c; c = c->next) {
		if (strcmp(c->name, name) != 0)
			continue;
		char *copy = strdup(usage);
		if (!copy)
			return PARLEY_ENOMEM;
		free(c->usage);
		c->usage = copy;
		return PARLEY_OK;
	}
	return PARLEY_ENOTFOUND;
}

/* What a command's callback may answer to (parley_command_args.host_private). */
struct command_call {
	room *room;
	int depth;
	const char *thread; /* typed in this root's thread, or NULL */
};

int chat_command_register(const char *name, const char *help, parley_command_fn fn, void *ud,
                          parley_ctx *owner)
{
	size_t n = name ? strlen(name) : 0;
	if (!n || n > COMMAND_NAME_MAX || !fn)
		return PARLEY_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return PARLEY_EINVAL;
	if (chat_builtin_reserved(name))
		return PARLEY_EFORBIDDEN; /* the built-ins' names are reserved */
	for (struct command *c = commands; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return PARLEY_ECONFLICT;
	struct command *c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name)) || !(c->help = strdup(help ? help : ""))) {
		if (c)
			free(c->name);
		free(c);
		return PARLEY_ENOMEM;
	}
	c->fn = fn;
	c->ud = ud;
	c->owner = owner;
	c->next = commands;
	commands = c;
	return PARLEY_OK;
}

int chat_command_unregister(const char *name)
{
	for (struct command **pc = &commands; *pc; pc = &(*pc)->next) {
		struct command *c = *pc;
		if (strcmp(c->name, name) == 0) {
			*pc = c->next;
			free(c->name);
			free(c->help);
			free(c->usage);
			free(c);
			return PARLEY_OK;
		}
	}
	return PARLEY_ENOTFOUND;
}

int chat_command_depth(const parley_command_args *cmd)
{
	const struct command_call *call = cmd ? cmd->host_private : NULL;
	return call ? call->depth : 0;
}

void chat_commands_fini(void)
{
	while (commands) {
		struct command *next = commands->next;
		free(commands->name);
		free(commands->help);
		free(commands->usage);
		free(commands);
		commands = next;
	}
}

int chat_command_try(user_rec *u, room *r, const char *text, int depth, const char *thread,
                     int also_room)
{
	const char *p = text + 1;
	size_t n = 0;
	while (p[n] && !isspace((unsigned char)p[n]))
		n++;
	if (!n || n > COMMAND_NAME_MAX)
		return 0;
	struct command *c = commands;
	while (c && !(strlen(c->name) == n && strncmp(c->name, p, n) == 0))
		c = c->next;
	if (!c)
		return 0;
	const char *args = p + n;
	while (isspace((unsigned char)*args))
		args++;
	char *trimmed = strdup(args);
	if (!trimmed)
		return 0;
	size_t len = strlen(trimmed);
	while (len && isspace((unsigned char)trimmed[len - 1]))
		trimmed[--len] = 0;
	parley_user view;
	users_view(u, &view);
	parley_room rv;
	room_view(r, &rv);
	struct command_call call = {.room = r, .depth = depth, .thread = thread};
	parley_command_args args_v = {.struct_size = sizeof args_v,
	                              .name = c->name,
	                              .args = trimmed,
	                              .user = &view,
	                              .room = &rv,
	                              .host_private = &call,
	                              .thread = thread,
	                              .also_room = thread && also_room};
	log_debug("command", NULL, "%s ran /%s in %s", u->name, c->name, r->id);
	c->fn(c->ud, &args_v);
	free(trimmed);
	return 1;
}

int chat_command_reply(const parley_command_args *cmd, const char *bot_name, const char *text)
{
	const struct command_call *call = cmd ? cmd->host_private : NULL;
	if (!call)
		return PARLEY_EINVAL;
	/* A command typed in a thread is answered in that thread. */
	struct chat_bot_req q = {.bot_name = bot_name,
	                         .room_id = call->room->id,
	                         .text = text,
	                         .thread = call->thread,
	                         .depth = call->depth,
	                         .commands = 1};
	return bot_name ? chat_bot_post(&q, NULL, NULL) : PARLEY_EINVAL;
}
