/* Unread mentions at start (the vtable's mentions_unread): one read on
 * the reader pool that counts, for every membership, the messages after
 * its read mark that mention it. */
#ifndef STORE_SQLITE_MENTIONS_H
#define STORE_SQLITE_MENTIONS_H

#include <parley/plugin.h>

/* The vtable's mentions_unread (loop thread). Result text: a JSON array
 * of {"room","user","mentions","seq"}. */
int mentions_unread_call(void *self, parley_store_done done, void *ud);

#endif
