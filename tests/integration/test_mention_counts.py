"""Unread mentions (`mentions` in room objects) counted from the store at
start, so they outlive a restart and reach a node started after the
mention: alice mentions bob twice in a room and once in a DM while bob
reads nothing; bob's `ready` then says 2 and 1, and 0 once his read
markers move."""

from cluster_nodes import cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, run


def mine(rooms, rid):
    return next(r for r in rooms if r["id"] == rid)


async def mention_bob(a, bob_id):
    """alice's two mentions in general, one in a DM, a message mentioning
    nobody, and her own mention of herself; (general, dm, newest seqs)."""
    g = a.room_id("general")
    await a.send_text(g, "@bob one")
    await a.send_text(g, "nothing for anyone")
    await a.send_text(g, "@alice talks to herself")
    last_g = (await a.send_text(g, "and @bob two"))["seq"]
    dm = (await a.request("dm", user=bob_id))["room"]["id"]
    last_dm = (await a.send_text(dm, "hey @bob"))["seq"]
    return g, dm, last_g, last_dm


async def counts_then_read(server, token, g, dm, last_g, last_dm):
    """bob's ready has 2 and 1; after his read markers move, 0 (in the
    read replies' state and in a new session's ready)."""
    async with Client(server, token) as b:
        assert mine(b.ready["rooms"], g)["mentions"] == 2, mine(b.ready["rooms"], g)
        assert mine(b.ready["rooms"], dm)["mentions"] == 1, mine(b.ready["rooms"], dm)
        assert mine(b.ready["rooms"], g)["unread"] >= 4
        await b.send_frame({"type": "read", "room": g, "seq": last_g})
        await b.send_frame({"type": "read", "room": dm, "seq": last_dm})
        rooms = (await b.request("rooms"))["rooms"]
        assert mine(rooms, g)["mentions"] == 0, mine(rooms, g)
        assert mine(rooms, dm)["mentions"] == 0, mine(rooms, dm)
    async with Client(server, token) as b:
        assert mine(b.ready["rooms"], g)["mentions"] == 0
        assert mine(b.ready["rooms"], dm)["mentions"] == 0


def test_mentions_survive_a_restart(server):
    server.require_store_members("mentions_unread")
    tok = server.people("alice", "bob")

    async def before():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            where = await mention_bob(a, b.user["id"])
            # Counted in memory as today, before any restart.
            rooms = (await b.request("rooms"))["rooms"]
            assert mine(rooms, where[0])["mentions"] == 2
            # alice's own mention of herself is not hers to read.
            assert mine(a.ready["rooms"], where[0])["mentions"] == 0
            return where

    where = run(before())
    assert server.stop() == 0
    server.restart()

    async def after():
        async with Client(server, tok["alice"]) as a:
            assert mine(a.ready["rooms"], where[0])["mentions"] == 0
        await counts_then_read(server, tok["bob"], *where)

    run(after())
    # The marks are stored: one more restart finds nothing unread.
    assert server.stop() == 0
    server.restart()

    async def again():
        async with Client(server, tok["bob"]) as b:
            assert mine(b.ready["rooms"], where[0])["mentions"] == 0
            assert mine(b.ready["rooms"], where[1])["mentions"] == 0

    run(again())


def test_a_node_started_after_the_mentions_counts_them(cluster_env):
    make, _ = cluster_env
    c = make(1)
    first = c.nodes[0]
    first.require_store_members("mentions_unread")
    tok = c.people("alice", "bob")

    async def before():
        async with Client(first, tok["alice"]) as a, Client(first, tok["bob"]) as b:
            return await mention_bob(a, b.user["id"])

    where = run(before())
    c.nodes.append(c.start_node())
    c.wait_bus()
    late = c.nodes[1]

    async def on_the_new_node():
        # The first node counted them as it delivered them; the new one
        # from the store, once: the same numbers on both.
        async with Client(first, tok["bob"]) as b:
            assert mine(b.ready["rooms"], where[0])["mentions"] == 2
        await counts_then_read(late, tok["bob"], *where)

    run(on_the_new_node())
