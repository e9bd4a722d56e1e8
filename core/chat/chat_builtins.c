/* The commands every server has, without scripts (chat_builtins.h). Each
 * one a person's session types becomes the request it stands for (topic,
 * invite, leave, notify), a rewritten message (/me, /shrug) or a notice to
 * that session only (/help). The request's own reply answers the send,
 * turned into a command ack (chat_builtin_send.c, command_reply.c). */
#include "chat/chat_builtins.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_notify.h"

static const struct builtin {
	const char *name, *usage, *help;
} builtins[] = {
    {"help", "/help", "lists every command with its usage (seen only by you)"},
    {"me", "/me text", "posts text as an action: _name text_"},
    {"shrug", "/shrug [text]", "posts text followed by ¯\\_(ツ)_/¯"},
    {"topic", "/topic text", "sets the room's topic (moderators)"},
    {"invite", "/invite @name", "brings someone into this room"},
    {"leave", "/leave", "leaves this room"},
    {"notify", "/notify ROOM all|mentions|none", "sets your notifications for a room"},
    {"mute", "/mute ROOM", "the same as /notify ROOM none"},
};

#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

int chat_builtin_reserved(const char *name)
{
	for (size_t i = 0; i < N_BUILTINS; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return 1;
	return 0;
}

void chat_builtins_list(json_t *list)
{
	for (size_t i = 0; i < N_BUILTINS; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "name", builtins[i].name,
		                                      "help", builtins[i].help, "usage",
		                                      builtins[i].usage, "builtin", 1));
}

/* The command word of text ("/word args") into word (lower-case as
 * typed), args after the spaces; 0 when text is no command. */
static int split(const char *text, char *word, size_t wordlen, const char **args)
{
	if (text[0] != '/')
		return 0;
	size_t n = 0;
	const char *p = text + 1;
	while (p[n] && !isspace((unsigned char)p[n]))
		n++;
	if (!n || n >= wordlen)
		return 0;
	memcpy(word, p, n);
	word[n] = 0;
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	*args = p;
	return 1;
}

static void notice(client *cl, json_t *rid, const room *r, const char *thread, const char *text)
{
	json_t *f = json_pack("{s:s, s:s, s:s}", "type", "notice", "room", r->id, "text", text);
	if (f && thread)
		json_object_set_new(f, "thread", json_string(thread));
	chat_send_json(cl, f);
	chat_reply_ok(cl, rid);
}

static void help(client *cl, json_t *rid, const room *r, const char *thread)
{
	json_t *all = chat_commands_list();
	size_t len = 16, i;
	json_t *c;
	json_array_foreach(all, i, c) len +=
	    8 + strlen(json_string_value(json_object_get(c, "usage"))) +
	    strlen(json_string_value(json_object_get(c, "help")));
	char *text = malloc(len);
	if (!all || !text) {
		json_decref(all);
		free(text);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	size_t at = (size_t)snprintf(text, len, "Commands:");
	json_array_foreach(all, i, c)
	{
		const char *h = json_string_value(json_object_get(c, "help"));
		at += (size_t)snprintf(text + at, len - at, "\n%s — %s",
		                       json_string_value(json_object_get(c, "usage")),
		                       *h ? h : "(no description)");
	}
	json_decref(all);
	notice(cl, rid, r, thread, text);
	free(text);
}

/* Runs a request handler as if the session had sent {type, room, …}. */
static void as_request(client *cl, json_t *rid, void (*fn)(client *, json_t *, json_t *),
                       json_t *req)
{
	if (!req) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	fn(cl, req, rid);
	json_decref(req);
}

static void usage_error(client *cl, json_t *rid, const char *usage)
{
	char why[160];
	snprintf(why, sizeof why, "usage: %s", usage);
	chat_reply_error(cl, rid, PARLEY_EINVAL, why);
}

enum builtin_kind chat_builtin_kind(const char *text)
{
	char word[40];
	const char *args;
	if (!split(text, word, sizeof word, &args) || !chat_builtin_reserved(word))
		return BUILTIN_KIND_NONE;
	return strcmp(word, "me") == 0 || strcmp(word, "shrug") == 0 ? BUILTIN_KIND_MESSAGE
	                                                             : BUILTIN_KIND_REQUEST;
}

enum builtin_result chat_builtin_run(client *cl, json_t *rid, room *r, const char *thread,
                                     const char *text, char **rewritten)
{
	char word[40];
	const char *args;
	*rewritten = NULL;
	if (!split(text, word, sizeof word, &args) || !chat_builtin_reserved(word))
		return BUILTIN_NONE;
	if (strcmp(word, "help") == 0) {
		help(cl, rid, r, thread);
		return BUILTIN_DONE;
	}
	if (strcmp(word, "me") == 0 || strcmp(word, "shrug") == 0) {
		int me = word[0] == 'm';
		if (me && !*args) {
			usage_error(cl, rid, "/me text");
			return BUILTIN_DONE;
		}
		size_t n = strlen(args) + strlen(cl->user->name) + 32;
		char *out = malloc(n);
		if (!out) {
			chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
			return BUILTIN_DONE;
		}
		if (me)
			snprintf(out, n, "_%s %s_", cl->user->name, args);
		else
			snprintf(out, n, "%s%s¯\\_(ツ)_/¯", args, *args ? " " : "");
		*rewritten = out;
		return BUILTIN_POST;
	}
	if (strcmp(word, "topic") == 0) {
		as_request(cl, rid, chat_req_topic,
		           json_pack("{s:s, s:s}", "room", r->id, "topic", args));
		return BUILTIN_DONE;
	}
	if (strcmp(word, "leave") == 0) {
		as_request(cl, rid, chat_req_leave, json_pack("{s:s}", "room", r->id));
		return BUILTIN_DONE;
	}
	if (strcmp(word, "invite") == 0) {
		if (!*args || strchr(args, ' ')) {
			usage_error(cl, rid, "/invite @name");
			return BUILTIN_DONE;
		}
		as_request(cl, rid, chat_req_invite,
		           json_pack("{s:s, s:s}", "room", r->id, "user", args));
		return BUILTIN_DONE;
	}
	/* notify / mute: ROOM is a name (#lab) or id among the person's rooms. */
	char room_arg[257] = "", level[16] = ""; /* the widths of the sscanf below */
	int mute = strcmp(word, "mute") == 0;
	int n = sscanf(args, "%256s %15s", room_arg, level);
	if (n < 1 || (mute ? n != 1 : n != 2)) {
		usage_error(cl, rid, mute ? "/mute ROOM" : "/notify ROOM all|mentions|none");
		return BUILTIN_DONE;
	}
	const char *name = room_arg[0] == '#' ? room_arg + 1 : room_arg;
	room *target = room_find(name, cl->user);
	if (!target || !room_member(target, cl->user->id)) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room among yours");
		return BUILTIN_DONE;
	}
	as_request(cl, rid, chat_req_notify,
	           json_pack("{s:s, s:s}", "room", target->id, "level", mute ? "none" : level));
	return BUILTIN_DONE;
}
