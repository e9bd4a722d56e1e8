/* kv_add, counter_add and lease (cluster.h). Without transactions each is
 * a compare-and-set loop: read the document, then write only if it is
 * still the one read (or insert, which the unique index lets one node
 * win); a node that loses reads again. */
#include "cluster.h"

#include <mbedtls/sha256.h>

#include <string.h>

#define CAS_ATTEMPTS 100

static const char KV[] = "kv";
static const char LEASE_OWNER[] = "parley:lease";
static const char COUNTER_OWNER[] = "parley:counter";

/* The _id of the document of (owner, key): the first 12 bytes of its
 * SHA-256, an ObjectId. Inserts of one name collide on _id, which every
 * server keeps unique (the CongoDB test server checks no other unique
 * index on insert, and takes only ObjectId _ids). */
static void doc_id(const char *owner, const char *key, bson_oid_t *oid)
{
	unsigned char sum[32];
	mbedtls_sha256_context ctx;
	mbedtls_sha256_init(&ctx);
	mbedtls_sha256_starts_ret(&ctx, 0);
	mbedtls_sha256_update_ret(&ctx, (const unsigned char *)owner, strlen(owner) + 1);
	mbedtls_sha256_update_ret(&ctx, (const unsigned char *)key, strlen(key));
	mbedtls_sha256_finish_ret(&ctx, sum);
	mbedtls_sha256_free(&ctx);
	bson_oid_init_from_data(oid, sum);
}

/* Forgets the failure a lost race recorded: the loop tries again. */
static void clear_error(struct op *op)
{
	op->res.rc = PARLEY_OK;
	op->error[0] = '\0';
}

static int contention(struct op *op, const char *name)
{
	return op_fail(op, PARLEY_EUNAVAIL, "%s: too much contention on %s", op->name, name);
}

int cluster_kv_add(struct dbconn *c, struct op *op)
{
	bson_t *q =
	    BCON_NEW("owner", BCON_UTF8(op->args.kv.owner), "key", BCON_UTF8(op->args.kv.key));
	bson_oid_t oid;
	doc_id(op->args.kv.owner, op->args.kv.key, &oid);
	bson_t *doc = BCON_NEW("_id", BCON_OID(&oid), "owner", BCON_UTF8(op->args.kv.owner), "key",
	                       BCON_UTF8(op->args.kv.key), "value", BCON_UTF8(op->args.kv.value));
	int rc = mdb_insert_unique(c, op, KV, q, doc);
	bson_destroy(doc);
	if (rc == PARLEY_OK) {
		op->res.text = op_strdup(op, op->args.kv.value);
	} else if (rc == PARLEY_ECONFLICT) { /* there first: read what it holds */
		clear_error(op);
		bson_t *found = NULL;
		rc = mdb_find_one(c, op, KV, q, NULL, &found);
		if (rc == PARLEY_OK) {
			const char *v = mdb_str(op, found, "value");
			op->res.text = v ? v : op_strdup(op, "");
			bson_destroy(found);
		}
	}
	bson_destroy(q);
	if (rc == PARLEY_OK && !op->res.text)
		return op_fail(op, PARLEY_ENOMEM, "out of memory");
	return rc;
}

static bson_t *counter_key(struct op *op)
{
	return BCON_NEW("owner", BCON_UTF8(COUNTER_OWNER), "key", BCON_UTF8(op->args.counter.name));
}

/* A new window of count delta, over an expired one (expires = its end) or
 * none (expires < 0). 1 done, 0 lost the race, < 0 an error. */
static int counter_begin(struct dbconn *c, struct op *op, int64_t expires)
{
	int64_t end = op->args.counter.now_ms + op->args.counter.window_ms;
	const char *name = op->args.counter.name;
	int rc;
	if (expires < 0) {
		bson_t *q = counter_key(op);
		bson_oid_t oid;
		doc_id(COUNTER_OWNER, name, &oid);
		bson_t *doc =
		    BCON_NEW("_id", BCON_OID(&oid), "owner", BCON_UTF8(COUNTER_OWNER), "key",
		             BCON_UTF8(name), "count", BCON_INT64(op->args.counter.delta),
		             "expires_ts", BCON_INT64(end));
		rc = mdb_insert_unique(c, op, KV, q, doc);
		bson_destroy(q);
		bson_destroy(doc);
		if (rc == PARLEY_ECONFLICT) {
			clear_error(op);
			return 0;
		}
	} else {
		bson_t *q = BCON_NEW("owner", BCON_UTF8(COUNTER_OWNER), "key", BCON_UTF8(name),
		                     "expires_ts", BCON_INT64(expires));
		bson_t *u = BCON_NEW("$set", "{", "count", BCON_INT64(op->args.counter.delta),
		                     "expires_ts", BCON_INT64(end), "}");
		int64_t matched = 0;
		rc = mdb_update(c, op, KV, q, u, 0, 0, &matched);
		bson_destroy(q);
		bson_destroy(u);
		if (rc == PARLEY_OK && matched != 1)
			return 0;
	}
	if (rc < 0)
		return rc;
	op->res.value = op->args.counter.delta;
	return 1;
}

/* Adds to a live window that still ends at expires. 1, 0 or < 0 as above. */
static int counter_step(struct dbconn *c, struct op *op, int64_t expires)
{
	bson_t *q = BCON_NEW("owner", BCON_UTF8(COUNTER_OWNER), "key",
	                     BCON_UTF8(op->args.counter.name), "expires_ts", BCON_INT64(expires));
	bson_t *u = BCON_NEW("$inc", "{", "count", BCON_INT64(op->args.counter.delta), "}");
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, KV, q, u, 0, &doc);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_ENOTFOUND) { /* a new window replaced it meanwhile */
		clear_error(op);
		return 0;
	}
	if (rc < 0)
		return rc;
	op->res.value = mdb_int(doc, "count");
	bson_destroy(doc);
	return 1;
}

/* Expired counters of every name: an attacker's thousand names do not
 * stay once their windows end. */
static int counter_sweep(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("owner", BCON_UTF8(COUNTER_OWNER), "expires_ts", "{", "$lte",
	                     BCON_INT64(op->args.counter.now_ms), "}");
	int64_t n = 0;
	int rc = mdb_delete(c, op, KV, q, 1, &n);
	bson_destroy(q);
	return rc;
}

int cluster_counter_add(struct dbconn *c, struct op *op)
{
	bson_t *q = counter_key(op);
	int rc = PARLEY_OK;
	op->res.value = 0;
	if (op->args.counter.window_ms == 0) {
		int64_t n = 0;
		rc = mdb_delete(c, op, KV, q, 0, &n);
		bson_destroy(q);
		return rc;
	}
	for (int i = 0; i < CAS_ATTEMPTS; i++) {
		bson_t *doc = NULL;
		rc = mdb_find_one(c, op, KV, q, NULL, &doc);
		int64_t expires = -1, count = 0;
		if (rc == PARLEY_OK) {
			expires = mdb_int(doc, "expires_ts");
			count = mdb_int(doc, "count");
			bson_destroy(doc);
		} else if (rc == PARLEY_ENOTFOUND) {
			clear_error(op);
		} else {
			break;
		}
		int live = expires > op->args.counter.now_ms;
		if (op->args.counter.delta == 0) {
			op->res.value = live ? count : 0;
			rc = PARLEY_OK;
			break;
		}
		if (!live && expires >= 0 && (rc = counter_sweep(c, op)) < 0)
			break;
		if (!live && expires >= 0)
			expires = -1; /* the sweep removed it */
		rc = live ? counter_step(c, op, expires) : counter_begin(c, op, expires);
		if (rc != 0)
			break;
		rc = contention(op, op->args.counter.name);
	}
	bson_destroy(q);
	return rc < 0 ? rc : PARLEY_OK;
}

int cluster_lease(struct dbconn *c, struct op *op)
{
	const char *name = op->args.lease.name, *holder = op->args.lease.holder;
	int64_t now = op->args.lease.now_ms, end = now + op->args.lease.ttl_ms;
	if (op->args.lease.ttl_ms <= 0) {
		bson_t *q = BCON_NEW("owner", BCON_UTF8(LEASE_OWNER), "key", BCON_UTF8(name),
		                     "holder", BCON_UTF8(holder));
		int64_t n = 0;
		int rc = mdb_delete(c, op, KV, q, 0, &n);
		bson_destroy(q);
		return rc;
	}
	bson_t *q = BCON_NEW("owner", BCON_UTF8(LEASE_OWNER), "key", BCON_UTF8(name));
	int rc = PARLEY_ERR;
	for (int i = 0; i < CAS_ATTEMPTS; i++) {
		bson_t *doc = NULL;
		rc = mdb_find_one(c, op, KV, q, NULL, &doc);
		if (rc == PARLEY_ENOTFOUND) {
			clear_error(op);
			bson_oid_t oid;
			doc_id(LEASE_OWNER, name, &oid);
			bson_t *ins =
			    BCON_NEW("_id", BCON_OID(&oid), "owner", BCON_UTF8(LEASE_OWNER), "key",
			             BCON_UTF8(name), "holder", BCON_UTF8(holder), "expires_ts",
			             BCON_INT64(end));
			rc = mdb_insert_unique(c, op, KV, q, ins);
			bson_destroy(ins);
			if (rc == PARLEY_ECONFLICT) {
				clear_error(op);
				continue;
			}
			break;
		}
		if (rc < 0)
			break;
		const char *was = mdb_str(op, doc, "holder");
		int64_t expires = mdb_int(doc, "expires_ts");
		bson_destroy(doc);
		if (!was)
			was = "";
		if (strcmp(was, holder) != 0 && expires > now) {
			rc = op_fail(op, PARLEY_ECONFLICT, "lease %s: held by another", name);
			break;
		}
		bson_t *cas = BCON_NEW("owner", BCON_UTF8(LEASE_OWNER), "key", BCON_UTF8(name),
		                       "holder", BCON_UTF8(was), "expires_ts", BCON_INT64(expires));
		bson_t *u = BCON_NEW("$set", "{", "holder", BCON_UTF8(holder), "expires_ts",
		                     BCON_INT64(end), "}");
		int64_t matched = 0;
		rc = mdb_update(c, op, KV, cas, u, 0, 0, &matched);
		bson_destroy(cas);
		bson_destroy(u);
		if (rc < 0)
			break;
		if (matched == 1)
			break;
		rc = contention(op, name);
	}
	bson_destroy(q);
	if (rc == PARLEY_OK)
		op->res.value = end;
	return rc;
}
