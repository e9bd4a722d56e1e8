-- Tests for wordfilter.lua: parley test-script scripts/wordfilter_test.lua
test.room("moderators")
test.load("wordfilter.lua", { options = { patterns = {
  { pattern = "buy cheap", plain = true, action = "reject", reason = "no advertising" },
  { pattern = "%f[%w]darn%f[%W]", action = "mask" },
  { pattern = "password", action = "warn" },
} } })
local alice = test.user("alice")

test.case("a rejected pattern: forbidden with the reason", function()
  local r = alice:say("BUY CHEAP watches")
  test.eq(r.ok, false)
  test.eq(r.code, "forbidden")
  test.eq(r.error, "no advertising")
end)

test.case("a masked word is starred, the message posted", function()
  local r = alice:say("Darn it, darn")
  test.ok(r.ok)
  test.eq(r.text, "**** it, ****")
end)

test.case("words that merely contain it are left alone", function()
  test.eq(alice:say("darned socks").text, "darned socks")
end)

test.case("a warned pattern passes and the moderators hear of it", function()
  local r = alice:say("my password is hunter2")
  test.eq(r.text, "my password is hunter2")
  local post = test.one_post()
  test.eq(post.room, "moderators")
  test.eq(post.text, "⚠ alice wrote in #general: my password is hunter2")
end)

test.case("clean messages are untouched", function()
  test.eq(alice:say("hello").text, "hello")
  test.no_posts()
end)
