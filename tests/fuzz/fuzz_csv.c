/* libFuzzer target: the admin CLI's CSV reader (base/csv.c). Every record
 * must keep its limits: at most max_fields fields of at most CSV_FIELD_MAX
 * bytes, lines that only grow; an error names a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks how many fields a record may have. */
	size_t max_fields = size ? data[0] % (CSV_FIELDS_CAP + 2) : 4;
	struct csv_reader r;
	struct csv_record rec;
	int rc, last_line = 0;
	csv_reader_init(&r, (const char *)data + (size ? 1 : 0), size ? size - 1 : 0, max_fields);
	while ((rc = csv_next(&r, &rec)) == 1) {
		if (rec.n > r.max_fields || rec.line < last_line || r.line < rec.line)
			abort();
		for (size_t i = 0; i < rec.n; i++)
			if (!rec.field[i] || strlen(rec.field[i]) > CSV_FIELD_MAX)
				abort();
		last_line = rec.line;
		csv_record_clear(&rec);
	}
	if (rc == -1 && (!r.err[0] || rec.n != 0))
		abort();
	return 0;
}
