/* parley import --from slack DIR|FILE.zip: a Slack workspace export (the
 * "Export data" ZIP: users.json, channels.json, groups.json, dms.json,
 * mpims.json, one folder per conversation with one JSON file per day)
 * into an empty store, through the same record batches as parley's own
 * import (import_internal.h).
 *
 * People -> accounts (deleted -> disabled, bots -> bot accounts, Slack
 * admins and owners -> admins), each active person a printed single-use
 * reset link; public channels -> public rooms, private channels ->
 * private rooms, DMs and group DMs -> DM rooms; topic (else purpose),
 * members, archived; messages in ts order as room seqs, with thread
 * replies as threads, edits' times, reactions and files as link lines
 * (their bytes need a Slack token: not downloaded). Joins, leaves and
 * topic/name/purpose changes are skipped and counted.
 *
 * Every file read has limits (its size, its entries, JSON depth); a text
 * longer than limits.max_text is cut there with a warning naming the file
 * and ts. Refused while a server holds the data dir's lock and for a
 * store that has people or messages. */
#ifndef PARLEY_IMPORT_SLACK_H
#define PARLEY_IMPORT_SLACK_H

struct config;

#define SLACK_LIST_FILE_MAX     (256 * 1024 * 1024) /* bytes of users.json & co. */
#define SLACK_DAY_FILE_MAX      (64 * 1024 * 1024)  /* bytes of one day's file */
#define SLACK_JSON_DEPTH_MAX    32                  /* nesting of any file */
#define SLACK_USERS_MAX         200000              /* entries of users.json */
#define SLACK_CONVERSATIONS_MAX 200000              /* entries of all lists */
#define SLACK_DAYS_MAX          100000              /* day files of one conversation */
#define SLACK_MESSAGES_MAX      2000000             /* messages of one conversation */
#define SLACK_REACTIONS_MAX     1000                /* reactions of one message */
#define SLACK_FILES_MAX         100                 /* files of one message */
#define SLACK_ID_MAX            64                  /* bytes of a Slack id */
#define SLACK_ZIP_MAX_ENTRIES   1000000             /* files in the archive */
#define SLACK_ZIP_MAX_BYTES     (64LL << 30)        /* unpacked, all entries */

/* 0, or 1 after saying why. */
int import_slack_main(struct config *cfg, const char *path);

#endif
