/* The logical dump (see dump.h). MongoDB has no point-in-time read without
 * a replica set's snapshot read concern (and the test server has none), so
 * each kind is read in cursor order while writes go on: every record
 * written before the dump began is in it; one written during it may be or
 * not; rooms are read before messages, so a message appended meanwhile can
 * have a seq past its room's last_seq in the dump (`store copy` reading a
 * dump drops those, as it does when copying from a live store). */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"

#define DUMP_PAGE 500

static int write_line(FILE *f, json_t *line)
{
	int rc = json_dumpf(line, f, JSON_COMPACT);
	return rc == 0 && fputc('\n', f) != EOF ? 0 : -1;
}

/* Every page of kind into f; the count into *count. */
static int dump_kind(struct dbconn *c, struct op *op, FILE *f, const char *kind, int64_t *count)
{
	int64_t after = 0;
	int more = 1;
	*count = 0;
	while (more) {
		json_t *page = json_array();
		if (!page)
			return op_fail(op, PARLEY_ENOMEM, "snapshot: out of memory");
		int64_t next = after;
		int rc = records_page(c, op, kind, after, DUMP_PAGE, page, &next, &more);
		if (rc < 0) {
			json_decref(page);
			return rc;
		}
		size_t n = json_array_size(page);
		*count += (int64_t)n;
		if (n > 0) {
			json_t *line = json_pack("{s:s, s:o}", "kind", kind, "records", page);
			int bad = !line || write_line(f, line) < 0;
			json_decref(line);
			if (bad)
				return op_fail(op, PARLEY_ESTORAGE, "snapshot: cannot write: %s",
				               strerror(errno));
		} else {
			json_decref(page);
		}
		after = next;
	}
	return PARLEY_OK;
}

int dump_write(struct dbconn *c, struct op *op)
{
	const char *path = op->args.snapshot.path;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return op_fail(op, errno == EEXIST ? PARLEY_ECONFLICT : PARLEY_ESTORAGE,
		               "snapshot: cannot create %s: %s", path, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return op_fail(op, PARLEY_ENOMEM, "snapshot: out of memory");
	}
	json_t *counts = json_object();
	json_t *head = json_pack("{s:s, s:i}", "format", "parley-records", "version", 1);
	int rc = counts && head && write_line(f, head) == 0
	             ? PARLEY_OK
	             : op_fail(op, PARLEY_ESTORAGE, "snapshot: cannot write %s", path);
	json_decref(head);
	for (const char *const *k = records_kinds; rc == PARLEY_OK && *k; k++) {
		int64_t n = 0;
		if ((rc = dump_kind(c, op, f, *k, &n)) == PARLEY_OK &&
		    json_object_set_new(counts, *k, json_integer(n)) < 0)
			rc = op_fail(op, PARLEY_ENOMEM, "snapshot: out of memory");
	}
	if (rc == PARLEY_OK) {
		json_t *tail = json_pack("{s:O}", "counts", counts);
		if (!tail || write_line(f, tail) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
			rc = op_fail(op, PARLEY_ESTORAGE, "snapshot: cannot write %s: %s", path,
			             strerror(errno));
		json_decref(tail);
	}
	json_decref(counts);
	struct stat sb;
	if (fclose(f) != 0 && rc == PARLEY_OK)
		rc = op_fail(op, PARLEY_ESTORAGE, "snapshot: cannot close %s: %s", path,
		             strerror(errno));
	if (rc == PARLEY_OK && stat(path, &sb) < 0)
		rc = op_fail(op, PARLEY_ESTORAGE, "snapshot: %s: %s", path, strerror(errno));
	if (rc != PARLEY_OK) {
		unlink(path);
		return rc;
	}
	op->res.text = DUMP_FILE_NAME;
	op->res.value = (int64_t)sb.st_size;
	return PARLEY_OK;
}
