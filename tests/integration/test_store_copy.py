"""parley store copy: a populated store into the other store and back
(SQLite -> MongoDB -> SQLite; with PARLEY_TEST_STORE=mongo, MongoDB ->
SQLite -> MongoDB), each copy taken while its source serves, then a server
started on the copy: the same users (passwords and sessions too), rooms,
memberships and history, an edited message's earlier versions, a room's
settings and a thread's followers, and new messages continue the seqs.

The MongoDB side is PARLEY_TEST_MONGO_URI when set, else a CongoDB test
server of tests/mongo/congo.py started for this module."""

import asyncio
import json
import os
import re
import sys

import pytest

from conftest import DEFAULT_PLUGINS, SOURCE_DIR, STORE, make_config, lua_str
from parley_client import Client, run
import websockets

PASSWORD = "correct horse 1"
PLUGINS_MONGO = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
                 ' {"store_mongo", uri = %s, database = %s} }')
# Not the factory's `{"store_sqlite"}` spelling, which PARLEY_TEST_STORE=mongo
# rewrites to store_mongo: this one stays on SQLite in either run.
PLUGINS_SQLITE = DEFAULT_PLUGINS.replace('{"store_sqlite"}', '{"store_sqlite", path = "parley.db"}')


@pytest.fixture(scope="module")
def mongo_uri():
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    if uri:
        yield uri
        return
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
    try:
        import congo
    except ImportError as e:
        pytest.skip(f"no Mongo-wire test server (tests/mongo/congo.py: {e})")
    if not congo.available():
        pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it) and "
                    "PARLEY_TEST_MONGO_URI is unset")
    with congo.Congo() as server:
        yield server.uri


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def general_id(srv, token):
    async def run():
        ws = await websockets.connect(srv.ws_url, subprotocols=["parley.v1"])
        await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame.get("rid") == 1:
                await ws.close()
                return frame

    ready = asyncio.run(run())
    rooms = {r["name"]: r["id"] for r in ready["rooms"]}
    assert "general" in rooms, ready
    return rooms["general"]


def history(srv, token, room):
    status, _, data = srv.http("GET", f"/api/rooms/{room}/messages?limit=100",
                               headers=bearer(token))
    assert status == 200, data
    msgs = sorted(json.loads(data)["messages"], key=lambda m: m["seq"])
    return [(m["id"], m["seq"], m["user"]["name"] if isinstance(m.get("user"), dict)
             else m.get("user"), m.get("text")) for m in msgs]


def make_lifecycle(srv, alice, bob, room):
    """What lives beside the messages: alice edits a message and sets
    may_pin of the room; bob replies in alice's thread (both follow it).
    Returns the ids of the edited message and of the thread's root."""
    async def body():
        async with Client(srv, alice) as a, Client(srv, bob) as b:
            m = await a.send_text(room, "first draft")
            r = await a.request("edit", room=room, id=m["id"], text="second draft")
            assert r["type"] != "error", r
            r = await a.request("room_settings", room=room, may_pin="members")
            assert r["type"] == "room" and r["room"]["may_pin"] == "members", r
            root = await a.send_text(room, "a thread")
            reply = await b.send_text(room, "a reply", thread=root["id"])
            assert reply["type"] == "ack", reply
            return m["id"], root["id"]
    return run(body())


def assert_lifecycle(srv, alice, bob, room, edited, root):
    """The copy carries what make_lifecycle made."""
    async def body():
        async with Client(srv, alice) as a, Client(srv, bob) as b:
            r = await a.request("edits", room=room, id=edited)
            assert r["type"] == "edits", r
            assert [v["text"] for v in r["versions"]] == ["first draft", "second draft"], r
            settings = [x for x in a.ready["rooms"] if x["id"] == room]
            assert settings and settings[0]["may_pin"] == "members", a.ready["rooms"]
            for c in (a, b):
                r = await c.request("threads")
                assert r["type"] == "threads", r
                assert [x["root"]["id"] for x in r["threads"]] == [root], r
                assert r["threads"][0]["root"]["replies"] == 1, r
    run(body())


def target_config(tmp_path, name, kind, mongo_uri, uploads=False):
    """A config file for a store of `kind` in its own data dir (uploads:
    with uploads_local); returns (text with {data_dir}/{plugin_dir}
    placeholders, data dir)."""
    data = str(tmp_path / f"{name}-data")
    if kind == "mongo":
        plugins = PLUGINS_MONGO % (lua_str(mongo_uri), lua_str(f"copy_{name}_{os.getpid()}"))
    else:
        plugins = PLUGINS_SQLITE
    if uploads:
        plugins = plugins[:plugins.rindex("}")] + ', {"uploads_local", dir = "files"} }'
    text = make_config("{data_dir}", "{plugin_dir}", plugins)
    return text, data


def write_config(tmp_path, name, text, data, plugin_dir):
    path = tmp_path / f"{name}.conf"
    path.write_text(text.replace('"{data_dir}"', lua_str(data))
                    .replace('"{plugin_dir}"', lua_str(plugin_dir)))
    return str(path)


def copy(srv, to, *extra):
    return srv.cli("store", "copy", "--to", to, *extra, check=False)


def test_copy_to_the_other_store_and_back(server_factory, tmp_path, mongo_uri, plugin_dir):
    other = "sqlite" if STORE == "mongo" else "mongo"
    src = server_factory()
    src.add_user("alice", PASSWORD, role="admin")
    src.add_user("bob", PASSWORD)
    alice, bob = src.tokens("alice", "bob")
    room = general_id(src, alice)
    assert general_id(src, bob) == room
    for i in range(12):
        who = alice if i % 3 else bob
        status, _, data = src.http("POST", f"/api/rooms/{room}/messages",
                                   json={"text": f"message {i}", "client_id": f"c{i}"},
                                   headers=bearer(who))
        assert status == 200, data
    edited, root = make_lifecycle(src, alice, bob, room)
    assert_lifecycle(src, alice, bob, room, edited, root)
    before = history(src, alice, room)
    assert len(before) >= 12

    # Into the other store, while the source serves.
    text, data = target_config(tmp_path, "b", other, mongo_uri)
    conf_b = write_config(tmp_path, "b", text, data, plugin_dir)
    res = copy(src, conf_b)
    assert res.returncode == 0, res.stderr
    assert "verified messages: %d" % len(before) in res.stderr, res.stderr
    assert "verified users: 2" in res.stderr, res.stderr
    # Each room's messages by count and checksum, not only the total.
    assert re.search(r"verified \d+ rooms: each room's messages", res.stderr), res.stderr
    assert "read rooms" in res.stderr and "done:" in res.stderr

    # Not into a store that has records (unless --force merges).
    res = copy(src, conf_b)
    assert res.returncode == 1
    assert "already has users" in res.stderr, res.stderr
    res = copy(src, conf_b, "--force")
    assert res.returncode == 0, res.stderr

    # A server on the copy: same rooms, history, sessions and passwords.
    b = server_factory(raw_config=text, data_dir=data)
    assert b.wait_log("plugin_loaded", plugin=f"store_{other}")
    assert general_id(b, alice) == room
    assert history(b, alice, room) == before
    assert history(b, bob, room) == before
    assert_lifecycle(b, alice, bob, room, edited, root)
    login = b.login("bob", PASSWORD)
    assert login.get("token") or login.get("user"), login
    status, _, data_b = b.http("POST", f"/api/rooms/{room}/messages",
                               json={"text": "on the copy"}, headers=bearer(bob))
    assert status == 200, data_b
    assert json.loads(data_b)["seq"] == before[-1][1] + 1
    # A resend of a copied client_id is still a duplicate (dedup copied).
    status, _, again = b.http("POST", f"/api/rooms/{room}/messages",
                              json={"text": "message 1", "client_id": "c1"},
                              headers=bearer(alice))
    assert status == 200
    assert json.loads(again)["id"] == before[1][0]
    after_b = history(b, alice, room)

    # And back, into a fresh store of the source's kind, while b serves.
    text_c, data_c = target_config(tmp_path, "c", STORE, mongo_uri)
    conf_c = write_config(tmp_path, "c", text_c, data_c, plugin_dir)
    res = copy(b, conf_c)
    assert res.returncode == 0, res.stderr
    assert "verified messages: %d" % len(after_b) in res.stderr, res.stderr
    c = server_factory(raw_config=text_c, data_dir=data_c)
    assert history(c, alice, room) == after_b
    assert_lifecycle(c, alice, bob, room, edited, root)
    assert c.login("alice", PASSWORD)
    status, _, data_c_post = c.http("POST", f"/api/rooms/{room}/messages",
                                    json={"text": "back home"}, headers=bearer(alice))
    assert status == 200
    assert json.loads(data_c_post)["seq"] == after_b[-1][1] + 1


def test_copy_usage_errors(server_factory, tmp_path):
    srv = server_factory()
    res = srv.cli("store", "copy", check=False)
    assert res.returncode == 2 and "--to" in res.stderr
    res = srv.cli("store", "move", "--to", "x.conf", check=False)
    assert res.returncode == 2 and "store copy" in res.stderr
    res = srv.cli("store", "copy", "--to", str(tmp_path / "missing.conf"), check=False)
    assert res.returncode == 1
    res = srv.cli("backup", "--out", str(tmp_path / "b"), "--to", "x.conf", check=False)
    assert res.returncode == 2 and "--to applies" in res.stderr


# -- a second copy with --force adds nothing ---------------------------------------

def mongo_db(uri, name):
    """(client, database) of the store_mongo database called name (pymongo
    comes with python3-mockupdb)."""
    import pymongo
    client = pymongo.MongoClient(uri, directConnection=True)
    return client, client[name]


def edit_texts(srv, token, room, message):
    async def body():
        async with Client(srv, token) as a:
            r = await a.request("edits", room=room, id=message)
            assert r["type"] == "edits", r
            return [v["text"] for v in r["versions"]]
    return run(body())


def test_second_force_copy_of_idless_edit_versions(server_factory, tmp_path, mongo_uri,
                                                   plugin_dir):
    """Edit versions store_mongo kept before its `edit` counter numbered
    them have no id. Copied into SQLite, they are matched again by
    (message, ts, text) on a second --force copy, not added twice, and
    never take an id a numbered version copied later has."""
    text_m, data_m = target_config(tmp_path, "m", "mongo", mongo_uri)
    m = server_factory(raw_config=text_m, data_dir=data_m)
    m.add_user("alice", PASSWORD, role="admin")  # admins read edit history
    alice = m.token("alice")
    room = general_id(m, alice)

    async def body():
        async with Client(m, alice) as a:
            old = await a.send_text(room, "old v1")
            new = await a.send_text(room, "new v1")
            # new's version is numbered 1, old's 2 and 3 by the counter...
            for mid, text in ((new["id"], "new v2"), (old["id"], "old v2"),
                              (old["id"], "old v3")):
                r = await a.request("edit", room=room, id=mid, text=text)
                assert r["type"] != "error", r
            return old["id"], new["id"]
    old, new = run(body())
    m.stop()
    # ... and old's lose their ids, as if stored before the counter existed.
    client, db = mongo_db(mongo_uri, f"copy_m_{os.getpid()}")
    try:
        doc = db.messages.find_one({"id": old})
        assert [v.get("id") for v in doc["edits"]] == [2, 3], doc["edits"]
        stripped = [{k: v for k, v in ver.items() if k != "id"} for ver in doc["edits"]]
        assert db.messages.update_one({"id": old},
                                      {"$set": {"edits": stripped}}).matched_count == 1
    finally:
        client.close()

    text_s, data_s = target_config(tmp_path, "s", "sqlite", mongo_uri)
    conf_s = write_config(tmp_path, "s", text_s, data_s, plugin_dir)
    for extra in ((), ("--force",), ("--force",)):
        res = copy(m, conf_s, *extra)
        assert res.returncode == 0, res.stderr
        assert "verified edits: 3" in res.stderr, res.stderr
    import sqlite3
    with sqlite3.connect(os.path.join(data_s, "parley.db")) as conn:
        rows = conn.execute("SELECT message, text FROM edits ORDER BY message, id").fetchall()
    assert rows == [(int(old[2:]), "old v1"), (int(old[2:]), "old v2"),
                    (int(new[2:]), "new v1")], rows

    s = server_factory(raw_config=text_s, data_dir=data_s)
    assert edit_texts(s, alice, room, old) == ["old v1", "old v2", "old v3"]
    assert edit_texts(s, alice, room, new) == ["new v1", "new v2"]


def sqlite_dump(path):
    """Every table of a store_sqlite file but its search index, rows sorted:
    {table: [row, ...]}."""
    import sqlite3
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE '%fts%'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}


def mongo_dump(uri, name):
    """Every collection of a store_mongo database, documents without their
    _id (a copy makes new ones), sorted: {collection: [document, ...]}."""
    client, db = mongo_db(uri, name)
    try:
        return {c: sorted((repr(sorted((k, v) for k, v in d.items() if k != "_id"))
                           for d in db[c].find()))
                for c in db.list_collection_names()}
    finally:
        client.close()


def populate_everything(srv, room):
    """One record of every kind the stores keep: messages with reactions, a
    pin, an edit, a thread its people follow, room settings, a notification
    level, an upload on a message, a profile (kv), a private room with an
    invitation; sessions and the audit log come with the people."""
    srv.add_user("alice", PASSWORD, role="admin")
    srv.add_user("bob", PASSWORD)
    alice, bob = srv.tokens("alice", "bob")
    room = general_id(srv, alice)
    status, _, data = srv.http("POST", "/api/uploads", body=b"some file\n",
                               headers={"Authorization": "Bearer " + alice,
                                        "X-Filename": "notes.txt",
                                        "Content-Type": "text/plain"})
    assert status == 201, data
    upload = json.loads(data)["id"]
    status, _, data = srv.http("PATCH", "/api/profile", json={"pronouns": "she/her"},
                               headers=bearer(alice))
    assert status == 200, data

    async def body():
        async with Client(srv, alice) as a, Client(srv, bob) as b:
            first = await a.send_text(room, "first", attachments=[upload])
            assert first["type"] == "ack", first
            second = await b.send_text(room, "second")
            for c, m, e in ((a, second, "👍"), (b, second, "👍"), (b, first, "🎉")):
                r = await c.request("react", room=room, id=m["id"], emoji=e, on=True)
                assert r["type"] != "error", r
            for req, fields in (("room_settings", {"may_pin": "members"}),
                                ("pin", {"id": first["id"]}),
                                ("edit", {"id": second["id"], "text": "second, edited"}),
                                ("notify", {"level": "mentions"})):
                r = await (b if req == "edit" else a).request(req, room=room, **fields)
                assert r["type"] != "error", (req, r)
            root = await a.send_text(room, "a thread")
            reply = await b.send_text(room, "a reply", thread=root["id"])
            assert reply["type"] == "ack", reply
            r = await a.request("create_room", name="backroom", kind="private")
            assert r["type"] != "error", r
            r = await a.request("invite", room=r["room"]["id"], user="bob")
            assert r["type"] != "error", r
    run(body())
    return alice, bob


def test_second_force_copy_adds_nothing_both_ways(server_factory, tmp_path, mongo_uri,
                                                  plugin_dir):
    """SQLite -> MongoDB -> SQLite, each copy made twice (the second with
    --force): the second changes nothing in its target, and the SQLite at
    the end holds exactly what the first one did, table by table."""
    text_a, data_a = target_config(tmp_path, "a", "sqlite", mongo_uri, uploads=True)
    a = server_factory(raw_config=text_a, data_dir=data_a)
    populate_everything(a, None)
    a.stop()
    before = sqlite_dump(os.path.join(data_a, "parley.db"))

    text_m, data_m = target_config(tmp_path, "mm", "mongo", mongo_uri, uploads=True)
    conf_m = write_config(tmp_path, "mm", text_m, data_m, plugin_dir)
    res = copy(a, conf_m)
    assert res.returncode == 0, res.stderr
    once = mongo_dump(mongo_uri, f"copy_mm_{os.getpid()}")
    res = copy(a, conf_m, "--force")
    assert res.returncode == 0, res.stderr
    twice = mongo_dump(mongo_uri, f"copy_mm_{os.getpid()}")
    assert {c: len(d) for c, d in twice.items()} == {c: len(d) for c, d in once.items()}
    for c in once:
        assert twice[c] == once[c], c

    text_b, data_b = target_config(tmp_path, "bb", "sqlite", mongo_uri, uploads=True)
    conf_b = write_config(tmp_path, "bb", text_b, data_b, plugin_dir)
    m = server_factory(raw_config=text_m, data_dir=data_m)
    m.stop()
    res = copy(m, conf_b)
    assert res.returncode == 0, res.stderr
    b_once = sqlite_dump(os.path.join(data_b, "parley.db"))
    res = copy(m, conf_b, "--force")
    assert res.returncode == 0, res.stderr
    b_twice = sqlite_dump(os.path.join(data_b, "parley.db"))
    for t in b_once:
        assert b_twice[t] == b_once[t], t
    # And the round trip kept every record.
    differ = {t: (before[t], b_twice.get(t)) for t in before if b_twice.get(t) != before[t]}
    assert not differ, differ
