-- The budgets that keep one script from stalling the server (issue 13,
-- item 12): pattern matching is counted against the instruction budget,
-- a script's time across all its handlers and timers against cpu_ms per
-- cpu_window, its timers against max_timers and its kv space against
-- kv_max_keys and kv_max_bytes. Run:
-- parley test-script tests/lua/hostile_limits_test.lua
local alice = test.user("alice")

local function ping(name)
  alice:say("/ping")
  test.eq(test.one_post().text, "pong", name .. " still answers")
end

test.case("a pathological pattern is stopped by the instruction budget", function()
  test.load("hostile_limits.lua", { name = "limits", max_failures = 100 })
  for _, cmd in ipairs{ "find", "gsub", "gmatch", "find-pcall" } do
    local before = test.status("limits").failures
    local t0 = os.clock()
    alice:say("/" .. cmd)
    local ms = (os.clock() - t0) * 1000
    local st = test.status("limits")
    test.eq(st.failures, before + 1, cmd .. ": one failure counted")
    test.match(st.last_error, "^command: hostile_limits%.lua:%d+: instruction budget exceeded")
    test.eq(#test.posts(), 0, cmd .. " never returned")
    -- Lua's own matcher: 9 s for ("a*"):rep(3) on 400 bytes, minutes for more
    test.ok(ms < 1000, cmd .. " stopped after " .. math.floor(ms) .. " ms")
    print(string.format("# /%s stopped after %d ms", cmd, math.floor(ms)))
    ping("patterns")
  end
end)

test.case("timers that each stay in budget are stopped by the CPU budget", function()
  test.load("hostile_limits.lua", { name = "limits", cpu_ms = 200, cpu_window = 60,
                                    max_timers = 1000, max_failures = 100 })
  alice:say("/burn 1000")
  test.eq(test.one_post().text, "timers set")
  test.eq(test.status("limits").timers, 1000)
  local t0 = os.clock()
  test.advance(2) -- every timer is due
  local ms = (os.clock() - t0) * 1000
  local st = test.status("limits")
  print(string.format("# 1000 burning timers: stopped after %d ms, %.0f ms charged",
                      math.floor(ms), st.cpu_seconds_total * 1000))
  test.eq(st.status, "disabled", "switched off")
  test.match(st.disabled_reason, "^CPU budget exceeded: %d+ ms of the loop's time within 60 s")
  test.eq(st.timers, 0, "its timers are stopped")
  test.ok(st.cpu_seconds_total < 1, "charged " .. st.cpu_seconds_total .. " s")
  test.ok(ms < 3000, "the loop was held " .. math.floor(ms) .. " ms")
  alice:say("/ping")
  test.eq(#test.posts(), 0, "a disabled script does not answer")
end)

test.case("a script within its CPU budget keeps running", function()
  test.load("hostile_limits.lua", { name = "limits", cpu_ms = 5000, cpu_window = 60 })
  alice:say("/burn 3")
  test.one_post()
  test.advance(2)
  local st = test.status("limits")
  test.eq(st.status, "running")
  test.ok(st.cpu_ms_used > 0 and st.cpu_ms_used < 5000, "used " .. st.cpu_ms_used .. " ms")
  test.eq(st.cpu_ms, 5000)
  test.eq(st.cpu_window, 60)
  ping("modest")
end)

test.case("max_timers caps the live timers of a script", function()
  test.load("hostile_limits.lua", { name = "limits", max_timers = 5 })
  alice:say("/timers 10")
  test.match(test.one_post().text, "^5 timers; .*too many timers %(max_timers = 5%)")
  test.eq(test.status("limits").timers, 5)
  test.advance(61) -- they fire and are gone: room for new ones
  alice:say("/timers 3")
  test.match(test.one_post().text, "^3 timers; nil")
end)

test.case("kv_max_keys caps the keys of a script's kv space", function()
  test.load("hostile_limits.lua", { name = "limits", kv_max_keys = 5 })
  alice:say("/kv-keys 50")
  test.match(test.one_post().text, "^5 keys; the kv space is full: at most 5 keys %(kv_max_keys%)")
  test.eq(test.kv("limits", "k5"), "0123456789")
  test.eq(test.kv("limits", "k6"), nil, "the sixth key was not written")
  alice:say("/kv-keys 5") -- the same five keys again: overwrites fit
  test.eq(test.one_post().text, "5 keys")
  alice:say("/kv-incr counter")
  test.match(test.one_post().text, "^refused: the kv space is full")
  alice:say("/kv-delete k1")
  test.eq(test.one_post().text, "true")
  alice:say("/kv-incr counter") -- a delete makes room
  test.eq(test.one_post().text, "value 1")
end)

test.case("kv_max_bytes caps the bytes of a script's kv space", function()
  test.load("hostile_limits.lua", { name = "limits", kv_max_keys = 1000, kv_max_bytes = "4K" })
  alice:say("/kv-big 5000")
  test.match(test.one_post().text, "^refused: the kv space is full: at most 4096 bytes")
  test.eq(test.kv("limits", "big"), nil)
  alice:say("/kv-big 3000")
  test.eq(test.one_post().text, "stored")
  alice:say("/kv-big 3900") -- replacing a value counts the new one, not both
  test.eq(test.one_post().text, "stored")
  alice:say("/kv-keys 100") -- what is left of 4096 bytes after the big value
  test.match(test.one_post().text, "^%d+ keys; the kv space is full: at most 4096 bytes")
end)
