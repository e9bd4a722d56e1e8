/* A string-keyed hash map (open addressing, linear probing) for the loop
 * thread's indexes: users by id and by name, rooms by id and by name,
 * members by user id. Keys are borrowed: they must outlive their entry
 * (they are the records' own strings). */
#ifndef PARLEY_STRMAP_H
#define PARLEY_STRMAP_H

#include <stddef.h>

typedef struct strmap {
	struct strmap_slot *slots;
	size_t cap;   /* power of two, or 0 */
	size_t count; /* live entries */
	size_t used;  /* live + tombstones */
	int nocase;   /* ASCII case-insensitive keys */
} strmap;

void strmap_init(strmap *m, int nocase);
void strmap_free(strmap *m); /* frees the table, not keys or values */
void *strmap_get(const strmap *m, const char *key);
/* Inserts or replaces; 0, or -1 on allocation failure. */
int strmap_put(strmap *m, const char *key, void *value);
/* Removes; returns the value or NULL. */
void *strmap_del(strmap *m, const char *key);
/* Iteration: *pos starts at 0; returns the next value or NULL at the end. */
void *strmap_next(const strmap *m, size_t *pos, const char **key);

#endif
