/* Sign-in flows in the host's store (oidc_store.c), so that any node of a
 * cluster can finish a flow any node began. */
#ifndef AUTH_JWT_OIDC_STORE_H
#define AUTH_JWT_OIDC_STORE_H

#include "oidc.h"

/* rc is PARLEY_OK (flow set when the call gives one), or an error with
 * msg for the log. */
typedef void (*oidc_store_done)(void *ud, int rc, const struct oidc_flow *flow, const char *msg);

/* 1 when the host's store can keep flows for the cluster (kv_get,
 * kv_delete and kv_put_capped); 0: flows stay in this node's memory. */
int oidc_store_used(struct aj *aj);
/* Writes flow under its state. done gets OK, ERATELIMIT when the store
 * holds as many flows as it may, or the store's error. Returns PENDING,
 * or an error (done is not called then). */
int oidc_store_put(struct aj *aj, const struct oidc_flow *flow, oidc_store_done done, void *ud);
/* Spends the flow of state, once in the whole cluster: done gets OK with
 * the flow only for the caller whose delete removed it, ENOTFOUND when it
 * is absent, spent by another, or unreadable. local is this node's copy
 * (then only the delete is needed), or NULL (read first). Returns
 * PENDING, or an error (done is not called then). */
int oidc_store_take(struct aj *aj, const char *state, const struct oidc_flow *local,
                    oidc_store_done done, void *ud);
/* Removes state's copy, whatever the answer (a flow that expired here). */
void oidc_store_forget(struct aj *aj, const char *state);

#endif
