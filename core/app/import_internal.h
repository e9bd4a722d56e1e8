/* What parley import (import.c) shares with the Slack import
 * (import_slack.c): the store check, the record batches written through
 * records_write in parents-first order, the reset links and the audit
 * entry. One import runs per process. */
#ifndef PARLEY_IMPORT_INTERNAL_H
#define PARLEY_IMPORT_INTERNAL_H

#include <stdint.h>

#include <jansson.h>

struct config;

/* Record kinds of records_write, parents before children. */
enum import_kind {
	IMPORT_USERS,
	IMPORT_ROOMS,
	IMPORT_MEMBERS,
	IMPORT_MESSAGES,
	IMPORT_REACTIONS,
	IMPORT_EDITS,
	IMPORT_ROOM_SETTINGS,
	IMPORT_THREAD_FOLLOWS,
	IMPORT_N_KINDS
};

/* "parley: import: " and the message on stderr. */
void import_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Empty batches; import_end frees them. */
void import_begin(void);
void import_end(void);
/* After admin_start: the store can records_write and holds no people and
 * no messages. 0, or -1 after saying why. */
int import_open_store(void);
/* Queues record (stolen) of kind k; a full batch writes every kind's
 * batch, parents first. 0, or -1 after saying why. */
int import_add(enum import_kind k, json_t *record);
/* Writes every waiting batch. 0, or -1 after saying why. */
int import_flush(void);
int64_t import_written(enum import_kind k);
/* A single-use reset link for each active person of users (id -> {name,
 * role, disabled}; bots and disabled people get none), printed as
 * "reset NAME URL". The count, or -1 after saying why. */
int import_reset_links(struct config *cfg, json_t *users);
/* The data.import audit entry with detail (stolen). */
void import_audit(json_t *detail);

#endif
