/* The copy is made from a read connection in one sqlite3_backup_step(-1):
 * the step holds one read transaction over the WAL for the whole copy, so
 * it is the database at one instant, and the writer goes on committing
 * meanwhile (WAL readers never block the writer). The target is written
 * with journal_mode=DELETE and fsynced before the result is reported, so a
 * reported snapshot is on disk. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "op.h"
#include "store.h"

static int file_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int snapshot_write(struct dbconn *c, struct op *op)
{
	const char *path = op->args.snapshot.path;
	struct stat sb;
	if (lstat(path, &sb) == 0)
		return op_fail(op, PARLEY_ECONFLICT, "snapshot: %s exists", path);
	sqlite3 *dst = NULL;
	int src = sqlite3_open_v2(
	    path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE, NULL);
	if (src != SQLITE_OK) {
		int rc = op_fail(op, db_rc(src), "snapshot: cannot create %s: %s", path,
		                 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(src));
		sqlite3_close(dst);
		return rc;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
	if (!b) {
		int rc = op_fail(op, PARLEY_ERR, "snapshot: %s", sqlite3_errmsg(dst));
		sqlite3_close(dst);
		unlink(path);
		return rc;
	}
	int step = sqlite3_backup_step(b, -1);
	int fin = sqlite3_backup_finish(b);
	if (step != SQLITE_DONE || fin != SQLITE_OK) {
		int rc = op_fail(op, db_rc(step != SQLITE_DONE ? step : fin), "snapshot of %s: %s",
		                 path, sqlite3_errmsg(dst));
		sqlite3_close(dst);
		unlink(path);
		return rc;
	}
	/* The copy keeps the source's WAL mode in its header; a restored file
	 * opens in WAL again through db_open, so only the bytes matter here. */
	if (sqlite3_close(dst) != SQLITE_OK || file_sync(path) < 0 || stat(path, &sb) < 0) {
		unlink(path);
		return op_fail(op, PARLEY_ESTORAGE, "snapshot: cannot sync %s: %s", path,
		               strerror(errno));
	}
	op->res.text = op->st->rel_path;
	op->res.value = (int64_t)sb.st_size;
	return PARLEY_OK;
}
