/* Stand-in rids for built-in commands typed in a send (command_reply.h).
 * A stand-in is a fresh JSON object the list holds a reference to, so its
 * address names it until it is answered: no request's own rid, and no
 * later allocation, can be mistaken for it. */
#include "chat/command_reply.h"

#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_internal.h"

struct command_reply {
	struct command_reply *next;
	json_t *stand_in;
	json_t *rid; /* the send's; NULL when it had none */
	char *client_id;
};

json_t *command_reply_begin(client *cl, json_t *rid, const char *client_id)
{
	size_t n = 0;
	for (struct command_reply *w = cl->command_replies; w; w = w->next)
		n++;
	if (n >= COMMAND_REPLY_MAX)
		return NULL;
	struct command_reply *w = calloc(1, sizeof *w);
	if (!w || !(w->stand_in = json_object()) ||
	    (client_id && !(w->client_id = strdup(client_id)))) {
		if (w)
			json_decref(w->stand_in);
		free(w);
		return NULL;
	}
	w->rid = json_incref(rid);
	w->next = cl->command_replies;
	cl->command_replies = w;
	return json_incref(w->stand_in);
}

static struct command_reply *take(client *cl, json_t *rid)
{
	if (!rid)
		return NULL;
	for (struct command_reply **pw = &cl->command_replies; *pw; pw = &(*pw)->next) {
		if ((*pw)->stand_in == rid) {
			struct command_reply *w = *pw;
			*pw = w->next;
			return w;
		}
	}
	return NULL;
}

static void forget(struct command_reply *w)
{
	json_decref(w->stand_in);
	json_decref(w->rid);
	free(w->client_id);
	free(w);
}

int command_reply_ack(client *cl, json_t *rid, json_t **ack)
{
	struct command_reply *w = take(cl, rid);
	if (!w)
		return 0;
	*ack = chat_ack(w->client_id, NULL, 0, 1);
	if (*ack && w->rid)
		json_object_set(*ack, "rid", w->rid);
	forget(w);
	return 1;
}

int command_reply_failed(client *cl, json_t *rid, json_t **send_rid)
{
	struct command_reply *w = take(cl, rid);
	if (!w)
		return 0;
	*send_rid = json_incref(w->rid);
	forget(w);
	return 1;
}

void command_reply_free_all(client *cl)
{
	while (cl->command_replies) {
		struct command_reply *next = cl->command_replies->next;
		forget(cl->command_replies);
		cl->command_replies = next;
	}
}
