"""Ack means durable (DESIGN.md rule 5): kill -9 the server right after a
random number of acks, restart it on the same data dir, and every acked
message must be there. tests/soak_kill9.sh runs many more trials through
PARLEY_KILL9_TRIALS."""

import asyncio
import os
import random

import pytest
import websockets

from parley_client import Client, ClientClosed, new_client_id, run

TRIALS = int(os.environ.get("PARLEY_KILL9_TRIALS", "20"))
MAX_ACKS = 120  # the kill comes after 1..MAX_ACKS acks
IN_FLIGHT = 8  # sends waiting for their ack at any time
PREFIX = "k9 "


async def flood_then_kill(srv, token, kill_after):
    """Sends until kill_after acks came, kills the server at once (sends
    still in flight) and returns every ack the client received."""
    c = Client(srv, token)
    await c.__aenter__()
    g = c.room_id("general")
    done = False

    async def worker():
        nonlocal done
        while not done:
            cid = new_client_id()
            try:
                r = await c.send_text(g, PREFIX + cid, client_id=cid)
            except (ClientClosed, websockets.ConnectionClosed, AssertionError):
                return
            assert r["type"] == "ack", r
            if not done and sum(1 for f in c.frames if f.get("type") == "ack") >= kill_after:
                done = True
                srv.kill9()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    # Every ack frame the client got counts, also those nobody awaited yet.
    acks = [f for f in c.frames if f.get("type") == "ack"]
    await c.close()
    return g, acks


async def all_messages(srv, token, room):
    out = []
    after = 0
    async with Client(srv, token) as c:
        while True:
            h = await c.history(room, after=after, limit=100)
            assert h["type"] == "history", h
            page = sorted(h["messages"], key=lambda m: m["seq"])
            out += page
            if not h["more"] or not page:
                return out
            after = page[-1]["seq"]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill9_loses_no_acked_message(server_factory, trial):
    rnd = random.Random(os.environ.get("PARLEY_KILL9_SEED", "") + str(trial))
    kill_after = rnd.randint(1, MAX_ACKS)
    srv = server_factory()
    token = srv.people("alice")["alice"]

    room, acks = run(flood_then_kill(srv, token, kill_after), timeout=60)
    assert srv.killed and len(acks) >= kill_after

    srv.restart()
    stored = run(all_messages(srv, token, room), timeout=60)
    seqs = [m["seq"] for m in stored]
    assert len(seqs) == len(set(seqs)), "a seq is stored twice"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "stored seqs have a gap"
    by_seq = {m["seq"]: m for m in stored}
    texts = [m.get("text") for m in stored]
    assert len(texts) == len(set(texts)), "a message is stored twice"
    lost = []
    for a in acks:
        m = by_seq.get(a["seq"])
        if m is None or m["id"] != a["id"] or m.get("text") != PREFIX + a["client_id"]:
            lost.append(a)
    assert not lost, f"{len(lost)} of {len(acks)} acked messages lost or changed, e.g. {lost[:3]}"
