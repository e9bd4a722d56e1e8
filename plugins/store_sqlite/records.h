/* records_read / records_write: whole rows of a kind as JSON (store copy). */
#ifndef STORE_SQLITE_RECORDS_H
#define STORE_SQLITE_RECORDS_H

struct dbconn;
struct op;

int records_kind_known(const char *kind);
int records_read(struct dbconn *c, struct op *op);
int records_write(struct dbconn *c, struct op *op);

#endif
