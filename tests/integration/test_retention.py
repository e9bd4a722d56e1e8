"""Retention (issue 17, docs/operations.md "Retention"): expired messages
become tombstones in batches with one `pruned` event per batch, a room's
own shorter retention, `parley prune` (dry run, beside a running server,
audited), a pass cut by a crash resumes, and the `edits` history with its
access rules. Real servers, real SQLite files, the real CLI."""

import json
import os
import re
import time
import urllib.parse

from parley_client import Client, run

PLUGINS = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
           ' {"store_sqlite"}, {"uploads_local", dir = "files"} }')


def bearer(token):
    return {"Authorization": "Bearer " + token}


def upload(srv, token, data, name="notes.txt"):
    st, _, body = srv.http("POST", "/api/uploads", body=data,
                           headers={**bearer(token), "X-Filename": urllib.parse.quote(name),
                                    "Content-Type": "application/octet-stream"})
    assert st in (200, 201), (st, body)
    return json.loads(body)


def files_on_disk(srv):
    root = os.path.join(srv.data_dir, "files")
    return sum(len(fs) for _, _, fs in os.walk(root)) if os.path.isdir(root) else 0


async def wait_history(c, room, pred, timeout=10):
    """Polls history until pred(messages) holds; returns the messages."""
    deadline = time.monotonic() + timeout
    while True:
        h = await c.history(room, limit=100)
        assert h["type"] == "history", h
        if pred(h["messages"]) or time.monotonic() > deadline:
            return h["messages"]
        await _sleep(0.1)


async def _sleep(s):
    import asyncio
    await asyncio.sleep(s)


def test_expiry_tombstones_in_batches_with_one_event_per_batch(server_factory):
    srv = server_factory(plugins=PLUGINS,
                         config_extra='retention = { messages = "2s", interval = 0.2, batch = 2 }')
    srv.require_store_members("prune", "lease")
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            up = upload(srv, tok["alice"], b"lab notes\n")
            acks = [await a.send_text(g, "with file", attachments=[up["id"]])]
            acks += [await a.send_text(g, f"old {i}") for i in range(4)]
            assert all(x["type"] == "ack" for x in acks), acks
            r = await b.request("react", room=g, id=acks[1]["id"], emoji="👍", on=True)
            assert r["type"] != "error", r
            r = await a.request("edit", room=g, id=acks[2]["id"], text="old 1, edited")
            assert r["type"] != "error", r
            assert files_on_disk(srv) == 1
            last = acks[-1]["seq"]

            # Batches of 2: the last pruned event covers every one of them.
            ev = await b.next_event("pruned", room=g, timeout=15,
                                    where=lambda e: e["before_seq"] > last)
            assert ev["before_seq"] == last + 1
            events = [e for e in b.events if e.get("type") == "pruned"]
            befores = [e["before_seq"] for e in events]
            assert befores == sorted(befores) and len(befores) == len(set(befores)), befores
            # One event per batch, not per message: at most ceil(n/2) for n pruned.
            assert len(events) <= (last + 1) // 2, events
            assert all(set(e) == {"type", "room", "before_seq"} for e in events), events

            h = await a.history(g, limit=100)
            byid = {m["id"]: m for m in h["messages"]}
            for x in acks:
                m = byid[x["id"]]
                assert m["deleted"] is True and m["seq"] == x["seq"], m
                assert not m.get("text") and not m.get("reactions") and not m.get("attachments")

            # The file went from the provider, then from the records (HEAD
            # while the record's removal is in flight: a GET in that moment
            # would be cut, the object being gone already).
            deadline = time.monotonic() + 10
            while files_on_disk(srv):
                assert time.monotonic() < deadline, "the file stayed"
                await _sleep(0.05)
            while srv.http("HEAD", f"/api/uploads/{up['id']}",
                           headers=bearer(tok["alice"]))[0] != 404:
                assert time.monotonic() < deadline, "the upload record stayed"
                await _sleep(0.05)
            st, _, _ = srv.http("GET", f"/api/uploads/{up['id']}", headers=bearer(tok["alice"]))
            assert st == 404

            # A new message is kept until it too is old enough.
            fresh = await a.send_text(g, "fresh")
            h = await a.history(g, limit=100)
            assert {m["id"]: m for m in h["messages"]}[fresh["id"]]["text"] == "fresh"

    run(body())


def test_room_retention_is_the_owners_and_shorter_only(server_factory):
    srv = server_factory(plugins=PLUGINS,
                         config_extra='retention = { messages = "1d", interval = 0.2 }')
    srv.require_store_members("prune", "lease", "room_retention_set", "room_retention_get")
    tok = srv.people("alice", "bob")
    srv.add_user("root", role="admin")
    tok["root"] = srv.token("root")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b, \
                Client(srv, tok["root"]) as root:
            g = a.room_id("general")
            lab = (await a.request("create_room", name="lab"))["room"]["id"]
            assert (await b.request("join", room=lab))["type"] != "error"

            r = await b.request("room_retention", room=lab, retention="1s")
            assert r["type"] == "error" and r["code"] == "forbidden", r
            r = await a.request("room_retention", room=lab, retention="2d")
            assert r["type"] == "error" and r["code"] == "bad_request", r
            r = await a.request("room_retention", room=lab, retention="soon")
            assert r["type"] == "error" and r["code"] == "bad_request", r
            r = await root.request("room_retention", room=lab, retention="1h")
            assert r["type"] == "ok" and r["retention"] == 3600, r
            r = await a.request("room_retention", room=lab, retention="1s")
            assert r["type"] == "ok" and r["retention"] == 1, r

            in_lab = await a.send_text(lab, "short lived")
            in_general = await a.send_text(g, "kept a day")
            ev = await b.next_event("pruned", room=lab, timeout=10)
            assert ev["before_seq"] == in_lab["seq"] + 1
            h = await a.history(lab)
            assert {m["id"]: m for m in h["messages"]}[in_lab["id"]]["deleted"] is True
            h = await a.history(g)
            assert {m["id"]: m for m in h["messages"]}[in_general["id"]]["text"] == "kept a day"
            assert not b.queued("pruned", room=g)

    run(body())


def audit_entries(srv, token):
    st, _, data = srv.http("GET", "/api/admin/audit", headers=bearer(token))
    assert st == 200, data
    return json.loads(data)["entries"]


def test_cli_dry_run_then_prune_beside_a_running_server(server_factory):
    srv = server_factory(plugins=PLUGINS)  # retention forever: only the CLI prunes
    srv.require_store_members("prune", "room_retention_get")
    tok = srv.people("alice")
    srv.add_user("root", role="admin")
    admin = srv.token("root")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            lab = (await a.request("create_room", name="lab"))["room"]["id"]
            old = [await a.send_text(g, f"old {i}") for i in range(3)]
            old_lab = await a.send_text(lab, "old in lab")
            time.sleep(4)  # "young" stays younger than 3 s until the end
            young = await a.send_text(g, "young")

            res = srv.cli("prune", "--dry-run", "--older-than", "3s")
            assert "would prune 3 messages in general" in res.stdout, res.stdout
            assert "would prune 1 messages in lab" in res.stdout, res.stdout
            assert "would prune 4 messages in 2 rooms" in res.stdout, res.stdout
            h = await a.history(g)
            assert all(m.get("text") for m in h["messages"] if m["id"] in
                       {x["id"] for x in old}), h
            assert not [e for e in audit_entries(srv, admin) if e["action"] == "retention.prune"]

            res = srv.cli("prune", "--older-than", "3s", "--room", "lab")
            assert re.search(r"pruned 1 messages in lab \(r_\d+\), before seq 2", res.stdout), \
                res.stdout
            res = srv.cli("prune", "--older-than", "3s")
            assert "pruned 3 messages in 1 rooms" in res.stdout, res.stdout
            h = await a.history(g)
            byid = {m["id"]: m for m in h["messages"]}
            assert all(byid[x["id"]]["deleted"] for x in old)
            assert byid[young["id"]]["text"] == "young"
            h = await a.history(lab)
            assert {m["id"]: m for m in h["messages"]}[old_lab["id"]]["deleted"] is True

            again = srv.cli("prune", "--dry-run", "--older-than", "3s", "--room", "lab")
            assert "would prune 0 messages in 0 rooms" in again.stdout, again.stdout

    run(body())
    entries = [e for e in audit_entries(srv, admin) if e["action"] == "retention.prune"]
    assert len(entries) == 2, entries
    assert entries[0]["client"] == "cli" and entries[0]["detail"]["messages"] == 3
    assert entries[1]["detail"]["room"] == "lab" and entries[1]["detail"]["older_than"] == 3

    bad = srv.cli("prune", "--older-than", "soon", check=False)
    assert bad.returncode == 2 and "--older-than: bad duration" in bad.stderr
    none = srv.cli("prune", "--room", "nosuch", check=False)
    assert none.returncode == 1 and "no such room" in none.stderr, none.stderr


def test_a_pass_cut_by_a_crash_resumes_where_it_stopped(server_factory):
    srv = server_factory(
        config_extra='retention = { messages = "1s", interval = 0.1, batch = 1, lease = 1 }')
    srv.require_store_members("prune", "lease")
    tok = srv.people("alice")
    srv.stop()
    # 400 messages, written while no retention runs.
    quiet = srv.config_text.replace('retention = { messages = "1s"', 'retention = { messages = "forever"')
    with open(srv.config_path, "w") as f:
        f.write(quiet)
    srv.restart()

    async def fill():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            acks = await a.send_many(g, [f"m{i}" for i in range(400)], window=32)
            assert all(x["type"] == "ack" for x in acks)
            return g, max(x["seq"] for x in acks)

    g, last = run(fill())
    srv.stop()
    time.sleep(1.1)
    with open(srv.config_path, "w") as f:
        f.write(srv.config_text)
    srv.restart()
    srv.wait_log("retention", timeout=10)
    srv.kill9()
    mark = len(srv.logs)

    def pruned_seqs(lines):
        return [int(re.search(r"before seq (\d+)", ln["msg"]).group(1)) for ln in lines
                if ln.get("event") == "retention" and "before seq" in ln.get("msg", "")]

    before = pruned_seqs(srv.logs[:mark])
    assert before and max(before) <= last, before
    srv.restart()

    async def check():
        async with Client(srv, tok["alice"]) as a:
            msgs = await wait_history(a, g, lambda ms: all(m.get("deleted") for m in ms), 30)
            assert all(m.get("deleted") for m in msgs)

    run(check())
    after = pruned_seqs(srv.logs[mark:])
    assert after, srv.stderr_lines[-20:]
    # The restarted server went on from the store's mark, not from seq 1:
    # no batch done before the crash is done again.
    assert min(after) > max(before), (max(before), min(after))
    assert max(after) == last + 1, after
    res = srv.cli("prune", "--dry-run", "--older-than", "1s")
    assert "would prune 0 messages" in res.stdout, res.stdout


def make_moderator(srv, mongo_store, room, name):
    """Makes name a moderator of room in the store itself (the protocol has
    no request for it yet), the server stopped meanwhile: an UPDATE on
    parley.db, or on store_mongo's members collection (pymongo comes with
    python3-mockupdb)."""
    srv.stop()
    if mongo_store is None:
        import sqlite3
        with sqlite3.connect(os.path.join(srv.data_dir, "parley.db")) as conn:
            n = conn.execute("UPDATE members SET role = 'moderator' WHERE room = ? AND user ="
                             " (SELECT id FROM users WHERE name = ?)",
                             (int(room[2:]), name)).rowcount
    else:
        import pymongo
        client = pymongo.MongoClient(mongo_store.uri, directConnection=True)
        try:
            db = client[mongo_store.database(srv.data_dir)]
            user = db.users.find_one({"name_lc": name.lower()})["id"]
            n = db.members.update_one({"room": room, "user": user},
                                      {"$set": {"role": "moderator"}}).matched_count
        finally:
            client.close()
    assert n == 1
    srv.restart()


def test_edits_history_for_owners_moderators_and_admins_only(server_factory, mongo_store):
    srv = server_factory(plugins=PLUGINS)
    srv.require_store_members("edits_list")
    tok = srv.people("alice", "bob", "carol")
    srv.add_user("root", role="admin")
    tok["root"] = srv.token("root")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b, \
                Client(srv, tok["carol"]) as c, Client(srv, tok["root"]) as root:
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            assert (await a.request("invite", room=ops, user="bob"))["type"] != "error"
            m = await b.send_text(ops, "draft")
            for text in ("second", "third"):
                r = await b.request("edit", room=ops, id=m["id"], text=text)
                assert r["type"] != "error", r

            r = await a.request("edits", room=ops, id=m["id"])
            assert r["type"] == "edits" and r["room"] == ops and r["id"] == m["id"], r
            assert [v["text"] for v in r["versions"]] == ["draft", "second", "third"]
            ts = [v["ts"] for v in r["versions"]]
            assert ts == sorted(ts) and ts[0] == m["ts"], ts

            # An admin outside the private room may read it too.
            r = await root.request("edits", room=ops, id=m["id"])
            assert r["type"] == "edits" and len(r["versions"]) == 3, r
            # The author, as a plain member, may not; nor may a stranger.
            r = await b.request("edits", room=ops, id=m["id"])
            assert r["type"] == "error" and r["code"] == "forbidden", r
            r = await c.request("edits", room=ops, id=m["id"])
            assert r["type"] == "error" and r["code"] == "not_found", r
            r = await a.request("edits", room=ops, id="m_999999")
            assert r["type"] == "error" and r["code"] == "not_found", r
            r = await a.request("edits", room=ops)
            assert r["type"] == "error" and r["code"] == "bad_request", r

            # Not in a DM the admin is not part of.
            dm = (await a.request("dm", user="bob"))["room"]["id"]
            secret = await b.send_text(dm, "between us")
            assert (await b.request("edit", room=dm, id=secret["id"], text="x"))["type"] != "error"
            r = await root.request("edits", room=dm, id=secret["id"])
            assert r["type"] == "error" and r["code"] == "not_found", r
        return ops, m

    ops, m = run(body())

    # A moderator may.
    make_moderator(srv, mongo_store, ops, "bob")

    async def moderator():
        async with Client(srv, tok["bob"]) as b:
            r = await b.request("edits", room=ops, id=m["id"])
            assert r["type"] == "edits" and len(r["versions"]) == 3, r

    run(moderator())
    # The history is pruned with the message.
    time.sleep(1.1)
    srv.cli("prune", "--older-than", "1s")

    async def after():
        async with Client(srv, tok["alice"]) as a:
            r = await a.request("edits", room=ops, id=m["id"])
            assert r["type"] == "edits", r
            assert len(r["versions"]) == 1 and r["versions"][0].get("deleted") is True, r

    run(after())


def test_bad_retention_config_is_named_at_its_line(server_factory):
    for bad, words in (('messages = "soon"', 'bad duration'),
                       ("messages = 0", "must be more than 0"),
                       ("batch = 5000", "between 1 and 1000"),
                       ("keep = 3", "unknown key")):
        srv = server_factory(config_extra="retention = { " + bad + " }", expect_fail=True)
        assert srv.returncode not in (0, None)
        assert "retention." in srv.stderr_text and words in srv.stderr_text, srv.stderr_text
    ok = server_factory(config_extra='retention = { messages = "forever" }')
    assert ok.proc.poll() is None
