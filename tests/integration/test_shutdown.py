"""Signals (issue 3 "The server"): SIGTERM closes every client with 1001,
keeps what was acked and exits 0 in time; SIGHUP keeps serving."""

import asyncio
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import sqlite3
import threading
import time

import pytest
import websockets

from conftest import sqlite_only
from parley_client import Client, ClientClosed, new_client_id, run

SHUTDOWN_TIMEOUT = 5  # limits.shutdown_timeout for these tests


@pytest.fixture
def srv(server_factory):
    s = server_factory(limits=f"shutdown_timeout = {SHUTDOWN_TIMEOUT}")
    s.tok = s.people("alice", "bob")
    return s


async def stored(srv, token, room):
    async with Client(srv, token) as c:
        h = await c.history(room, limit=100)
        assert h["type"] == "history", h
        return {m["id"]: m for m in h["messages"]}


def test_sigterm_closes_with_1001_and_keeps_acked(srv):
    async def body():
        a = Client(srv, srv.tok["alice"])
        b = Client(srv, srv.tok["bob"])
        await a.__aenter__()
        await b.__aenter__()
        g = a.room_id("general")
        acks = await a.send_many(g, [f"before stop {i}" for i in range(10)])
        assert all(x["type"] == "ack" for x in acks)

        # More sends in flight while the signal comes.
        async def late():
            out = []
            for _ in range(50):
                cid = new_client_id()
                try:
                    out.append(await a.send_text(g, "late " + cid, client_id=cid))
                except (ClientClosed, websockets.ConnectionClosed, AssertionError):
                    break
            return out

        sender = asyncio.ensure_future(late())
        await asyncio.sleep(0)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        assert await b.wait_closed(timeout=SHUTDOWN_TIMEOUT + 2) == 1001
        assert await a.wait_closed(timeout=SHUTDOWN_TIMEOUT + 2) == 1001
        await sender
        late_acks = [f for f in a.frames if f.get("type") == "ack"]
        rc = await asyncio.get_running_loop().run_in_executor(
            None, srv.wait_exit, SHUTDOWN_TIMEOUT + 5)
        assert rc == 0, srv.stderr_text[-2000:]
        assert time.monotonic() - t0 <= SHUTDOWN_TIMEOUT + 1
        await a.close()
        await b.close()
        return g, late_acks

    g, acks = run(body())
    srv.stopped = True
    srv.restart()
    have = run(stored(srv, srv.tok["alice"], g))
    missing = [x for x in acks if x["id"] not in have]
    assert not missing, f"{len(missing)} acked messages lost over SIGTERM: {missing[:3]}"


def test_sighup_keeps_serving(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a, Client(srv, srv.tok["bob"]) as b:
            g = a.room_id("general")
            srv.signal(signal.SIGHUP)
            for i in range(3):
                m = await a.send_text(g, f"after hup {i}")
                assert m["type"] == "ack", m
                await b.next_event("message", id=m["id"])
            assert srv.proc.poll() is None
            async with Client(srv, srv.tok["bob"]) as b2:
                assert b2.room_id("general") == g
        status, _, _ = srv.http("GET", "/healthz")
        assert status == 200

    run(body())
    assert srv.stop() == 0


# Every kind of store call the server makes on someone's behalf, in
# flight when SIGTERM comes: WebSocket sends and history reads, a script's
# kv writes (a command), logins (a read, Argon2, a session write),
# registrations, uploads and admin reads over HTTP.
KV_SCRIPT = """
parley.command("count", function(cmd)
  local n = parley.kv.incr("count")
  parley.kv.set("last", { n = n, args = cmd.args })
  cmd:reply("counted " .. tostring(n), { ephemeral = true })
end)
"""

LOAD_TRIALS = 10  # per run; issue 13's leak showed in about 1 run in 20
BURST = 40  # sends and history reads each WebSocket sends without waiting
LOAD_PLUGINS = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
                ' {"store_sqlite"}, {"uploads_local", dir = "files"} }')


def load_server(server_factory, tmp_path):
    script = tmp_path / "counter.lua"
    script.write_text(KV_SCRIPT)
    path = str(script).replace("\\", "\\\\").replace('"', '\\"')
    s = server_factory(limits=f"shutdown_timeout = {SHUTDOWN_TIMEOUT}",
                       config_extra='scripts = { { file = "' + path + '" } }',
                       plugins=LOAD_PLUGINS)
    names = ("alice", "bob", "carol", "dave")
    s.tok = s.people(*names)
    s.admin = s.user("root", role="admin")
    s.invites = []
    for _ in range(20):
        st, _, data = s.http("POST", "/api/admin/invites", json={"role": "member"},
                             headers={"Authorization": "Bearer " + s.admin})
        assert st == 201, data
        s.invites.append(json.loads(data)["token"])
    return s


def hang_up_login(s):
    """A login whose client leaves before the answer: its store calls and
    Argon2 run on with no connection left to hold the shutdown's drain."""
    body = json.dumps({"username": "bob", "password": "correct horse 1"}).encode()
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass


def http_load(s, stop, kind, n):
    """Blocking HTTP calls of one kind until stop is set or the server is gone."""
    auth = {"Authorization": "Bearer " + s.admin}
    for i in range(n):
        if stop.is_set():
            return
        if kind == "login" and i % 3 == 0:
            hang_up_login(s)
            continue
        try:
            if kind == "login":
                s.http("POST", "/api/login", json={"username": "alice",
                                                   "password": "correct horse 1"}, timeout=5)
            elif kind == "register":
                if i >= len(s.invites):
                    return
                s.http("POST", "/api/register", timeout=5,
                       json={"invite": s.invites[i], "username": f"new{i}",
                             "password": "long enough pw"})
            elif kind == "upload":
                s.http("POST", "/api/uploads", body=b"x" * 2048, timeout=5,
                       headers={"Authorization": "Bearer " + s.tok["bob"],
                                "X-Filename": f"f{i}.bin",
                                "Content-Type": "application/octet-stream"})
            else:
                s.http("GET", "/api/admin/users" if i % 2 else "/api/admin/audit?limit=20",
                       headers=auth, timeout=5)
        except (OSError, http.client.HTTPException):
            return


@pytest.mark.parametrize("trial", range(LOAD_TRIALS))
def test_sigterm_under_load_leaves_no_plugin_memory(server_factory, tmp_path, trial):
    # Issue 13 item 19: one SIGTERM in 20 under load logged "plugin_leak ...
    # store_sqlite: 29 bytes still allocated after fini" — store calls still
    # in flight when the plugins were finied. The signal comes at a
    # different moment of the load in each trial.
    # Odd trials: with the database's write lock held across the signal
    # (store_sqlite's file; other stores run the even trials only).
    locked = trial % 2 == 1
    if locked:
        sqlite_only("the write lock is held on store_sqlite's parley.db")
    s = load_server(server_factory, tmp_path)
    names = tuple(s.tok)

    async def body():
        clients = [Client(s, s.tok[n]) for n in names]
        for c in clients:
            await c.__aenter__()
        g = clients[0].room_id("general")

        async def busy(c, command):
            # Bursts sent without waiting: many calls queued in the writer
            # and the read pool when the session is closed with 1001.
            try:
                for _ in range(100):
                    for _ in range(BURST):
                        cid = new_client_id()
                        text = "/count " + cid if command else "load " + cid
                        await c.send_request("send", room=g, text=text, client_id=cid)
                        await c.send_request("history", room=g, limit=100)
                    await c.send_text(g, "paced " + new_client_id())
            except (ClientClosed, websockets.ConnectionClosed, AssertionError):
                pass

        stop = threading.Event()
        loop = asyncio.get_running_loop()
        kinds = ("login", "register", "upload", "admin")
        pool = concurrent.futures.ThreadPoolExecutor(len(kinds))
        calls = [loop.run_in_executor(pool, http_load, s, stop, k, 400) for k in kinds]
        tasks = [asyncio.ensure_future(busy(c, i == 0)) for i, c in enumerate(clients)]
        await asyncio.sleep(0.3 + 0.037 * trial)
        if locked:
            # Another process (the admin CLI, a backup) holds the write lock:
            # the writer waits in its busy timeout with sends queued while
            # the sessions close, so the loop stops with writes unfinished.
            # HTTP calls would hold their connections (and the loop) until
            # their writes are done: those end first.
            stop.set()
            await asyncio.gather(*calls)
            db = sqlite3.connect(os.path.join(s.data_dir, "parley.db"), timeout=10,
                                 isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            await asyncio.sleep(0.1)
        s.signal(signal.SIGTERM)
        if locked:
            await asyncio.sleep(0.6)
            db.execute("COMMIT")
            db.close()
        for t in tasks:
            await t
        stop.set()
        await asyncio.gather(*calls)
        pool.shutdown()
        for c in clients:
            await c.close()

    run(body())
    rc = s.wait_exit(SHUTDOWN_TIMEOUT + 5)
    s.stopped = True
    assert rc == 0, s.stderr_text[-2000:]
    for event in ("plugin_leak", "store_calls_pending"):
        assert event not in s.stderr_text, \
            s.stderr_text[s.stderr_text.index(event) - 200:][:600]
