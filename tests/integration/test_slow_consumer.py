"""A consumer that stops reading is cut off; everyone else keeps receiving
(DESIGN.md rule 3, issue 3 "Fan-out")."""

from parley_client import Client, RawWS, read_until_closed, run

HIGH_WATER = 65536
BATCH = 50  # messages per flood round
MAX_ROUNDS = 60  # bound: 3,000 messages of ~3 KB
TEXT = "flood " + "z" * 3000


def test_slow_consumer_is_disconnected(server_factory):
    srv = server_factory(limits=f"outbound_high_water = {HIGH_WATER}, outbound_grace = 1")
    tok = srv.people("alice", "carol", "slow")

    # The slow one: a raw socket with a tiny receive buffer that, once
    # authenticated, never reads again (no pongs either).
    slow = RawWS(srv.port, rcvbuf=2048)
    assert slow.handshake() == 101
    slow.auth(tok["slow"])

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["carol"]) as c:
            g = a.room_id("general")
            acked = []
            since = len(srv.logs)
            for _ in range(MAX_ROUNDS):
                acks = await a.send_many(g, [TEXT] * BATCH, window=16)
                assert all(x["type"] == "ack" for x in acks), [x for x in acks if x["type"] != "ack"][:2]
                acked += [x["seq"] for x in acks]
                if any(e.get("event") == "slow_consumer" for e in srv.logs[since:]):
                    break
            srv.wait_log("slow_consumer", timeout=10, since=since)
            # A few more after the cut: the others are not held up.
            acks = await a.send_many(g, [f"after {i}" for i in range(20)])
            acked += [x["seq"] for x in acks]
            want = sorted(acked)
            got = []
            while len(got) < len(want):
                got.append((await c.next_event("message", room=g, timeout=10))["seq"])
            assert got == want, "the normal client missed or reordered messages"

    try:
        run(body(), timeout=240)
        # The server closed the slow connection (we drain what it had sent).
        data, closed = read_until_closed(slow.sock, 10)
        assert closed, "the slow consumer's connection is still open"
    finally:
        slow.close()
