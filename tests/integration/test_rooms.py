"""Rooms and people, to PROTOCOL.md "Rooms and people": create, join,
invite, kick, leave, topic, dm, members, the public list, who may read."""

import pytest

from parley_client import Client, run

NAMES = ("alice", "bob", "carol")
ROOM_KEYS = {"id", "name", "kind", "topic", "last_seq", "read_seq", "unread", "mentions", "role"}
DENIED = ("forbidden", "not_found")


@pytest.fixture
def tok(server):
    return server.people(*NAMES)


def is_error(r, codes):
    return r.get("type") == "error" and r.get("code") in codes


def about_room(e, room):
    """A member_joined for room, or a room_updated carrying it."""
    if e.get("type") == "member_joined":
        return e.get("room") == room
    return e.get("type") == "room_updated" and (e.get("room") or {}).get("id") == room


async def room_ids(c, **fields):
    r = await c.request("rooms", **fields)
    assert r["type"] == "rooms", r
    return {x["id"] for x in r["rooms"]}


def test_create_room_and_conflict(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            r = await a.request("create_room", name="lobby")
            assert r["type"] == "room", r
            room = r["room"]
            assert ROOM_KEYS <= set(room), room
            assert room["name"] == "lobby" and room["kind"] == "public"
            assert room["topic"] == "" and room["role"] == "owner"
            assert room["last_seq"] == 0 and room["unread"] == 0
            p = await a.request("create_room", name="ops", kind="private", topic="on call")
            assert p["type"] == "room", p
            assert p["room"]["kind"] == "private" and p["room"]["topic"] == "on call"
            again = await a.request("create_room", name="lobby")
            assert is_error(again, ("conflict",)), again
            # Only public names are unique (issue 13, item 7).
            twin = await a.request("create_room", name="lobby", kind="private")
            assert twin["type"] == "room", twin
            assert {room["id"], p["room"]["id"], twin["room"]["id"]} <= await room_ids(a)

    run(body())


def test_join_public_and_private(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            pub = (await a.request("create_room", name="lobby"))["room"]["id"]
            priv = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            j1 = await b.request("join", room=pub)
            assert j1["type"] == "room" and j1["room"]["id"] == pub, j1
            assert j1["room"]["role"] == "member"
            ev = await a.next_event("member_joined", room=pub)
            assert ev["user"] == {"id": b.user["id"], "name": "bob"}
            j2 = await b.request("join", room=pub)
            assert j2["type"] == "room" and j2["room"]["id"] == pub, j2
            assert pub in await room_ids(b)
            denied = await b.request("join", room=priv)
            assert is_error(denied, DENIED), denied
            assert priv not in await room_ids(b)
            assert is_error(await b.request("join", room="r_does_not_exist"), ("not_found",))

    run(body())


def test_public_room_list(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            pub = (await a.request("create_room", name="lobby"))["room"]["id"]
            priv = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            listed = await room_ids(b, public=True)
            assert pub in listed and priv not in listed
            assert pub not in await room_ids(b), "rooms lists a room bob is not in"

    run(body())


def test_invite_kick_leave(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            r = await a.request("invite", room=ops, user="bob")  # by name
            assert r["type"] == "ok", r
            ev = await a.next_event("member_joined", room=ops)
            assert ev["user"]["id"] == b.user["id"]
            # The invitee learns of the room and has it in its list.
            await b.next_event(where=lambda e: about_room(e, ops))
            assert ops in await room_ids(b)
            r = await a.request("invite", room=ops, user=c.user["id"])  # by id
            assert r["type"] == "ok", r
            await a.next_event("member_joined", room=ops,
                               where=lambda e: e["user"]["id"] == c.user["id"])

            m = await b.send_text(ops, "bob in ops")
            assert m["type"] == "ack", m
            await c.next_event("message", id=m["id"])

            # A plain member may not kick.
            r = await b.request("kick", room=ops, user=c.user["id"])
            assert is_error(r, ("forbidden",)), r
            r = await a.request("kick", room=ops, user=b.user["id"])
            assert r["type"] == "ok", r
            ev = await c.next_event("member_left", room=ops)
            assert ev["user"]["id"] == b.user["id"]
            assert ops not in await room_ids(b)
            assert is_error(await b.send_text(ops, "still here?"), DENIED)
            assert is_error(await b.history(ops), DENIED)

            r = await c.request("leave", room=ops)
            assert r["type"] == "ok", r
            ev = await a.next_event("member_left", room=ops,
                                    where=lambda e: e["user"]["id"] == c.user["id"])
            assert ops not in await room_ids(c)

    run(body())


def test_topic_owner_only(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            lobby = (await a.request("create_room", name="lobby"))["room"]["id"]
            assert (await b.request("join", room=lobby))["type"] == "room"
            r = await a.request("topic", room=lobby, topic="incident 42")
            assert r["type"] == "ok", r
            # (a room_updated may also have come for the join)
            ev = await b.next_event("room_updated", where=lambda e: e["room"]["id"] == lobby
                                    and e["room"]["topic"] == "incident 42")
            assert ev["room"]["name"] == "lobby"
            r = await b.request("topic", room=lobby, topic="mine now")
            assert is_error(r, ("forbidden",)), r
            lst = await b.request("rooms")
            assert next(x for x in lst["rooms"] if x["id"] == lobby)["topic"] == "incident 42"

    run(body())


def test_dm(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            r1 = await a.request("dm", user=b.user["id"])
            assert r1["type"] == "room" and r1["room"]["kind"] == "dm", r1
            r2 = await a.request("dm", user="bob")
            assert r2["type"] == "room" and r2["room"]["id"] == r1["room"]["id"], r2
            r3 = await b.request("dm", user=a.user["id"])
            assert r3["type"] == "room" and r3["room"]["id"] == r1["room"]["id"], r3
            dm = r1["room"]["id"]
            mem = await a.request("members", room=dm)
            assert {m["id"] for m in mem["members"]} == {a.user["id"], b.user["id"]}
            assert dm in await room_ids(b)
            m = await a.send_text(dm, "psst")
            ev = await b.next_event("message", room=dm)
            assert ev["id"] == m["id"]

    run(body())


def test_members_roles_and_presence(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            lobby = (await a.request("create_room", name="lobby"))["room"]["id"]
            await b.request("join", room=lobby)
            r = await a.request("members", room=lobby)
            assert r["type"] == "members", r
            by = {m["id"]: m for m in r["members"]}
            assert set(by) == {a.user["id"], b.user["id"]}
            assert by[a.user["id"]]["role"] == "owner" and by[a.user["id"]]["name"] == "alice"
            assert by[b.user["id"]]["role"] == "member"
            assert by[b.user["id"]]["presence"] == "online"
            await b.close()
            await a.next_event("presence", status="offline",
                               where=lambda e: e["user"]["id"] == b.user["id"])
            r = await a.request("members", room=lobby)
            by = {m["id"]: m for m in r["members"]}
            assert by[b.user["id"]]["presence"] == "offline"

    run(body())


def test_non_members_cannot_read_or_post(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["carol"]) as c:
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            lobby = (await a.request("create_room", name="lobby"))["room"]["id"]
            assert (await a.send_text(ops, "secret"))["type"] == "ack"
            for room in (ops, lobby):
                assert is_error(await c.history(room), DENIED), room
                assert is_error(await c.send_text(room, "hi"), DENIED), room
                assert is_error(await c.request("members", room=room), DENIED), room

    run(body())


def test_new_account_is_in_general(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            server.add_user("dave")  # while the server runs
            async with Client(server, server.token("dave")) as d:
                assert d.room_id("general") == g
                assert d.user["role"] == "member"
                kinds = {r["name"]: r["kind"] for r in d.ready["rooms"]}
                assert kinds["general"] == "public"
                mem = await a.request("members", room=g)
                assert d.user["id"] in {m["id"] for m in mem["members"]}
                m = await d.send_text(g, "hi, I am new")
                assert m["type"] == "ack", m

    run(body())
