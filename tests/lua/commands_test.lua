-- Commands and the built-ins (issue 18): an ephemeral reply reaches only
-- the person who ran the command and is never stored; a script cannot take
-- a built-in command's name.
-- Run: parley test-script tests/lua/commands_test.lua
test.load("whisper.lua")
local alice = test.user("alice")
local bob = test.user("bob")

test.case("an ephemeral reply is a notice to that person, not a post", function()
  local r = alice:say("/whisper psst")
  test.ok(r.ok and r.command)
  test.no_posts()
  local n = test.notices()
  test.eq(#n, 1)
  test.eq(n[1].user, "alice")
  test.eq(n[1].room, "general")
  test.eq(n[1].text, "only you see: psst")
  -- Nothing of it was stored.
  test.eq(#test.messages(), 0)
end)

test.case("a plain reply is a post everyone sees, and no notice", function()
  bob:say("/shout hello")
  test.eq(test.one_post().text, "everyone sees: hello")
  test.eq(#test.notices(), 0)
end)

test.case("an ephemeral answer is only for commands", function()
  alice:say("try ephemeral here")
  test.match(test.one_post().text, "^refused: .*ephemeral answers are for commands")
end)

test.case("a script registering a built-in name fails to load, saying so", function()
  local ok, err = pcall(test.load, "helpful.lua")
  test.ok(not ok)
  test.match(tostring(err), "/me is a built%-in command")
end)
