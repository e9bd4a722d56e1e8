-- Tests for antiflood.lua: parley test-script scripts/antiflood_test.lua
test.load("antiflood.lua", { moderation = true,
                             options = { max_messages = 3, per_seconds = 10 } })
local alice = test.user("alice")
local bob = test.user("bob")

local function burst(user, n)
  local last
  for i = 1, n do last = user:say("message " .. i) end
  return last
end

test.case("within the limit everything passes", function()
  local r = burst(alice, 3)
  test.ok(r.ok)
  test.advance(11)
end)

test.case("the first offence is a warning", function()
  local r = burst(alice, 4)
  test.eq(r.ok, false)
  test.eq(r.code, "forbidden")
  test.match(r.error, "^slow down")
  test.no_posts()
  test.advance(11)
  test.ok(alice:say("calm again").ok)
  test.advance(11)
end)

test.case("the second offence mutes for a minute, announced in the room", function()
  local r = burst(alice, 4)
  test.match(r.error, "muted for 1 min")
  test.eq(test.one_post().text, "alice is muted for 1 min for flooding.")
  local again = alice:say("let me speak")
  test.eq(again.code, "forbidden")
  test.match(again.error, "you are muted in this room until 2026%-01%-01T")
  test.ok(bob:say("others still speak").ok)
  test.advance(61)
  test.ok(alice:say("back").ok, "the mute ends")
  test.advance(11)
end)

test.case("the third offence mutes for ten minutes", function()
  local r = burst(alice, 4)
  test.match(r.error, "muted for 10 min")
  test.one_post()
  test.advance(300)
  test.eq(alice:say("still muted?").ok, false)
  test.advance(301)
  test.ok(alice:say("free").ok)
end)

test.case("offences are forgiven after an hour", function()
  test.advance(3601)
  local r = burst(alice, 4)
  test.match(r.error, "^slow down")
end)
