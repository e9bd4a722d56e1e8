"""Group DMs, @here/@room/@all and per-room notification levels (issue 15),
each with its permission rules, against the real server."""

import pytest

from parley_client import Client, run

NAMES = ("alice", "bob", "carol", "dave")


@pytest.fixture
def tok(server):
    return server.people(*NAMES)


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code


# -- group DMs ----------------------------------------------------------------

def test_group_dm_is_idempotent_and_titled_by_people(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c, Client(server, tok["dave"]) as d:
            ids = {n: x.user["id"] for n, x in zip(NAMES, (a, b, c, d))}
            r = await a.request("dm", users=[ids["bob"], "carol"])  # by id or name
            assert r["type"] == "room", r
            room = r["room"]
            assert room["kind"] == "dm"
            assert sorted(u["name"] for u in room["users"]) == ["bob", "carol"]
            assert all(u["id"] == ids[u["name"]] for u in room["users"]), room["users"]
            assert room["role"] == "member", room  # a DM has no owner
            assert room["name"] == ", ".join(u["name"] for u in room["users"])
            ev = await b.next_event("room_updated", where=lambda e: e["room"]["id"] == room["id"])
            assert sorted(u["name"] for u in ev["room"]["users"]) == ["alice", "carol"]
            await c.next_event("room_updated", where=lambda e: e["room"]["id"] == room["id"])

            # The same set, in any order and from anyone of it: the same room.
            again = await c.request("dm", users=[ids["bob"], ids["alice"], ids["carol"]])
            assert again["room"]["id"] == room["id"], again
            # A different set is a different room; one person is the 1:1 DM.
            other = await a.request("dm", users=[ids["bob"], ids["dave"]])
            assert other["room"]["id"] != room["id"]
            one = await a.request("dm", users=[ids["bob"]])
            assert one["room"]["id"] == (await a.request("dm", user=ids["bob"]))["room"]["id"]
            assert one["room"]["id"] not in (room["id"], other["room"]["id"])

            # It behaves like a DM: members talk, others cannot see or join it.
            sent = await b.send_text(room["id"], "lunch at 12?")
            assert sent["type"] == "ack", sent
            got = await c.next_event("message", room=room["id"])
            assert got["text"] == "lunch at 12?"
            assert is_error(await d.request("join", room=room["id"]), "not_found")
            assert is_error(await d.history(room["id"]), "not_found")
            listed = await d.request("rooms")
            assert room["id"] not in {x["id"] for x in listed["rooms"]}
            assert is_error(await a.request("kick", room=room["id"], user=ids["bob"]),
                            "forbidden")
            assert is_error(await a.request("invite", room=room["id"], user=ids["dave"]),
                            "forbidden")
            members = await b.request("members", room=room["id"])
            assert {m["role"] for m in members["members"]} == {"member"}, members

            # Whoever left comes back when the set is opened again.
            assert (await c.request("leave", room=room["id"]))["type"] == "ok"
            back = await a.request("dm", users=[ids["bob"], ids["carol"]])
            assert back["room"]["id"] == room["id"]
            assert back["room"]["members"] == 3, back

    run(body())


def test_dm_opened_by_several_at_once_is_one_room(server, tok):
    """The same set opened at the same moment by different people (each
    request sent before any answer) is one room for all of them, 1:1 DMs
    too: a DM is idempotent by its set of people, races included."""
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            ids = {n: x.user["id"] for n, x in zip(NAMES, (a, b, c))}
            asks = [(a, a.send_request("dm", users=[ids["bob"], ids["carol"]])),
                    (b, b.send_request("dm", users=[ids["alice"], ids["carol"]])),
                    (c, c.send_request("dm", users=[ids["bob"], ids["alice"]])),
                    (a, a.send_request("dm", user=ids["carol"])),
                    (c, c.send_request("dm", user=ids["alice"])),
                    (c, c.send_request("dm", users=[ids["alice"]]))]
            rids = [(x, await pending) for x, pending in asks]
            got = [await x.reply(rid) for x, rid in rids]
            assert all(r["type"] == "room" for r in got), got
            assert len({r["room"]["id"] for r in got[:3]}) == 1, got[:3]
            assert got[0]["room"]["members"] == 3, got[0]
            assert len({r["room"]["id"] for r in got[3:]}) == 1, got[3:]
            assert got[3]["room"]["id"] != got[0]["room"]["id"]
            assert [u["id"] for u in got[3]["room"]["users"]] == [ids["carol"]], got[3]

    run(body())


def test_group_dm_limits(server_factory):
    server = server_factory(limits="group_dm_max = 3")
    tok = server.people(*NAMES)

    async def body():
        # Everyone signs in once, so the server knows them by name.
        for name in NAMES[1:]:
            async with Client(server, tok[name]):
                pass
        async with Client(server, tok["alice"]) as a:
            ok = await a.request("dm", users=["bob", "carol"])
            assert ok["type"] == "room", ok
            big = await a.request("dm", users=["bob", "carol", "dave"])
            assert is_error(big, "bad_request") and "at most 3" in big["message"], big
            assert is_error(await a.request("dm", users=[]), "bad_request")
            assert is_error(await a.request("dm", users="bob"), "bad_request")
            assert is_error(await a.request("dm", users=[7]), "bad_request")
            assert is_error(await a.request("dm", users=["nobody"]), "not_found")
            # The caller listed among the others counts once.
            mine = await a.request("dm", users=["alice", "bob", "carol"])
            assert mine["room"]["id"] == ok["room"]["id"], mine

    run(body())


# -- @here / @room / @all -----------------------------------------------------

async def lobby(owner, *others):
    room = (await owner.request("create_room", name="lobby"))["room"]["id"]
    for o in others:
        assert (await o.request("join", room=room))["type"] == "room"
    return room


def test_mention_all_reaches_every_member(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            room = await lobby(a, b, c)
            # dave is a member but offline: @room reaches him, @here does not.
            async with Client(server, tok["dave"]) as d:
                assert (await d.request("join", room=room))["type"] == "room"
                dave = d.user["id"]
            r = await b.send_text(room, "@room the fridge is defrosting")
            assert r["type"] == "ack", r
            m = await c.next_event("message", room=room)
            assert m["mention_all"] == "room"
            assert set(m["mentions"]) == {a.user["id"], c.user["id"], dave}
            await a.next_event("message", room=room)
            here = await b.send_text(room, "anyone @here for coffee?")
            m = await c.next_event("message", room=room, id=here["id"])
            assert m["mention_all"] == "here"
            assert set(m["mentions"]) == {a.user["id"], c.user["id"]}
            al = await b.send_text(room, "@ALL: standup moved")
            m = await c.next_event("message", room=room, id=al["id"])
            assert m["mention_all"] == "room"
            mail = await b.send_text(room, "write to lab@here.org")
            m = await c.next_event("message", room=room, id=mail["id"])
            assert "mention_all" not in m and "mentions" not in m, m
            # Counted like @name: carol has three unread mentions.
            rooms = (await c.request("rooms"))["rooms"]
            assert [x for x in rooms if x["id"] == room][0]["mentions"] == 3
            # And kept in history.
            h = await a.history(room)
            kinds = [x.get("mention_all") for x in h["messages"]]
            assert kinds == [None, "room", "here", "room"], kinds  # newest first

    run(body())


def test_mention_all_above_the_limit_needs_a_moderator(server_factory):
    server = server_factory(limits="mention_all_max = 2")
    tok = server.people(*NAMES)

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            room = await lobby(a, b)
            assert (await b.send_text(room, "@room two of us"))["type"] == "ack"
            assert (await c.request("join", room=room))["type"] == "room"
            before = (await a.history(room))["messages"]
            r = await b.send_text(room, "@here three of us now")
            assert is_error(r, "forbidden"), r
            assert "3 people" in r["message"] and "moderators" in r["message"], r
            assert (await a.history(room))["messages"] == before  # nothing stored
            # The owner may; plain text still goes through for everyone.
            assert (await a.send_text(room, "@all meeting"))["type"] == "ack"
            assert (await b.send_text(room, "no mention here"))["type"] == "ack"

    run(body())


def test_edit_adding_mention_all_is_checked_like_a_send(server_factory):
    server = server_factory(limits="mention_all_max = 2")
    tok = server.people(*NAMES)

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            room = await lobby(a, b)
            early = await b.send_text(room, "@room two of us")  # allowed at 2 members
            plain = await b.send_text(room, "lunch?")
            assert (await c.request("join", room=room))["type"] == "room"
            # Three members now: bob may not bring @room, @all or @here by editing.
            for text in ("@room lunch?", "@ALL lunch?", "lunch @here?"):
                r = await b.request("edit", room=room, id=plain["id"], text=text)
                assert is_error(r, "forbidden"), (text, r)
                assert "moderators" in r["message"], r
            h = await a.history(room)
            kept = [m for m in h["messages"] if m["id"] == plain["id"]][0]
            assert kept["text"] == "lunch?" and "edited_ts" not in kept, kept
            # A message that had @room keeps it through an edit.
            r = await b.request("edit", room=room, id=early["id"], text="@room two of us!")
            assert r["type"] == "ok", r
            # The owner may, and the edit reaches everyone as a mention.
            own = await a.send_text(room, "meeting")
            r = await a.request("edit", room=room, id=own["id"], text="@all meeting")
            assert r["type"] == "ok", r
            ev = await c.next_event("message_edited", room=room, id=own["id"])
            assert set(ev["mentions"]) == {b.user["id"], c.user["id"]}, ev

    run(body())


# -- notification levels ------------------------------------------------------

def test_notify_levels_are_kept_and_shown(server, tok):
    server.require_store_members("notify_set", "notify_list")
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["alice"]) as a2, \
                Client(server, tok["bob"]) as b:
            room = await lobby(a, b)
            mine = [x for x in (await a.request("rooms"))["rooms"] if x["id"] == room][0]
            assert mine["notify"] == "all"
            r = await a.request("notify", room=room, level="mentions")
            assert r["type"] == "ok", r
            ev = await a2.next_event("room_updated", where=lambda e: e["room"]["id"] == room)
            assert ev["room"]["notify"] == "mentions"
            # Levels are per person.
            theirs = [x for x in (await b.request("rooms"))["rooms"] if x["id"] == room][0]
            assert theirs["notify"] == "all"
            assert (await a.request("notify", room=room, level="none"))["type"] == "ok"
            bad = await a.request("notify", room=room, level="loud")
            assert is_error(bad, "bad_request"), bad
            assert is_error(await a.request("notify", room=room), "bad_request")
            priv = (await b.request("create_room", name="b", kind="private"))["room"]["id"]
            assert is_error(await a.request("notify", room=priv, level="none"), "not_found")
            return room

    room = run(body())
    assert server.stop() == 0
    server.restart()

    async def after():
        async with Client(server, tok["alice"]) as a:
            mine = [x for x in a.ready["rooms"] if x["id"] == room][0]
            assert mine["notify"] == "none"

    run(after())


def test_bot_tokens_cannot_set_notify(server):
    import json
    admin = server.user("root", role="admin")

    def call(method, path, body=None):
        st, _, data = server.http(method, path, json=body,
                                  headers={"Authorization": f"Bearer {admin}"})
        return st, json.loads(data) if data else None

    st, out = call("POST", "/api/admin/bots", {"name": "quiet-bot"})
    assert st == 201, out
    bot = out["user"]["id"]
    st, out = call("POST", f"/api/admin/bots/{bot}/tokens", {"scopes": "read,post,moderate"})
    assert st == 201, out
    token = out["token"]

    async def body():
        async with Client(server, admin) as a:
            room = (await a.request("create_room", name="ops"))["room"]["id"]
            assert (await a.request("invite", room=room, user=bot))["type"] == "ok"
        async with Client(server, token) as t:
            r = await t.request("notify", room=room, level="none")
            assert is_error(r, "forbidden") and "bot" in r["message"], r

    run(body())
