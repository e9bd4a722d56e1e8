/* Every contract case, listed in contract_main.c. */
#ifndef PARLEY_STORE_CONTRACT_CASES_H
#define PARLEY_STORE_CONTRACT_CASES_H

void test_vtable(void **state);
void test_restart(void **state);
void test_several_nodes(void **state);

void test_append_fields(void **state);
void test_append_dedup(void **state);
void test_seq_dense_per_room(void **state);
void test_tombstone(void **state);
void test_history_paging(void **state);
void test_get_edit(void **state);
void test_react(void **state);
void test_concurrent_appends(void **state);
void test_dedup_in_flight(void **state);
void test_failed_appends_leave_no_hole(void **state);
void test_foreign_ids(void **state);

void test_rooms(void **state);
void test_dm_room(void **state);
void test_group_dm_room(void **state);
void test_members(void **state);
void test_names_fold_ascii_only(void **state);

void test_users(void **state);
void test_user_by_email(void **state);
void test_sessions(void **state);
void test_sessions_scoped(void **state);
void test_invites(void **state);
void test_invites_admin(void **state);
void test_tokens(void **state);
void test_lookup_needs_a_key(void **state);

void test_audit(void **state);
void test_settings(void **state);
void test_kv(void **state);
void test_kv_capped(void **state);
void test_token_peek(void **state);
void test_uploads(void **state);
void test_snapshot(void **state);
void test_records_copy(void **state);
void test_records_every_kind(void **state);

void test_prune(void **state);
void test_lease(void **state);
void test_room_retention(void **state);
void test_edits_history(void **state);
void test_uploads_expire(void **state);

void test_pins(void **state);
void test_notify_levels(void **state);
void test_mentions_unread(void **state);
void test_pins_expired(void **state);

void test_threads_replies(void **state);
void test_threads_history(void **state);
void test_threads_follow_and_list(void **state);
void test_threads_keep_their_place(void **state);
void test_room_rename(void **state);
void test_room_settings(void **state);
void test_room_delete(void **state);
void test_room_delete_many(void **state);
void test_room_delete_leaves_nothing(void **state);

void test_search_terms(void **state);
void test_search_filters(void **state);
void test_search_tombstones_and_edits(void **state);
void test_search_expired(void **state);
void test_search_order_and_paging(void **state);
void test_search_recent_ties_and_history(void **state);
void test_search_refused(void **state);

void test_kv_add(void **state);
void test_counter_window(void **state);
void test_cluster_racers(void **state);
void test_calls_pending(void **state);

#endif
