/* One pass over the text, one field buffer at a time: a record costs at
 * most CSV_RECORD_MAX bytes of input and its fields' copies. */
#include "base/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void csv_reader_init(struct csv_reader *r, const char *text, size_t len, size_t max_fields)
{
	memset(r, 0, sizeof *r);
	r->p = text;
	r->end = text + len;
	r->line = 1;
	r->max_fields = max_fields < CSV_FIELDS_CAP ? max_fields : CSV_FIELDS_CAP;
}

void csv_record_clear(struct csv_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		if (rec->field[i])
			memset(rec->field[i], 0, strlen(rec->field[i]));
		free(rec->field[i]);
		rec->field[i] = NULL;
	}
	rec->n = 0;
}

static int fail(struct csv_reader *r, struct csv_record *rec, const char *msg)
{
	snprintf(r->err, sizeof r->err, "%s", msg);
	csv_record_clear(rec);
	return -1;
}

/* One field at r->p into buf (CSV_FIELD_MAX + 1 bytes): its length, or -1
 * after fail(). Stops before the ',' or line end that follows it. */
static long read_field(struct csv_reader *r, struct csv_record *rec, const char *start, char *buf)
{
	const char *p = r->p;
	size_t len = 0;
	int quoted = p < r->end && *p == '"';
	if (quoted)
		p++;
	for (;;) {
		if (p - start > CSV_RECORD_MAX)
			return fail(r, rec, "record longer than 16384 bytes");
		if (p >= r->end) {
			if (quoted)
				return fail(r, rec, "unterminated quoted field");
			break;
		}
		char ch = *p;
		if (quoted && ch == '"') {
			if (p + 1 < r->end && p[1] == '"') {
				p += 2;
			} else {
				p++;
				quoted = 0;
				if (p < r->end && *p != ',' && *p != '\n' && *p != '\r')
					return fail(r, rec, "text after a closing quote");
				continue;
			}
		} else if (!quoted && (ch == ',' || ch == '\n' || ch == '\r')) {
			break;
		} else {
			if (ch == '\n')
				r->line++;
			p++;
		}
		if (len == CSV_FIELD_MAX)
			return fail(r, rec, "field longer than 4096 bytes");
		buf[len++] = ch;
	}
	r->p = p;
	return (long)len;
}

int csv_next(struct csv_reader *r, struct csv_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->line = r->line;
	r->err[0] = '\0';
	if (r->p >= r->end)
		return 0;
	const char *start = r->p;
	if (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')) {
		r->p += *r->p == '\r' ? 2 : 1;
		r->line++;
		return 1;
	}
	char *buf = malloc(CSV_FIELD_MAX + 1);
	if (!buf)
		return fail(r, rec, "out of memory");
	int status = -1;
	for (;;) {
		long len = read_field(r, rec, start, buf);
		if (len < 0)
			goto done;
		if (rec->n == r->max_fields) {
			snprintf(r->err, sizeof r->err, "too many fields (at most %zu)",
			         r->max_fields);
			csv_record_clear(rec);
			goto done;
		}
		if (!(rec->field[rec->n] = strndup(buf, (size_t)len))) {
			fail(r, rec, "out of memory");
			goto done;
		}
		rec->n++;
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '\r')
			r->p++;
		if (r->p < r->end && *r->p == '\n') {
			r->p++;
			r->line++;
		} else if (r->p < r->end) {
			fail(r, rec, "stray carriage return");
			goto done;
		}
		break;
	}
	status = 1;
done:
	memset(buf, 0, CSV_FIELD_MAX + 1);
	free(buf);
	return status;
}
