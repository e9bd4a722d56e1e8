-- Tests for poll.lua: parley test-script scripts/poll_test.lua
test.load("poll.lua")
local alice, bob, carol = test.user("alice"), test.user("bob"), test.user("carol")
test.posts()
local poll_id

test.case("a poll is posted with one reaction per option", function()
  alice:say('/poll "Lunch today?" pizza sushi "ice cream"')
  local post = test.one_post()
  test.eq(post.text, "📊 Lunch today?\n1️⃣ pizza\n2️⃣ sushi\n3️⃣ ice cream\nReact to vote.")
  poll_id = post.id
  local reactions = test.reactions()
  test.eq(#reactions, 3)
  test.eq(reactions[1].emoji, "1️⃣")
  test.eq(reactions[3].emoji, "3️⃣")
  test.eq(reactions[1].id, poll_id)
end)

test.case("reactions are votes; the last one counts", function()
  alice:react(poll_id, "1️⃣")
  bob:react(poll_id, "2️⃣")
  carol:react(poll_id, "2️⃣")
  carol:react(poll_id, "3️⃣")
  bob:react(poll_id, "👍") -- not an option
  alice:say("/poll results")
  test.eq(test.one_post().text, "📊 Lunch today?\n1️⃣ pizza: 1\n2️⃣ sushi: 1\n3️⃣ ice cream: 1")
end)

test.case("taking a reaction back takes the vote back", function()
  alice:react(poll_id, "1️⃣", "general", false)
  alice:say("/poll results")
  test.match(test.one_post().text, "1️⃣ pizza: 0")
end)

test.case("the poll is kept in kv", function()
  local stored = test.kv("poll", "poll:" .. poll_id)
  test.eq(stored.question, "Lunch today?")
  test.eq(#stored.options, 3)
end)

test.case("closing gives the final counts", function()
  alice:say("/poll close")
  test.match(test.one_post().text, "%(closed%)$")
  alice:say("/poll results")
  test.eq(test.one_post().text, "no open poll in this room")
end)

test.case("too few options: usage", function()
  alice:say('/poll "Only one?" yes')
  test.match(test.one_post().text, "^usage")
end)
