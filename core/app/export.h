/* parley export: the messages of a store as JSON lines, for people to keep
 * or study. An export is a folder:
 *
 *   manifest.json    format, version, the filters, per room: name, kind,
 *                    messages exported, first and last seq, the room's
 *                    last_seq read at the start; total count and the
 *                    SHA-256 of messages.jsonl
 *   messages.jsonl   one message a line, rooms in name order, seq order:
 *                    room, seq, id, user {id,name}, ts, text, edited_ts,
 *                    deleted, reply_to, mentions, reactions, attachments
 *
 *   users.jsonl      one person a line: id, name, display_name, role,
 *                    email, disabled, created_ts (never a password)
 *   files/up_N       with --with-files: each attached file (not expired),
 *                    its size and SHA-256 in the manifest's "files"
 *
 * Rooms in the manifest carry topic, created_by, created_ts and members
 * (user, role, read_seq); a message line carries "edits", its earlier
 * versions, when it was edited. Each room is read up to its last_seq at
 * the start, so an export taken while the server serves is of one moment
 * per room. An --out ending in .zip is one archive of that folder. */
#ifndef PARLEY_EXPORT_H
#define PARLEY_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define EXPORT_FORMAT     "parley-export"
#define EXPORT_FORMAT_VER 1
#define EXPORT_MAX_ROOMS  64 /* --room given at most this often */

struct export_options {
	const char *out;          /* a new folder */
	const char *const *rooms; /* names; n_rooms 0: every room but DMs' */
	size_t n_rooms;
	int64_t since_ms, until_ms; /* -1: open */
	int pseudonymise;           /* people as person-<keyed hash> (the server key) */
	int with_files;             /* files/<upload id> and their hashes */
};

/* 1 when path names a zip archive (ends in ".zip"). */
int export_is_zip(const char *path);

/* 0, or 1 after saying why. */
int export_main(struct config *cfg, const struct export_options *o);

#endif
