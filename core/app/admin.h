/* Admin commands that work on the same store as a running server: they
 * load the configured plugins (no listener), run the loop until their one
 * operation completes, and return an exit code. Messages for people go to
 * stderr; results (tokens, links) to stdout. */
#ifndef PARLEY_ADMIN_H
#define PARLEY_ADMIN_H

#include <stddef.h>
#include <stdio.h>

struct config;

/* parley user add NAME [--role R] [--email E]; password read from `pw`
 * (one line; empty: no password). */
int admin_user_add(struct config *cfg, const char *name, const char *role, const char *email,
                   FILE *pw);
/* parley user import FILE.csv: name,role[,password[,email]] per line. */
int admin_user_import(struct config *cfg, const char *csv_path);
/* parley session new NAME... [--ttl 30d]: prints one token per line, in the
 * order of names (n >= 1). ttl_s <= 0: default. */
int admin_session_new(struct config *cfg, const char *const *names, size_t n, long long ttl_s);
/* parley check-config: loads and checks every plugin, runs no init. */
int admin_check_config(struct config *cfg);

/* parley invite: prints a single-use registration link (and its expiry on
 * stderr). 0, or 1 on failure. Mailing it is the admin's: the CLI sends no
 * mail (POST /api/admin/invites does). */
int admin_invite(struct config *cfg, const char *role, const char *email);

/* parley prune [--dry-run] [--older-than DURATION] [--room ROOM]: applies
 * the retention now (older_than_s > 0 replaces the configured one) and
 * prints what it removed, or would. Audited as "retention.prune". */
int admin_prune(struct config *cfg, int dry_run, long long older_than_s, const char *room);

#endif
