-- Tests for echo_http.lua: parley test-script scripts/echo_http_test.lua
-- HTTP answers come from test.http stubs: no network.
test.load("echo_http.lua", { http_allow = { "api.example.org" },
                             options = { url = "https://api.example.org/v1/echo" } })
local alice = test.user("alice")

test.case("the API's reply is posted", function()
  test.http("https://api.example.org/v1/echo", { status = 200, body = '{"reply":"42"}' })
  alice:say("/ask the answer?")
  local post = test.one_post()
  test.eq(post.text, "42")
  test.eq(post.bot, "echo_http")
end)

test.case("a plain-text answer is posted as it is", function()
  test.http("https://api.example.org/v1/echo", { status = 200, body = "plain words" })
  alice:say("/ask hi")
  test.eq(test.one_post().text, "plain words")
end)

test.case("an error status is reported", function()
  test.http("https://api.example.org/v1/echo", { status = 503, body = "" })
  alice:say("/ask hi")
  test.eq(test.one_post().text, "the service answered 503")
end)

test.case("a host off the allow-list is refused", function()
  test.load("echo_http.lua", { name = "echo_evil", http_allow = { "api.example.org" },
                               options = { url = "https://evil.example.com/", command = "evil" } })
  alice:say("/evil hi")
  test.match(test.one_post().text, "not on this script's http_allow list")
end)

test.case("no question: usage", function()
  alice:say("/ask")
  test.match(test.one_post().text, "^usage")
end)
