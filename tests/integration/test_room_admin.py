"""Rooms an owner can run (issue 18): room_settings (name, archived,
may_post / may_invite / may_pin, retention) with its room_updated event,
delete_room (admins) with room_deleted, member_role with member_updated,
each audited, against the real server."""

import json
import time

import pytest

from parley_client import Client, run


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code, r


@pytest.fixture
def tok(server):
    t = server.people("olive", "bob", "carol")
    t["root"] = server.user("root", role="admin")
    return t


def audit(server, admin_tok, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    st, _, data = server.http("GET", "/api/admin/audit" + ("?" + qs if qs else ""),
                              headers={"Authorization": "Bearer " + admin_tok})
    assert st == 200, data
    return json.loads(data)["entries"]


def test_settings_rename_roles_and_event(server, tok):
    async def body():
        async with Client(server, tok["olive"]) as o, Client(server, tok["bob"]) as b:
            room = (await o.request("create_room", name="lab"))["room"]
            rid = room["id"]
            # Defaults are in every room object.
            assert room["archived"] is False and room["may_post"] == "members"
            assert room["may_invite"] == "members" and room["may_pin"] == "moderators"
            assert (await b.request("join", room=rid))["type"] == "room"

            # Only an owner may change settings.
            assert is_error(await b.request("room_settings", room=rid, name="mine"),
                            "forbidden")[0]
            r = await o.request("room_settings", room=rid, name="lab-2",
                                may_post="moderators", may_pin="members", retention="30d")
            assert r["type"] == "room", r
            assert r["room"]["name"] == "lab-2" and r["room"]["may_post"] == "moderators"
            assert r["room"]["may_pin"] == "members" and r["room"]["retention"] == 30 * 86400
            ev = await b.next_event("room_updated", where=lambda e: e["room"]["id"] == rid
                                    and e["room"]["name"] == "lab-2")
            assert ev["room"]["may_post"] == "moderators" and ev["by"]["name"] == "olive"

            # may_post: moderators only; bob is a member.
            assert is_error(await b.send_text(rid, "hi"), "forbidden")[0]
            assert (await o.send_text(rid, "owners may"))["type"] == "ack"
            # member_role makes bob a moderator: everyone sees member_updated.
            r = await o.request("member_role", room=rid, user=b.user["id"], role="moderator")
            assert r["type"] == "ok", r
            upd = await b.next_event("member_updated", room=rid)
            assert upd["user"]["name"] == "bob" and upd["role"] == "moderator"
            assert (await b.send_text(rid, "now I may"))["type"] == "ack"
            # A moderator still cannot change settings or roles.
            assert is_error(await b.request("member_role", room=rid, user=o.user["id"],
                                            role="member"), "forbidden")[0]
            # The last owner cannot step down.
            assert is_error(await o.request("member_role", room=rid, user=o.user["id"],
                                            role="member"), "forbidden")[0]

            # Bad values are refused with a reason, nothing changes.
            bad = await o.request("room_settings", room=rid, may_post="everyone")
            assert is_error(bad, "bad_request")[0] and "may_post" in bad["message"]
            bad = await o.request("room_settings", room=rid, name="-x")
            assert is_error(bad, "bad_request")[0]
            bad = await o.request("room_settings", room=rid, retention="soon")
            assert is_error(bad, "bad_request")[0]
            assert is_error(await o.request("member_role", room=rid, user=b.user["id"],
                                            role="king"), "bad_request")[0]
            # A public name in use is a conflict.
            assert is_error(await o.request("room_settings", room=rid, name="general"),
                            "conflict")[0]

    run(body())
    # Audited: by whom, what, on which room (written beside the reply).
    deadline = time.time() + 5
    while "room.member_role" not in [e["action"] for e in audit(server, tok["root"])]:
        assert time.time() < deadline, "the audit entries never arrived"
        time.sleep(0.05)
    entries = audit(server, tok["root"])
    actions = [(e["action"], e["target"]) for e in entries]
    assert ("room.settings" in [a for a, _ in actions]) and ("room.member_role" in
                                                             [a for a, _ in actions])
    s = next(e for e in entries if e["action"] == "room.settings")
    assert s["actor_name"] == "olive" and s["detail"]["name"] == "lab-2", s


def test_settings_survive_a_restart(server, tok):
    async def body1():
        async with Client(server, tok["olive"]) as o:
            rid = (await o.request("create_room", name="keep"))["room"]["id"]
            r = await o.request("room_settings", room=rid, archived=True, may_invite="moderators")
            assert r["type"] == "room" and r["room"]["archived"] is True, r
            return rid

    rid = run(body1())
    server.stop()
    server.restart()

    async def body2():
        async with Client(server, tok["olive"]) as o:
            mine = {x["id"]: x for x in (await o.request("rooms"))["rooms"]}
            assert mine[rid]["archived"] is True and mine[rid]["may_invite"] == "moderators"

    run(body2())


def test_archive_is_read_only_and_hidden_but_searchable(server, tok):
    async def body():
        async with Client(server, tok["olive"]) as o, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            rid = (await o.request("create_room", name="old"))["room"]["id"]
            await b.request("join", room=rid)
            sent = await b.send_text(rid, "zanzibar findme")
            assert sent["type"] == "ack"
            r = await o.request("room_settings", room=rid, archived=True)
            assert r["room"]["archived"] is True
            await b.next_event("room_updated", where=lambda e: e["room"]["id"] == rid)

            # Read-only: no post, edit, react or pin; history still reads.
            assert is_error(await b.send_text(rid, "more"), "forbidden")[0]
            assert is_error(await b.request("edit", room=rid, id=sent["id"], text="x"),
                            "forbidden")[0]
            assert is_error(await b.request("react", room=rid, id=sent["id"], emoji="👍"),
                            "forbidden")[0]
            assert is_error(await o.request("pin", room=rid, id=sent["id"]), "forbidden")[0]
            hist = await b.history(rid)
            assert [m["text"] for m in hist["messages"]][-1] == "zanzibar findme"
            # Hidden from the public list, still searchable by its members.
            listed = await c.request("rooms", public=True)
            assert rid not in {x["id"] for x in listed["rooms"]}
            found = await b.request("search", query="zanzibar")
            assert [h["id"] for h in found.get("results", found.get("messages", []))] \
                == [sent["id"]], found
            # Unarchived, it takes messages again.
            await o.request("room_settings", room=rid, archived=False)
            assert (await b.send_text(rid, "back"))["type"] == "ack"

    run(body())


def test_may_invite_and_may_pin(server, tok):
    async def body():
        async with Client(server, tok["olive"]) as o, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]), Client(server, tok["root"]):
            rid = (await o.request("create_room", name="door"))["room"]["id"]
            await b.request("join", room=rid)
            m = await o.send_text(rid, "pin me")
            # Defaults: a member may invite to a public room, not pin.
            r = await b.request("invite", room=rid, user="carol")
            assert r["type"] == "ok", r
            assert is_error(await b.request("pin", room=rid, id=m["id"]), "forbidden")[0]
            await o.request("room_settings", room=rid, may_invite="moderators", may_pin="members")
            r = await b.request("invite", room=rid, user="root")
            assert is_error(r, "forbidden")[0], r
            r = await b.request("pin", room=rid, id=m["id"])
            assert r["type"] != "error", r

    run(body())


def test_delete_room_is_for_admins(server, tok):
    async def body():
        async with Client(server, tok["olive"]) as o, Client(server, tok["bob"]) as b, \
                Client(server, tok["root"]) as root:
            rid = (await o.request("create_room", name="doomed"))["room"]["id"]
            await b.request("join", room=rid)
            await o.send_text(rid, "soon gone")
            # Not even its owner may delete it.
            assert is_error(await o.request("delete_room", room=rid), "forbidden")[0]
            assert is_error(await root.request("delete_room",
                                               room=root.room_id("general")), "forbidden")[0]
            r = await root.request("delete_room", room=rid)
            assert r["type"] == "ok", r
            ev = await b.next_event("room_deleted", room=rid)
            assert ev["by"]["name"] == "root"
            # Gone for everyone: history, the lists, joining; the name is free.
            assert is_error(await b.history(rid), "not_found")[0]
            assert rid not in {x["id"] for x in (await b.request("rooms"))["rooms"]}
            assert is_error(await b.request("join", room=rid), "not_found")[0]
            again = await o.request("create_room", name="doomed")
            assert again["type"] == "room" and again["room"]["id"] != rid
            assert is_error(await root.request("delete_room", room=rid), "not_found")[0]

    run(body())
    server.stop()
    server.restart()

    async def after():
        async with Client(server, tok["bob"]) as b:
            names = [x["name"] for x in (await b.request("rooms", public=True))["rooms"]]
            assert names.count("doomed") == 1

    run(after())
    e = next(e for e in audit(server, tok["root"]) if e["action"] == "room.delete")
    assert e["actor_name"] == "root" and e["detail"]["name"] == "doomed", e


def test_audit_filters_by_actor_action_and_date(server, tok):
    async def body():
        async with Client(server, tok["olive"]) as o, Client(server, tok["root"]) as root:
            rid = (await o.request("create_room", name="audited"))["room"]["id"]
            await o.request("room_settings", room=rid, may_pin="members")
            await root.request("room_settings", room=rid, archived=True)
            return rid

    t0 = int(time.time() * 1000) - 1000
    rid = run(body())
    by_olive = audit(server, tok["root"], actor="olive")
    assert by_olive and all(e["actor_name"] == "olive" for e in by_olive), by_olive
    # The entry is written beside the reply: wait until the store has it.
    deadline = time.time() + 5
    while len(audit(server, tok["root"], action="room.")) < 2:
        assert time.time() < deadline, "the audit entries never arrived"
        time.sleep(0.05)
    by_root = audit(server, tok["root"], actor="root", action="room.")
    assert [(e["action"], e["target"]) for e in by_root] == [("room.settings", rid)]
    assert audit(server, tok["root"], action="room.delete") == []
    assert len(audit(server, tok["root"], action="room.settings", since=t0)) == 2
    assert audit(server, tok["root"], action="room.settings", until=t0) == []
    # One entry per page, continued with `before`.
    st, _, data = server.http("GET", "/api/admin/audit?action=room.&limit=1",
                              headers={"Authorization": "Bearer " + tok["root"]})
    page = json.loads(data)
    assert page["more"] is True and len(page["entries"]) == 1, page
    st, _, data = server.http(f"GET", f"/api/admin/audit?action=room.&limit=1&before={page['before']}",
                              headers={"Authorization": "Bearer " + tok["root"]})
    nxt = json.loads(data)
    assert nxt["entries"][0]["id"] < page["entries"][0]["id"]
    st, _, data = server.http("GET", "/api/admin/audit?actor=nobody",
                              headers={"Authorization": "Bearer " + tok["root"]})
    assert st == 400 and b"actor" in data
    # Members may not read it.
    st, _, _ = server.http("GET", "/api/admin/audit",
                           headers={"Authorization": "Bearer " + tok["olive"]})
    assert st == 403
