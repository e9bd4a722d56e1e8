/* Whole records for `parley store copy` (records_read, records_write): the
 * kinds and fields of store_sqlite's tables (include/parley/plugin.h says
 * which), so records move between the two stores unchanged. */
#ifndef STORE_MONGO_RECORDS_H
#define STORE_MONGO_RECORDS_H

#include <stdint.h>

#include <jansson.h>

#include "mdb.h"

#define RECORDS_LIMIT_MAX 1000

/* 1 when kind is one of the kinds; the kinds in the order a copy writes
 * them (parents before children), NULL-terminated. */
int records_kind_known(const char *kind);
extern const char *const records_kinds[];

int records_read(struct dbconn *c, struct op *op);  /* args.records: kind, after, limit */
int records_write(struct dbconn *c, struct op *op); /* args.records: kind, json */

/* One page of kind after the cursor into out (an array): PARLEY_OK with
 * *next (the cursor to pass next) and *more, or an error recorded in op. */
int records_page(struct dbconn *c, struct op *op, const char *kind, int64_t after, int limit,
                 json_t *out, int64_t *next, int *more);

#endif
