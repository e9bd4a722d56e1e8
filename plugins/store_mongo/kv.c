/* parley.kv in a collection keyed by (owner, key), values opaque text.
 * incr reads the old value as an integer (text that is not one counts as
 * 0, as SQLite's CAST) and writes the sum only if the value is still the
 * one it read (compare and set), retrying otherwise: concurrent increments
 * from several nodes never lose a step. */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>

#define INCR_ATTEMPTS 100

static const char KV[] = "kv";

static bson_t *key_of(struct op *op)
{
	return BCON_NEW("owner", BCON_UTF8(op->s[0]), "key", BCON_UTF8(op->s[1]));
}

int kv_get(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, KV, q, NULL, &doc);
	bson_destroy(q);
	if (rc < 0)
		return rc;
	const char *v = mdb_str(op, doc, "value");
	op->res.text = v ? v : op_strdup(op, "");
	bson_destroy(doc);
	return op->res.text ? PARLEY_OK : op_fail(op, PARLEY_ENOMEM, "out of memory");
}

int kv_set(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	bson_t *u = BCON_NEW("$set", "{", "value", BCON_UTF8(op->s[2]), "}");
	int rc = mdb_update(c, op, KV, q, u, 0, 1, NULL);
	if (rc == PARLEY_ECONFLICT) /* two first upserts racing */
		rc = mdb_update(c, op, KV, q, u, 0, 1, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int kv_delete(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	int rc = mdb_delete(c, op, KV, q, 0, &op->res.value);
	bson_destroy(q);
	return rc;
}

int kv_incr(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	int rc = PARLEY_ERR;
	for (int i = 0; i < INCR_ATTEMPTS; i++) {
		bson_t *doc = NULL;
		char next[32];
		rc = mdb_find_one(c, op, KV, q, NULL, &doc);
		if (rc == PARLEY_ENOTFOUND) {
			op->res.rc = PARLEY_OK;
			op->error[0] = '\0';
			snprintf(next, sizeof next, "%lld", (long long)op->n[0]);
			bson_t *ins = BCON_NEW("owner", BCON_UTF8(op->s[0]), "key",
			                       BCON_UTF8(op->s[1]), "value", BCON_UTF8(next));
			/* A concurrent first increment wins the insert: read again. */
			rc = mdb_insert_unique(c, op, KV, q, ins);
			bson_destroy(ins);
			if (rc == PARLEY_OK)
				op->res.value = op->n[0];
			if (rc != PARLEY_ECONFLICT)
				break;
			continue;
		}
		if (rc < 0)
			break;
		const char *old = mdb_str(op, doc, "value");
		bson_destroy(doc);
		int64_t sum = (old ? strtoll(old, NULL, 10) : 0) + op->n[0];
		snprintf(next, sizeof next, "%lld", (long long)sum);
		bson_t *cas = BCON_NEW("owner", BCON_UTF8(op->s[0]), "key", BCON_UTF8(op->s[1]),
		                       "value", BCON_UTF8(old ? old : ""));
		bson_t *u = BCON_NEW("$set", "{", "value", BCON_UTF8(next), "}");
		int64_t matched = 0;
		rc = mdb_update(c, op, KV, cas, u, 0, 0, &matched);
		bson_destroy(cas);
		bson_destroy(u);
		if (rc < 0)
			break;
		if (matched == 1) {
			op->res.value = sum;
			break;
		}
		rc = op_fail(op, PARLEY_EUNAVAIL, "kv_incr: too much contention on %s", op->s[1]);
	}
	if (rc == PARLEY_ECONFLICT)
		rc = op_fail(op, PARLEY_EUNAVAIL, "kv_incr: too much contention on %s", op->s[1]);
	bson_destroy(q);
	return rc;
}
