/* parley import DIR|FILE.zip: parley's own export (core/app/export.h) into
 * an empty store, through records_write, keeping ids, seqs, authors,
 * times, room members, reactions and edit history, and with --with-files
 * exports the files (through the uploads provider, under new keys).
 * People come without passwords: each active person gets a single-use
 * password-reset link, printed (a team with OIDC signs in there instead).
 * Verified against the manifest's checksums before anything is written;
 * refused while a server holds the data dir's lock, for a store that has
 * people or messages already, and for pseudonymised exports. */
#ifndef PARLEY_IMPORT_H
#define PARLEY_IMPORT_H

struct config;

#define IMPORT_LINE_MAX     (16 * 1024 * 1024) /* bytes of one JSON line */
#define IMPORT_MANIFEST_MAX (64 * 1024 * 1024) /* bytes of manifest.json */
#define IMPORT_BATCH        200                /* records per store write */
#define IMPORT_RESET_TTL_S  (7 * 86400)        /* the reset links' life */

/* 0, or 1 after saying why. */
int import_main(struct config *cfg, const char *path);

#endif
