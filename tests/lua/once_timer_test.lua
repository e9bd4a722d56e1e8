-- parley.timer with {once = key}: one node of a cluster runs it (a store
-- lease per key); alone, and under test-script's fake clock, it is a plain
-- one-shot timer. The cross-node case is tests/integration/
-- test_cluster_limits.py (a reminder fires once with three nodes).
test.load("once_timer.lua")
local alice = test.user("alice")

test.case("a keyed one-shot runs once when due", function()
  alice:say("/later tea")
  test.eq(test.one_post().text, "scheduled")
  test.advance(4)
  test.no_posts()
  test.advance(1)
  test.eq(test.one_post().text, "later: tea")
  test.advance(10)
  test.no_posts()
end)

test.case("a keyed one-shot can be cancelled", function()
  alice:say("/later coffee")
  test.one_post()
  alice:say("/never coffee")
  test.eq(test.one_post().text, "true")
  test.advance(10)
  test.no_posts()
end)

test.case("a bad key is refused with the reason", function()
  alice:say("/badonce empty")
  test.match(test.one_post().text, "once must be a key of 1 to 100 bytes")
  alice:say("/badonce long")
  test.match(test.one_post().text, "once must be a key of 1 to 100 bytes")
  alice:say("/badonce notable")
  test.match(test.one_post().text, "table expected")
end)
