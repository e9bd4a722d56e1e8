"""Find and follow (issue 15) across nodes (issue 16): three parley nodes
on one store (store_mongo on CongoDB) and one bus (cluster_redis), the
people of a room on different nodes. Thread replies and thread_updated,
the followed-threads list read on another node, group DMs opened, left
and reopened from different nodes, @here counting people online on any
node, pin events, and one person's notification level on two nodes.
(test_cluster_rooms.py has more of pins, DMs and notify across nodes.)"""

import asyncio

import pytest

from cluster_nodes import about_room, is_error, until, until_ok, cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, run


@pytest.fixture
def three(cluster_env):
    make, _ = cluster_env
    return make(3)


async def lab_with(owner, others, name="lab"):
    """A public room of owner's that each other client joined from its
    node (the owner's node has seen each join)."""
    rid = (await owner.request("create_room", name=name))["room"]["id"]
    for c in others:
        r = await until_ok(lambda c=c: c.request("join", room=rid))
        assert r["type"] == "room", r
        await owner.next_event("member_joined", room=rid,
                               where=lambda e, c=c: e["user"]["id"] == c.user["id"])
    return rid


def test_thread_replies_and_thread_updated_reach_other_nodes(three):
    """ann (node 0) starts a thread; ben (node 1) and cat (node 2) reply
    from their nodes: every member gets each reply carrying `thread` and
    thread_updated with the new count, the room's history on any node has
    the root's count, a thread's history reads the same on every node,
    and the followed-threads list (unread, thread_read) is one per person
    whichever node asks."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")
    ann2 = n0.tokens("ann")[0]

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            lab = await lab_with(a, [b, c])
            root = await a.send_text(lab, "which buffer did we use in March?")
            for other in (b, c):
                await other.next_event("message", id=root["id"])

            r1 = await until_ok(lambda: b.send_text(lab, "PBS", thread=root["id"]))
            assert r1["type"] == "ack" and r1["seq"] == root["seq"] + 1, r1
            for other in (a, c):
                ev = await other.next_event("message", id=r1["id"])
                assert ev["thread"] == root["id"] and "also_room" not in ev, ev
                up = await other.next_event("thread_updated", room=lab, id=root["id"],
                                            replies=1)
                assert up["last_reply_ts"] == ev["ts"], up
            await b.next_event("thread_updated", room=lab, id=root["id"], replies=1)

            r2 = await until_ok(lambda: c.send_text(lab, "@ben pH 7.4?", thread=root["id"],
                                                    also_room=True))
            assert r2["type"] == "ack", r2
            for other in (a, b):
                ev = await other.next_event("message", id=r2["id"])
                assert ev["thread"] == root["id"] and ev["also_room"] is True, ev
                await other.next_event("thread_updated", room=lab, id=root["id"],
                                       replies=2, last_reply_ts=ev["ts"])

            # The same facts from each node's reads.
            for x in (a, b, c):
                h = await x.history(lab)
                got = {m["id"]: m for m in h["messages"]}
                assert got[root["id"]]["replies"] == 2, (x.user["name"], got[root["id"]])
                assert got[r1["id"]]["thread"] == root["id"]
                t = await x.request("history", room=lab, thread=root["id"])
                assert [m["id"] for m in t["messages"]] == [r1["id"], r2["id"]], t
                assert t["root"]["replies"] == 2, t

            # ann (the root's author) follows with two unread replies; she
            # reads them on node 0 and her session on node 2 sees it read.
            r = await a.request("threads")
            assert [(x["root"]["id"], x["unread"]) for x in r["threads"]] == \
                [(root["id"], 2)], r
            assert (await a.request("thread_read", room=lab, id=root["id"],
                                    seq=r2["seq"]))["type"] == "ok"
            async with Client(n2, ann2) as a2:
                r = await a2.request("threads")
                assert [(x["root"]["id"], x["unread"]) for x in r["threads"]] == \
                    [(root["id"], 0)], r
                # A reply made on node 1 counts as unread for her on node 2.
                r3 = await b.send_text(lab, "yes, 7.4", thread=root["id"])
                await a2.next_event("thread_updated", room=lab, id=root["id"], replies=3)
                r = await a2.request("threads")
                assert [x["unread"] for x in r["threads"]] == [1], r
                assert r["threads"][0]["root"]["last_reply_ts"] is not None
            assert r3["type"] == "ack", r3
            # cat wrote in it (on node 2): she follows it too.
            r = await c.request("threads")
            assert [x["root"]["id"] for x in r["threads"]] == [root["id"]], r

    run(body())


def test_group_dm_opened_left_and_reopened_from_different_nodes(three):
    """ann opens a group DM on node 0; ben (node 1) and cat (node 2) get it
    as a room of kind dm listing the others as {id,name}; cat opening the
    same set on node 2 finds the same room; cat leaves on node 2, ben
    reopens the set on node 1 and cat is back (the room and its messages
    reach her on node 2 again); dan, outside it, sees nothing of it."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat", "dan")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c, Client(n1, tok["dan"]) as d:
            ids = {x.user["name"]: x.user["id"] for x in (a, b, c, d)}
            g = await a.request("dm", users=[ids["ben"], "cat"])
            assert g["type"] == "room" and g["room"]["kind"] == "dm", g
            gid = g["room"]["id"]
            for x, others in ((b, ["ann", "cat"]), (c, ["ann", "ben"])):
                ev = await x.next_event("room_updated", where=lambda e: about_room(e, gid))
                assert ev["room"]["kind"] == "dm", ev
                assert sorted(u["name"] for u in ev["room"]["users"]) == others, ev
                assert all(u["id"] == ids[u["name"]] for u in ev["room"]["users"]), ev

            same = await c.request("dm", users=[ids["ann"], ids["ben"]])
            assert same["type"] == "room" and same["room"]["id"] == gid, same

            m = await until_ok(lambda: b.send_text(gid, "lunch?"))
            assert m["type"] == "ack", m
            for x in (a, c):
                await x.next_event("message", id=m["id"])

            assert (await c.request("leave", room=gid))["type"] == "ok"
            for x in (a, b):
                await x.next_event("member_left", room=gid,
                                   where=lambda e: e["user"]["id"] == ids["cat"])
            gone = await b.send_text(gid, "cat left")
            await a.next_event("message", id=gone["id"])

            # The first open may have told cat twice (node 2's store read
            # and node 0's event both say room_updated): only one that
            # comes after the reopen means node 2 has her in the room.
            c.drain("room_updated", where=lambda e: about_room(e, gid))
            back = await b.request("dm", users=[ids["ann"], ids["cat"]])
            assert back["type"] == "room" and back["room"]["id"] == gid, back
            assert back["room"]["members"] == 3, back
            ev = await c.next_event("room_updated", where=lambda e: about_room(e, gid))
            assert ev["room"]["kind"] == "dm", ev
            again = await until_ok(lambda: a.send_text(gid, "welcome back"))
            assert again["type"] == "ack", again
            got = await c.next_event("message", id=again["id"])
            assert got["text"] == "welcome back"
            rooms = (await c.request("rooms"))["rooms"]
            assert gid in {x["id"] for x in rooms}

            await asyncio.sleep(0.3)
            assert [e for e in d.events if about_room(e, gid)] == [], "dan saw the group DM"
            assert is_error(await d.history(gid), "not_found")

    run(body())


def test_group_dm_opened_on_two_nodes_close_together_is_one_room(three):
    """ann opens a set on node 0 and ben the same set on node 1 right after
    her answer: one room for both (a group, and a 1:1 DM), with every
    member, carrying messages both ways. Whether node 1 has heard of the
    room by then or its creation is refused by the store (the name is
    taken: it opens the stored room, test_follow.py's
    test_dm_opened_by_several_at_once_is_one_room proves that path), the
    answer is the room, never an error. (Two creations at the very same
    moment on two nodes are settled by the store's unique index on a real
    MongoDB; the CongoDB test server does not enforce unique indexes, see
    plugins/store_mongo/rooms.c, so that case is not tested here.)"""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            ids = {x.user["name"]: x.user["id"] for x in (a, b, c)}
            asks = (({"users": [ids["ben"], ids["cat"]]}, {"users": [ids["ann"], ids["cat"]]}),
                    ({"user": ids["ben"]}, {"user": ids["ann"]}))  # a group, a 1:1 DM
            for on_a, on_b in asks:
                ga = await a.request("dm", **on_a)
                gb = await b.request("dm", **on_b)
                assert ga["type"] == "room" and gb["type"] == "room", (on_a, ga, gb)
                assert gb["room"]["id"] == ga["room"]["id"], (on_a, ga, gb)
            g = await a.request("dm", users=[ids["ben"], ids["cat"]])
            gid = g["room"]["id"]
            assert g["room"]["members"] == 3, g
            m = await until_ok(lambda: c.send_text(gid, "one room"))
            assert m["type"] == "ack", m
            for x in (a, b):
                await x.next_event("message", id=m["id"])
            m = await b.send_text(gid, "from node 1")
            await a.next_event("message", id=m["id"])

    run(body())


def test_here_counts_people_online_on_any_node(three):
    """@here from node 1 mentions members online on nodes 0 and 2 (presence
    is summed over the nodes) and not the member with no session; @room
    mentions every member. The message carries mention_all everywhere."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat", "dan")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            async with Client(n0, tok["dan"]) as d:
                lab = await lab_with(a, [b, c, d])
                dan = d.user["id"]
            # dan's only session closed: wait until node 1 sees him offline.
            await b.next_event("presence", where=lambda e: e["user"]["id"] == dan
                               and e["status"] == "offline")
            here = await until_ok(lambda: b.send_text(lab, "anyone @here for coffee?"))
            assert here["type"] == "ack", here
            for x in (a, c):
                m = await x.next_event("message", id=here["id"])
                assert m["mention_all"] == "here", m
                assert set(m["mentions"]) == {a.user["id"], c.user["id"]}, m
            al = await b.send_text(lab, "@room the fridge is defrosting")
            m = await c.next_event("message", id=al["id"])
            assert m["mention_all"] == "room", m
            assert set(m["mentions"]) == {a.user["id"], c.user["id"], dan}, m
            # Counted like @name on cat's node.
            r = await until(lambda: c.request("rooms"),
                            lambda r: [x for x in r["rooms"] if x["id"] == lab][0][
                                "mentions"] == 2)
            assert [x for x in r["rooms"] if x["id"] == lab][0]["mentions"] == 2, r

    run(body())


def test_pin_events_carry_the_pinner_and_reach_new_sessions_on_other_nodes(three):
    """A moderator on node 2 pins: members on nodes 0 and 1 get the event
    with user {id,name}; a session opened afterwards on node 1 has the pin
    in its ready; the author deleting the message on node 1 unpins it on
    every node."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")
    ben2 = n1.tokens("ben")[0]

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            lab = await lab_with(a, [b, c])
            r = await a.request("member_role", room=lab, user=c.user["id"], role="moderator")
            assert r["type"] != "error", r
            msg = await until_ok(lambda: b.send_text(lab, "runbook: restart the pump"))
            await c.next_event("message", id=msg["id"])
            r = await until_ok(lambda: c.request("pin", room=lab, id=msg["id"]))
            assert r["type"] == "ok", r
            for x in (a, b, c):
                ev = await x.next_event("pin", room=lab, id=msg["id"], on=True)
                assert ev["user"]["id"] == c.user["id"] and ev["user"]["name"] == "cat", ev
            async with Client(n1, ben2) as b2:
                mine = [x for x in b2.ready["rooms"] if x["id"] == lab][0]
                assert mine["pins"] == [msg["id"]], mine
                assert (await b.request("delete", room=lab, id=msg["id"]))["type"] == "ok"
                for x in (a, c, b2):
                    ev = await x.next_event("pin", room=lab, id=msg["id"], on=False)
                    assert ev["user"]["id"] == b.user["id"], ev
                for x in (a, c):
                    rooms = {y["id"]: y for y in (await x.request("rooms"))["rooms"]}
                    assert rooms[lab]["pins"] == [], rooms[lab]

    run(body())


def test_notify_level_follows_one_person_across_two_nodes(three):
    """ann has sessions on node 1 and node 2 at once: a level set on either
    reaches the other as room_updated with `notify`, each node's `rooms`
    says it, ben's level stays his own, and a fresh session on node 0
    starts with it."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")
    ann2, ann3 = n0.tokens("ann", "ann")

    async def body():
        async with Client(n0, tok["ben"]) as b, Client(n1, tok["ann"]) as a1, \
                Client(n2, ann2) as a2:
            g = a1.room_id("general")
            for x, other, level in ((a1, a2, "mentions"), (a2, a1, "none")):
                r = await x.request("notify", room=g, level=level)
                assert r["type"] == "ok", r
                ev = await other.next_event("room_updated", where=lambda e: about_room(e, g)
                                            and e["room"].get("notify") == level)
                assert ev["room"]["notify"] == level, ev
                for y in (a1, a2):
                    mine = {z["id"]: z for z in (await y.request("rooms"))["rooms"]}
                    assert mine[g]["notify"] == level, mine[g]
            theirs = {z["id"]: z for z in (await b.request("rooms"))["rooms"]}
            assert theirs[g]["notify"] == "all", theirs[g]
            assert b.queued("room_updated", where=lambda e: about_room(e, g)) == []
            async with Client(n0, ann3) as a3:
                mine = {z["id"]: z for z in a3.ready["rooms"]}
                assert mine[g]["notify"] == "none", mine[g]

    run(body())


def test_thread_read_and_follow_reach_the_persons_session_on_another_node(three):
    """ann reads and (un)follows a thread on node 1: her session on node 2
    gets thread_read / thread_follow; ben (node 0) gets neither."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")
    ann2 = n0.tokens("ann")[0]

    async def body():
        async with Client(n0, tok["ben"]) as b, Client(n1, tok["ann"]) as a1, \
                Client(n2, ann2) as a2:
            lab = await lab_with(b, [a1])
            root = await until_ok(lambda: a1.send_text(lab, "thread root"))
            reply = await until_ok(lambda: b.send_text(lab, "a reply", thread=root["id"]))
            await a2.next_event("message", id=reply["id"])
            r = await a1.request("thread_read", room=lab, id=root["id"], seq=reply["seq"])
            assert r["type"] == "ok", r
            ev = await a2.next_event("thread_read", room=lab, id=root["id"])
            assert ev["seq"] == reply["seq"], ev
            r = await a1.request("thread_follow", room=lab, id=root["id"], on=False)
            assert r["type"] == "ok", r
            ev = await a2.next_event("thread_follow", room=lab, id=root["id"])
            assert ev["on"] is False, ev
            t = await a2.request("threads")
            assert t["threads"] == [], t
            marker = await a1.send_text(lab, "marker")
            await b.next_event("message", id=marker["id"])
            assert not b.queued("thread_read") and not b.queued("thread_follow")
            assert not a1.queued("thread_read") and not a1.queued("thread_follow")

    run(body())
