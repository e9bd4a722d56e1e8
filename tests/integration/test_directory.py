"""The people directory (issue 18): `users` with a query, paging with
`after`/`limit`/`more`, only accounts the asker may see: no disabled
accounts; a bot token with a room list sees the people of its rooms."""

from parley_client import Client, run
from test_access import call


def names(frame):
    return [u["name"] for u in frame["users"]]


def test_directory_query_paging_and_disabled(server):
    admin = server.user("root", role="admin")
    tok = server.people("bob", "Bobby", "carol", "dave")
    # Added from the command line while the server runs: found all the same.
    users = {u["name"]: u["id"] for u in call(server, "GET", "/api/admin/users", admin)[1]["users"]}
    assert call(server, "POST", f"/api/admin/users/{users['dave']}/disable", admin)[0] == 200

    async def body():
        async with Client(server, tok["carol"]) as c:
            r = await c.request("users", query="bo")
            assert r["type"] == "users" and names(r) == ["bob", "Bobby"], r
            assert r["more"] is False
            assert {u["presence"] for u in r["users"]} == {"offline"}
            assert set(r["users"][0]) >= {"id", "name", "display_name", "role", "presence"}
            assert (await c.request("users", query="@BO"))["users"] == r["users"]
            page = await c.request("users", query="bo", limit=1)
            assert names(page) == ["bob"] and page["more"] is True, page
            page = await c.request("users", query="bo", limit=1, after="bob")
            assert names(page) == ["Bobby"] and page["more"] is False, page
            everyone = await c.request("users", limit=100)
            assert names(everyone) == ["bob", "Bobby", "carol", "root"], everyone
            async with Client(server, tok["bob"]):
                r = await c.request("users", query="bob")
                assert {u["name"]: u["presence"] for u in r["users"]}["bob"] == "online"
            # Bobby, added from the command line and listed above before he
            # ever connected, still gets his rooms' messages when he does.
            async with Client(server, tok["Bobby"]) as bb:
                g = c.room_id("general")
                await c.send_text(g, "hi Bobby")
                m = await bb.next_event("message")
                assert m["text"] == "hi Bobby", m
            for bad in ({"limit": 0}, {"limit": 101}, {"query": "x" * 65}, {"query": 3},
                        {"after": 1}):
                r = await c.request("users", **bad)
                assert r["type"] == "error" and r["code"] == "bad_request", (bad, r)

    run(body())


def test_a_room_limited_bot_token_sees_its_rooms_people(server):
    admin = server.user("root", role="admin")
    tok = server.people("alice", "bob")
    st, out, _ = call(server, "POST", "/api/admin/bots", admin, {"name": "ci-bot"})
    bot_id = out["user"]["id"]

    async def make_room():
        async with Client(server, admin) as c:
            r = await c.request("create_room", name="ops", kind="private")
            assert r["type"] == "room", r
            rid = r["room"]["id"]
            users = {u["name"]: u["id"]
                     for u in call(server, "GET", "/api/admin/users", admin)[1]["users"]}
            # Picked from the directory, as the web client's "Add someone"
            # does (alice was added from the command line: the running
            # server learns her there).
            assert names(await c.request("users", query="alice")) == ["alice"]
            for uid in (bot_id, users["alice"]):
                r = await c.request("invite", room=rid, user=uid)
                assert r["type"] == "ok", r
            return rid
    ops = run(make_room())
    st, out, _ = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                      {"scopes": ["read"], "rooms": [ops]})
    assert st == 201, out

    async def body():
        async with Client(server, out["token"]) as c:
            r = await c.request("users")
            assert names(r) == ["alice", "ci-bot", "root"], r  # not bob
            # Profile events likewise: alice's reach the bot, bob's do not.
            assert call(server, "PATCH", "/api/profile", tok["bob"],
                        {"display_name": "Bob Hidden"})[0] == 200
            assert call(server, "PATCH", "/api/profile", tok["alice"],
                        {"display_name": "Alice Seen"})[0] == 200
            ev = await c.next_event("profile")
            assert ev["profile"]["name"] == "alice", ev
            assert c.queued("profile") == [], c.queued("profile")

    run(body())
