"""Search (PROTOCOL.md "Search"): words, prefixes, phrases, folded
diacritics, from:/in:, relevance and recency, cursor paging, only rooms the
asker may read, deleted and edited messages, errors, GET /api/search, bot
tokens, and the schema migration's backfill of older messages."""

import json
import os

import pytest
import sqlite3
import urllib.parse

from conftest import sqlite_only
from parley_client import Client, run


@pytest.fixture(autouse=True)
def store_searches(server):
    server.require_store_members("search")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def get(server, token, **params):
    path = "/api/search?" + urllib.parse.urlencode(params)
    status, _, data = server.http("GET", path, headers=bearer(token) if token else None)
    return status, json.loads(data) if data else None


def texts(reply):
    assert reply.get("type", "search") == "search", reply
    return [m["text"] for m in reply["messages"]]


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code


def test_words_prefix_phrase_and_folding(server):
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            for t in ("We used Tris buffer in March", "buffering takes ages",
                      "Crème brûlée at the march meeting", "an unrelated line",
                      "buffer, then March: again"):
                assert (await a.send_text(g, t))["type"] == "ack"
            r = await a.request("search", query="buffer march")
            assert r["type"] == "search" and r["more"] is False and r["cursor"] is None, r
            assert set(texts(r)) == {"We used Tris buffer in March", "buffer, then March: again"}
            assert all(m["room"] == g and m["user"]["name"] == "alice" for m in r["messages"])
            r = await a.request("search", query="buff*")
            assert len(texts(r)) == 3, r
            r = await a.request("search", query='"buffer in march"')
            assert texts(r) == ["We used Tris buffer in March"], r
            r = await a.request("search", query='"march buffer"')
            assert texts(r) == [], r
            # Diacritics and case folded both ways.
            assert texts(await a.request("search", query="CREME brulee")) == [
                "Crème brûlée at the march meeting"]
            async with Client(server, tok["bob"]) as b:
                assert (await b.send_text(g, "creme fraiche"))["type"] == "ack"
            r = await a.request("search", query="crème")
            assert set(texts(r)) == {"Crème brûlée at the march meeting", "creme fraiche"}
            # from: in the text or as a field.
            r = await a.request("search", query="creme from:bob")
            assert texts(r) == ["creme fraiche"], r
            r = await a.request("search", query="creme", **{"from": a.user["id"]})
            assert texts(r) == ["Crème brûlée at the march meeting"], r
            r = await a.request("search", query="creme from:@alice in:#general")
            assert texts(r) == ["Crème brûlée at the march meeting"], r

    run(body())


def test_sort_ties_and_paging(server):
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            ids = []
            for i in range(7):
                ack = await a.send_text(g, f"pipette number {i}")
                ids.append(ack["id"])
            await a.send_text(g, "pipette pipette pipette calibration")
            # recent: newest first, paged by cursor with no repeats.
            seen, cursor = [], None
            while True:
                fields = {"query": "pipette", "sort": "recent", "limit": 3}
                if cursor:
                    fields["cursor"] = cursor
                r = await a.request("search", **fields)
                assert r["type"] == "search", r
                seen += [m["id"] for m in r["messages"]]
                assert len(r["messages"]) <= 3
                if not r["more"]:
                    assert r["cursor"] is None
                    break
                cursor = r["cursor"]
                assert isinstance(cursor, str) and cursor
            assert seen[1:] == list(reversed(ids)) and len(seen) == 8, seen
            # relevance: the message saying it thrice first, then the equal
            # ones newest first; paging gives the same order.
            r1 = await a.request("search", query="pipette", limit=4)
            r2 = await a.request("search", query="pipette", limit=4, cursor=r1["cursor"])
            assert r1["more"] is True and r2["more"] is False, (r1, r2)
            order = [m["id"] for m in r1["messages"] + r2["messages"]]
            assert texts(r1)[0] == "pipette pipette pipette calibration"
            assert order[1:] == list(reversed(ids)), order
            # before/after bound ts.
            mid = r1["messages"][2]["ts"]
            r = await a.request("search", query="pipette", sort="recent", before=mid + 1,
                                after=mid - 1)
            assert all(m["ts"] == mid for m in r["messages"]) and r["messages"], r
            # A cursor of one sort is not one of the other.
            r = await a.request("search", query="pipette", sort="recent", cursor=r1["cursor"])
            assert is_error(r, "bad_request"), r

    run(body())


def test_only_readable_rooms(server):
    tok = server.people("alice", "bob", "carol")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            await a.send_text(ops, "secret reagent plan")
            lobby = (await a.request("create_room", name="lobby"))["room"]["id"]
            await a.send_text(lobby, "public reagent list")
            dm = (await a.request("dm", user="carol"))["room"]["id"]
            await a.send_text(dm, "private reagent note")
            g = a.room_id("general")
            await a.send_text(g, "general reagent chat")

            assert set(texts(await a.request("search", query="reagent"))) == {
                "secret reagent plan", "public reagent list", "private reagent note",
                "general reagent chat"}
            # bob: only general (not a member of the public lobby either).
            assert texts(await b.request("search", query="reagent")) == ["general reagent chat"]
            assert set(texts(await c.request("search", query="reagent"))) == {
                "private reagent note", "general reagent chat"}
            for room in (ops, lobby, dm):
                r = await b.request("search", query="reagent", room=room)
                assert r["type"] == "error" and r["code"] in ("not_found", "forbidden"), r
            r = await b.request("search", query="reagent in:ops")
            assert is_error(r, "not_found"), r
            r = await a.request("search", query="reagent in:OPS")
            assert texts(r) == ["secret reagent plan"], r
            r = await a.request("search", query="reagent in:ops", room=lobby)
            assert texts(r) == [], r
            # Leaving a room takes its messages out of one's results.
            await a.request("invite", room=ops, user="bob")
            assert "secret reagent plan" in texts(await b.request("search", query="reagent"))
            await b.request("leave", room=ops)
            assert "secret reagent plan" not in texts(await b.request("search", query="reagent"))

    run(body())


def test_deleted_and_edited(server):
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            gone = await a.send_text(g, "centrifuge broken")
            kept = await a.send_text(g, "centrifuge spinning")
            assert len(texts(await a.request("search", query="centrifuge"))) == 2
            r = await a.request("delete", room=g, id=gone["id"])
            assert r["type"] == "ok", r
            assert texts(await a.request("search", query="centrifuge")) == ["centrifuge spinning"]
            assert texts(await a.request("search", query="broken")) == []
            r = await a.request("edit", room=g, id=kept["id"], text="vortexer spinning")
            assert r["type"] in ("ok", "ack"), r
            assert texts(await a.request("search", query="centrifuge")) == []
            r = await a.request("search", query="vortexer")
            assert texts(r) == ["vortexer spinning"] and r["messages"][0]["id"] == kept["id"]

    run(body())


def test_bad_queries(server):
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            bad = [dict(query=""), dict(query="   ...  "), dict(query="x" * 300),
                   dict(query=" ".join(f"w{i}" for i in range(9))), dict(query='"open quote'),
                   dict(query="b*"), dict(query="x from:"), dict(query="a in:x in:y"),
                   dict(query="ok", sort="best"), dict(query="ok", limit=0),
                   dict(query="ok", limit=101), dict(query="ok", cursor="zzz"),
                   dict(query="ok", before=-1), dict(query=5), dict(),
                   dict(query="w" * 70)]
            for fields in bad:
                r = await a.request("search", **fields)
                assert is_error(r, "bad_request"), (fields, r)
                assert r.get("message"), r
            r = await a.request("search", query="x from:nobody")
            assert is_error(r, "not_found") and "nobody" in r["message"], r
            r = await a.request("search", query="x", **{"from": "u_999"})
            assert is_error(r, "not_found"), r
            # FTS5 syntax in the text is only text.
            for q in ('NEAR(a b)', 'a OR b', 'col:x', '^start', '"a" AND "b"', "x -y"):
                r = await a.request("search", query=q)
                assert r["type"] == "search", (q, r)

    run(body())


def test_http_and_bot_tokens(server):
    admin = server.user("root", role="admin")
    tok = server.people("alice")

    async def body():
        # alice's first session makes her a member of general.
        async with Client(server, admin) as c, Client(server, tok["alice"]):
            g = c.room_id("general")
            ops = (await c.request("create_room", name="ops"))["room"]["id"]
            await c.send_text(g, "sample in the freezer")
            await c.send_text(ops, "sample in the fridge")
            return g, ops
    g, ops = run(body())

    st, out = get(server, tok["alice"], q="sample")
    assert st == 200 and texts(out) == ["sample in the freezer"], out
    st, out = get(server, admin, q="sample", sort="recent", limit=1)
    assert st == 200 and out["more"] is True and texts(out) == ["sample in the fridge"], out
    st, out = get(server, admin, q="sample", sort="recent", limit=1, cursor=out["cursor"])
    assert st == 200 and out["more"] is False and texts(out) == ["sample in the freezer"], out
    st, out = get(server, admin, q="sample", room=ops)
    assert st == 200 and texts(out) == ["sample in the fridge"], out
    alice = tok["alice"]
    st, out = get(server, alice, q="sample", room=ops)
    assert st in (403, 404), out
    st, out = get(server, alice, q='"unclosed')
    assert st == 400 and out["error"]["code"] == "bad_request", out
    st, out = get(server, None, q="sample")
    assert st == 401, out
    status, _, _ = server.http("POST", "/api/search?q=x", headers=bearer(alice))
    assert status == 405

    def bot_token(body):
        st, _, data = server.http("POST", "/api/admin/bots/" + bot + "/tokens", json=body,
                                  headers=bearer(admin))
        assert st == 201, data
        return json.loads(data)["token"]
    st, _, data = server.http("POST", "/api/admin/bots", json={"name": "finder"},
                              headers=bearer(admin))
    bot = json.loads(data)["user"]["id"]

    async def invite():
        async with Client(server, admin) as c:
            await c.request("invite", room=ops, user=bot)
    run(invite())
    everywhere = bot_token({"scopes": "read"})
    general_only = bot_token({"scopes": "read", "rooms": [g]})
    poster = bot_token({"scopes": "post"})
    st, out = get(server, everywhere, q="sample")
    assert st == 200 and set(texts(out)) == {"sample in the freezer", "sample in the fridge"}
    st, out = get(server, general_only, q="sample")
    assert st == 200 and texts(out) == ["sample in the freezer"], out
    st, out = get(server, general_only, q="sample in:ops")
    assert st == 404, out
    st, out = get(server, poster, q="sample")
    assert st == 403, out

    async def ws():
        async with Client(server, general_only) as c:
            r = await c.request("search", query="sample")
            assert texts(r) == ["sample in the freezer"], r
            r = await c.request("search", query="sample", room=ops)
            assert is_error(r, "not_found"), r
        async with Client(server, poster) as c:
            r = await c.request("search", query="sample")
            assert is_error(r, "forbidden"), r
    run(ws())


def test_http_takes_every_filter(server):
    """GET /api/search takes the frame's filters: from (a user id, and
    from: in q), room and in:, before and after (ts), sort, limit, cursor;
    a bad one is 400 with a machine code."""
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            acks = []
            for c, t in ((a, "titration one"), (b, "titration two"), (a, "titration three")):
                acks.append(await c.send_text(g, t))
            h = {m["id"]: m["ts"] for m in (await a.history(g))["messages"]}
            return g, b.user["id"], [h[x["id"]] for x in acks]
    g, bob, ts = run(body())
    alice = tok["alice"]
    st, out = get(server, alice, q="titration", sort="recent")
    assert st == 200 and texts(out) == ["titration three", "titration two", "titration one"]
    assert all(m["room"] == g for m in out["messages"]), out
    st, out = get(server, alice, q="titration", **{"from": bob})
    assert st == 200 and texts(out) == ["titration two"], out
    st, out = get(server, alice, q="titration from:alice", sort="recent")
    assert st == 200 and texts(out) == ["titration three", "titration one"], out
    st, out = get(server, alice, q="titration in:general", **{"from": bob})
    assert st == 200 and texts(out) == ["titration two"], out
    st, out = get(server, alice, q="titration", sort="recent", before=ts[2])
    assert st == 200 and "titration three" not in texts(out) and texts(out), out
    st, out = get(server, alice, q="titration", sort="recent", after=ts[0])
    assert st == 200 and "titration one" not in texts(out) and texts(out), out
    for bad in ({"q": "titration", "before": "soon"}, {"q": "titration", "sort": "best"},
                {"q": "titration", "limit": "0"}, {"q": ""}, {"q": "x", "from": "nobody"}):
        st, out = get(server, alice, **bad)
        assert st in (400, 404) and out["error"]["code"] in ("bad_request", "not_found"), \
            (bad, st, out)
        assert out["error"]["message"], out


def test_expired_messages_are_never_found(server_factory):
    srv = server_factory(config_extra='retention = { messages = "2s", interval = 0.2 }')
    srv.require_store_members("search", "prune", "lease")
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            old = await a.send_text(g, "ephemeral spectrometer reading")
            assert texts(await a.request("search", query="spectrometer")) == [
                "ephemeral spectrometer reading"]
            await a.next_event("pruned", room=g, timeout=15,
                               where=lambda e: e["before_seq"] > old["seq"])
            fresh = await a.send_text(g, "fresh spectrometer reading")
            assert fresh["type"] == "ack", fresh
            for q in ("spectrometer", "ephemeral", "ephem*", '"ephemeral spectrometer"'):
                r = await a.request("search", query=q)
                assert "ephemeral spectrometer reading" not in texts(r), (q, r)
            assert texts(await a.request("search", query="spectrometer")) == [
                "fresh spectrometer reading"]

    run(body())


def test_migration_backfills_older_messages(server):
    sqlite_only("store_sqlite's FTS5 migration (parley.db)")
    tok = server.people("alice")

    async def send():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            await a.send_text(g, "autoclave schedule")
            m = await a.send_text(g, "autoclave gone")
            await a.request("delete", room=g, id=m["id"])
    run(send())
    server.stop()
    # Back to schema 4: no index, no triggers, as a database from before.
    path = os.path.join(server.data_dir, "parley.db")
    db = sqlite3.connect(path)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    assert version >= 8
    db.executescript("DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update;"
                     "DROP TRIGGER messages_fts_delete; DROP TABLE messages_fts;"
                     # migration 9 (threads) runs again after it
                     "DROP INDEX IF EXISTS messages_thread; DROP TABLE IF EXISTS thread_follows;"
                     "ALTER TABLE messages DROP COLUMN thread;"
                     "ALTER TABLE messages DROP COLUMN also_room;"
                     "ALTER TABLE messages DROP COLUMN replies;"
                     "ALTER TABLE messages DROP COLUMN last_reply_ts;"
                     "PRAGMA user_version = 7;")  # migration 8 (search) runs again
    db.close()
    server.restart()

    async def search():
        async with Client(server, tok["alice"]) as a:
            r = await a.request("search", query="autoclave")
            assert texts(r) == ["autoclave schedule"], r
    run(search())
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == version
    db.close()


def test_migration_12_orders_recent_over_older_history(server):
    """A database from before migration 12 whose ids are not in time order
    (history written after newer messages, as an import could): the
    migration measures that, so `recent` still pages newest first; it also
    sets the FTS5 index's merge settings."""
    sqlite_only("store_sqlite's migration 12 (parley.db)")
    tok = server.people("alice")

    async def send():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            for word in ("one", "two", "three"):
                await a.send_text(g, f"autoclave {word}")
    run(send())
    server.stop()
    path = os.path.join(server.data_dir, "parley.db")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 12
    # Back to 11, then two old messages written with the highest ids.
    db.executescript("DROP TRIGGER search_order_insert; DROP TRIGGER search_order_update;"
                     "DROP TABLE search_order; PRAGMA user_version = 11;")
    room, user, ts = db.execute(
        "SELECT room, user, min(ts) FROM messages WHERE text LIKE 'autoclave%'").fetchone()
    seq = db.execute("SELECT max(seq) FROM messages WHERE room = ?", (room,)).fetchone()[0]
    for i, text in enumerate(("autoclave older", "autoclave oldest")):
        db.execute("INSERT INTO messages (room, seq, user, text, ts) VALUES (?, ?, ?, ?, ?)",
                   (room, seq + 1 + i, user, text, ts - 86400000 * (1 + i)))
    db.execute("UPDATE rooms SET last_seq = ? WHERE id = ?", (seq + 2, room))
    db.commit()
    db.close()
    server.restart()

    async def search():
        async with Client(server, tok["alice"]) as a:
            found, cursor = [], None
            while True:
                fields = {"query": "autoclave", "sort": "recent", "limit": 1}
                if cursor:
                    fields["cursor"] = cursor
                r = await a.request("search", **fields)
                found += texts(r)
                if not r["more"]:
                    break
                cursor = r["cursor"]
            assert found == ["autoclave three", "autoclave two", "autoclave one",
                             "autoclave older", "autoclave oldest"], found
    run(search())
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 12
    config = dict(db.execute("SELECT k, v FROM messages_fts_config").fetchall())
    assert config.get("automerge") == 16 and config.get("crisismerge") == 64, config
    db.close()
