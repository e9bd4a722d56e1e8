"""Upload retention (issue 17, docs/operations.md "Retention"): attached
files older than retention.uploads are removed by the background job in
batches, from uploads_local's folder and from S3 (uploads_s3 against
s3rver) alike; the message stays, its attachment says "expired" and loses
its link, and the file's URL answers 404. Younger files stay."""

import asyncio
import json
import time

from parley_client import Client, run
from test_uploads import AUTH_PLUGINS, backend, s3rver, upload_ok  # noqa: F401 (fixtures)


def start(backend, retention):
    srv = backend.factory(plugins="{ " + AUTH_PLUGINS + ", " + backend.plugin() + " }",
                          config_extra="retention = { " + retention + " }")
    srv.backend = backend
    return srv


async def wait_history(c, room, pred, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        h = await c.history(room, limit=100)
        assert h["type"] == "history", h
        if pred(h["messages"]) or time.monotonic() > deadline:
            return h["messages"]
        await asyncio.sleep(0.2)


def test_expired_files_leave_the_provider_and_show_as_expired(backend, server_factory):
    srv = start(backend, 'uploads = "3s", interval = 0.3, batch = 2')
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            ups = [upload_ok(srv, tok["alice"], b"lab notes %d\n" % i, name=f"n{i}.txt")
                   for i in range(3)]
            assert len(backend.stored(srv)) == 3
            two = await a.send_text(g, "two files", attachments=[ups[0]["id"], ups[1]["id"]])
            one = await a.send_text(g, "one file", attachments=[ups[2]["id"]])
            assert two["type"] == "ack" and one["type"] == "ack", (two, one)
            st, _, _ = srv.http("GET", f"/api/uploads/{ups[0]['id']}",
                                headers={"Authorization": "Bearer " + tok["bob"]})
            assert st in (200, 302), st

            def all_expired(msgs):
                atts = [x for m in msgs for x in (m.get("attachments") or [])]
                return len(atts) == 3 and all(x.get("expired") for x in atts)

            msgs = await wait_history(b, g, all_expired)
            assert all_expired(msgs), msgs
            by_text = {m.get("text"): m for m in msgs}
            # The messages keep their text and the files' names, not the links.
            assert [x["name"] for x in by_text["two files"]["attachments"]] == ["n0.txt", "n1.txt"]
            assert all("url" not in x for x in by_text["two files"]["attachments"])
            assert by_text["one file"]["attachments"][0]["id"] == ups[2]["id"]
            # Out of the provider (the record goes right after the object).
            deadline = time.monotonic() + 10
            while backend.stored(srv) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert backend.stored(srv) == set()
            # The record goes right after its object: until then a reader
            # who is not the uploader may get 403 (the record is detached).
            deadline = time.monotonic() + 10
            for u in ups:
                while True:
                    st, _, _ = srv.http("GET", f"/api/uploads/{u['id']}",
                                        headers={"Authorization": "Bearer " + tok["bob"]})
                    if st != 403 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
                assert st == 404, (u, st)

            # A fresh file is not touched by the next passes.
            fresh = upload_ok(srv, tok["alice"], b"fresh\n", name="fresh.txt")
            ack = await a.send_text(g, "fresh file", attachments=[fresh["id"]])
            assert ack["type"] == "ack", ack
            await asyncio.sleep(1.2)  # four passes at 0.3 s
            h = await b.history(g, limit=100)
            att = [m for m in h["messages"] if m.get("text") == "fresh file"][0]["attachments"]
            assert "expired" not in att[0] and att[0]["url"], att
            assert len(backend.stored(srv)) == 1
        assert "files expired" in srv.stderr_text, srv.stderr_text[-2000:]

    run(body())


def test_prune_cli_expires_files_and_audits(server_factory, tmp_path):
    """`parley prune` applies retention.uploads too and says so."""
    from test_uploads import Backend
    be = Backend("local", server_factory)
    srv = start(be, 'uploads = "1s", interval = 3600')
    tok = srv.people("alice")
    srv.add_user("root", role="admin")
    admin = srv.token("root")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            up = upload_ok(srv, tok["alice"], b"old\n", name="old.txt")
            ack = await a.send_text(g, "old file", attachments=[up["id"]])
            assert ack["type"] == "ack", ack

    run(body())
    time.sleep(1.2)
    out = srv.cli("prune")
    assert "expired 1 files, 1 files removed" in out.stdout, out.stdout
    assert be.stored(srv) == set()
    st, _, data = srv.http("GET", "/api/admin/audit",
                           headers={"Authorization": "Bearer " + admin})
    assert st == 200, data
    entries = [e for e in json.loads(data)["entries"] if e["action"] == "retention.prune"]
    assert entries and entries[0]["detail"]["expired"] == 1, entries
