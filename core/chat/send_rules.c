/* The send path's decisions (send_rules.h). */
#include "chat/send_rules.h"

#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "chat/mutes.h"
#include "chat/protocol.h"

int send_rule_text(const char *text, int allow_empty, int64_t max_text, const char **why)
{
	if (!allow_empty && !*text) {
		*why = "text: empty";
		return PARLEY_EINVAL;
	}
	if ((int64_t)proto_utf8_len(text) > max_text) {
		*why = "text: longer than limits.max_text characters";
		return PARLEY_ETOOLARGE;
	}
	return PARLEY_OK;
}

int send_rule_mute(int64_t muted_until_ms, char *why, size_t whylen)
{
	if (!muted_until_ms)
		return PARLEY_OK;
	mutes_describe(muted_until_ms, why, whylen);
	return PARLEY_EFORBIDDEN;
}

int send_rule_scope(const struct scope *s, const char *room_id, const char **why)
{
	if (scope_hides_room(s, room_id)) {
		*why = "no such room";
		return PARLEY_ENOTFOUND;
	}
	if (!scope_allows(s, SCOPE_POST, room_id)) {
		*why = "outside the token's scope";
		return PARLEY_EFORBIDDEN;
	}
	return PARLEY_OK;
}

enum send_route send_rule_route(const char *text, int no_command, int command_seen)
{
	if (text[0] != '/' || no_command)
		return SEND_STORE;
	return command_seen ? SEND_REPEATED : SEND_TRY_COMMAND;
}

int send_rule_hooks(int hooks_rc, const char *deny, const char *rewritten, int64_t max_text,
                    const char **text, const char **why)
{
	if (hooks_rc == PARLEY_DENY) {
		*why = deny ? deny : "rejected by a moderation hook";
		return PARLEY_EFORBIDDEN;
	}
	if (rewritten) {
		const char *ignored;
		if (send_rule_text(rewritten, 0, max_text, &ignored) != PARLEY_OK) {
			*why = "a moderation hook emptied the message";
			return PARLEY_EFORBIDDEN;
		}
		*text = rewritten;
	}
	return PARLEY_OK;
}

/* A key is the user id and the client_id, each NUL-terminated, in one
 * allocation: no separator a client_id could contain. */
static int key_is(const char *key, const char *user_id, const char *client_id)
{
	return strcmp(key, user_id) == 0 && strcmp(key + strlen(key) + 1, client_id) == 0;
}

int recent_commands_seen(const struct recent_commands *rc, const char *user_id,
                         const char *client_id)
{
	if (!client_id)
		return 0;
	for (size_t i = 0; i < SEND_RECENT_COMMANDS; i++)
		if (rc->keys[i] && key_is(rc->keys[i], user_id, client_id))
			return 1;
	return 0;
}

void recent_commands_add(struct recent_commands *rc, const char *user_id, const char *client_id)
{
	if (!client_id)
		return;
	size_t nu = strlen(user_id) + 1, nc = strlen(client_id) + 1;
	char *key = malloc(nu + nc);
	if (!key)
		return; /* forgetting one only lets a resend run it again */
	memcpy(key, user_id, nu);
	memcpy(key + nu, client_id, nc);
	free(rc->keys[rc->next]);
	rc->keys[rc->next] = key;
	rc->next = (rc->next + 1) % SEND_RECENT_COMMANDS;
}

void recent_commands_clear(struct recent_commands *rc)
{
	for (size_t i = 0; i < SEND_RECENT_COMMANDS; i++) {
		free(rc->keys[i]);
		rc->keys[i] = NULL;
	}
	rc->next = 0;
}
