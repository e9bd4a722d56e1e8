"""Accounts the admin CLI makes while three nodes serve (one store on
CongoDB, one bus on redis-server): no node has them cached, and their
memberships (#general at least) reach a node's cache only when it first
meets the account (a sign-in there or elsewhere, a lookup, an invite).
Each node then tells its own sessions, once, so that what every member
counts (the room object's `members` plus member_joined minus
member_left) ends equal to the room's members on every node:
- a first sign-in on one node, with the room's people on all three;
- first sign-ins on two nodes at the same moment;
- a node that met the account before (a directory lookup, an invite's
  member_joined from the bus) and must not count it again;
- an invite into a room racing the first sign-in, whose member_joined
  comes from the bus while the nodes read the memberships."""

import asyncio
import contextlib

from cluster_nodes import cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, run
from test_cluster_rooms import room_with_people, three  # noqa: F401 (the fixture)

SETTLE = 0.8  # long enough for a second (wrong) event to arrive over the bus


def counted(c, rid, base=None):
    """What c counts in room rid: its `members` in ready (or base) plus
    the member_joined and minus the member_left c was sent since."""
    if base is None:
        base = next(r["members"] for r in c.ready["rooms"] if r["id"] == rid)
    for e in c.events:
        if e.get("room") == rid and e.get("type") == "member_joined":
            base += 1
        elif e.get("room") == rid and e.get("type") == "member_left":
            base -= 1
    return base


def joins_of(c, rid, user_id):
    return [e for e in c.events if e.get("type") == "member_joined" and e.get("room") == rid
            and e["user"]["id"] == user_id]


async def members_on(c, rid):
    r = await c.request("members", room=rid)
    assert r["type"] == "members", r
    return sorted(m["name"] for m in r["members"])


async def counts_settle(clients, rid, n, base=None):
    """Every client counts n in rid (waits for the bus), and still does a
    moment later (no second event)."""
    for _ in range(100):
        if all(counted(c, rid, base) == n for c in clients):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE)
    got = {c.user["name"]: counted(c, rid, base) for c in clients}
    told = {c.user["name"]: [(e["type"], e["user"]["name"]) for e in c.events
                             if e.get("room") == rid and e.get("type") in ("member_joined",
                                                                           "member_left")]
            for c in clients}
    assert got == {c.user["name"]: n for c in clients}, (got, told)


@contextlib.asynccontextmanager
async def seated(cluster):
    """ann, ben and cat (made by the CLI too) on nodes 0, 1 and 2, each
    counting the three of them in #general once their sign-ins reached
    every node: (a, b, c, general's id)."""
    n0, n1, n2 = cluster.nodes
    tok = cluster.people("ann", "ben", "cat")
    async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
            Client(n2, tok["cat"]) as c:
        general = a.room_id("general")
        await counts_settle([a, b, c], general, 3)
        yield a, b, c, general


async def signed_in(node, token):
    c = Client(node, token)
    await c.__aenter__()
    return c


def test_first_sign_in_on_one_node_tells_the_room_on_every_node(three):
    """ann, ben and cat sit on nodes 0, 1 and 2 (each made by the CLI
    too): each counts the others once. kim, made by the CLI now, signs in
    on node 1: every one of them is told once and counts 4."""
    n1 = three.nodes[1]

    async def body():
        async with seated(three) as (a, b, c, general):
            kim_tok = three.people("kim")["kim"]
            async with Client(n1, kim_tok) as k:
                kim = k.user["id"]
                await counts_settle([a, b, c], general, 4)
                for who in (a, b, c):
                    assert len(joins_of(who, general, kim)) == 1, who.events
                    assert await members_on(who, general) == ["ann", "ben", "cat", "kim"]
                assert counted(k, general) == 4

    run(body())


def test_first_sign_ins_on_two_nodes_at_once_count_once(three):
    """kim, lee and max (made by the CLI) each sign in on nodes 1 and 2
    at the same moment: both nodes meet the account first, and each
    node's sessions are still told once per person."""
    _, n1, n2 = three.nodes

    async def body():
        async with seated(three) as (a, b, c, general):
            new = three.people("kim", "lee", "max")
            opened = []
            try:
                for i, name in enumerate(new):
                    opened += await asyncio.gather(signed_in(n1, new[name]),
                                                   signed_in(n2, new[name]))
                    await counts_settle([a, b, c], general, 4 + i)
                for who in (a, b, c):
                    for s in opened[::2]:
                        assert len(joins_of(who, general, s.user["id"])) == 1, who.events
                    assert len(await members_on(who, general)) == 6
            finally:
                for s in opened:
                    await s.close()

    run(body())


def test_a_node_that_met_the_account_before_counts_it_once(three):
    """Before kim's first sign-in, cat's node (2) caches kim's account
    (not its rooms) from a directory lookup, and ann on node 0 invites kim
    to a private room (node 0 reads kim's memberships; ben's node 1 learns
    kim from the bus's member_joined). kim then signs in on node 1 (node 2
    reads kim's rooms on the "Y") and later on node 2: every member counts
    each room right, told once per room."""
    _, n1, n2 = three.nodes

    async def body():
        async with seated(three) as (a, b, c, general):
            ops = await room_with_people(a, [b], "ops", kind="private")
            base = 2  # counted from here on
            a.drain()
            b.drain()
            for who in (a, b, c):
                who.events.clear()
            kim_tok = three.people("kim")["kim"]
            found = await c.request("users", query="kim")
            assert [u["name"] for u in found["users"]] == ["kim"], found
            kim = found["users"][0]["id"]
            r = await a.request("invite", room=ops, user="kim")
            assert r["type"] == "ok", r
            await counts_settle([a, b], ops, base + 1, base=base)
            async with Client(n1, kim_tok) as k1:
                assert ops in {r["id"] for r in k1.ready["rooms"]}
                await counts_settle([a, b, c], general, 4, base=3)
                async with Client(n2, kim_tok):
                    await counts_settle([a, b, c], general, 4, base=3)
                    await counts_settle([a, b], ops, base + 1, base=base)
            for who in (a, b, c):
                assert len(joins_of(who, general, kim)) == 1, who.events
                assert await members_on(who, general) == ["ann", "ben", "cat", "kim"]
            for who in (a, b):
                assert len(joins_of(who, ops, kim)) == 1, who.events
                assert await members_on(who, ops) == ["ann", "ben", "kim"]

    run(body())


def test_an_invite_racing_the_first_sign_in_is_counted_once(three):
    """ann on node 0 invites a new account to a private room at the
    moment it first signs in on node 1 and node 2: the nodes read its
    memberships while the invite's member_joined is on the bus. ben
    (node 1) and cat (node 2) are in the room; each person, five times."""
    _, n1, n2 = three.nodes

    async def body():
        async with seated(three) as (a, b, c, general):
            ops = await room_with_people(a, [b, c], "ops", kind="private")
            base = 3
            for who in (a, b, c):
                who.events.clear()
            names = ["kim", "lee", "max", "ned", "oda"]
            new = three.people(*names)
            opened = []
            try:
                for name in names:
                    invited, s1, s2 = await asyncio.gather(
                        a.request("invite", room=ops, user=name),
                        signed_in(n1, new[name]), signed_in(n2, new[name]))
                    assert invited["type"] == "ok", invited
                    opened += [s1, s2]
                for who in (a, b, c):
                    for s in opened[::2]:
                        await who.next_event("member_joined", room=ops,
                                             where=lambda e, s=s: e["user"]["id"] == s.user["id"])
                await counts_settle([a, b, c], ops, base + len(names), base=base)
                await counts_settle([a, b, c], general, 3 + len(names), base=3)
                for who in (a, b, c):
                    for s in opened[::2]:
                        assert len(joins_of(who, ops, s.user["id"])) == 1, (s.user, who.events)
                        assert len(joins_of(who, general, s.user["id"])) == 1, (s.user,
                                                                                 who.events)
                    assert len(await members_on(who, ops)) == base + len(names)
            finally:
                for s in opened:
                    await s.close()

    run(body())
