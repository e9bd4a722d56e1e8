/* The chat layer's side of chat_script.h: each call looks its records up
 * by id and hands the work to the chat layer's own functions. */
#include "chat/chat_script.h"

#include <ev.h>
#include <stdlib.h>

#include "base/loop.h"
#include "chat/chat_builtins.h"
#include "chat/chat_internal.h"
#include "chat/cluster_shared.h"
#include "chat/mutes.h"

static room *find_room(const char *id_or_name)
{
	if (!id_or_name)
		return NULL;
	/* Scripts see no one's private rooms by name: those by id only. */
	return room_find(id_or_name[0] == '#' ? id_or_name + 1 : id_or_name, NULL);
}

static user_rec *find_user(const char *id_or_name)
{
	if (!id_or_name)
		return NULL;
	user_rec *u = users_by_id(id_or_name);
	if (!u)
		u = users_by_name(id_or_name[0] == '@' ? id_or_name + 1 : id_or_name);
	return u;
}

int chat_script_room(const char *id_or_name, parley_room *out, size_t *n_members)
{
	room *r = find_room(id_or_name);
	if (!r)
		return 0;
	room_view(r, out);
	if (n_members)
		*n_members = r->n_members;
	return 1;
}

int chat_script_room_named(const parley_room *r, const char *id_or_name)
{
	return room_named(r, id_or_name);
}

int chat_script_user(const char *id_or_name, parley_user *out)
{
	user_rec *u = find_user(id_or_name);
	if (!u)
		return 0;
	users_view(u, out);
	return 1;
}

long chat_script_members(const char *room_id, chat_script_member_fn fn, void *ud)
{
	room *r = room_by_id(room_id);
	if (!r)
		return -1;
	member **ms = room_sorted_members(r);
	size_t n = ms ? r->n_members : 0;
	for (size_t i = 0; i < n; i++) {
		parley_user v;
		users_view(ms[i]->user, &v);
		fn(ud, i, &v, room_role_name(ms[i]->role));
	}
	return (long)n;
}

/* A post's completion handed on as a chat_script_done. */
struct relay {
	chat_script_done done;
	void *ud;
};

static void relay_post(void *ud, int rc, const char *message, const parley_message *m,
                       int duplicate, int command)
{
	(void)m;
	(void)duplicate;
	(void)command;
	struct relay rl = *(struct relay *)ud;
	free(ud);
	rl.done(rl.ud, rc, message);
}

int chat_script_keep(const char *room_id, const char *thread, int also_room, const char *user_id,
                     const char *text, int depth, chat_script_done done, void *ud)
{
	room *r = room_by_id(room_id);
	user_rec *u = users_by_id(user_id);
	if (!r || !u || !text)
		return PARLEY_ENOTFOUND;
	struct relay *rl = malloc(sizeof *rl);
	if (!rl)
		return PARLEY_ENOMEM;
	*rl = (struct relay){done, ud};
	struct chat_post p = {.author = u,
	                      .room = r,
	                      .text = text,
	                      .depth = depth,
	                      .no_command = 1,
	                      .t0 = ev_now(loop_ev),
	                      .thread = thread,
	                      .also_room = thread && also_room};
	chat_post_message(&p, relay_post, rl);
	return PARLEY_OK;
}

int chat_script_kick(const char *room_id, const char *user_id, const char *by_name,
                     chat_script_done done, void *ud)
{
	room *r = room_by_id(room_id);
	user_rec *u = users_by_id(user_id);
	if (!r || !u)
		return PARLEY_ENOTFOUND;
	return chat_remove_member(r, u, users_by_name(by_name), done, ud);
}

int chat_script_delete(const char *room_id, const char *msg_id, const char *by_name,
                       chat_script_done done, void *ud)
{
	room *r = room_by_id(room_id);
	if (!r)
		return PARLEY_ENOTFOUND;
	return chat_delete_message(r, msg_id, users_by_name(by_name), done, ud);
}

int64_t chat_script_mute(const char *user_id, const char *room_id, double seconds)
{
	int64_t until = seconds > 0 ? mutes_now_ms() + (int64_t)(seconds * 1000) : 0;
	return cluster_mute_set(user_id, room_id, until) < 0 ? -1 : until;
}

void chat_script_set_clock(int64_t (*now_ms)(void))
{
	mutes_set_clock(now_ms);
}

void chat_script_mutes_clear(void)
{
	mutes_fini();
}

int chat_script_command_add(const char *name, const char *help, const char *usage,
                            parley_command_fn fn, void *ud)
{
	int rc = chat_command_register(name, help, fn, ud, NULL);
	if (rc == PARLEY_OK && usage && *usage)
		rc = chat_command_usage_set(name, usage);
	return rc;
}

static chat_notice_observer notice_observer;

void chat_script_set_notice_observer(chat_notice_observer fn)
{
	notice_observer = fn;
}

int chat_script_notice(const char *user_id, const char *room_id, const char *thread,
                       const char *text)
{
	user_rec *u = users_by_id(user_id);
	room *r = room_by_id(room_id);
	if (!u || !r || !text)
		return PARLEY_ENOTFOUND;
	json_t *f = json_pack("{s:s, s:s, s:s}", "type", "notice", "room", r->id, "text", text);
	if (f && thread)
		json_object_set_new(f, "thread", json_string(thread));
	chat_send_user(u, r, f, NULL);
	if (notice_observer)
		notice_observer(u->id, r->id, thread, text);
	return PARLEY_OK;
}

int chat_script_command_reserved(const char *name)
{
	return chat_builtin_reserved(name);
}

int chat_script_command_remove(const char *name)
{
	return chat_command_unregister(name);
}

int chat_script_command_depth(const parley_command_args *cmd)
{
	return chat_command_depth(cmd);
}

const char *chat_script_error_code(int rc)
{
	return proto_error_code(rc);
}
