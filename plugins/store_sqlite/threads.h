/* Threads (migration 9): replies that name a root, the root's reply count
 * and latest reply, and who follows which thread with their read mark.
 * Exec functions for ops (op.h). */
#ifndef STORE_SQLITE_THREADS_H
#define STORE_SQLITE_THREADS_H

struct dbconn;
struct op;

/* Largest threads_list page. */
#define THREADS_LIST_MAX 100

/* Write: msg, args.append (thread set). Result: the reply, then the root. */
int threads_append(struct dbconn *c, struct op *op);
/* Read: args.thread (room, root, before, after, limit). */
int threads_history(struct dbconn *c, struct op *op);
/* Write: args.thread (room, root, user, on). Result value: 1 changed. */
int threads_follow(struct dbconn *c, struct op *op);
/* Write: args.thread (room, root, user, seq). Result value: the mark. */
int threads_read(struct dbconn *c, struct op *op);
/* Read: args.thread (user, rooms_json, root = after or 0, limit). */
int threads_list(struct dbconn *c, struct op *op);

#endif
