"""Chat in a room, to PROTOCOL.md "Messages" and "Rooms and people": two
real users on a real server with a real SQLite file."""

import pytest

from parley_client import Client, new_client_id, run

NAMES = ("alice", "bob")


@pytest.fixture
def tok(server):
    return server.people(*NAMES)


def general(c):
    return c.room_id("general")


def ref(c):
    return {"id": c.user["id"], "name": c.user["name"]}


def test_two_users_chat_both_ways(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            assert general(b) == g
            cid = new_client_id()
            ack = await a.send_text(g, "hi @bob", client_id=cid)
            assert ack["type"] == "ack", ack
            assert ack["client_id"] == cid
            assert isinstance(ack["id"], str) and ack["id"]
            assert isinstance(ack["seq"], int) and ack["seq"] >= 1
            assert isinstance(ack["ts"], int) and ack["ts"] > 1_600_000_000_000

            ev = await b.next_event("message", room=g, id=ack["id"])
            assert ev["seq"] == ack["seq"]
            assert ev["ts"] == ack["ts"]
            assert ev["user"] == ref(a)
            assert ev["text"] == "hi @bob"
            assert ev["mentions"] == [b.user["id"]]
            assert "client_id" not in ev, "client_id leaked to another user"

            own = await a.next_event("message", room=g, id=ack["id"])
            assert own["client_id"] == cid
            # The ack comes before (or with) the author's own copy.
            assert a.frames.index(ack) < a.frames.index(own)

            back = await b.send_text(g, "hello alice")
            assert back["type"] == "ack", back
            assert back["seq"] == ack["seq"] + 1
            ev = await a.next_event("message", room=g, id=back["id"])
            assert ev["user"] == ref(b)
            assert ev["text"] == "hello alice"
            assert not ev.get("mentions")
            assert "client_id" not in ev

    run(body())


def test_seq_strictly_plus_one_in_order(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            acks = await a.send_many(g, [f"m{i}" for i in range(40)], window=8)
            assert all(x["type"] == "ack" for x in acks), acks
            seqs = sorted(x["seq"] for x in acks)
            assert seqs == list(range(seqs[0], seqs[0] + 40))
            got = [await b.next_event("message", room=g) for _ in range(40)]
            assert [m["seq"] for m in got] == seqs, "events not in seq order"
            by_seq = {x["seq"]: x["id"] for x in acks}
            assert all(by_seq[m["seq"]] == m["id"] for m in got)

    run(body())


def test_reply_edit_delete(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            first = await a.send_text(g, "question?")
            ans = await b.send_text(g, "answer", reply_to=first["id"])
            assert ans["type"] == "ack", ans
            ev = await a.next_event("message", id=ans["id"])
            assert ev["reply_to"] == first["id"]

            r = await a.request("edit", room=g, id=first["id"], text="better question? @bob")
            assert r["type"] != "error", r
            ed = await b.next_event("message_edited", room=g, id=first["id"])
            assert ed["text"] == "better question? @bob"
            assert isinstance(ed["edited_ts"], int) and ed["edited_ts"] >= first["ts"]

            # Only the author edits.
            r = await b.request("edit", room=g, id=first["id"], text="hijack")
            assert r["type"] == "error" and r["code"] == "forbidden", r

            r = await a.request("delete", room=g, id=first["id"])
            assert r["type"] != "error", r
            d = await b.next_event("message_deleted", room=g, id=first["id"])
            assert d["room"] == g

            h = await a.history(g)
            assert h["type"] == "history", h
            byid = {m["id"]: m for m in h["messages"]}
            tomb = byid[first["id"]]
            assert tomb["deleted"] is True
            assert tomb["seq"] == first["seq"]
            assert not tomb.get("text"), tomb
            assert byid[ans["id"]]["text"] == "answer"

    run(body())


def test_reactions(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            m = await a.send_text(g, "react to me")
            r = await b.request("react", room=g, id=m["id"], emoji="👍", on=True)
            assert r["type"] != "error", r
            ev = await a.next_event("reaction", room=g, id=m["id"])
            assert ev["emoji"] == "👍" and ev["on"] is True and ev["user"] == ref(b)
            h = await a.history(g)
            msg = next(x for x in h["messages"] if x["id"] == m["id"])
            assert msg["reactions"] == {"👍": [b.user["id"]]}

            r = await b.request("react", room=g, id=m["id"], emoji="👍", on=False)
            assert r["type"] != "error", r
            ev = await a.next_event("reaction", room=g, id=m["id"], on=False)
            assert ev["emoji"] == "👍" and ev["user"] == ref(b)
            h = await a.history(g)
            msg = next(x for x in h["messages"] if x["id"] == m["id"])
            assert not msg.get("reactions", {}).get("👍"), msg

    run(body())


def test_history_paging(server, tok):
    total = 250

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = general(a)
            acks = await a.send_many(g, [f"n{i}" for i in range(total)], window=16)
            assert all(x["type"] == "ack" for x in acks), [x for x in acks if x["type"] != "ack"]
            first = min(x["seq"] for x in acks)
            last = max(x["seq"] for x in acks)
            assert last - first + 1 == total

            # Newest with neither before nor after.
            h = await a.history(g, limit=10)
            assert sorted(m["seq"] for m in h["messages"]) == list(range(last - 9, last + 1))
            assert h["more"] is True

            # Back from the end with before.
            seen = []
            before = last + 1
            while True:
                h = await a.history(g, before=before, limit=60)
                assert h["type"] == "history" and h["room"] == g, h
                page = sorted(m["seq"] for m in h["messages"])
                assert page == list(range(max(first, before - 60), before)), (before, page)
                seen += page
                if not h["more"]:
                    break
                before = page[0]
            assert sorted(seen) == list(range(first, last + 1))
            assert len(seen) == len(set(seen)) == total

            # Forward with after.
            seen = []
            after = first - 1
            while True:
                h = await a.history(g, after=after, limit=100)
                page = sorted(m["seq"] for m in h["messages"])
                assert page == list(range(after + 1, min(last, after + 100) + 1)), (after, page)
                seen += page
                if not h["more"]:
                    break
                after = page[-1]
            assert seen == list(range(first, last + 1))
            assert {m["text"] for m in h["messages"]} <= {f"n{i}" for i in range(total)}

            # limit over 100: clamped or refused, never more than 100.
            h = await a.history(g, before=last + 1, limit=500)
            if h["type"] == "error":
                assert h["code"] == "bad_request", h
            else:
                assert 0 < len(h["messages"]) <= 100

    run(body())


def test_resent_client_id_is_stored_once(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            cid = new_client_id()
            one = await a.send_text(g, "once", client_id=cid)
            two = await a.send_text(g, "once", client_id=cid)
            assert one["type"] == two["type"] == "ack", (one, two)
            for k in ("id", "seq", "ts", "client_id"):
                assert one[k] == two[k], (k, one, two)
            after = await a.send_text(g, "next")
            assert after["seq"] == one["seq"] + 1
            h = await a.history(g)
            assert sum(1 for m in h["messages"] if m["text"] == "once") == 1
            # bob saw it once: the next message after it is "next".
            ev = await b.next_event("message", id=one["id"])
            nxt = await b.next_event("message")
            assert nxt["id"] == after["id"], ev

    run(body())


def test_max_text_counts_code_points(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = general(a)
            assert a.ready["server"]["limits"]["max_text"] == 4000
            ok = await a.send_text(g, "😀" * 4000)
            assert ok["type"] == "ack", ok
            bad = await a.send_text(g, "😀" * 4001)
            assert bad["type"] == "error" and bad["code"] in ("too_large", "bad_request"), bad
            # ...and the connection still works.
            assert (await a.send_text(g, "fine"))["type"] == "ack"

    run(body())


def test_attachments_without_uploads_provider(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = general(a)
            r = await a.send_text(g, "see file", attachments=["up_1"])
            assert r["type"] == "error" and r["code"] == "bad_request", r
            assert "upload" in r["message"].lower(), r

    run(body())


def test_typing_fan_out_and_rate_limit(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = general(a)
            await a.send_frame({"type": "typing", "room": g})
            ev = await b.next_event("typing", room=g)
            assert ev["user"] == ref(a)
            # A second one right away is within 3 s: not fanned out. The
            # message after it marks the point by which it would have come.
            await a.send_frame({"type": "typing", "room": g})
            m = await a.send_text(g, "done typing")
            await b.next_event("message", id=m["id"])
            await a.next_event("message", id=m["id"])
            assert b.queued("typing") == [], "typing not rate limited"
            assert a.queued("typing") == [], "typing echoed to its sender"

    run(body())


def test_read_markers(server, tok):
    async def body():
        async with Client(server, tok["bob"]) as b, Client(server, tok["alice"]) as a1, \
                Client(server, tok["alice"]) as a2:
            g = general(b)
            acks = [await b.send_text(g, f"r{i}") for i in range(4)]
            s = [x["seq"] for x in acks]
            await a1.send_frame({"type": "read", "room": g, "seq": s[2]})
            ev = await a2.next_event("read", room=g)
            assert ev["seq"] == s[2]
            # Backwards is ignored; forward again is passed on.
            await a1.send_frame({"type": "read", "room": g, "seq": s[0]})
            await a1.send_frame({"type": "read", "room": g, "seq": s[3]})
            ev = await a2.next_event("read", room=g)
            assert ev["seq"] == s[3], "a backwards read marker was passed on"
            await a1.send_frame({"type": "read", "room": g, "seq": s[1]})
            # A request after the frames: by its reply they are processed.
            assert (await a1.request("rooms"))["type"] == "rooms"

        async with Client(server, tok["alice"]) as a3:
            r = next(x for x in a3.ready["rooms"] if x["id"] == g)
            assert r["read_seq"] == s[3], r
            assert r["unread"] == 0, r
            assert r["last_seq"] == s[3], r
        async with Client(server, tok["bob"]) as b:
            await b.send_text(g, "unread 1 @alice")
            await b.send_text(g, "unread 2")
        async with Client(server, tok["alice"]) as a4:
            r = next(x for x in a4.ready["rooms"] if x["id"] == g)
            assert r["read_seq"] == s[3] and r["unread"] == 2, r
            assert r["mentions"] == 1, r

    run(body())


def test_presence_between_room_mates(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            b = Client(server, tok["bob"])
            await b.__aenter__()
            bob = ref(b)
            ev = await a.next_event("presence", where=lambda e: e["user"]["id"] == bob["id"])
            assert ev["status"] == "online" and ev["user"] == bob
            await b.close()
            ev = await a.next_event("presence", where=lambda e: e["user"]["id"] == bob["id"])
            assert ev["status"] == "offline", ev

    run(body())


def test_presence_away_and_in_ready(server):
    tok = server.people("alice", "bob", "carol")
    # Issue 18: a client says it is idle or hidden; a person is away only
    # when every session says so; `ready` carries the presence of the
    # people one is told about, so nobody online shows as offline.
    async def body():
        async with Client(server, tok["alice"]) as a:
            alice = ref(a)
            async with Client(server, tok["bob"]) as b:
                bob = ref(b)
                assert b.ready["presence"].get(alice["id"]) == "online", b.ready
                assert bob["id"] not in b.ready["presence"]  # not oneself
                of_bob = lambda e: e["user"]["id"] == bob["id"]
                await a.next_event("presence", where=of_bob, status="online")
                r = await b.request("presence", status="away")
                assert r["type"] == "ok", r
                await a.next_event("presence", where=of_bob, status="away")
                g = a.room_id("general")
                m = await a.request("members", room=g)
                by = {x["id"]: x for x in m["members"]}
                assert by[bob["id"]]["presence"] == "away", by
                # Saying it again announces nothing.
                await b.request("presence", status="away")
                # A second, active session makes bob online again.
                async with Client(server, tok["bob"]) as b2:
                    await a.next_event("presence", where=of_bob, status="online")
                    async with Client(server, tok["carol"]) as c:
                        assert c.ready["presence"].get(bob["id"]) == "online", c.ready
                await a.next_event("presence", where=of_bob, status="away")
                assert not [e for e in a.queued("presence") if of_bob(e)]
                r = await b.request("presence", status="busy")
                assert r["type"] == "error" and r["code"] == "bad_request", r
                async with Client(server, tok["carol"]) as c:
                    assert c.ready["presence"].get(bob["id"]) == "away", c.ready
                    assert c.ready["presence"].get(alice["id"]) == "online", c.ready

    run(body())
