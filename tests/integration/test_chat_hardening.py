"""Issue 13's chat items, each reproduced against the real server: who may
invite to a private room (4), what a room-limited bot token sees (6),
room names unique among public rooms only (7), resume racing sends (15),
and malformed message ids (20)."""

import asyncio
import json
import os
import sqlite3


from conftest import sqlite_only
from parley_client import Client, run

DENIED = ("forbidden", "not_found")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def call(server, method, path, token=None, body=None):
    status, _, data = server.http(method, path, json=body,
                                  headers=bearer(token) if token else None)
    return status, json.loads(data) if data else None


def is_error(r, codes):
    return r.get("type") == "error" and r.get("code") in codes


# -- 4: inviting to a private room ---------------------------------------------


def test_only_owners_moderators_and_admins_invite_to_a_private_room(server):
    tok = server.people("alice", "bob", "carol", "dave")
    root = server.user("root", role="admin")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, root) as adm, Client(server, tok["carol"]), \
                Client(server, tok["dave"]):
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            assert (await a.request("invite", room=ops, user="bob"))["type"] == "ok"
            await b.next_event("room_updated", where=lambda e: e["room"]["id"] == ops)
            # bob is a plain member: he may not bring carol in.
            r = await b.request("invite", room=ops, user="carol")
            assert is_error(r, ("forbidden",)), r
            members = await a.request("members", room=ops)
            assert "carol" not in {m["name"] for m in members["members"]}
            # A server admin who is a member may.
            assert (await a.request("invite", room=ops, user="root"))["type"] == "ok"
            await adm.next_event("room_updated", where=lambda e: e["room"]["id"] == ops)
            assert (await adm.request("invite", room=ops, user="carol"))["type"] == "ok"
            # In a public room anyone may join anyway, so any member may invite.
            lobby = (await b.request("create_room", name="lobby"))["room"]["id"]
            assert (await b.request("join", room=lobby))["type"] == "room"
            assert (await a.request("join", room=lobby))["type"] == "room"
            assert (await a.request("invite", room=lobby, user="dave"))["type"] == "ok"

    run(body())


# -- 6: a room-limited bot token -------------------------------------------------


def test_room_limited_bot_token_sees_only_its_rooms(server):
    admin = server.user("root", role="admin")
    st, out = call(server, "POST", "/api/admin/bots", admin, {"name": "ro-bot"})
    assert st == 201, out
    bot_id = out["user"]["id"]

    async def setup():
        async with Client(server, admin) as c:
            ids = {}
            for name, kind in (("ops", "private"), ("lobby", "public"), ("sec", "private")):
                r = await c.request("create_room", name=name, kind=kind)
                ids[name] = r["room"]["id"]
                assert (await c.request("invite", room=ids[name], user=bot_id))["type"] == "ok"
            return ids
    ids = run(setup())

    st, out = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                   {"scopes": ["read"], "rooms": [ids["ops"]]})
    assert st == 201, out
    limited = out["token"]

    async def check():
        async with Client(server, limited) as c:
            seen = {r["id"] for r in c.ready["rooms"]}
            assert seen == {ids["ops"]}, c.ready["rooms"]
            mine = await c.request("rooms")
            assert {r["id"] for r in mine["rooms"]} == {ids["ops"]}, mine
            # The public list: public rooms are no secret, but a limited
            # token lists only those of its rooms.
            pub = await c.request("rooms", public=True)
            assert {r["id"] for r in pub["rooms"]} <= {ids["ops"]}, pub
            # A room the bot joins later stays outside the token's view:
            # no room_updated naming it, none of its messages.
            async with Client(server, admin) as adm:
                late = (await adm.request("create_room", name="late", kind="private"))
                late = late["room"]["id"]
                assert (await adm.request("invite", room=late, user=bot_id))["type"] == "ok"
                await adm.send_text(late, "not for the limited token")
                mark = await adm.send_text(ids["ops"], "for it")
                await c.next_event("message", id=mark["id"])
            leaked = [e for e in c.events if late in json.dumps(e)]
            assert not leaked, leaked
        # An unlimited bot token still sees every room the bot is in.
        st, out = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                       {"scopes": ["read"]})
        async with Client(server, out["token"]) as c:
            assert set(ids.values()) <= {r["id"] for r in c.ready["rooms"]}

    run(check())


# -- 7: room names ---------------------------------------------------------------


def test_private_room_names_do_not_leak_and_may_repeat(server):
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            secret = await a.request("create_room", name="layoffs", kind="private")
            assert secret["type"] == "room", secret
            # bob, not a member, learns nothing: his room of that name is made.
            mine = await b.request("create_room", name="layoffs", kind="private")
            assert mine["type"] == "room", mine
            assert mine["room"]["id"] != secret["room"]["id"]
            pub = await b.request("create_room", name="layoffs")
            assert pub["type"] == "room", pub
            # Public names stay unique (case-insensitively).
            again = await a.request("create_room", name="LAYOFFS")
            assert is_error(again, ("conflict",)), again
            # A private room may share a public room's name.
            also = await a.request("create_room", name="layoffs", kind="private")
            assert also["type"] == "room", also
            # `general` is still the public general.
            g = a.room_id("general")
            twin = await a.request("create_room", name="general", kind="private")
            assert twin["type"] == "room", twin
        # After a restart the rooms load with their names intact.
        server.stop()
        server.restart()
        async with Client(server, tok["alice"]) as a:
            names = [(r["name"], r["kind"]) for r in a.ready["rooms"]]
            assert names.count(("layoffs", "private")) == 2, names
            assert a.room_id("general") == g or ("general", "public") in names
            pub_list = await a.request("rooms", public=True)
            assert [r["name"] for r in pub_list["rooms"]].count("layoffs") == 1

    run(body())


def test_store_migration_keeps_rooms_members_and_messages(server):
    """A database made before names were unique among public rooms only
    (schema 4: rooms.name UNIQUE) is rebuilt at start without losing a
    member or a message (the rebuild must not cascade)."""
    sqlite_only("store_sqlite's migration 5 (parley.db); store_mongo's schema "
                "versions are tested in plugins/store_mongo/tests")
    tok = server.people("alice", "bob")

    async def before():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]):
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            assert (await a.request("invite", room=ops, user="bob"))["type"] == "ok"
            acks = [await a.send_text(ops, f"m{i}") for i in range(3)]
            return ops, [x["id"] for x in acks]
    ops, ids = run(before())
    server.stop()
    db = sqlite3.connect(os.path.join(server.data_dir, "parley.db"))
    db.executescript(
        "PRAGMA foreign_keys=OFF; BEGIN;"
        "CREATE TABLE rooms_v4 (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
        " kind TEXT NOT NULL DEFAULT 'public', topic TEXT,"
        " created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
        " created_ts INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO rooms_v4 SELECT id, name, kind, topic, created_by, created_ts, last_seq"
        " FROM rooms; DROP TABLE rooms;"
        "ALTER TABLE rooms_v4 RENAME TO rooms;"
        # what the later migrations add goes too, so they run again on a v4
        "DROP TABLE IF EXISTS edits; DROP TABLE IF EXISTS leases;"
        "DROP TABLE IF EXISTS pins; DROP TABLE IF EXISTS notify;"
        "DROP TRIGGER IF EXISTS messages_fts_insert; DROP TRIGGER IF EXISTS messages_fts_update;"
        "DROP TRIGGER IF EXISTS messages_fts_delete; DROP TABLE IF EXISTS messages_fts;"
        "DROP INDEX IF EXISTS messages_thread; DROP TABLE IF EXISTS thread_follows;"
        "ALTER TABLE messages DROP COLUMN thread;"
        "ALTER TABLE messages DROP COLUMN also_room;"
        "ALTER TABLE messages DROP COLUMN replies;"
        "ALTER TABLE messages DROP COLUMN last_reply_ts;"
        "PRAGMA user_version = 4; COMMIT;")
    db.close()
    server.restart()

    async def after():
        async with Client(server, tok["bob"]) as b:
            h = await b.history(ops)
            assert sorted(m["id"] for m in h["messages"]) == sorted(ids), h
            again = await b.request("create_room", name="ops", kind="private")
            assert again["type"] == "room", again

    run(after())
    db = sqlite3.connect(os.path.join(server.data_dir, "parley.db"))
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 5
    assert db.execute("SELECT count(*) FROM members WHERE room = ?",
                      (int(ops[2:]),)).fetchone()[0] == 2
    db.close()


def test_script_room_lookups_resolve_among_visible_rooms(server_factory, tmp_path):
    script = tmp_path / "look.lua"
    script.write_text(
        "parley.on('message', function(ev)\n"
        "  if ev.text == 'look' then\n"
        "    local r = parley.rooms.get('layoffs')\n"
        "    parley.send(ev.room, r and (r.kind .. ' ' .. r.id) or 'none')\n"
        "  end\n"
        "end)\n")
    server = server_factory(config_extra=f'scripts = {{ {{ file = "{script}" }} }}')
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            r = await b.request("create_room", name="layoffs", kind="private")
            assert r["type"] == "room", r
            ack = await a.send_text(g, "look")
            ev = await a.next_event("message", where=lambda e: e["seq"] > ack["seq"])
            # A private room is not found by name; public rooms are.
            assert ev["text"] == "none", ev
            pub = (await a.request("create_room", name="layoffs"))["room"]["id"]
            ack = await a.send_text(g, "look")
            ev = await a.next_event("message", where=lambda e: e["seq"] > ack["seq"])
            assert ev["text"] == f"public {pub}", ev

    run(body())


# -- 15: resume racing sends -------------------------------------------------------


def test_resume_during_sends_delivers_each_seq_once_in_order(server):
    tok = server.people("alice", "bob")
    rounds, parallel = 40, 8

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            base = (await a.send_text(g, "start"))["seq"]
            stop = asyncio.Event()

            async def sender():
                i = 0
                while not stop.is_set():
                    await a.send_many(g, [f"s{i}-{k}" for k in range(16)], window=16)
                    i += 1

            async def resume_once(frm, linger):
                b = Client(server, tok["bob"], resume={g: frm})
                await b.__aenter__()
                await asyncio.sleep(linger)
                await b.close()
                seqs = [e["seq"] for e in b.events
                        if e.get("type") == "message" and e.get("room") == g]
                gaps = [e for e in b.events if e.get("type") == "gap"]
                return frm, seqs, gaps

            task = asyncio.ensure_future(sender())
            bad = []
            resumes = 0
            try:
                frm = base
                for n in range(rounds):
                    outs = await asyncio.gather(*(resume_once(frm, 0.05 + k * 0.01)
                                                  for k in range(parallel)))
                    for start, seqs, gaps in outs:
                        resumes += 1
                        if gaps:
                            bad.append(("gap", start, gaps))
                        if seqs != sorted(set(seqs)):
                            bad.append(("twice or out of order", start, seqs))
                        elif seqs and seqs != list(range(start + 1, seqs[-1] + 1)):
                            bad.append(("hole", start, seqs))
                    tops = [s[-1] for _, s, _ in outs if s]
                    if tops:
                        frm = max(frm, min(tops) - 5)
            finally:
                stop.set()
                await task
            assert resumes == rounds * parallel
            assert not bad, (len(bad), bad[:2])

    run(body(), timeout=240)


# -- 20: malformed message ids ------------------------------------------------------


def test_edit_and_react_with_a_malformed_id_are_not_found(server):
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            for bad_id in ("nonsense", "m_", "m_x", "m_99999999999999999999", "42"):
                r = await a.request("edit", room=g, id=bad_id, text="x")
                assert is_error(r, ("not_found",)), (bad_id, r)
                r = await a.request("react", room=g, id=bad_id, emoji=":+1:")
                assert is_error(r, ("not_found",)), (bad_id, r)
                r = await a.request("delete", room=g, id=bad_id)
                assert is_error(r, ("not_found",)), (bad_id, r)

    run(body())
