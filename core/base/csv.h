/* A CSV reader for files an operator hands the admin CLI (`user import`):
 * RFC 4180 records, quoted fields with "" escapes that may span lines, LF
 * or CRLF line ends. Untrusted input with limits: a field, a record and
 * the number of fields are bounded, and each error names its line.
 * tests/fuzz/fuzz_csv.c runs it. */
#ifndef PARLEY_CSV_H
#define PARLEY_CSV_H

#include <stddef.h>

#define CSV_FIELD_MAX  4096  /* bytes of one field, unquoted */
#define CSV_RECORD_MAX 16384 /* bytes of one record as written, quotes and line ends included */
#define CSV_FIELDS_CAP 16    /* the most fields a reader can be asked for */
#define CSV_ERR_MAX    96

struct csv_reader {
	const char *p, *end;
	int line;          /* of the next record, from 1 */
	size_t max_fields; /* more in a record is an error */
	char err[CSV_ERR_MAX];
};

/* One record: n fields (0 for a blank line), each malloc'ed. */
struct csv_record {
	int line; /* where it starts */
	size_t n;
	char *field[CSV_FIELDS_CAP];
};

/* Reads text[0..len) (not copied: it must outlive the reader); max_fields
 * is capped at CSV_FIELDS_CAP. */
void csv_reader_init(struct csv_reader *r, const char *text, size_t len, size_t max_fields);
/* The next record: 1 with rec filled, 0 at the end, -1 with r->err set
 * (rec->line says where; rec holds nothing). */
int csv_next(struct csv_reader *r, struct csv_record *rec);
/* Frees rec's fields, wiping them first (an import carries passwords). */
void csv_record_clear(struct csv_record *rec);

#endif
