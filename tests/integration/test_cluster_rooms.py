"""Room and person changes across nodes (issue 16): three parley nodes on
one store (store_mongo on CongoDB) and one bus (cluster_redis), with the
people of a room on different nodes. Each change is made on one node and
checked where it matters on another: the events its sessions get, what
that node's caches then say (room objects, `rooms`, `ready`) and what it
lets people do. A slow node (stopped with SIGSTOP) must not slow the
others, and its clients get everything once it runs again."""

import asyncio
import json
import signal
import time

import pytest

from cluster_nodes import about_room, is_error, until_ok, cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, RawWS, new_client_id, run

PW = "correct horse 1"


@pytest.fixture
def three(cluster_env):
    make, _ = cluster_env
    return make(3)


def call(node, method, path, token=None, body=None):
    st, _, data = node.http(method, path, json=body,
                            headers={"Authorization": "Bearer " + token} if token else None)
    return st, json.loads(data) if data else None


def changed(rid, **fields):
    """A room_updated (predicate) from a change someone made to rid (it
    names them in `by`) whose room has these fields."""
    return lambda e: about_room(e, rid) and "by" in e and \
        all(e["room"].get(k) == v for k, v in fields.items())


async def my_rooms(c):
    return {x["id"]: x for x in (await c.request("rooms"))["rooms"]}


async def room_with_people(owner, others, name, kind="public"):
    """owner creates a room; each other client gets in (join for a public
    room, an invite for a private one) and can post there from its node."""
    rid = (await owner.request("create_room", name=name, kind=kind))["room"]["id"]
    for c in others:
        if kind == "private":
            r = await owner.request("invite", room=rid, user=c.user["name"])
            assert r["type"] == "ok", r
            await c.next_event(where=lambda e: about_room(e, rid))
        else:
            r = await until_ok(lambda: c.request("join", room=rid))
            assert r["type"] == "room", r
            # The owner's node has the new member before the owner names them.
            await owner.next_event("member_joined", room=rid,
                                   where=lambda e, c=c: e["user"]["id"] == c.user["id"])
        r = await until_ok(lambda: c.send_text(rid, f"{c.user['name']} here"))
        assert r["type"] == "ack", r
        await owner.next_event("message", id=r["id"])
    return rid


def messages_in(c, rid):
    return [e for e in c.events if e.get("type") == "message" and e.get("room") == rid]


def test_leave_and_kick_reach_members_on_other_nodes(three):
    """ben leaves on node 1, ann kicks cat on node 0: the others hear it on
    their nodes; cat's socket on node 2 gets the removal and, from then
    on, none of the room's messages, even one sent right after the kick."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            ops = await room_with_people(a, [b, c], "ops", kind="private")
            await until_ok(lambda: b.send_text(ops, "ben again"))
            r = await b.request("leave", room=ops)
            assert r["type"] == "ok", r
            for other in (a, c):
                ev = await other.next_event("member_left", room=ops,
                                            where=lambda e: e["user"]["id"] == b.user["id"])
                assert "by" not in ev, ev
            # A message sent right behind the kick (not waiting for its
            # answer) must not reach cat's node's sessions either.
            kick = await a.send_request("kick", room=ops, user=c.user["id"])
            sent = await a.send_request("send", room=ops, text="after the kick",
                                        client_id=new_client_id())
            r = await a.reply(kick)
            assert r["type"] == "ok", r
            after = await a.reply(sent)
            assert after["type"] == "ack", after
            ev = await c.next_event("member_left", room=ops,
                                    where=lambda e: e["user"]["id"] == c.user["id"])
            assert ev["by"]["id"] == a.user["id"], ev
            more = await a.send_text(ops, "later still")
            assert more["type"] == "ack", more
            await asyncio.sleep(1.0)
            for gone in (b, c):
                late = [m["seq"] for m in messages_in(gone, ops) if m["seq"] >= after["seq"]]
                assert late == [], f"{gone.user['name']} got messages after leaving: {late}"
                assert ops not in await my_rooms(gone)
                assert is_error(await gone.send_text(ops, "still here?"),
                                "forbidden", "not_found")
                assert is_error(await gone.history(ops), "forbidden", "not_found")
            members = await a.request("members", room=ops)
            assert [m["id"] for m in members["members"]] == [a.user["id"]], members

    run(body())


def test_topic_change_reaches_other_nodes_and_their_room_objects(three):
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            lab = await room_with_people(a, [b, c], "lab")
            r = await a.request("topic", room=lab, topic="incident 42")
            assert r["type"] == "ok", r
            for other in (b, c):
                ev = await other.next_event("room_updated",
                                            where=changed(lab, topic="incident 42"))
                assert ev["by"]["id"] == a.user["id"], ev
                # The node's own copy says so too (rooms, and a new ready).
                assert (await my_rooms(other))[lab]["topic"] == "incident 42"
            async with Client(n2, n0.token("ben")) as b2:
                mine = {x["id"]: x for x in b2.ready["rooms"]}
                assert mine[lab]["topic"] == "incident 42", mine[lab]

    run(body())


def test_dm_with_someone_connected_only_to_another_node(three):
    """ann on node 0 opens a DM (and a group DM) with people whose only
    sessions are on nodes 1 and 2: they get the new room and both ways
    of it carry messages. DMs with accounts no node has met yet (made by
    the CLI, never signed in) open too."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat", "dan", "eve")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            dm = await a.request("dm", user="ben")
            assert dm["type"] == "room" and dm["room"]["kind"] == "dm", dm
            rid = dm["room"]["id"]
            ev = await b.next_event("room_updated", where=lambda e: about_room(e, rid))
            assert ev["room"]["kind"] == "dm", ev
            assert rid in await my_rooms(b)
            m = await until_ok(lambda: b.send_text(rid, "hi ann"))
            assert m["type"] == "ack", m
            got = await a.next_event("message", id=m["id"])
            assert got["text"] == "hi ann"
            m = await a.send_text(rid, "hi ben")
            await b.next_event("message", id=m["id"])
            await asyncio.sleep(0.3)
            assert [e for e in c.events if about_room(e, rid)] == [], "cat saw the DM"

            group = await a.request("dm", users=["ben", "cat"])
            assert group["type"] == "room", group
            gid = group["room"]["id"]
            for other in (b, c):
                await other.next_event("room_updated", where=lambda e: about_room(e, gid))
            m = await until_ok(lambda: c.send_text(gid, "cat in the group"))
            assert m["type"] == "ack", m
            # The creator's node (0) too: it took the new room's channel.
            for other in (a, b):
                await other.next_event("message", id=m["id"])

            # dan and eve never signed in: node 1 reads them from the store.
            r = await b.request("dm", user="dan")
            assert r["type"] == "room" and r["room"]["kind"] == "dm", r
            r = await b.request("dm", users=["@eve", "cat"])
            assert r["type"] == "room", r
            assert sorted(u["name"] for u in r["room"]["users"]) == ["cat", "eve"], r
            assert is_error(await b.request("dm", user="nobody"), "not_found")

    run(body())


def test_pins_and_may_pin_across_nodes(three):
    """Pins made on node 0 are events on nodes 1 and 2, and those nodes'
    room objects list them (pins and unpins); `pins` on another node
    reads the same; may_pin changed on node 0 is applied on node 1."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            lab = await room_with_people(a, [b, c], "lab")
            m1 = await a.send_text(lab, "pin me")
            m2 = await a.send_text(lab, "and me")
            for msg in (m1, m2):
                r = await a.request("pin", room=lab, id=msg["id"], on=True)
                assert r["type"] == "ok", r
                for other in (b, c):
                    ev = await other.next_event("pin", room=lab, id=msg["id"])
                    assert ev["on"] is True and ev["user"]["id"] == a.user["id"], ev
            for other in (b, c):
                assert (await my_rooms(other))[lab]["pins"] == [m2["id"], m1["id"]]
                listed = await other.request("pins", room=lab)
                assert [x["id"] for x in listed["messages"]] in (
                    [m2["id"], m1["id"]], [m1["id"], m2["id"]]), listed
            r = await a.request("pin", room=lab, id=m1["id"], on=False)
            assert r["type"] == "ok", r
            for other in (b, c):
                ev = await other.next_event("pin", room=lab, id=m1["id"])
                assert ev["on"] is False, ev
                assert (await my_rooms(other))[lab]["pins"] == [m2["id"]]
                listed = await other.request("pins", room=lab)
                assert [x["id"] for x in listed["messages"]] == [m2["id"]], listed
            # Deleting a pinned message unpins it everywhere.
            assert (await a.request("delete", room=lab, id=m2["id"]))["type"] == "ok"
            ev = await c.next_event("pin", room=lab, id=m2["id"])
            assert ev["on"] is False, ev
            assert (await my_rooms(c))[lab]["pins"] == []

            # may_pin: members may not pin until node 0 says so.
            a.drain("pin")
            assert is_error(await b.request("pin", room=lab, id=m1["id"]), "forbidden")
            r = await a.request("room_settings", room=lab, may_pin="members")
            assert r["type"] == "room", r
            await b.next_event("room_updated", where=changed(lab, may_pin="members"))
            r = await b.request("pin", room=lab, id=m1["id"])
            assert r["type"] == "ok", r
            ev = await a.next_event("pin", room=lab, id=m1["id"])
            assert ev["on"] is True and ev["user"]["id"] == b.user["id"], ev
            assert (await my_rooms(a))[lab]["pins"] == [m1["id"]]

    run(body())


def test_archive_refuses_posts_on_every_node_and_unarchive_reenables(three):
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            old = await room_with_people(a, [b, c], "old")
            r = await a.request("room_settings", room=old, archived=True)
            assert r["type"] == "room" and r["room"]["archived"] is True, r
            for other in (b, c):
                await other.next_event("room_updated", where=changed(old, archived=True))
            for who in (a, b, c):
                r = await who.send_text(old, f"{who.user['name']} in the archive")
                assert is_error(r, "forbidden"), (who.user["name"], r)
                assert (await my_rooms(who))[old]["archived"] is True
            # Hidden from the public list on every node.
            for who in (b, c):
                listed = await who.request("rooms", public=True)
                assert old not in {x["id"] for x in listed["rooms"]}
            r = await a.request("room_settings", room=old, archived=False)
            assert r["type"] == "room" and r["room"]["archived"] is False, r
            for other in (b, c):
                await other.next_event("room_updated", where=changed(old, archived=False))
            for who in (a, b, c):
                r = await who.send_text(old, f"{who.user['name']} back")
                assert r["type"] == "ack", (who.user["name"], r)
            await asyncio.sleep(0.3)
            assert sorted(m["text"] for m in messages_in(b, old) if "back" in m["text"]) == \
                ["ann back", "ben back", "cat back"]

    run(body())


def test_may_invite_and_may_post_enforced_on_a_node_that_did_not_change_them(three):
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "dan", "eve")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["dan"]) as d:
            lab = await room_with_people(a, [b], "lab")
            # A public room: members may invite (dan is on node 2).
            r = await b.request("invite", room=lab, user="dan")
            assert r["type"] == "ok", r
            await d.next_event(where=lambda e: about_room(e, lab))
            r = await a.request("room_settings", room=lab, may_invite="moderators",
                                may_post="moderators")
            assert r["type"] == "room", r
            for other in (b, d):
                await other.next_event("room_updated", where=changed(lab, may_invite="moderators"))
            assert is_error(await b.request("invite", room=lab, user="eve"), "forbidden")
            for who in (b, d):
                assert is_error(await who.send_text(lab, "may I?"), "forbidden")
            assert (await a.send_text(lab, "owners still may"))["type"] == "ack"
            # Back to members, on node 0 again: node 1 and 2 follow.
            r = await a.request("room_settings", room=lab, may_invite="members",
                                may_post="members")
            assert r["type"] == "room", r
            for other in (b, d):
                await other.next_event("room_updated", where=changed(lab, may_post="members"))
            for who in (b, d):
                assert (await who.send_text(lab, "now I may"))["type"] == "ack"
            r = await b.request("invite", room=lab, user="eve")
            assert r["type"] == "ok", r

    run(body())


def test_reenabled_user_logs_in_and_receives_through_every_node(three):
    n0, n1, n2 = three.nodes
    admin = n0.user("root", role="admin")
    tok = three.people("ann", "ben")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b:
            g = a.room_id("general")
            ben = b.user["id"]
            st, out = call(n0, "POST", f"/api/admin/users/{ben}/disable", admin)
            assert st in (200, 204), (st, out)
            await b.wait_closed(timeout=5)
            for node in (n1, n2):
                assert "token" not in node.login("ben", PW), "a disabled account logged in"
            st, out = call(n0, "POST", f"/api/admin/users/{ben}/enable", admin)
            assert st in (200, 204), (st, out)
            sessions = []
            for node in (n1, n2):
                for _ in range(50):  # the node reloads the account from the bus
                    out = node.login("ben", PW)
                    if "token" in out:
                        break
                    await asyncio.sleep(0.1)
                assert "token" in out, out
                c = Client(node, out["token"])
                await c.__aenter__()
                sessions.append(c)
            m = await a.send_text(g, "welcome back ben")
            for c in sessions:
                got = await c.next_event("message", id=m["id"])
                assert got["text"] == "welcome back ben"
            m = await sessions[1].send_text(g, "thanks")
            assert m["type"] == "ack", m
            await a.next_event("message", id=m["id"])
            for c in sessions:
                await c.close()

    run(body())


def test_invite_reaches_someone_with_no_shared_room_on_another_node(three):
    """ben, on node 2 only, has left #general: he shares no room with ann.
    Her invite on node 0 still reaches his session, which can then read
    and post there."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")

    async def body():
        async with Client(n2, tok["ben"]) as b:
            g = b.room_id("general")
            assert (await b.request("leave", room=g))["type"] == "ok"
            async with Client(n0, tok["ann"]) as a:
                ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
                r = await a.request("invite", room=ops, user="ben")
                assert r["type"] == "ok", r
                ev = await b.next_event(where=lambda e: about_room(e, ops))
                assert ops in await my_rooms(b), ev
                m = await until_ok(lambda: b.send_text(ops, "ben in ops"))
                assert m["type"] == "ack", m
                await a.next_event("message", id=m["id"])
                m = await a.send_text(ops, "welcome")
                await b.next_event("message", id=m["id"])
                assert [e for e in b.events if e.get("type") == "message"
                        and e.get("room") == g] == [], "ben still gets #general"

    run(body())


def test_notify_level_and_read_marker_of_one_person_on_two_nodes(three):
    """ann has sessions on nodes 1 and 2. A notification level set on one
    reaches the other as room_updated and that node's room objects; a
    level and a read marker set while she has no session on node 2 are
    in her next `ready` there."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")
    ann2, ann3 = n0.tokens("ann", "ann")

    async def body():
        async with Client(n0, tok["ben"]) as b, Client(n1, tok["ann"]) as a1:
            g = a1.room_id("general")
            a2 = Client(n2, ann2)
            await a2.__aenter__()
            r = await a1.request("notify", room=g, level="mentions")
            assert r["type"] == "ok", r
            ev = await a2.next_event("room_updated", where=lambda e: about_room(e, g))
            assert ev["room"]["notify"] == "mentions", ev
            assert (await my_rooms(a2))[g]["notify"] == "mentions"
            await a2.close()
            # Node 2 has no session of ann now; node 1 changes both.
            acks = [await b.send_text(g, f"r{i}") for i in range(3)]
            for m in acks:
                await a1.next_event("message", id=m["id"])
            assert (await a1.request("notify", room=g, level="none"))["type"] == "ok"
            await a1.send_frame({"type": "read", "room": g, "seq": acks[-1]["seq"]})
            await asyncio.sleep(1.0)  # the bus and the store have it
            async with Client(n2, ann3) as a3:
                mine = {x["id"]: x for x in a3.ready["rooms"]}
                assert mine[g]["notify"] == "none", mine[g]
                assert mine[g]["read_seq"] == acks[-1]["seq"], mine[g]
                assert mine[g]["unread"] == 0, mine[g]

    run(body())


def test_a_stopped_node_does_not_slow_the_others(three):
    """Node 2 is stopped (SIGSTOP) for 5 s while ann (node 0) and ben
    (node 1) chat, and a client on node 0 that never reads sits in the
    room: acks and deliveries between nodes 0 and 1 keep coming, each
    within 2 s (a generous bound: a lag of a second or two would mean
    they waited for node 2). After SIGCONT, cat (node 2) gets every
    message once, in order (from the bus or repaired from the store)."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat", "dan")
    bound = 2.0

    async def body():
        a = Client(n0, tok["ann"])
        b = Client(n1, tok["ben"])
        c = Client(n2, tok["cat"])
        for x in (a, b, c):
            await x.__aenter__()
        g = a.room_id("general")
        # dan on node 0 never reads (a small receive buffer fills).
        stuck = RawWS(n0.port, rcvbuf=4096)
        assert stuck.handshake() == 101
        stuck.auth(tok["dan"])
        warm = await a.send_text(g, "before")
        await c.next_event("message", id=warm["id"])
        stopped = False
        try:
            n2.signal(signal.SIGSTOP)
            stopped = True
            acked, worst_ack, worst_delivery = [], 0.0, 0.0
            t_end = time.monotonic() + 5.0
            i = 0
            while time.monotonic() < t_end:
                for sender, reader in ((a, b), (b, a)):
                    t0 = time.monotonic()
                    r = await sender.send_text(g, f"{sender.user['name']} {i} " + "x" * 2000,
                                               client_id=new_client_id(), timeout=10)
                    assert r["type"] == "ack", r
                    t_ack = time.monotonic() - t0
                    await reader.next_event("message", id=r["id"], timeout=10)
                    t_del = time.monotonic() - t0
                    worst_ack, worst_delivery = max(worst_ack, t_ack), max(worst_delivery, t_del)
                    acked.append(r["seq"])
                i += 1
            print(f"while node 2 was stopped: {len(acked)} messages, worst ack "
                  f"{worst_ack:.3f} s, worst delivery {worst_delivery:.3f} s")
            assert len(acked) >= 10, f"only {len(acked)} messages in 5 s"
            assert worst_ack < bound and worst_delivery < bound, (worst_ack, worst_delivery)
        finally:
            if stopped:
                n2.signal(signal.SIGCONT)
        top = max(acked)
        deadline = time.monotonic() + 20
        while max([m["seq"] for m in messages_in(c, g)], default=0) < top:
            assert time.monotonic() < deadline, "cat never caught up after SIGCONT"
            await asyncio.sleep(0.1)
        seqs = [m["seq"] for m in messages_in(c, g)]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), "out of order or twice"
        missing = sorted(set(acked) - set(seqs))
        assert missing == [], f"cat never got {missing[:10]}"
        # Node 2 is itself again: it acks and delivers both ways.
        r = await c.send_text(g, "cat is back")
        assert r["type"] == "ack", r
        await a.next_event("message", id=r["id"])
        stuck.close()
        for x in (a, b, c):
            await x.close()

    run(body(), timeout=120)
