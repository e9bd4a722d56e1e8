/* Slash commands registered by plugins (later also by scripts), and posts
 * by bots: a bot is a user with role "bot", created in the store on first
 * use and joined to the room it speaks in. Bots' messages go through the
 * same send path (before_message hooks included) with a chain depth, and a
 * chain of bots answering bots stops at CHAT_BOT_DEPTH_MAX. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "base/log.h"
#include "base/loop.h"
#include "host/plugin_host.h"

#define COMMAND_NAME_MAX 32

struct command {
	struct command *next;
	char *name;
	char *help;
	parley_command_fn fn;
	void *ud;
	parley_ctx *owner;
};

static struct command *commands;

json_t *chat_commands_list(void)
{
	json_t *list = json_array();
	for (struct command *c = commands; list && c; c = c->next)
		json_array_append_new(
		    list, json_pack("{s:s,s:s}", "name", c->name, "help", c->help ? c->help : ""));
	return list;
}

/* What a command's callback may answer to (parley_command_args.host_private). */
struct command_call {
	room *room;
	int depth;
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
		free(commands);
		commands = next;
	}
}

int chat_command_try(user_rec *u, room *r, const char *text, int depth)
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
	parley_room rv = {.id = r->id,
	                  .name = r->name,
	                  .kind = r->kind,
	                  .topic = r->topic,
	                  .last_seq = r->last_seq};
	struct command_call call = {.room = r, .depth = depth};
	parley_command_args args_v = {.struct_size = sizeof args_v,
	                              .name = c->name,
	                              .args = trimmed,
	                              .user = &view,
	                              .room = &rv,
	                              .host_private = &call};
	log_debug("command", NULL, "%s ran /%s in %s", u->name, c->name, r->id);
	c->fn(c->ud, &args_v);
	free(trimmed);
	return 1;
}

/* ---------------------------------------------------------------- */
/* Bots                                                               */
/* ---------------------------------------------------------------- */

struct bot_post {
	char *room_id;
	char *bot_name;
	char *text;
	int depth;
};

static void bot_post_free(struct bot_post *bp)
{
	free(bp->room_id);
	free(bp->bot_name);
	free(bp->text);
	free(bp);
}

static void bot_posted(void *ud, int rc, const char *message, const parley_message *m,
                       int duplicate, int command)
{
	struct bot_post *bp = ud;
	if (rc != PARLEY_OK)
		log_warn("bot_post", NULL, "bot %s could not post in %s: %s", bp->bot_name,
		         bp->room_id, message ? message : "error");
	bot_post_free(bp);
}

static void bot_post_now(struct bot_post *bp, user_rec *bot)
{
	room *r = room_by_id(bp->room_id);
	if (!r) {
		bot_post_free(bp);
		return;
	}
	struct chat_post p = {
	    .author = bot, .room = r, .text = bp->text, .depth = bp->depth, .t0 = ev_now(loop_ev)};
	chat_post_message(&p, bot_posted, bp);
}

static void bot_joined(void *ud, int rc, const char *message)
{
	struct bot_post *bp = ud;
	user_rec *bot = users_by_name(bp->bot_name);
	if (rc != PARLEY_OK || !bot) {
		log_warn("bot_post", NULL, "bot %s could not join %s: %s", bp->bot_name,
		         bp->room_id, message ? message : "error");
		bot_post_free(bp);
		return;
	}
	bot_post_now(bp, bot);
}

static void bot_ready(struct bot_post *bp, user_rec *bot)
{
	room *r = room_by_id(bp->room_id);
	if (!r) {
		bot_post_free(bp);
		return;
	}
	if (!room_member(r, bot->id)) {
		chat_add_member(r, bot, ROLE_MEMBER, bot_joined, bp);
		return;
	}
	bot_post_now(bp, bot);
}

static void bot_found(void *ud, const parley_store_result *res)
{
	struct bot_post *bp = ud;
	if (res->rc != PARLEY_OK || !res->n_users) {
		log_warn("bot_post", NULL, "bot %s could not be created: %s", bp->bot_name,
		         res->error ? res->error : "error");
		bot_post_free(bp);
		return;
	}
	user_rec *bot = chat_user_from(&res->users[0]);
	if (!bot) {
		bot_post_free(bp);
		return;
	}
	bot_ready(bp, bot);
}

static void bot_lookup(void *ud, const parley_store_result *res)
{
	struct bot_post *bp = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (res->rc == PARLEY_OK && res->n_users) {
		bot_found(bp, res);
		return;
	}
	parley_user nu = {.name = bp->bot_name,
	                  .display_name = bp->bot_name,
	                  .role = "bot",
	                  .created_ts = loop_now_ms()};
	if (st->user_create(self, &nu, bot_found, bp) != PARLEY_PENDING)
		bot_post_free(bp);
}

int chat_bot_send(const char *room_id, const char *bot_name, const char *text, int depth)
{
	if (!room_id || !bot_name || !text)
		return PARLEY_EINVAL;
	if (depth >= CHAT_BOT_DEPTH_MAX) {
		log_info("bot_chain", NULL, "bot %s not posting in %s: chain depth %d reached",
		         bot_name, room_id, depth);
		return PARLEY_DENY;
	}
	if (!room_by_id(room_id))
		return PARLEY_ENOTFOUND;
	struct bot_post *bp = calloc(1, sizeof *bp);
	if (!bp || !(bp->room_id = strdup(room_id)) || !(bp->bot_name = strdup(bot_name)) ||
	    !(bp->text = strdup(text))) {
		if (bp)
			bot_post_free(bp);
		return PARLEY_ENOMEM;
	}
	bp->depth = depth + 1;
	user_rec *bot = users_by_name(bot_name);
	if (bot) {
		if (strcmp(bot->role, "bot") != 0) {
			bot_post_free(bp);
			return PARLEY_ECONFLICT; /* a person has that name */
		}
		bot_ready(bp, bot);
		return PARLEY_OK;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->user_get(self, NULL, bot_name, bot_lookup, bp) != PARLEY_PENDING) {
		bot_post_free(bp);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_OK;
}

int chat_command_reply(const parley_command_args *cmd, const char *bot_name, const char *text)
{
	const struct command_call *call = cmd ? cmd->host_private : NULL;
	if (!call)
		return PARLEY_EINVAL;
	return chat_bot_send(call->room->id, bot_name, text, call->depth);
}
