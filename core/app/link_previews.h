/* Link previews (issue 19): for each message stored with http(s) links, the
 * server fetches the head of each linked page through the shared curl multi
 * and sends {"type":"message_preview","room","id","previews":[…]} to the
 * room's online members. Off unless link_previews.enabled.
 *
 * Limits: link_previews.timeout for a page (redirects included),
 * max_redirects, max_bytes of body, only text/html and
 * application/xhtml+xml bodies, http and https only, no proxy. Addresses:
 * every socket curl opens (first request, each redirect, each address of a
 * name) is checked in CURLOPT_OPENSOCKETFUNCTION against the address it is
 * about to connect to, so a name that resolves (or re-resolves: DNS
 * rebinding) to a private, loopback, link-local, multicast or reserved
 * address is refused unless link_previews.allow lists its range.
 *
 * Pages are cached by URL (link_previews.cache_size entries, cache_ttl
 * seconds; failures for a minute), and fetches in flight are capped. */
#ifndef PARLEY_LINK_PREVIEWS_H
#define PARLEY_LINK_PREVIEWS_H

#include <stddef.h>

struct config;

/* Starts listening to stored messages when cfg enables previews. */
void link_previews_start(const struct config *cfg);
/* Cancels every fetch in flight and forgets the cache (before chat goes). */
void link_previews_stop(void);

/* 1 when the address (text form) may not be fetched under the allow list. */
int link_previews_address_blocked(const char *addr, char *const *allow, size_t n_allow);

#endif
