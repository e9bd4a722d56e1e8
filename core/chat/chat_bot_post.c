/* Posts and reactions by named bots, with a completion the script host
 * waits on, or none (plugins' chat_bot_send: a failure is logged). A bot is
 * resolved in steps, each possibly a store round trip: the cache, the
 * store, creation (role "bot", the given display name), then joining the
 * room; then the action runs. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_bot_post.h"
#include "chat/chat_internal.h"
#include "base/log.h"
#include "base/loop.h"

struct bot_job {
	char *bot_name, *display_name, *room_id, *text, *reply_to, *emoji, *msg_id, *thread;
	int depth, on, commands, also_room;
	enum { JOB_ENSURE, JOB_POST, JOB_REACT } kind;
	chat_bot_done done;
	void *ud;
};

static void job_free(struct bot_job *j)
{
	free(j->bot_name);
	free(j->display_name);
	free(j->room_id);
	free(j->text);
	free(j->reply_to);
	free(j->emoji);
	free(j->msg_id);
	free(j->thread);
	free(j);
}

static void job_finish(struct bot_job *j, int rc, const char *message, const char *msg_id)
{
	if (j->done)
		j->done(j->ud, rc, message, msg_id);
	else if (rc != PARLEY_OK)
		log_warn("bot_post", NULL, "bot %s could not post in %s: %s", j->bot_name,
		         j->room_id ? j->room_id : "-", message ? message : "error");
	job_free(j);
}

static void posted(void *ud, int rc, const char *message, const parley_message *m, int duplicate,
                   int command)
{
	(void)duplicate;
	(void)command;
	job_finish(ud, rc, message, m ? m->id : NULL);
}

static void reacted(void *ud, int rc, const char *message)
{
	job_finish(ud, rc, message, NULL);
}

static void act(struct bot_job *j, user_rec *bot)
{
	room *r = room_by_id(j->room_id);
	if (!r) {
		job_finish(j, PARLEY_ENOTFOUND, "no such room", NULL);
		return;
	}
	if (j->kind == JOB_POST) {
		struct chat_post p = {.author = bot,
		                      .room = r,
		                      .text = j->text,
		                      .reply_to = j->reply_to,
		                      .thread = j->thread,
		                      .also_room = j->also_room,
		                      .depth = j->depth,
		                      .no_command = !j->commands,
		                      .t0 = ev_now(loop_ev)};
		chat_post_message(&p, posted, j);
		return;
	}
	int rc = chat_react_as(bot, r, j->msg_id, j->emoji, j->on, reacted, j);
	if (rc != PARLEY_OK)
		job_finish(j, rc, "reaction refused", NULL);
}

static void joined(void *ud, int rc, const char *message)
{
	struct bot_job *j = ud;
	user_rec *bot = users_by_name(j->bot_name);
	if (rc != PARLEY_OK || !bot) {
		job_finish(j, rc != PARLEY_OK ? rc : PARLEY_ERR,
		           message ? message : "the bot could not join", NULL);
		return;
	}
	act(j, bot);
}

static void ready(struct bot_job *j, user_rec *bot)
{
	if (j->kind == JOB_ENSURE) {
		job_finish(j, PARLEY_OK, NULL, NULL);
		return;
	}
	room *r = room_by_id(j->room_id);
	if (!r) {
		job_finish(j, PARLEY_ENOTFOUND, "no such room", NULL);
		return;
	}
	if (!room_member(r, bot->id)) {
		chat_add_member(r, bot, ROLE_MEMBER, joined, j);
		return;
	}
	act(j, bot);
}

static void found(void *ud, const parley_store_result *res)
{
	struct bot_job *j = ud;
	if (res->rc != PARLEY_OK || !res->n_users) {
		job_finish(j, res->rc != PARLEY_OK ? res->rc : PARLEY_ERR,
		           res->error ? res->error : "the bot could not be created", NULL);
		return;
	}
	if (strcmp(res->users[0].role, "bot") != 0) {
		job_finish(j, PARLEY_ECONFLICT, "a person has the bot's name", NULL);
		return;
	}
	user_rec *bot = chat_user_from(&res->users[0]);
	if (!bot) {
		job_finish(j, PARLEY_ENOMEM, "out of memory", NULL);
		return;
	}
	ready(j, bot);
}

static void looked_up(void *ud, const parley_store_result *res)
{
	struct bot_job *j = ud;
	if (res->rc == PARLEY_OK && res->n_users) {
		found(j, res);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	parley_user nu = {.name = j->bot_name,
	                  .display_name = j->display_name ? j->display_name : j->bot_name,
	                  .role = "bot",
	                  .created_ts = loop_now_ms()};
	if (st->user_create(self, &nu, found, j) != PARLEY_PENDING)
		job_finish(j, PARLEY_EUNAVAIL, "store unavailable", NULL);
}

static int start(struct bot_job *j)
{
	user_rec *bot = users_by_name(j->bot_name);
	if (bot) {
		if (strcmp(bot->role, "bot") != 0) {
			job_free(j);
			return PARLEY_ECONFLICT;
		}
		ready(j, bot);
		return PARLEY_OK;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!st || st->user_get(self, NULL, j->bot_name, looked_up, j) != PARLEY_PENDING) {
		job_free(j);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_OK;
}

static char *dup_opt(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = 1;
	return d;
}

static struct bot_job *job_new(const struct chat_bot_req *q, chat_bot_done done, void *ud)
{
	struct bot_job *j = calloc(1, sizeof *j);
	int oom = 0;
	if (!j)
		return NULL;
	j->bot_name = dup_opt(q->bot_name, &oom);
	j->display_name = dup_opt(q->display_name, &oom);
	j->room_id = dup_opt(q->room_id, &oom);
	j->text = dup_opt(q->text, &oom);
	j->reply_to = dup_opt(q->reply_to, &oom);
	j->emoji = dup_opt(q->emoji, &oom);
	j->msg_id = dup_opt(q->msg_id, &oom);
	j->thread = dup_opt(q->thread, &oom);
	j->also_room = q->also_room;
	j->depth = q->depth + 1;
	j->on = q->on;
	j->commands = q->commands;
	j->done = done;
	j->ud = ud;
	if (oom || !j->bot_name) {
		job_free(j);
		return NULL;
	}
	return j;
}

int chat_bot_ensure(const struct chat_bot_req *q, chat_bot_done done, void *ud)
{
	struct bot_job *j = job_new(q, done, ud);
	if (!j)
		return PARLEY_ENOMEM;
	j->kind = JOB_ENSURE;
	return start(j);
}

int chat_bot_post(const struct chat_bot_req *q, chat_bot_done done, void *ud)
{
	if (!q->room_id || !q->text)
		return PARLEY_EINVAL;
	if (q->depth >= CHAT_BOT_DEPTH_MAX) {
		log_info("bot_chain", NULL, "bot %s not posting in %s: chain depth %d reached",
		         q->bot_name, q->room_id, q->depth);
		return PARLEY_DENY;
	}
	if (!room_by_id(q->room_id))
		return PARLEY_ENOTFOUND;
	struct bot_job *j = job_new(q, done, ud);
	if (!j)
		return PARLEY_ENOMEM;
	j->kind = JOB_POST;
	return start(j);
}

int chat_bot_react(const struct chat_bot_req *q, chat_bot_done done, void *ud)
{
	if (!q->room_id || !q->msg_id || !q->emoji)
		return PARLEY_EINVAL;
	if (!room_by_id(q->room_id))
		return PARLEY_ENOTFOUND;
	struct bot_job *j = job_new(q, done, ud);
	if (!j)
		return PARLEY_ENOMEM;
	j->kind = JOB_REACT;
	return start(j);
}

int chat_bot_send(const char *room_id, const char *bot_name, const char *text, int depth)
{
	if (!bot_name)
		return PARLEY_EINVAL;
	struct chat_bot_req q = {
	    .bot_name = bot_name, .room_id = room_id, .text = text, .depth = depth, .commands = 1};
	return chat_bot_post(&q, NULL, NULL);
}
