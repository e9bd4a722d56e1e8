/* Unread mentions at start (the vtable's mentions_unread): every
 * membership with messages after its read mark that mention it. */
#ifndef STORE_MONGO_MENTIONS_H
#define STORE_MONGO_MENTIONS_H

#include <parley/plugin.h>

/* The vtable's mentions_unread (loop thread). Result text: a JSON array
 * of {"room","user","mentions","seq"}, as store_sqlite's. */
int mentions_call_unread(void *self, parley_store_done done, void *ud);

#endif
