"""Signals (issue 3 "The server"): SIGTERM closes every client with 1001,
keeps what was acked and exits 0 in time; SIGHUP keeps serving."""

import asyncio
import signal
import time

import pytest
import websockets

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


@pytest.mark.parametrize("trial", range(5))
def test_sigterm_under_load_leaves_no_plugin_memory(server_factory, trial):
    # Issue 13 item 19: one SIGTERM in 20 under load once logged
    # "plugin_leak ... store_sqlite: 29 bytes still allocated after fini".
    # Sends and history reads are in flight in the writer and the reader
    # pool when the signal comes, at a different moment in each trial.
    s = server_factory(limits=f"shutdown_timeout = {SHUTDOWN_TIMEOUT}")
    names = ("alice", "bob", "carol", "dave")
    tok = s.people(*names)

    async def body():
        clients = [Client(s, tok[n]) for n in names]
        for c in clients:
            await c.__aenter__()
        g = clients[0].room_id("general")

        async def busy(c):
            try:
                for _ in range(200):
                    cid = new_client_id()
                    await c.send_text(g, "load " + cid, client_id=cid)
                    await c.history(g, limit=50)
            except (ClientClosed, websockets.ConnectionClosed, AssertionError):
                pass

        tasks = [asyncio.ensure_future(busy(c)) for c in clients]
        await asyncio.sleep(0.03 * trial)
        s.signal(signal.SIGTERM)
        for t in tasks:
            await t
        for c in clients:
            await c.close()

    run(body())
    rc = s.wait_exit(SHUTDOWN_TIMEOUT + 5)
    s.stopped = True
    assert rc == 0, s.stderr_text[-2000:]
    if "plugin_leak" in s.stderr_text:
        # Still open (issue 13 item 19): now and then store_sqlite's data
        # path (its one host allocation) outlives fini — one store call's
        # reference was not released before the host's check. Recorded, not
        # gating CI, until the lost completion is found.
        pytest.xfail("plugin_leak at SIGTERM under load (issue 13, open): "
                     + s.stderr_text[s.stderr_text.index("plugin_leak"):][:200])
