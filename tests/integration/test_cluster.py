"""Several nodes as one chat (issue 16): three parley processes on one
store (store_mongo on CongoDB) and one bus (cluster_redis on redis-server),
clients spread over the nodes. What travels is listed in docs/cluster.md;
each kind here has a test that fails when it stays on its node."""

import asyncio
import json

import pytest

from cluster_nodes import until_ok, cluster_env, metric  # noqa: F401 (the fixture)
from conftest import lua_str
from parley_client import Client, new_client_id, run

PW = "correct horse 1"


@pytest.fixture
def three(cluster_env):
    make, _ = cluster_env
    return make(3)


def general(c):
    return c.room_id("general")


def test_messages_cross_nodes_in_seq_order_once(three):
    """Senders on all three nodes at once: every reader, on every node,
    gets every message once and in the store's seq order (messages from
    the bus and from the node's own sends interleave)."""
    tok = three.people("ann", "ben", "cat")
    names = list(tok)

    async def body():
        clients = [Client(node, tok[n]) for node, n in zip(three.nodes, names)]
        for c in clients:
            await c.__aenter__()
        g = general(clients[0])
        per = 30

        async def sender(c, who):
            acks = []
            for i in range(per):
                r = await c.send_text(g, f"{who} {i}", client_id=new_client_id())
                assert r["type"] == "ack", r
                acks.append(r)
            return acks

        acks = await asyncio.gather(*(sender(c, n) for c, n in zip(clients, names)))
        seqs = sorted(a["seq"] for batch in acks for a in batch)
        assert len(set(seqs)) == 3 * per
        for c in clients:
            got = [await c.next_event("message", room=g, timeout=10) for _ in range(3 * per)]
            got_seqs = [m["seq"] for m in got]
            assert got_seqs == seqs, f"{c.user['name']}: out of order or missing"
            # The author's own copies carry client_id; the others' do not.
            for m in got:
                assert ("client_id" in m) == (m["user"]["id"] == c.user["id"]), m
        await asyncio.sleep(0.3)
        for c in clients:
            assert c.queued("message") == [], "a message was delivered twice"
            await c.close()

    run(body())


def test_edit_delete_react_typing_cross_nodes(three):
    tok = three.people("ann", "ben")

    async def body():
        async with Client(three.nodes[0], tok["ann"]) as a, \
                Client(three.nodes[2], tok["ben"]) as b:
            g = general(a)
            m = await a.send_text(g, "first draft")
            await b.next_event("message", id=m["id"])
            r = await a.request("edit", room=g, id=m["id"], text="second draft")
            assert r["type"] == "ok", r
            ed = await b.next_event("message_edited", room=g, id=m["id"])
            assert ed["text"] == "second draft"
            r = await b.request("react", room=g, id=m["id"], emoji="👍", on=True)
            assert r["type"] == "ok", r
            ev = await a.next_event("reaction", room=g, id=m["id"])
            assert ev["emoji"] == "👍" and ev["user"]["id"] == b.user["id"], ev
            await b.send_frame({"type": "typing", "room": g})
            ty = await a.next_event("typing", room=g)
            assert ty["user"]["id"] == b.user["id"], ty
            r = await a.request("delete", room=g, id=m["id"])
            assert r["type"] == "ok", r
            await b.next_event("message_deleted", room=g, id=m["id"])
            assert a.queued("typing") == [] and b.queued("typing") == [], \
                "typing echoed to its sender"

    run(body())


def test_rooms_created_joined_invited_across_nodes(three):
    """A room made on one node is joined on another; the joining, the
    invite into a private room, and messages there reach every node, and
    each node's members cache follows (the invitee can post)."""
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(three.nodes[0], tok["ann"]) as a, \
                Client(three.nodes[1], tok["ben"]) as b, \
                Client(three.nodes[2], tok["cat"]) as c:
            lobby = (await a.request("create_room", name="lobby"))["room"]["id"]
            # Node 1 learns the room from the bus, then ben joins there.
            for _ in range(50):
                j = await b.request("join", room=lobby)
                if j.get("type") != "error":
                    break
                await asyncio.sleep(0.1)
            assert j.get("type") != "error", j
            ev = await a.next_event("member_joined", room=lobby)
            assert ev["user"]["id"] == b.user["id"]
            m = await b.send_text(lobby, "ben in the lobby")
            assert m["type"] == "ack", m
            await a.next_event("message", id=m["id"])

            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            r = await a.request("invite", room=ops, user="cat")
            assert r["type"] == "ok", r
            # cat's session on node 2 learns the room and is subscribed.
            await c.next_event(where=lambda e: e.get("room") == ops or
                               (isinstance(e.get("room"), dict) and e["room"].get("id") == ops))
            for _ in range(50):
                m = await c.send_text(ops, "cat in ops")
                if m["type"] == "ack":
                    break
                await asyncio.sleep(0.1)
            assert m["type"] == "ack", m
            got = await a.next_event("message", id=m["id"])
            assert got["text"] == "cat in ops"
            # ben (node 1) is not in ops and hears nothing of it.
            await asyncio.sleep(0.3)
            assert [e for e in b.events if e.get("room") == ops] == []

    run(body())


def test_read_marker_reaches_own_sessions_on_other_nodes(three):
    tok = three.people("ann", "ben")
    ann2 = three.nodes[0].token("ann")

    async def body():
        async with Client(three.nodes[0], tok["ben"]) as b, \
                Client(three.nodes[1], tok["ann"]) as a1, \
                Client(three.nodes[2], ann2) as a2:
            g = general(b)
            acks = [await b.send_text(g, f"r{i}") for i in range(3)]
            await a1.send_frame({"type": "read", "room": g, "seq": acks[1]["seq"]})
            ev = await a2.next_event("read", room=g)
            assert ev["seq"] == acks[1]["seq"]

    run(body())


def call(node, method, path, token=None, body=None):
    st, _, data = node.http(method, path, json=body,
                            headers={"Authorization": "Bearer " + token} if token else None)
    return st, json.loads(data) if data else None


async def ended(client):
    code = await client.wait_closed(timeout=3.0)
    assert (code, client.close_reason) == (4401, "session ended"), (code, client.close_reason)


def test_logout_password_change_disable_close_sockets_on_other_nodes(three):
    n0, n1, n2 = three.nodes
    admin = n0.user("root", role="admin")
    n0.add_user("ann")
    n0.add_user("ben")
    gone, kept = n0.tokens("ann", "ann")
    ben = n0.token("ben")

    async def body():
        async with Client(n1, gone) as a_gone, Client(n2, kept) as a_kept, \
                Client(n2, ben) as b:
            # Logout on node 0 ends that session's socket on node 1 only.
            assert call(n0, "POST", "/api/logout", gone)[0] == 204
            await ended(a_gone)
            assert (await a_kept.request("ping"))["type"] == "pong"
            # A password change on node 0 ends the other sessions on node 2.
            fresh = n0.login("ann", PW)["token"]
            st, out = call(n0, "POST", "/api/password/change", fresh,
                           {"old_password": PW, "new_password": "another horse 2"})
            assert st in (200, 204), (st, out)
            await ended(a_kept)
            # Disabling ben on node 0 ends his socket on node 2.
            st, out = call(n0, "GET", "/api/admin/users", admin)
            ben_id = {u["name"]: u["id"] for u in out["users"]}["ben"]
            st, out = call(n0, "POST", f"/api/admin/users/{ben_id}/disable", admin)
            assert st in (200, 204), (st, out)
            await ended(b)

    run(body())


def test_check_config_refuses_single_node_plugins_and_rediss(run_parley, tmp_path, plugin_dir):
    def check(plugins):
        cfg = tmp_path / "c.conf"
        cfg.write_text("server = { data_dir = %s, plugin_dir = %s }\nplugins = %s\n"
                       % (lua_str(str(tmp_path / "d")), lua_str(plugin_dir), plugins))
        return run_parley("check-config", "--config", str(cfg))

    auth = '{"auth_local"}'
    r = check('{ %s, {"store_sqlite"}, {"cluster_redis"} }' % auth)
    assert r.returncode != 0
    assert "store_sqlite cannot run with cluster_redis" in r.stderr, r.stderr
    assert "not a store the nodes share" in r.stderr
    r = check('{ %s, {"store_mongo"}, {"uploads_local"}, {"cluster_redis"} }' % auth)
    assert r.returncode != 0
    assert "uploads_local cannot run with cluster_redis" in r.stderr, r.stderr
    assert "store_sqlite" not in r.stderr
    r = check('{ %s, {"store_mongo"}, {"cluster_redis", url = "rediss://h:6380"} }' % auth)
    assert r.returncode != 0
    assert "hiredis 0.14 has no TLS" in r.stderr, r.stderr
    r = check('{ %s, {"store_mongo"}, {"cluster_redis", url = "redis://h:70000"} }' % auth)
    assert r.returncode != 0 and "port: must be 1 to 65535" in r.stderr, r.stderr
    r = check('{ %s, {"store_mongo"}, {"cluster_redis", url = "redis://127.0.0.1:6379",'
              ' prefix = "p1", password = "pw"} }' % auth)
    assert r.returncode == 0, r.stderr


def test_presence_sums_sessions_on_every_node(three):
    """A person is online while any session on any node is active: peers
    on other nodes hear it, `ready` on another node includes them, and
    leaving one node while still on another announces nothing."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")
    ben2 = n0.token("ben")

    async def body():
        async with Client(n0, tok["ann"]) as a:
            await asyncio.sleep(0.5)  # ann's state reaches the other nodes
            b1 = Client(n1, tok["ben"])
            await b1.__aenter__()
            ben = b1.user["id"]
            # ann is online on node 0 only: node 1's `ready` says so.
            assert b1.ready["presence"].get(a.user["id"]) == "online", b1.ready
            of_ben = lambda e: e["user"]["id"] == ben  # noqa: E731
            await a.next_event("presence", where=of_ben, status="online")
            b2 = Client(n2, ben2)
            await b2.__aenter__()
            # Node 2 announces ben's new session on the bus after his ready;
            # nothing a client sees tells when node 0 has it, so give the bus
            # time (an away said before would be true for that instant: the
            # CI run at load 30 saw away then online).
            await asyncio.sleep(1.5)
            # Away on node 1 while active on node 2: still online.
            assert (await b1.request("presence", status="away"))["type"] == "ok"
            await asyncio.sleep(0.5)
            assert a.queued("presence", where=of_ben) == [], a.queued("presence")
            # Node 2's session goes: away (node 1's session is idle).
            await b2.close()
            await a.next_event("presence", where=of_ben, status="away")
            # Active again on node 1, then gone from there: offline.
            assert (await b1.request("presence", status="online"))["type"] == "ok"
            await a.next_event("presence", where=of_ben, status="online")
            await b1.close()
            await a.next_event("presence", where=of_ben, status="offline")
            await asyncio.sleep(0.3)
            assert a.queued("presence", where=of_ben) == [], "announced twice"

    run(body())


def test_presence_of_a_killed_node_goes_offline(three):
    """A node killed with a person's only session: the others take the
    node for gone and announce the person offline."""
    n0, n1, _ = three.nodes
    tok = three.people("ann", "ben")

    async def body():
        async with Client(n0, tok["ann"]) as a:
            b = Client(n1, tok["ben"])
            await b.__aenter__()
            ben = b.user["id"]
            of_ben = lambda e: e["user"]["id"] == ben  # noqa: E731
            await a.next_event("presence", where=of_ben, status="online")
            n1.kill9()
            await a.next_event("presence", where=of_ben, status="offline", timeout=10)

    run(body())


def test_profile_and_role_changes_reach_other_nodes(three):
    """A profile change on node 0 reaches sessions on node 1, whose user
    cache names the person by the new display name; an admin's role
    change on node 0 lets the person act as admin on node 2."""
    n0, n1, n2 = three.nodes
    admin = n0.user("root", role="admin")
    tok = three.people("ann", "ben")
    ann_n1 = n0.token("ann")

    async def body():
        async with Client(n1, tok["ben"]) as b, Client(n1, ann_n1) as a1, \
                Client(n2, tok["ann"]) as a2:
            ann = a1.user["id"]
            st, out = call(n0, "PATCH", "/api/profile", tok["ann"],
                           {"display_name": "Ann Other", "pronouns": "she/her"})
            assert st == 200, out
            ev = await b.next_event("profile")
            assert ev["profile"] == out["profile"], ev
            # Node 1's cache of her has the new name (members reads it).
            m = await b.request("members", room=general(b))
            by = {x["id"]: x for x in m["members"]}
            assert by[ann]["display_name"] == "Ann Other", by[ann]
            # ann may not delete rooms on node 2 until node 0 makes her admin.
            lab = (await b.request("create_room", name="lab"))["room"]["id"]
            r = await until_ok(lambda: a2.request("join", room=lab))
            assert r["type"] == "room", r
            r = await a2.request("delete_room", room=lab)
            assert r["type"] == "error" and r["code"] == "forbidden", r
            st, out = call(n0, "POST", f"/api/admin/users/{ann}/role", admin, {"role": "admin"})
            assert st == 200, out
            r = await until_ok(lambda: a2.request("delete_room", room=lab))
            assert r["type"] == "ok", r

    run(body())


def test_room_settings_roles_and_deletion_reach_other_nodes(three):
    """room_settings, member_role and delete_room on node 0: node 1's
    caches follow (who may post, the room gone) and its sessions get
    room_updated, member_updated and room_deleted."""
    n0, n1, _ = three.nodes
    admin = n0.user("root", role="admin")
    tok = three.people("bob")

    async def body():
        async with Client(n0, admin) as o, Client(n1, tok["bob"]) as b:
            rid = (await o.request("create_room", name="lab"))["room"]["id"]
            r = await until_ok(lambda: b.request("join", room=rid))
            assert r["type"] == "room", r
            # What the owner's screen shows before they can name bob: node 0
            # has heard of the join (it travels on the bus, milliseconds).
            await o.next_event("member_joined", room=rid)
            r = await o.request("room_settings", room=rid, name="lab-2", may_post="moderators")
            assert r["type"] == "room", r
            ev = await b.next_event("room_updated", where=lambda e: e["room"]["id"] == rid
                                    and e["room"]["name"] == "lab-2")
            assert ev["room"]["may_post"] == "moderators", ev
            # Node 1 applies it: bob, a member, may not post there.
            r = await b.send_text(rid, "hi")
            assert r["type"] == "error" and r["code"] == "forbidden", r
            r = await o.request("member_role", room=rid, user=b.user["id"], role="moderator")
            assert r["type"] == "ok", r
            upd = await b.next_event("member_updated", room=rid)
            assert upd["role"] == "moderator", upd
            assert (await b.send_text(rid, "now I may"))["type"] == "ack"
            assert (await o.request("delete_room", room=rid))["type"] == "ok"
            await b.next_event("room_deleted", room=rid)
            r = await b.send_text(rid, "still here?")
            assert r["type"] == "error", r

    run(body())
