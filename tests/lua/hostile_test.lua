-- Hostile scripts are contained: each misbehaviour is stopped with an
-- error naming the script and line, counted, and the script (and the
-- server) keeps answering. Run: parley test-script tests/lua/hostile_test.lua
test.load("hostile.lua", { max_failures = 100, instructions = 200000, memory = "4M",
                           http_allow = { "api.example.org" } })
local alice = test.user("alice")

local function failures() return test.status("hostile").failures end

local function still_alive()
  alice:say("/ping")
  test.eq(test.one_post().text, "pong", "the script still answers")
end

local function fails_with(action, pattern)
  local before = failures()
  action()
  local st = test.status("hostile")
  test.eq(st.failures, before + 1, "one failure counted")
  test.match(st.last_error, pattern)
  still_alive()
end

test.case("an infinite loop in before_message is stopped and the message passes", function()
  local r
  fails_with(function() r = alice:say("loop-before") end,
             "hostile%.lua:%d+: .*budget exceeded")
  test.ok(r.ok, "a failing filter lets the message through")
end)

test.case("an infinite loop in a message handler names script and line", function()
  fails_with(function() alice:say("loop-message") end,
             "^message: hostile%.lua:%d+: instruction budget exceeded")
end)

test.case("an infinite loop in a command", function()
  fails_with(function() alice:say("/spin") end, "command: hostile%.lua:%d+: instruction budget")
end)

test.case("catching the budget error with pcall does not help", function()
  fails_with(function() alice:say("/spin-pcall") end, "budget exceeded")
end)

test.case("nor does a coroutine of the script's own", function()
  fails_with(function() alice:say("/spin-coroutine") end, "budget exceeded")
end)

test.case("an infinite loop in a join handler", function()
  test.room("trap")
  fails_with(function() alice:join("trap") end, "^join: hostile%.lua:%d+:")
end)

test.case("infinite loops in leave, reaction and user_created handlers", function()
  fails_with(function() alice:leave("trap") end, "^leave: hostile%.lua:%d+:")
  local r = alice:say("react to this")
  fails_with(function() alice:react(r.id, "🔁") end, "^reaction: hostile%.lua:%d+:")
  fails_with(function() test.user("looper") end, "^user_created: hostile%.lua:%d+:")
end)

test.case("an infinite loop after an HTTP response and after a sleep", function()
  test.http("http://api.example.org/", { status = 200, body = "{}" })
  fails_with(function() alice:say("/spin-after-http") end, "^command: hostile%.lua:%d+: instruction")
  alice:say("/spin-after-sleep")
  fails_with(function() test.advance(5) end, "^command: hostile%.lua:%d+: instruction")
end)

test.case("an infinite loop in a timer", function()
  alice:say("/spin-timer")
  test.eq(test.one_post().text, "timer set")
  fails_with(function() test.advance(1) end, "^timer: hostile%.lua:%d+: instruction budget")
end)

test.case("errors thrown in handlers, timers and after HTTP", function()
  fails_with(function() alice:say("error-before") end, "thrown in before_message")
  fails_with(function() alice:say("error-message") end, "thrown in message")
  alice:say("/error-timer")
  test.one_post()
  fails_with(function() test.advance(1) end, "thrown in a timer")
  test.http("http://api.example.org/", { status = 200, body = "{}" })
  fails_with(function() alice:say("/error-http") end, "thrown after http: 200")
end)

test.case("unbounded memory growth hits the memory cap", function()
  fails_with(function() alice:say("/hoard") end, "not enough memory")
  alice:say("/hoard-release")
  test.eq(test.one_post().text, "released")
end)

test.case("string.rep with a huge count", function()
  fails_with(function() alice:say("/rep") end, "")
  fails_with(function() alice:say("/rep-sep") end, "")
  fails_with(function() alice:say("/concat") end, "")
end)

test.case("deep recursion", function()
  -- whichever comes first: Lua's stack limit or the memory cap
  fails_with(function() alice:say("/recurse") end, "^command: ")
  local err = test.status("hostile").last_error
  test.ok(err:find("stack overflow") or err:find("not enough memory"), err)
end)

test.case("yielding in before_message is an error", function()
  fails_with(function() alice:say("sleep-before") end, "before_message handlers may not wait")
  fails_with(function() alice:say("yield-before") end, "before_message handlers may not yield")
end)

test.case("waiting inside a coroutine of the script's own is refused", function()
  alice:say("/bad-coroutine-sleep")
  test.match(test.one_post().text, "^refused: .*may only be called in a handler")
end)

test.case("io, os.execute, debug, package, string.dump, bytecode, host metatables", function()
  alice:say("/probe")
  test.eq(test.one_post().text, "escapes: none")
end)

test.case("HTTP to a host off the allow-list is refused", function()
  alice:say("/fetch http://evil.example.com/steal")
  test.match(test.one_post().text, "^refused: .*not on this script's http_allow list")
  alice:say("/fetch file:///etc/passwd")
  test.match(test.one_post().text, "^refused: http.request: ")
  alice:say("/fetch gopher://api.example.org/")
  test.match(test.one_post().text, "^refused: .*only http and https")
  test.http("http://api.example.org/", { status = 200, body = "fine" })
  alice:say("/fetch http://api.example.org/ok")
  test.eq(test.one_post().text, "status 200: fine")
end)

test.case("a flood of posts from one handler is cut", function()
  local before = failures()
  alice:say("/flood")
  test.eq(#test.posts(), 20, "20 posts, then the handler is stopped")
  test.eq(failures(), before + 1)
  test.match(test.status("hostile").last_error, "more than 20 posts")
end)

test.case("log flooding is cut at 100 lines per call", function()
  local before = failures()
  alice:say("/chatter") -- 5,000 log lines asked for
  test.eq(test.one_post().text, "said a lot")
  test.eq(failures(), before, "not a failure: the lines are dropped")
end)

test.case("other users are still served", function()
  local bob = test.user("bob")
  local r = bob:say("hello")
  test.ok(r.ok and r.id)
end)
