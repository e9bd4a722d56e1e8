"""Reconnect with `resume` misses nothing (PROTOCOL.md "Authentication"):
the missed messages in order, no duplicates, and past 1000 a `gap`."""

import pytest

from parley_client import Client, run

RESUME_MAX = 1000  # PROTOCOL.md: at most 1000 per room, then a gap


@pytest.fixture
def tok(server):
    return server.people("alice", "bob")


def test_resume_gets_exactly_the_missed_messages(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            async with Client(server, tok["bob"]) as b:
                seen = await a.send_text(g, "before the break")
                ev = await b.next_event("message", id=seen["id"])
                last = ev["seq"]
            missed = await a.send_many(g, [f"missed {i}" for i in range(25)], window=4)
            want = sorted(x["seq"] for x in missed)
            assert want == list(range(last + 1, last + 26))
            async with Client(server, tok["bob"], resume={g: last}) as b:
                got = [await b.next_event("message", room=g) for _ in range(25)]
                assert [m["seq"] for m in got] == want
                assert {m["text"] for m in got} == {f"missed {i}" for i in range(25)}
                # After the replay: the live message comes next, nothing else.
                live = await a.send_text(g, "welcome back")
                nxt = await b.next_event("message", room=g)
                assert nxt["id"] == live["id"], nxt
                assert b.queued("gap") == []

    run(body())


def test_resume_with_nothing_missed_replays_nothing(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            m = await a.send_text(g, "only one")
            async with Client(server, tok["bob"], resume={g: m["seq"]}) as b:
                live = await a.send_text(g, "live")
                nxt = await b.next_event("message", room=g)
                assert nxt["id"] == live["id"], nxt

    run(body())


def test_resume_past_the_limit_ends_with_a_gap(server, tok):
    extra = 100

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            first = await a.send_text(g, "start")
            last = first["seq"]
            acks = await a.send_many(g, [f"x{i}" for i in range(RESUME_MAX + extra)], window=32,
                                     timeout=60)
            assert all(x["type"] == "ack" for x in acks), [x for x in acks if x["type"] != "ack"][:3]
            async with Client(server, tok["bob"], resume={g: last}) as b:
                got = [await b.next_event("message", room=g, timeout=15) for _ in range(RESUME_MAX)]
                assert [m["seq"] for m in got] == list(range(last + 1, last + RESUME_MAX + 1))
                gap = await b.next_event("gap", room=g, timeout=15)
                assert gap["from_seq"] == last + RESUME_MAX + 1, gap
                # Not one message more than the limit before the gap.
                i_gap = b.events.index(gap)
                assert sum(1 for e in b.events[:i_gap] if e.get("type") == "message") == RESUME_MAX
                h = await b.history(g, after=last + RESUME_MAX, limit=100)
                assert [m["seq"] for m in sorted(h["messages"], key=lambda m: m["seq"])] == \
                    list(range(last + RESUME_MAX + 1, last + RESUME_MAX + extra + 1))
                assert h["more"] is False

    run(body(), timeout=180)
