-- Tests for welcome.lua: parley test-script scripts/welcome_test.lua
test.load("welcome.lua", { rooms = { "general", "lobby" },
                           options = { text = "Hi {name}, welcome to #{room}!" } })

test.case("a new account joining general is greeted there", function()
  test.user("alice")
  local post = test.one_post()
  test.eq(post.text, "Hi alice, welcome to #general!")
  test.eq(post.room, "general")
  test.eq(post.bot, "welcome")
end)

test.case("joining another listed room", function()
  test.room("lobby")
  local bob = test.user("bob")
  test.posts()
  bob:join("lobby")
  test.eq(test.one_post().text, "Hi bob, welcome to #lobby!")
end)

test.case("rooms not on the list are left alone", function()
  test.room("random")
  local carol = test.user("carol")
  test.posts()
  carol:join("random")
  test.no_posts()
end)

test.case("bots are not greeted", function()
  test.user("helper", "bot")
  test.no_posts()
end)
