-- Switching off: max_failures (5) failures within failure_window (60 s)
-- switch a script off; fewer, or the same spread over a longer time, do
-- not. Also the wall-clock budget of before_message on its own.
-- Run: parley test-script tests/lua/failures_test.lua
test.load("hostile.lua", { name = "spread", instructions = 100000 })
local alice = test.user("alice")

local function ping(name)
  alice:say("/ping")
  local p = test.posts()
  return #p == 1 and p[1].text == "pong" and p[1].bot == name
end

test.case("four failures within a minute: still running", function()
  for i = 1, 4 do alice:say("/spin") end
  test.eq(test.status("spread").disabled, false)
  test.ok(ping("spread"), "it still answers")
end)

test.case("failures spread over more than the window do not add up", function()
  test.advance(61)
  alice:say("/spin")
  test.eq(test.status("spread").failures, 5)
  test.eq(test.status("spread").disabled, false)
end)

test.case("five within the window switch it off", function()
  for i = 1, 4 do alice:say("/spin") end
  local st = test.status("spread")
  test.eq(st.disabled, true)
  test.ok(not ping("spread"), "a switched-off script does not answer")
  -- its commands are swallowed quietly, other messages pass
  test.ok(alice:say("hello").ok)
end)

test.case("a reload switches it on again", function()
  test.load("hostile.lua", { name = "spread", instructions = 100000 })
  test.eq(test.status("spread").disabled, false)
  test.ok(ping("spread"))
end)

test.case("the wall-clock budget stops a slow before_message handler", function()
  test.load("slow_filter.lua", { name = "slow", instructions = 1000000000,
                                 before_message_ms = 5 })
  local r = alice:say("slow")
  test.ok(r.ok, "the message passes")
  test.match(test.status("slow").last_error, "^before_message: slow_filter%.lua:3: wall%-clock budget exceeded %(5 ms")
end)
