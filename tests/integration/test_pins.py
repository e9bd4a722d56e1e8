"""Pins (issue 15): the pin request and event, the room object's `pins`,
the pins list, who may pin, unpinning on delete, bot token scopes, and pins
surviving a restart."""

import json

import pytest

from parley_client import Client, run


@pytest.fixture(autouse=True)
def store_keeps_pins(server):
    server.require_store_members("pin_set", "pins_list")


@pytest.fixture
def tok(server):
    return server.people("alice", "bob")


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code


async def room_of(c, room_id):
    r = await c.request("rooms")
    assert r["type"] == "rooms", r
    return [x for x in r["rooms"] if x["id"] == room_id][0]


async def lobby_with_bob(a, b):
    room = (await a.request("create_room", name="lobby"))["room"]["id"]
    j = await b.request("join", room=room)
    assert j["type"] == "room", j
    return room


def test_owner_pins_and_members_see_it(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby_with_bob(a, b)
            first = (await a.send_text(room, "the buffer recipe"))["id"]
            second = (await b.send_text(room, "thanks"))["id"]
            assert (await room_of(b, room))["pins"] == []

            r = await a.request("pin", room=room, id=first, on=True)
            assert r["type"] == "ok", r
            ev = await b.next_event("pin", room=room)
            assert ev["id"] == first and ev["on"] is True
            assert ev["user"] == {"id": a.user["id"], "name": "alice"}
            r = await a.request("pin", room=room, id=second)  # "on" defaults to true
            assert r["type"] == "ok", r
            await b.next_event("pin", room=room, id=second)
            # Newest pin first, in the room object and in the pins list.
            assert (await room_of(b, room))["pins"] == [second, first]
            p = await b.request("pins", room=room)
            assert p["type"] == "pins" and p["room"] == room, p
            assert [m["id"] for m in p["messages"]] == [second, first]
            assert p["messages"][1]["text"] == "the buffer recipe"

            # Pinning again is ok and tells nobody anything new.
            assert (await a.request("pin", room=room, id=first, on=True))["type"] == "ok"
            assert (await a.request("pin", room=room, id=second, on=False))["type"] == "ok"
            ev = await b.next_event("pin", room=room)
            assert ev["id"] == second and ev["on"] is False, ev
            assert (await room_of(b, room))["pins"] == [first]

    run(body())


def test_members_may_not_pin_and_bad_requests(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby_with_bob(a, b)
            mid = (await a.send_text(room, "hello"))["id"]
            r = await b.request("pin", room=room, id=mid)
            assert is_error(r, "forbidden") and "moderators" in r["message"], r
            assert (await room_of(a, room))["pins"] == []
            assert is_error(await a.request("pin", room=room, id="m_999999"), "not_found")
            assert is_error(await a.request("pin", room=room), "bad_request")
            assert is_error(await a.request("pin", room=room, id=mid, on="yes"), "bad_request")
            other = (await b.request("create_room", name="bobs", kind="private"))["room"]["id"]
            assert is_error(await a.request("pin", room=other, id=mid), "not_found")
            assert is_error(await a.request("pins", room=other), "not_found")
            # A message of another room is not found in this one.
            theirs = (await b.send_text(other, "mine"))["id"]
            assert is_error(await a.request("pin", room=room, id=theirs), "not_found")

    run(body())


def test_dm_members_pin(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            dm = (await a.request("dm", user=b.user["id"]))["room"]["id"]
            mid = (await b.send_text(dm, "address: 5 Lab Road"))["id"]
            assert (await b.request("pin", room=dm, id=mid))["type"] == "ok"
            ev = await a.next_event("pin", room=dm)
            assert ev["id"] == mid

    run(body())


def test_delete_unpins_and_pins_survive_restart(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby_with_bob(a, b)
            keep = (await a.send_text(room, "keep"))["id"]
            gone = (await a.send_text(room, "gone"))["id"]
            for mid in (keep, gone):
                assert (await a.request("pin", room=room, id=mid))["type"] == "ok"
            assert (await a.request("delete", room=room, id=gone))["type"] == "ok"
            ev = await b.next_event("pin", room=room, on=False)
            assert ev["id"] == gone, ev
            assert (await room_of(b, room))["pins"] == [keep]
            assert [m["id"] for m in (await b.request("pins", room=room))["messages"]] == [keep]
            assert is_error(await a.request("pin", room=room, id=gone), "not_found")
            return room, keep

    room, keep = run(body())
    assert server.stop() == 0
    server.restart()

    async def after():
        async with Client(server, tok["bob"]) as b:
            mine = [r for r in b.ready["rooms"] if r["id"] == room][0]
            assert mine["pins"] == [keep]

    run(after())


def test_bot_tokens_pin_only_with_moderate(server):
    admin = server.user("root", role="admin")

    def call(method, path, token, body=None):
        st, _, data = server.http(method, path, json=body,
                                  headers={"Authorization": f"Bearer {token}"})
        return st, json.loads(data) if data else None

    st, out = call("POST", "/api/admin/bots", admin, {"name": "pin-bot"})
    assert st == 201, out
    bot = out["user"]["id"]
    tokens = {}
    for scopes in ("read,post", "read,moderate"):
        st, out = call("POST", f"/api/admin/bots/{bot}/tokens", admin, {"scopes": scopes})
        assert st == 201, out
        tokens[scopes] = out["token"]

    async def body():
        async with Client(server, admin) as a:
            room = (await a.request("create_room", name="ops"))["room"]["id"]
            mid = (await a.send_text(room, "runbook"))["id"]
            # The bot is a moderator of its own room only as owner: make it one.
            await a.request("invite", room=room, user=bot)
        async with Client(server, tokens["read,post"]) as p:
            r = await p.request("pin", room=room, id=mid)
            assert is_error(r, "forbidden") and "scope" in r["message"], r
            assert (await p.request("pins", room=room))["type"] == "pins"
        async with Client(server, tokens["read,moderate"]) as m:
            # In scope, but a plain member of the room: the room's rule refuses.
            r = await m.request("pin", room=room, id=mid)
            assert is_error(r, "forbidden") and "moderators" in r["message"], r

    run(body())


def test_expiry_unpins(server_factory):
    """A pinned message that retention turns into a tombstone is unpinned
    like a deleted one: members get the pin event with "on":false (no
    user: nobody did it), and room objects and `pins` no longer list it,
    after a restart too."""
    srv = server_factory(config_extra='retention = { messages = "2s", interval = 0.2 }')
    srv.require_store_members("pin_set", "pins_list", "prune", "lease")
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            room = await lobby_with_bob(a, b)
            mid = (await a.send_text(room, "short-lived runbook"))["id"]
            assert (await a.request("pin", room=room, id=mid))["type"] == "ok"
            ev = await b.next_event("pin", room=room, id=mid, on=True)
            assert (await room_of(b, room))["pins"] == [mid]
            ev = await b.next_event("pin", room=room, id=mid, on=False, timeout=15)
            assert "user" not in ev, ev
            assert (await room_of(b, room))["pins"] == []
            assert (await b.request("pins", room=room))["messages"] == []
            assert is_error(await a.request("pin", room=room, id=mid), "not_found")
            return room

    room = run(body())
    assert srv.stop() == 0
    srv.restart()

    async def after():
        async with Client(srv, tok["bob"]) as b:
            assert [r for r in b.ready["rooms"] if r["id"] == room][0]["pins"] == []

    run(after())
