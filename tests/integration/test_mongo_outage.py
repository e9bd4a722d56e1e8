"""store_mongo with the database away (issue 14): parley starts while
MongoDB is not running yet (listeners up, /healthz 200, /readyz 503 with the
reason, `unavailable` with a retry hint to the API and to WebSocket clients)
and serves by itself once the database answers; and a database that goes
away while parley runs: sends get `unavailable`, nothing acked is lost, and
the service comes back by itself.

Each test runs its own CongoDB (tests/mongo/congo.py) on a port it chose, so
it can stop and start it; they run on either PARLEY_TEST_STORE."""

import os
import socket
import sys
import time

import pytest

from conftest import SOURCE_DIR, lua_str
from parley_client import Client, new_client_id, run

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
import congo  # noqa: E402

READY_TIMEOUT = 30.0  # s: the retries back off to 10 s


@pytest.fixture
def congo_ok(plugin_dir):
    if not os.path.exists(os.path.join(plugin_dir, "store_mongo.so")):
        pytest.skip("store_mongo was not built (it needs libmongoc-dev)")
    if not congo.available():
        pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mongo_plugins(port, database):
    return ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
            ' {"store_mongo", uri = %s, database = %s, timeout = 2} }'
            % (lua_str("mongodb://127.0.0.1:%d" % port), lua_str(database)))


def readyz(srv):
    status, _, body = srv.http("GET", "/readyz")
    return status, srv_json(body)


def srv_json(body):
    import json
    try:
        return json.loads(body)
    except ValueError:
        return {"_raw": body[:200]}


def wait_ready(srv, timeout=READY_TIMEOUT, want=200):
    deadline = time.monotonic() + timeout
    status, body = readyz(srv)
    while status != want and time.monotonic() < deadline:
        time.sleep(0.2)
        status, body = readyz(srv)
    assert status == want, f"/readyz still {status} {body} after {timeout} s"
    return body


async def history_all(srv, token, room):
    out, after = [], 0
    async with Client(srv, token) as c:
        while True:
            h = await c.history(room, after=after, limit=100)
            assert h["type"] == "history", h
            page = sorted(h["messages"], key=lambda m: m["seq"])
            out += page
            if not h["more"] or not page:
                return out
            after = page[-1]["seq"]


def test_starts_before_the_database_then_serves(server_factory, congo_ok, tmp_path):
    port = free_port()
    srv = server_factory(plugins=mongo_plugins(port, "outage_start"))

    # Listening without a database: alive, not ready, and it says why.
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200
    status, body = readyz(srv)
    assert status == 503 and body["status"] == "unavailable", body
    assert "chat state" in body["why"] and "database" in body["why"], body
    status, headers, data = srv.http("POST", "/api/login",
                                     json={"username": "alice", "password": "x" * 12})
    err = srv_json(data)
    assert status == 503 and err["error"]["code"] == "unavailable", (status, err)
    assert err["error"]["retry_after_ms"] > 0 and "Retry-After" in headers

    async def hello_refused():
        async with Client(srv, "no-token", auth=False) as c:
            r = await c.auth()
            assert r["type"] == "error" and r["code"] == "unavailable", r
            assert r["retry_after_ms"] >= 1000 and "not serving yet" in r["message"], r
            p = await c.request("ping")
            assert p["type"] == "pong", p
    run(hello_refused(), timeout=20)

    # Retried on a timer, each attempt logged.
    srv.wait_log("startup_retry", timeout=5)

    with congo.Congo(port=port):
        wait_ready(srv)
        srv.wait_log("ready", timeout=5)
        token = srv.people("alice")["alice"]

        async def chat():
            async with Client(srv, token) as c:
                g = c.room_id("general")
                acks = []
                for i in range(5):
                    r = await c.send_text(g, "after the start %d" % i)
                    assert r["type"] == "ack", r
                    acks.append(r)
            return g, acks
        room, acks = run(chat(), timeout=30)
        stored = run(history_all(srv, token, room), timeout=30)
        assert [m["id"] for m in stored] == [a["id"] for a in acks]
        assert [m["seq"] for m in stored] == list(range(1, 6))
        srv.stop()  # while the database is still up: a clean stop


def test_database_away_and_back_while_serving(server_factory, congo_ok, tmp_path):
    port = free_port()
    db = congo.Congo(storage="file", path=str(tmp_path / "congo"), port=port)
    db.start()
    try:
        srv = server_factory(plugins=mongo_plugins(port, "outage_run"))
        wait_ready(srv)
        token = srv.people("alice")["alice"]

        async def scenario():
            acked, refused = [], []
            async with Client(srv, token) as c:
                g = c.room_id("general")
                for i in range(5):
                    r = await c.send_text(g, "before %d" % i)
                    assert r["type"] == "ack", r
                    acked.append(r)

                db.stop()
                # The health monitor notices within a few seconds.
                await wait_async(lambda: readyz(srv)[0] == 503, 15, "/readyz 503")
                why = readyz(srv)[1]["why"]
                assert "store_mongo" in why, why
                for i in range(3):
                    cid = new_client_id()
                    r = await c.send_text(g, "during %d" % i, client_id=cid)
                    assert r["type"] == "error" and r["code"] == "unavailable", r
                    assert "database" in r["message"], r
                    refused.append((cid, "during %d" % i))

                db.start()
                await wait_async(lambda: readyz(srv)[0] == 200, READY_TIMEOUT, "/readyz 200")
                # The refused sends, resent with their client ids, and more.
                for cid, text in refused:
                    r = await c.send_text(g, text, client_id=cid)
                    assert r["type"] == "ack", r
                    acked.append(r)
                r = await c.send_text(g, "after")
                assert r["type"] == "ack", r
                acked.append(r)
            return g, acked

        room, acked = run(scenario(), timeout=90)
        stored = run(history_all(srv, token, room), timeout=30)
        live = [m for m in stored if not m.get("deleted")]
        ids = [m["id"] for m in live]
        assert len(ids) == len(set(ids)), "a message is stored twice"
        assert sorted(a["id"] for a in acked) == sorted(ids), (acked, live)
        seqs = [m["seq"] for m in stored]
        assert seqs == list(range(1, len(seqs) + 1)), f"seqs not dense: {seqs}"
        srv.stop()
    finally:
        db.stop()


async def wait_async(pred, timeout, what):
    import asyncio
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)


def test_stops_cleanly_while_waiting_for_the_database(server_factory, congo_ok):
    srv = server_factory(plugins=mongo_plugins(free_port(), "outage_stop"))
    assert readyz(srv)[0] == 503
    srv.wait_log("startup_retry", timeout=5)
    t0 = time.monotonic()
    assert srv.stop() == 0, srv.stderr_text
    assert time.monotonic() - t0 < 5
