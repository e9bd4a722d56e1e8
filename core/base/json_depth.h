/* The nesting limit of untrusted JSON (WebSocket frames, HTTP bodies): one
 * check for every parser that hands a client's document on, so a deeply
 * nested value costs one error instead of deep recursion later. */
#ifndef PARLEY_JSON_DEPTH_H
#define PARLEY_JSON_DEPTH_H

#include <jansson.h>

/* 1 when no value in j lies more than max_depth levels below j (j itself
 * is level 0; a member of an object j is level 1); 0 otherwise. Stops at
 * the first value too deep. */
int json_depth_ok(const json_t *j, int max_depth);

#endif
