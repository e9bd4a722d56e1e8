"""Requests that name a person this node has not met (an account made by
the CLI while the servers run, or seen only by another node): each node
reads such a person from the store (core/chat/person_lookup.c) and answers
as if it had known them, and a name that exists nowhere stays not_found
with the same code and message. The cluster test runs three nodes on one
store_mongo and one Redis; the one-node test runs on either store
(PARLEY_TEST_STORE)."""

import asyncio
import json
import time

import pytest

from cluster_nodes import until, cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, run


@pytest.fixture
def three(cluster_env):
    make, _ = cluster_env
    return make(3)


def call(node, method, path, token=None, body=None):
    st, _, data = node.http(method, path, json=body,
                            headers={"Authorization": "Bearer " + token} if token else None)
    return st, json.loads(data) if data else None


def error_of(r):
    assert r.get("type") == "error", r
    return r["code"], r["message"]


def names_in(members_reply):
    return sorted(m["name"] for m in members_reply["members"])


def audit_until(node, admin, query, action, timeout=5):
    """GET /api/admin/audit?query until an entry with this action is there
    (entries are written beside the answer); (status, body)."""
    deadline = time.monotonic() + timeout
    while True:
        st, out = call(node, "GET", f"/api/admin/audit?{query}", admin)
        if st != 200 or any(e["action"] == action for e in out["entries"]) or \
                time.monotonic() > deadline:
            return st, out
        time.sleep(0.1)


def test_a_node_finds_people_it_never_met(three):
    """Everyone is made by the CLI after the nodes started; ann works on
    node 1, where dan, eve and fay never signed in. Kicking dan (not a
    member) says so instead of "no such user"; /invite @dan brings him in
    and member_role then reaches him; a mention of dan counts for him on
    node 2 where he signs in later; a group DM on node 2 names eve and fay;
    search from:gus on node 1 is a search (empty: gus never posted), not
    an unknown author; the audit log filters by an
    admin who only ever used node 0's REST API, and names him in its
    entries. Names that exist nowhere
    are not_found (bad_request for the audit filter) as before."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "dan", "eve", "fay", "gus", "hal")
    n0.add_user("root", role="admin")
    n0.add_user("boss", role="admin")
    root, boss = n0.token("root"), n0.token("boss")

    async def body():
        async with Client(n1, tok["ann"]) as a, Client(n2, tok["ann"]) as a2:
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]

            # kick: dan exists, so the answer is about the room, not him.
            assert error_of(await a.request("kick", room=ops, user="dan")) == \
                ("not_found", "not a member of this room")
            assert error_of(await a.request("kick", room=ops, user="nobody")) == \
                ("not_found", "no such user")
            assert error_of(await a.request("member_role", room=ops, user="nobody",
                                            role="moderator")) == \
                ("not_found", "not a member of this room")

            # /invite @dan, then member_role on the node that just met him.
            r = await a.send_text(ops, "/invite @dan")
            assert r["type"] == "ack" and r.get("command") is True, r
            r = await a.request("member_role", room=ops, user="dan", role="moderator")
            assert r["type"] == "ok", r
            assert error_of(await a.send_text(ops, "/invite @nobody")) == \
                ("not_found", "no such user")

            # A group DM with two people node 2 never met (eve, fay).
            r = await a2.request("dm", users=["eve", "@fay"])
            assert r["type"] == "room", r
            assert sorted(u["name"] for u in r["room"]["users"]) == ["eve", "fay"], r
            assert error_of(await a2.request("dm", users=["eve", "nobody"])) == \
                ("not_found", "no such user")

            # Node 2 has dan as a member (from the bus): a mention counts.
            r = await until(lambda: a2.request("members", room=ops),
                            lambda r: "dan" in names_in(r))
            assert "dan" in names_in(r), r
            m = await a.send_text(ops, "@dan have a look")
            assert m["type"] == "ack", m
            await a2.next_event("message", id=m["id"])
            async with Client(n2, tok["dan"]) as d:
                mine = {x["id"]: x for x in (await d.request("rooms"))["rooms"]}
                assert mine[ops]["mentions"] == 1, mine[ops]
                # dan, a moderator now, names hal, whom no node has met.
                assert error_of(await d.request("kick", room=ops, user="hal")) == \
                    ("not_found", "not a member of this room")

            # search: an author node 1 has not met is a filter, not an error
            # (gus was never named on any node; his id from node 0's store).
            st, listed = call(n0, "GET", "/api/admin/users", root)
            assert st == 200, listed
            gus_id = [u["id"] for u in listed["users"] if u["name"] == "gus"][0]
            async with Client(n1, tok["ben"]) as b:
                for q in ({"query": "from:gus hello"}, {"query": "hello", "from": gus_id}):
                    r = await b.request("search", **q)
                    assert r["type"] == "search" and r["messages"] == [], r
                assert error_of(await b.request("search", query="from:nobody hello")) == \
                    ("not_found", "from:nobody: no such user")
                assert error_of(await b.request("search", query="hello",
                                                **{"from": "nobody"})) == \
                    ("not_found", "from: no such user")

    run(body())

    # The audit log on node 1, filtered by an admin seen only by node 0.
    st, users = call(n0, "GET", "/api/admin/users", root)
    assert st == 200, users
    ben_id = [u["id"] for u in users["users"] if u["name"] == "ben"][0]
    st, out = call(n0, "POST", f"/api/admin/users/{ben_id}/role", root, {"role": "admin"})
    assert st == 200, out
    # Unfiltered first: the entry names its actor, read from the store.
    st, out = audit_until(n1, boss, "action=user.role", "user.role")
    assert st == 200 and [(e["target"], e["actor_name"]) for e in out["entries"]] == \
        [(ben_id, "root")], out
    st, out = audit_until(n1, boss, "actor=root", "user.role")
    assert st == 200 and [e["target"] for e in out["entries"]
                          if e["action"] == "user.role"] == [ben_id], out
    st, out = call(n1, "GET", "/api/admin/audit?actor=nobody", boss)
    assert (st, out["error"]["code"], out["error"]["message"]) == \
        (400, "bad_request", "actor: no such user"), out


def test_one_node_finds_accounts_the_cli_made_while_it_runs(server):
    """One node: dan, gus and two admins are made by the CLI while the
    server runs and never sign in on a socket. Kicking dan is about the
    room, search from:gus is a search, and the audit log names root, who
    only used the REST API, and filters by him; unknown names answer as before."""
    ann = server.user("ann")

    async def body():
        async with Client(server, ann) as a:
            for name in ("dan", "gus"):
                server.add_user(name)
            server.add_user("root", role="admin")
            server.add_user("boss", role="admin")
            ops = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            assert error_of(await a.request("kick", room=ops, user="dan")) == \
                ("not_found", "not a member of this room")
            assert error_of(await a.request("kick", room=ops, user="nobody")) == \
                ("not_found", "no such user")
            r = await a.request("search", query="from:gus hello")
            assert r["type"] == "search" and r["messages"] == [], r
            assert error_of(await a.request("search", query="from:nobody hello")) == \
                ("not_found", "from:nobody: no such user")
            # And the cache hit after the store read: the same answer again.
            assert error_of(await a.request("kick", room=ops, user="dan")) == \
                ("not_found", "not a member of this room")

    run(body())
    root, boss = server.token("root"), server.token("boss")
    st, users = call(server, "GET", "/api/admin/users", root)
    assert st == 200, users
    ann_id = [u["id"] for u in users["users"] if u["name"] == "ann"][0]
    st, out = call(server, "GET", "/api/search?q=hello&from=" +
                   [u["id"] for u in users["users"] if u["name"] == "dan"][0], boss)
    assert st == 200 and out["messages"] == [], out
    st, out = call(server, "GET", "/api/search?q=hello&from=nobody", boss)
    assert (st, out["error"]["code"], out["error"]["message"]) == \
        (404, "not_found", "from: no such user"), out
    st, out = call(server, "POST", f"/api/admin/users/{ann_id}/role", root, {"role": "admin"})
    assert st == 200, out
    # Unfiltered first: the entry names its actor, read from the store.
    st, out = audit_until(server, boss, "action=user.role", "user.role")
    assert st == 200 and [(e["target"], e["actor_name"]) for e in out["entries"]] == \
        [(ann_id, "root")], out
    st, out = audit_until(server, boss, "actor=root", "user.role")
    assert st == 200 and [e["target"] for e in out["entries"]
                          if e["action"] == "user.role"] == [ann_id], out
    st, out = call(server, "GET", "/api/admin/audit?actor=nobody", boss)
    assert (st, out["error"]["code"], out["error"]["message"]) == \
        (400, "bad_request", "actor: no such user"), out


def test_first_sign_in_of_an_account_the_cli_made_tells_the_room(server):
    """kim is made by the CLI while ann is online: the node learns kim's
    #general membership only at kim's first sign-in. ann's session is told
    then, as of a join (her member count went stale before), once."""
    ann = server.user("ann")

    async def body():
        async with Client(server, ann) as a:
            general = a.room_id("general")
            kim = server.user("kim")
            async with Client(server, kim):
                ev = await a.next_event("member_joined", room=general)
                assert ev["user"]["name"] == "kim", ev
            async with Client(server, kim):
                pass
            r = await a.request("members", room=general)
            assert sorted(m["name"] for m in r["members"]) == ["ann", "kim"], r
            await asyncio.sleep(0.3)
            assert a.queued("member_joined") == [], a.queued("member_joined")

    run(body())
