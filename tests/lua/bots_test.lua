-- Bots' posts through the send path: another script's before_message can
-- reject them (the poster learns why), reactions, a second bot, keeping a
-- command's text, and moderation refused without the grant.
-- Run: parley test-script tests/lua/bots_test.lua
test.load("../../scripts/wordfilter.lua", { options = { patterns = {
  { pattern = "forbidden", plain = true, action = "reject", reason = "no such words" } } } })
test.load("poster.lua", { options = { greeting = "hi", list = { 1, 2 } } })
local alice = test.user("alice")

test.case("a bot's post another script rejects returns the reason", function()
  alice:say("/post this is forbidden")
  test.eq(test.one_post().text, "refused: no such words")
end)

test.case("an accepted post returns its id", function()
  alice:say("/post fine words")
  local posts = test.posts()
  test.eq(#posts, 2)
  test.eq(posts[1].text, "fine words")
  test.eq(posts[2].text, "posted " .. posts[1].id)
end)

test.case("from a timer as well", function()
  alice:say("/post-bg forbidden again")
  test.no_posts()
  test.advance(1)
  test.eq(test.one_post().text, "timer refused: no such words")
end)

test.case("a bot reacts", function()
  alice:say("/react 👍")
  local posts = test.posts()
  test.eq(posts[#posts].text, "reacted")
  local r = test.reactions()
  test.eq(#r, 1)
  test.eq(r[1].emoji, "👍")
  test.eq(r[1].bot, "poster")
end)

test.case("a bot replies in a thread (test.posts names it)", function()
  alice:say("/in-thread")
  local posts = test.posts()
  test.eq(#posts, 3)
  test.eq(posts[1].text, "thread root")
  test.eq(posts[1].thread, nil)
  test.eq(posts[2].text, "in the thread")
  test.eq(posts[2].thread, posts[1].id)
  test.eq(posts[3].text, "also in the room")
  test.eq(posts[3].thread, posts[1].id)
end)

test.case("a second bot of the script posts under its own name", function()
  alice:say("/as-other")
  test.eq(test.one_post().bot, "poster_two")
end)

test.case("cmd:keep stores the command line as the user's message", function()
  test.messages()
  local r = alice:say("/keep this line")
  test.ok(r.command)
  test.no_posts()
  local m = test.messages()
  test.eq(#m, 1)
  test.eq(m[1].user, "alice")
  test.eq(m[1].text, "/keep this line")
end)

test.case("moderation without the grant is an error", function()
  local bob = test.user("bob")
  alice:say("/kick bob")
  test.match(test.status("poster").last_error, "not granted moderation")
end)

test.case("users, rooms and members lookups", function()
  alice:say("/who alice")
  local text = test.one_post().text
  test.match(text, "^general public %d+ %[")
  test.match(text, "alice:member")
  test.match(text, "poster:member")
  test.match(text, " u_%d+/member$")
  alice:say("/who nobody-here")
  test.match(test.one_post().text, " nobody$")
end)

test.case("json round trip and errors", function()
  alice:say('/json {"a":[1,2,{"b":true}],"s":"x"}')
  local text = test.one_post().text
  test.match(text, '"a":%[1,2,{"b":true}%]')
  test.match(text, "| nil true | false$")
end)

test.case("parley.config is the entry's options", function()
  alice:say("/config")
  local text = test.one_post().text
  test.match(text, '"greeting":"hi"')
  test.match(text, '"list":%[1,2%]')
  test.match(text, " poster poster$")
end)
