/* parley import --from slack (see import_slack.h). Steps: unpack (a zip),
 * read users.json and every conversation list, take names and ids for
 * people and rooms (pass 1, so <#C…> and <@U…> resolve anywhere), check
 * the store is empty, then per conversation: read its day files, sort by
 * ts, find thread roots and their replies, write the room, its members
 * and settings, messages, reactions and thread follows; then reset links
 * and an audit entry. */
#include "app/import_slack.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "app/admin_internal.h"
#include "app/data_lock.h"
#include "app/import_source.h"
#include "app/import.h"
#include "app/import_internal.h"
#include "app/import_slack_read.h"
#include "app/slack_emoji.h"
#include "app/slack_markup.h"
#include "base/config.h"

#define SLACK_PATH     4096
#define USER_NAME_MAX  32 /* auth_local's rule */
#define ROOM_NAME_MAX  64 /* chat_valid_room_name's */
#define TOPIC_MAX      250
#define FILE_NAME_MAX  255
#define FILE_URL_MAX   2048
#define EMOJI_NAME_MAX 60

static struct {
	const char *dir;
	int64_t max_text, now_ms;
	json_t *people;     /* Slack user id -> {"id": "u_N", "name"} */
	json_t *accounts;   /* "u_N" -> {name, role, disabled}: the reset links */
	json_t *user_names; /* lower-case names taken -> true */
	json_t *room_names;
	json_t *channels; /* Slack conversation id -> parley room name */
	json_t *convs;    /* [{id, kind, folder, entry}] in list order */
	json_t *mentions; /* the message being converted: its <@U…> ids */
	json_int_t next_user, next_room, next_msg;
	int64_t messages, replies, reactions, files, truncated, orphans, renamed;
	json_t *skipped; /* subtype -> count */
} sl;

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

/* A name parley accepts from a Slack one: bytes outside [A-Za-z0-9._-]
 * become '_' (a room keeps UTF-8 letters), cut to max at a character
 * boundary, never leading '.'/'-', unique (case-insensitively) by "-2", "-3"… */
static char *unique_name(json_t *taken, const char *from, size_t max, int utf8_ok,
                         const char *fallback)
{
	char base[ROOM_NAME_MAX + 1], out[ROOM_NAME_MAX + 16];
	size_t n = 0;
	from = from ? from : "";
	for (const unsigned char *p = (const unsigned char *)from; *p && n < max; p++) {
		int keep =
		    isalnum(*p) || *p == '.' || *p == '_' || *p == '-' || (utf8_ok && *p >= 0x80);
		base[n++] = keep ? (char)*p : '_';
	}
	/* Cut before a UTF-8 character the limit splits. */
	if (utf8_ok && ((unsigned char)from[n] & 0xC0) == 0x80) {
		while (n > 0 && ((unsigned char)base[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)base[n - 1] & 0xC0) == 0xC0)
			n--;
	}
	base[n] = '\0';
	if (n == 0)
		snprintf(base, sizeof base, "%s", fallback);
	if (base[0] == '.' || base[0] == '-')
		base[0] = '_';
	snprintf(out, sizeof out, "%s", base);
	for (int k = 2;; k++) {
		char lower[sizeof out];
		size_t i;
		for (i = 0; out[i]; i++)
			lower[i] = (char)tolower((unsigned char)out[i]);
		lower[i] = '\0';
		if (!json_object_get(taken, lower)) {
			json_object_set_new(taken, lower, json_true());
			break;
		}
		char suffix[16];
		int sn = snprintf(suffix, sizeof suffix, "-%d", k);
		size_t keep = strlen(base);
		if (keep + (size_t)sn > max)
			keep = max - (size_t)sn;
		while (utf8_ok && keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80)
			keep--;
		snprintf(out, sizeof out, "%.*s%s", (int)keep, base, suffix);
	}
	if (*from && strcmp(out, from) != 0) {
		sl.renamed++;
		fprintf(stderr, "parley: import: slack: '%.80s' is '%s' here\n", from, out);
	}
	return strdup(out);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return n >= 1 && n <= SLACK_ID_MAX;
}

/* ------------------------------------------------------------------ */
/* People                                                              */
/* ------------------------------------------------------------------ */

static json_t *add_account(const char *slack_id, const char *want_name, const char *display,
                           const char *email, const char *role, int disabled)
{
	char id[32];
	snprintf(id, sizeof id, "u_%lld", (long long)++sl.next_user);
	char *name = unique_name(sl.user_names, want_name, USER_NAME_MAX, 0, "user");
	if (!name)
		return NULL;
	json_t *person = json_pack("{s:s, s:s}", "id", id, "name", name);
	json_object_set_new(sl.people, slack_id, person);
	json_object_set_new(
	    sl.accounts, id,
	    json_pack("{s:s, s:s, s:b}", "name", name, "role", role, "disabled", disabled));
	int rc = import_add(IMPORT_USERS,
	                    json_pack("{s:I, s:s, s:s?, s:s, s:s?, s:n, s:i, s:I}", "id",
	                              (json_int_t)sl.next_user, "name", name, "display_name",
	                              display && *display ? display : NULL, "role", role, "email",
	                              email && *email ? email : NULL, "password_hash", "disabled",
	                              disabled, "created_ts", (json_int_t)sl.now_ms));
	free(name);
	return rc < 0 ? NULL : person;
}

/* The account of a Slack id; one the export does not list (a bot, a
 * person of another workspace) gets a disabled account named after it. */
static json_t *person_of(const char *slack_id, int bot)
{
	if (!id_ok(slack_id))
		slack_id = "unknown";
	json_t *p = json_object_get(sl.people, slack_id);
	if (p)
		return p;
	char name[SLACK_ID_MAX + 8];
	snprintf(name, sizeof name, "slack-%s", slack_id);
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return add_account(slack_id, name, NULL, NULL, bot ? "bot" : "member", 1);
}

static json_int_t key_of(json_t *person)
{
	const char *id = str(person, "id");
	return id ? (json_int_t)strtoll(id + 2, NULL, 10) : 0;
}

static int read_users(void)
{
	json_t *users =
	    slack_read_array(sl.dir, "users.json", SLACK_LIST_FILE_MAX, SLACK_USERS_MAX, NULL);
	if (!users)
		return -1;
	size_t i;
	json_t *u;
	int rc = 0;
	json_array_foreach(users, i, u)
	{
		const char *id = str(u, "id"), *name = str(u, "name");
		if (!json_is_object(u) || !id_ok(id) || !name) {
			import_fail("users.json entry %zu: a person needs an id and a name", i + 1);
			rc = -1;
			break;
		}
		if (json_object_get(sl.people, id))
			continue;
		json_t *profile = json_object_get(u, "profile");
		const char *display = str(profile, "display_name");
		if (!display || !*display)
			display = str(profile, "real_name");
		if (!display || !*display)
			display = str(u, "real_name");
		int bot = json_is_true(json_object_get(u, "is_bot")) || !strcmp(id, "USLACKBOT");
		int admin = json_is_true(json_object_get(u, "is_admin")) ||
		            json_is_true(json_object_get(u, "is_owner"));
		char shown[TOPIC_MAX + 1];
		size_t cut =
		    snprintf(shown, sizeof shown, "%s", display ? display : "") >= (int)sizeof shown
		        ? sizeof shown - 1
		        : 0;
		/* Not in the middle of a UTF-8 character. */
		while (cut > 0 && ((unsigned char)shown[cut] & 0xC0) == 0x80)
			cut--;
		if (cut)
			shown[cut] = '\0';
		if (!add_account(id, name, shown, str(profile, "email"),
		                 bot     ? "bot"
		                 : admin ? "admin"
		                         : "member",
		                 json_is_true(json_object_get(u, "deleted")))) {
			rc = -1;
			break;
		}
	}
	json_decref(users);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Conversations (pass 1: ids and names)                               */
/* ------------------------------------------------------------------ */

static const struct {
	const char *file, *kind;
	int folder_by_id; /* dms.json: the folder is the id */
} LISTS[] = {{"channels.json", "public", 0},
             {"groups.json", "private", 0},
             {"mpims.json", "dm", 0},
             {"dms.json", "dm", 1}};

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "dm:u_1:u_3": the name the core gives a DM of these people (chat_dm.c). */
static char *dm_name(json_t *members)
{
	size_t n = json_array_size(members);
	const char *ids[64];
	if (n == 0 || n > 64)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ids[i] = str(person_of(json_string_value(json_array_get(members, i)), 0), "id");
		if (!ids[i])
			return NULL;
	}
	qsort(ids, n, sizeof ids[0], by_str);
	char name[64 * 24 + 8] = "dm";
	size_t len = 2;
	for (size_t i = 0; i < n || (n == 1 && i < 2); i++)
		len += (size_t)snprintf(name + len, sizeof name - len, ":%s", ids[i < n ? i : 0]);
	return strdup(name);
}

static int read_conversations(void)
{
	int found = 0;
	for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
		int absent = 0;
		json_t *list = slack_read_array(sl.dir, LISTS[l].file, SLACK_LIST_FILE_MAX,
		                                SLACK_CONVERSATIONS_MAX, &absent);
		if (absent)
			continue;
		if (!list)
			return -1;
		found = 1;
		size_t i;
		json_t *c;
		json_array_foreach(list, i, c)
		{
			const char *id = str(c, "id");
			const char *folder = LISTS[l].folder_by_id ? id : str(c, "name");
			if (!json_is_object(c) || !id_ok(id) || !slack_folder_name_ok(folder)) {
				import_fail(
				    "%s entry %zu: a conversation needs an id and a name fit for "
				    "a folder",
				    LISTS[l].file, i + 1);
				json_decref(list);
				return -1;
			}
			if (json_object_get(sl.channels, id) ||
			    json_array_size(sl.convs) >= SLACK_CONVERSATIONS_MAX)
				continue;
			char *name =
			    strcmp(LISTS[l].kind, "dm") == 0
			        ? dm_name(json_object_get(c, "members"))
			        : unique_name(sl.room_names, folder, ROOM_NAME_MAX, 1, "room");
			if (!name) {
				import_fail("%s entry %zu (%s): a DM needs 1 to 64 members",
				            LISTS[l].file, i + 1, id);
				json_decref(list);
				return -1;
			}
			json_object_set_new(sl.channels, id, json_string(name));
			json_array_append_new(
			    sl.convs, json_pack("{s:s, s:s, s:s, s:O, s:I}", "id", id, "kind",
			                        LISTS[l].kind, "folder", folder, "entry", c, "room",
			                        (json_int_t)++sl.next_room));
			free(name);
		}
		json_decref(list);
	}
	if (!found)
		import_fail("no channels.json, groups.json, mpims.json or dms.json: not a Slack "
		            "export");
	return found ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* Subtypes that are events, not messages: skipped and counted. */
static int skipped_subtype(const char *st)
{
	static const char *const SKIP[] = {
	    "channel_join",    "channel_leave",   "group_join",      "group_leave",
	    "channel_topic",   "channel_purpose", "channel_name",    "group_topic",
	    "group_purpose",   "group_name",      "channel_archive", "channel_unarchive",
	    "group_archive",   "group_unarchive", "pinned_item",     "unpinned_item",
	    "bot_add",         "bot_remove",      "reminder_add",    "channel_convert_to_private",
	    "sh_room_created", "huddle_thread"};
	for (size_t i = 0; st && i < sizeof SKIP / sizeof SKIP[0]; i++)
		if (!strcmp(st, SKIP[i]))
			return 1;
	return 0;
}

/* "1612345678.000200" -> microseconds; -1 when it is not such a ts. */
static int64_t ts_micros(const char *ts)
{
	if (!ts)
		return -1;
	size_t dot = strspn(ts, "0123456789");
	if (dot == 0 || dot > 12 || ts[dot] != '.' || strlen(ts + dot + 1) != 6 ||
	    strspn(ts + dot + 1, "0123456789") != 6)
		return -1;
	return strtoll(ts, NULL, 10) * 1000000 + strtoll(ts + dot + 1, NULL, 10);
}

struct msg {
	int64_t ts;   /* microseconds */
	size_t order; /* as read: ties keep it */
	json_t *m;
	json_int_t id, seq, thread; /* thread: the root's message id, or 0 */
	int64_t replies, last_reply_ts, last_reply_seq;
	json_t *followers; /* of a root: parley ids -> true */
};

static int by_ts(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The value of the n-byte id in map (keys are NUL-terminated ids). */
static json_t *by_id(json_t *map, const char *id, size_t n)
{
	char key[SLACK_ID_MAX + 1];
	if (n == 0 || n > SLACK_ID_MAX)
		return NULL;
	memcpy(key, id, n);
	key[n] = '\0';
	return json_object_get(map, key);
}

static const char *user_name_cb(void *ud, const char *id, size_t n)
{
	(void)ud;
	json_t *p = by_id(sl.people, id, n);
	int seen = 0;
	size_t i;
	json_t *v;
	json_array_foreach(sl.mentions, i, v) seen |= json_equal(v, json_object_get(p, "id"));
	if (p && sl.mentions && !seen)
		json_array_append(sl.mentions, json_object_get(p, "id"));
	return p ? str(p, "name") : NULL;
}

static const char *channel_name_cb(void *ud, const char *id, size_t n)
{
	(void)ud;
	const char *name = json_string_value(by_id(sl.channels, id, n));
	return name && strncmp(name, "dm:", 3) != 0 ? name : NULL;
}

static const struct slack_names NAMES = {user_name_cb, channel_name_cb, NULL};

static char *convert(const char *text)
{
	return slack_markup_convert(text ? text : "", text ? strlen(text) : 0, &NAMES);
}

/* Cuts *text to max code points, the last one "…"; 1 when it did (and
 * *text may have moved), -1 out of memory. */
static int cut_text(char **text, int64_t max)
{
	int64_t points = 0;
	size_t keep = 0; /* bytes of the first max - 1 code points */
	for (size_t i = 0; (*text)[i]; i++) {
		if (((unsigned char)(*text)[i] & 0xC0) == 0x80)
			continue;
		if (++points == max)
			keep = i;
		if (points > max) {
			char *cut = realloc(*text, keep + 4);
			if (!cut)
				return -1;
			memcpy(cut + keep, "\xE2\x80\xA6", 4);
			*text = cut;
			return 1;
		}
	}
	return 0;
}

/* The text of a message as parley shows it: converted markup, /me as
 * italics, a bot's name, then one line per file. */
static char *message_text(json_t *m, const char *where)
{
	const char *subtype = str(m, "subtype");
	const char *raw = str(m, "text");
	if (raw && strlen(raw) > SLACK_MARKUP_IN_MAX) {
		import_fail("%s: the message of ts %s is longer than %d bytes", where, str(m, "ts"),
		            SLACK_MARKUP_IN_MAX);
		return NULL;
	}
	char *text = convert(raw);
	if (text && !*text) {
		/* A bot's message may be all attachment: its fallback text. */
		const char *fallback =
		    str(json_array_get(json_object_get(m, "attachments"), 0), "fallback");
		if (fallback && strlen(fallback) <= SLACK_MARKUP_IN_MAX) {
			free(text);
			text = convert(fallback);
		}
	}
	if (!text)
		return NULL;
	json_t *files = json_object_get(m, "files");
	const char *bot = subtype && !strcmp(subtype, "bot_message") ? str(m, "username") : NULL;
	if (bot && (!*bot || strlen(bot) > USER_NAME_MAX * 4))
		bot = NULL;
	size_t len = strlen(text), nfiles = json_array_size(files), need = len + 16;
	if (nfiles > SLACK_FILES_MAX)
		nfiles = SLACK_FILES_MAX;
	need += bot ? strlen(bot) + 8 : 0;
	need += nfiles * (FILE_NAME_MAX + FILE_URL_MAX + 16);
	char *out = malloc(need);
	if (!out) {
		free(text);
		return NULL;
	}
	size_t n = 0;
	int me = subtype && !strcmp(subtype, "me_message") && len;
	if (bot)
		n += (size_t)sprintf(out, "**%s**: ", bot);
	n += (size_t)sprintf(out + n, "%s%s%s", me ? "_" : "", text, me ? "_" : "");
	free(text);
	for (size_t i = 0; i < nfiles; i++) {
		json_t *f = json_array_get(files, i);
		const char *name = str(f, "name") ? str(f, "name") : str(f, "title");
		const char *url = str(f, "permalink") ? str(f, "permalink") : str(f, "url_private");
		if (name && strlen(name) > FILE_NAME_MAX)
			name = NULL;
		if (url && strlen(url) > FILE_URL_MAX)
			url = NULL;
		if (!name && !url)
			continue; /* a file removed since ("mode": "tombstone") */
		sl.files++;
		n += (size_t)sprintf(out + n, "%s\xF0\x9F\x93\x8E %s%s%s%s", n ? "\n" : "",
		                     name ? name : "file", url ? " (" : "", url ? url : "",
		                     url ? ")" : "");
	}
	int cut = cut_text(&out, sl.max_text);
	if (cut < 0) {
		free(out);
		return NULL;
	}
	if (cut) {
		sl.truncated++;
		fprintf(stderr,
		        "parley: import: slack: %s: the message of ts %s is longer than %lld "
		        "characters: cut there\n",
		        where, str(m, "ts"), (long long)sl.max_text);
	}
	return out;
}

/* Reads the conversation's day files into v (sorted, duplicates gone). */
static struct msg *read_messages(const char *folder, size_t *count)
{
	json_t *days = slack_day_files(sl.dir, folder, SLACK_DAYS_MAX);
	if (!days)
		return NULL;
	struct msg *v = NULL;
	size_t n = 0, cap = 0, i;
	json_t *day;
	int bad = 0;
	json_array_foreach(days, i, day)
	{
		char rel[SLACK_PATH];
		snprintf(rel, sizeof rel, "%s/%s", folder, json_string_value(day));
		json_t *list =
		    slack_read_array(sl.dir, rel, SLACK_DAY_FILE_MAX, SLACK_MESSAGES_MAX, NULL);
		if (!list) {
			bad = 1;
			break;
		}
		size_t k;
		json_t *m;
		json_array_foreach(list, k, m)
		{
			const char *type = str(m, "type");
			int64_t ts = ts_micros(str(m, "ts"));
			if (!json_is_object(m) || (type && strcmp(type, "message") != 0))
				continue;
			if (ts < 0) {
				import_fail(
				    "%s entry %zu: a message needs a ts like \"1612345678.000200\"",
				    rel, k + 1);
				bad = 1;
				break;
			}
			const char *text = str(m, "text");
			if (text && strlen(text) > SLACK_MARKUP_IN_MAX) {
				import_fail("%s entry %zu: a text longer than %d bytes", rel, k + 1,
				            SLACK_MARKUP_IN_MAX);
				bad = 1;
				break;
			}
			const char *subtype = str(m, "subtype");
			if (skipped_subtype(subtype)) {
				json_object_set_new(sl.skipped, subtype,
				                    json_integer(json_integer_value(json_object_get(
				                                     sl.skipped, subtype)) +
				                                 1));
				continue;
			}
			if (n >= SLACK_MESSAGES_MAX) {
				import_fail("%s: more than %d messages", folder,
				            SLACK_MESSAGES_MAX);
				bad = 1;
				break;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				struct msg *bigger = realloc(v, cap * sizeof *v);
				if (!bigger) {
					bad = 1;
					break;
				}
				v = bigger;
			}
			v[n] = (struct msg){.ts = ts, .order = n, .m = json_incref(m)};
			n++;
		}
		json_decref(list);
		if (bad)
			break;
	}
	json_decref(days);
	if (bad) {
		for (size_t k = 0; k < n; k++)
			json_decref(v[k].m);
		free(v);
		return NULL;
	}
	if (n)
		qsort(v, n, sizeof *v, by_ts);
	/* A ts names one message of a conversation: a repeat (a reply a day
	 * file holds twice) is dropped. */
	size_t w = 0;
	for (size_t k = 0; k < n; k++) {
		if (w && v[w - 1].ts == v[k].ts) {
			json_decref(v[k].m);
			continue;
		}
		v[w++] = v[k];
	}
	*count = w;
	return v ? v : calloc(1, sizeof *v);
}

static int add_reactions(json_t *m, json_int_t msg_id)
{
	size_t i, k;
	json_t *r, *u;
	json_array_foreach(json_object_get(m, "reactions"), i, r)
	{
		const char *name = str(r, "name");
		if (i >= SLACK_REACTIONS_MAX || !name || !*name || strlen(name) > EMOJI_NAME_MAX ||
		    name[0] == ':' || strpbrk(name, " \t\r\n"))
			continue;
		char emoji[EMOJI_NAME_MAX + 4];
		const char *e = slack_emoji(name, strlen(name));
		if (!e) {
			snprintf(emoji, sizeof emoji, ":%s:", name);
			e = emoji;
		}
		json_array_foreach(json_object_get(r, "users"), k, u)
		{
			json_t *p = person_of(json_string_value(u), 0);
			if (!p || import_add(IMPORT_REACTIONS,
			                     json_pack("{s:I, s:I, s:s}", "message", msg_id, "user",
			                               key_of(p), "emoji", e)) < 0)
				return -1;
			sl.reactions++;
		}
	}
	return 0;
}

/* The author's account: the user, else the bot, else "slack-unknown". */
static json_t *author_of(json_t *m)
{
	const char *user = str(m, "user");
	if (id_ok(user))
		return person_of(user, 0);
	const char *bot = str(m, "bot_id");
	return person_of(id_ok(bot) ? bot : "unknown", id_ok(bot));
}

static int write_message(struct msg *x, json_int_t room, json_t *members, const char *where)
{
	json_t *author = author_of(x->m);
	if (!author)
		return -1;
	sl.mentions = json_array();
	char *text = message_text(x->m, where);
	/* A mention counts for members only, as a sent one does. */
	for (size_t i = json_array_size(sl.mentions); i-- > 0;)
		if (!json_object_get(members, json_string_value(json_array_get(sl.mentions, i))))
			json_array_remove(sl.mentions, i);
	char *mentions =
	    json_array_size(sl.mentions) ? json_dumps(sl.mentions, JSON_COMPACT) : NULL;
	json_decref(sl.mentions);
	sl.mentions = NULL;
	if (!text) {
		free(mentions);
		return -1;
	}
	const char *subtype = str(x->m, "subtype");
	int deleted = subtype && !strcmp(subtype, "tombstone");
	int64_t edited = ts_micros(str(json_object_get(x->m, "edited"), "ts"));
	json_t *rec = json_pack(
	    "{s:I, s:I, s:I, s:I, s:s?, s:I, s:n, s:n, s:s?, s:n, s:I, s:i, s:o, s:i, s:I, s:I}",
	    "id", x->id, "room", room, "seq", x->seq, "user", key_of(author), "text",
	    deleted ? NULL : text, "ts", (json_int_t)(x->ts / 1000), "client_id", "reply_to",
	    "mentions_json", mentions, "attachments_json", "edited_ts",
	    (json_int_t)(edited > 0 ? edited / 1000 : 0), "deleted", deleted, "thread",
	    x->thread ? json_integer(x->thread) : json_null(), "also_room",
	    subtype && !strcmp(subtype, "thread_broadcast"), "replies", (json_int_t)x->replies,
	    "last_reply_ts", (json_int_t)x->last_reply_ts);
	free(text);
	free(mentions);
	if (import_add(IMPORT_MESSAGES, rec) < 0)
		return -1;
	sl.messages++;
	if (x->thread)
		sl.replies++;
	return deleted ? 0 : add_reactions(x->m, x->id);
}

/* Room, members, settings, messages, reactions and follows of one
 * conversation. */
static int write_conversation(json_t *conv)
{
	const char *folder = str(conv, "folder"), *kind = str(conv, "kind");
	json_t *c = json_object_get(conv, "entry");
	json_int_t room = json_integer_value(json_object_get(conv, "room"));
	size_t n = 0;
	struct msg *v = read_messages(folder, &n);
	if (!v)
		return -1;
	int rc = -1;
	json_t *by_ts = json_object(), *members = json_object();
	/* Ids, seqs, and each reply's root (roots come first: older). */
	for (size_t i = 0; i < n; i++) {
		v[i].id = ++sl.next_msg;
		v[i].seq = (json_int_t)i + 1;
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)v[i].ts);
		json_object_set_new(by_ts, key, json_integer((json_int_t)i));
		int64_t root_ts = ts_micros(str(v[i].m, "thread_ts"));
		if (root_ts < 0 || root_ts == v[i].ts)
			continue;
		snprintf(key, sizeof key, "%lld", (long long)root_ts);
		json_t *at = json_object_get(by_ts, key);
		if (!at) {
			sl.orphans++; /* its root is outside the export: a plain message */
			continue;
		}
		struct msg *root = &v[json_integer_value(at)];
		if (root->thread)
			continue; /* threads do not nest */
		v[i].thread = root->id;
		root->replies++;
		root->last_reply_ts = v[i].ts / 1000;
		root->last_reply_seq = v[i].seq;
		if (!root->followers) {
			root->followers = json_object();
			json_t *a = author_of(root->m);
			if (!a)
				goto done;
			json_object_set_new(root->followers, str(a, "id"), json_true());
		}
		json_t *a = author_of(v[i].m);
		if (!a)
			goto done;
		json_object_set_new(root->followers, str(a, "id"), json_true());
	}
	json_t *topic = json_object_get(c, "topic"), *purpose = json_object_get(c, "purpose");
	const char *topic_text = str(topic, "value");
	if (!topic_text || !*topic_text)
		topic_text = str(purpose, "value");
	char *topic_conv = topic_text ? convert(topic_text) : NULL;
	if (topic_conv && cut_text(&topic_conv, TOPIC_MAX) < 0) {
		free(topic_conv);
		goto done;
	}
	const char *creator = str(c, "creator");
	json_t *creator_p = id_ok(creator) ? person_of(creator, 0) : NULL;
	int is_dm = !strcmp(kind, "dm");
	rc = import_add(
	    IMPORT_ROOMS,
	    json_pack("{s:I, s:s, s:s, s:s?, s:o, s:I, s:I, s:i, s:i}", "id", room, "name",
	              json_string_value(json_object_get(sl.channels, str(conv, "id"))), "kind",
	              kind, "topic", is_dm ? "" : topic_conv, "created_by",
	              creator_p ? json_integer(key_of(creator_p)) : json_null(), "created_ts",
	              (json_int_t)json_integer_value(json_object_get(c, "created")) * 1000,
	              "last_seq", (json_int_t)n, "pruned_seq", 0, "retention_ms", 0));
	free(topic_conv);
	if (rc < 0)
		goto done;
	rc = -1;
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(c, "members"), i, u)
	{
		json_t *p = person_of(json_string_value(u), 0);
		if (!p)
			goto done;
		if (json_object_get(members, str(p, "id")))
			continue;
		json_object_set_new(members, str(p, "id"), json_true());
		const char *role = !is_dm && p == creator_p ? "owner" : "member";
		/* Everything imported counts as read: no one starts with a
		 * workspace's worth of unread messages. */
		if (import_add(IMPORT_MEMBERS,
		               json_pack("{s:I, s:I, s:s, s:I}", "room", room, "user", key_of(p),
		                         "role", role, "read_seq", (json_int_t)n)) < 0)
			goto done;
	}
	if (!is_dm && json_is_true(json_object_get(c, "is_archived")) &&
	    import_add(IMPORT_ROOM_SETTINGS,
	               json_pack("{s:I, s:s}", "room", room, "json", "{\"archived\":true}")) < 0)
		goto done;
	char where[SLACK_PATH];
	snprintf(where, sizeof where, "%s", folder);
	for (i = 0; i < n; i++)
		if (write_message(&v[i], room, members, where) < 0)
			goto done;
	for (i = 0; i < n; i++) {
		const char *who;
		json_t *yes;
		json_object_foreach(v[i].followers, who, yes)
		{
			if (import_add(IMPORT_THREAD_FOLLOWS,
			               json_pack("{s:I, s:I, s:I}", "root", v[i].id, "user",
			                         (json_int_t)strtoll(who + 2, NULL, 10), "read_seq",
			                         (json_int_t)v[i].last_reply_seq)) < 0)
				goto done;
		}
	}
	rc = 0;
done:
	for (i = 0; i < n; i++) {
		json_decref(v[i].m);
		json_decref(v[i].followers);
	}
	free(v);
	json_decref(by_ts);
	json_decref(members);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Every file read once before anything is written: a damaged export
 * leaves the store as empty as it was. */
static int check_all(void)
{
	json_t *users =
	    slack_read_array(sl.dir, "users.json", SLACK_LIST_FILE_MAX, SLACK_USERS_MAX, NULL);
	json_decref(users);
	if (!users)
		return -1;
	for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
		int absent = 0;
		json_t *list = slack_read_array(sl.dir, LISTS[l].file, SLACK_LIST_FILE_MAX,
		                                SLACK_CONVERSATIONS_MAX, &absent);
		if (!list && !absent)
			return -1;
		size_t i;
		json_t *c;
		json_array_foreach(list, i, c)
		{
			const char *folder = str(c, LISTS[l].folder_by_id ? "id" : "name");
			size_t n = 0, people = json_array_size(json_object_get(c, "members"));
			int fit =
			    json_is_object(c) && id_ok(str(c, "id")) &&
			    slack_folder_name_ok(folder) &&
			    (strcmp(LISTS[l].kind, "dm") != 0 || (people >= 1 && people <= 64));
			struct msg *v = fit ? read_messages(folder, &n) : NULL;
			if (!v) {
				if (!fit)
					import_fail("%s entry %zu: a conversation needs an id, a "
					            "name fit for a "
					            "folder and, for a DM, 1 to 64 members",
					            LISTS[l].file, i + 1);
				json_decref(list);
				return -1;
			}
			for (size_t k = 0; k < n; k++)
				json_decref(v[k].m);
			free(v);
		}
		json_decref(list);
	}
	json_object_clear(sl.skipped); /* counted again when written */
	return 0;
}

static int run(struct config *cfg)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (check_all() < 0 || import_open_store() < 0 || read_users() < 0 ||
	    read_conversations() < 0)
		return -1;
	size_t i;
	json_t *conv;
	json_array_foreach(sl.convs, i, conv) if (write_conversation(conv) < 0) return -1;
	if (import_flush() < 0)
		return -1;
	int links = import_reset_links(cfg, sl.accounts);
	if (links < 0)
		return -1;
	import_audit(json_pack("{s:s, s:I, s:I, s:I}", "from", "slack", "users",
	                       (json_int_t)import_written(IMPORT_USERS), "rooms",
	                       (json_int_t)import_written(IMPORT_ROOMS), "messages",
	                       (json_int_t)sl.messages));
	int64_t skipped = 0;
	const char *k;
	json_t *count;
	json_object_foreach(sl.skipped, k, count) skipped += json_integer_value(count);
	fprintf(stderr,
	        "parley: import: slack: %lld people, %lld rooms, %lld messages (%lld thread "
	        "replies, %lld replies whose root is not in the export as plain messages), %lld "
	        "reactions, %lld file links (files not downloaded); %lld join/leave/topic events "
	        "skipped; %lld texts cut to %lld characters; %lld names changed; %d reset links "
	        "printed (valid %d days)%s; %.2f s\n",
	        (long long)import_written(IMPORT_USERS), (long long)import_written(IMPORT_ROOMS),
	        (long long)sl.messages, (long long)sl.replies, (long long)sl.orphans,
	        (long long)sl.reactions, (long long)sl.files, (long long)skipped,
	        (long long)sl.truncated, (long long)sl.max_text, (long long)sl.renamed, links,
	        IMPORT_RESET_TTL_S / 86400,
	        cfg->public_url ? "" : " (no server.public_url: the links lack the address)",
	        seconds_since(&t0));
	return 0;
}

int import_slack_main(struct config *cfg, const char *path)
{
	struct import_source src;
	struct cli_runtime rt = {0};
	char err[300];
	int status = 1;
	memset(&sl, 0, sizeof sl);
	/* Like parley's own import: never under a running server. */
	if (data_lock_take(cfg->data_dir, err, sizeof err) < 0) {
		import_fail("%s", err);
		return 1;
	}
	import_begin();
	sl.people = json_object();
	sl.accounts = json_object();
	sl.user_names = json_object();
	sl.room_names = json_object();
	sl.channels = json_object();
	sl.convs = json_array();
	sl.skipped = json_object();
	sl.max_text = cfg->limits.max_text > 0 ? cfg->limits.max_text : CONFIG_MAX_TEXT_DEFAULT;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	sl.now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (import_source_open(&src, path, cfg->data_dir, "import-slack", SLACK_ZIP_MAX_ENTRIES,
	                       SLACK_ZIP_MAX_BYTES, err, sizeof err) < 0) {
		import_fail("%s: %s (a Slack export's zip, as Slack made it)", path, err);
		goto done;
	}
	sl.dir = src.dir;
	if (admin_start(cfg, "import", &rt) < 0)
		goto done;
	status = run(cfg) == 0 ? 0 : 1;
done:
	fflush(stdout);
	admin_stop(&rt);
	import_source_close(&src);
	import_end();
	json_decref(sl.people);
	json_decref(sl.accounts);
	json_decref(sl.user_names);
	json_decref(sl.room_names);
	json_decref(sl.channels);
	json_decref(sl.convs);
	json_decref(sl.skipped);
	data_lock_release();
	return status;
}
