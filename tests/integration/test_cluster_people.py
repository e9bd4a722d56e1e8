"""People and room-admin changes across nodes (issue 18): three parley
nodes on one store (store_mongo on CongoDB) and one bus (cluster_redis).
A change is made through one node and checked on the others: a new avatar
and profile (events, the pictures each node serves, the directory), a
person going away (events, another node's first `ready`, the directory),
the built-in commands typed on one node (/invite, /topic, /mute, /leave)
and a built-in resent to another node after a reconnect (run once), an
archived room searchable from another node.

The room-admin events test_cluster_rooms.py already covers across nodes
are not repeated here: archive, may_invite/may_post, may_pin, leave,
kick, topic, DM open (test_cluster_rooms.py) and settings, roles,
deletion, profile fields, presence summed over nodes (test_cluster.py)."""

import asyncio
import io
import json

from PIL import Image

from cluster_nodes import cluster_env  # noqa: F401 (the fixture)
from parley_client import Client, run
from test_cluster_rooms import about_room, changed, is_error, my_rooms, room_with_people, three  # noqa: F401,E501


def call(node, method, path, token, body=None, raw=None, content_type=None):
    headers = {"Authorization": "Bearer " + token}
    if content_type:
        headers["Content-Type"] = content_type
    st, hdrs, data = node.http(method, path, json=body, body=raw, headers=headers)
    return st, hdrs, data


def jpeg(color):
    out = io.BytesIO()
    Image.new("RGB", (320, 200), color).save(out, "JPEG", quality=90)
    return out.getvalue()


def command_ack(r, client_id):
    return (r.get("type") == "ack" and r.get("command") is True and "seq" not in r
            and r.get("client_id") == client_id)


def test_avatar_and_profile_reach_other_nodes_and_their_pictures(three):
    """ann sets an avatar through node 0: ben on node 1 gets the `profile`
    event with its versioned URL, node 2 serves that picture (immutable),
    node 1's directory shows it. She renames herself through node 2 and
    removes the avatar through node 1: node 0 then draws her new initials."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n1, tok["ben"]) as b, Client(n2, tok["cat"]) as c:
            ann = (await b.request("users", query="ann"))["users"][0]["id"]
            st, _, data = call(n0, "POST", "/api/profile/avatar", tok["ann"],
                               raw=jpeg((200, 30, 30)), content_type="application/octet-stream")
            assert st == 200, data
            url = json.loads(data)["profile"]["avatar"]
            assert url.startswith(f"/api/users/{ann}/avatar?v="), url
            for who in (b, c):
                ev = await who.next_event("profile", where=lambda e: e["profile"]["id"] == ann)
                assert ev["profile"]["avatar"] == url, ev
            st, hdrs, pic = call(n2, "GET", url, tok["cat"])
            assert st == 200 and hdrs["content-type"] == "image/jpeg", hdrs
            assert "immutable" in hdrs["cache-control"], hdrs
            img = Image.open(io.BytesIO(pic))
            assert img.size == (256, 256) and img.getpixel((128, 128))[0] > 150
            st, _, data = call(n1, "GET", f"/api/users/{ann}/profile", tok["ben"])
            assert st == 200 and json.loads(data)["profile"]["avatar"] == url, data

            st, _, data = call(n2, "PATCH", "/api/profile", tok["ann"],
                               body={"display_name": "Zora Quist"})
            assert st == 200, data
            ev = await b.next_event("profile", where=lambda e: e["profile"]["id"] == ann)
            assert ev["profile"]["display_name"] == "Zora Quist", ev
            # Node 1's directory finds her by the new name.
            listed = {u["id"]: u for u in (await b.request("users", query="zora"))["users"]}
            assert listed[ann]["display_name"] == "Zora Quist", listed
            st, _, data = call(n1, "DELETE", "/api/profile/avatar", tok["ann"])
            assert st == 200, data
            ev = await c.next_event("profile", where=lambda e: e["profile"]["id"] == ann
                                    and e["profile"]["avatar"] != url)
            assert ev["profile"]["avatar"] is None, ev
            st, hdrs, svg = call(n0, "GET", f"/api/users/{ann}/avatar", tok["ben"])
            assert st == 200 and hdrs["content-type"].startswith("image/svg+xml"), hdrs
            assert b"ZQ" in svg, svg[:300]
            # The old version's URL no longer gives the old picture.
            st, hdrs, _ = call(n0, "GET", url, tok["ben"])
            assert not (st == 200 and hdrs["content-type"] == "image/jpeg"), (st, hdrs)

    run(body())


def test_away_reaches_other_nodes_and_their_first_ready(three):
    """ann says away on node 0: ben on node 1 hears it, cat's first
    `ready` on node 2 already says away, and node 2's directory too;
    online again reaches them both."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b:
            ann = a.user["id"]
            of_ann = lambda e: e["user"]["id"] == ann  # noqa: E731
            # ann's session is known on node 1 before she changes state.
            if b.ready["presence"].get(ann) != "online":
                await b.next_event("presence", where=of_ann, status="online")
            assert (await a.request("presence", status="away"))["type"] == "ok"
            await b.next_event("presence", where=of_ann, status="away")
            async with Client(n2, tok["cat"]) as c:
                assert c.ready["presence"].get(ann) == "away", c.ready["presence"]
                listed = {u["id"]: u for u in (await c.request("users", query="ann"))["users"]}
                assert listed[ann]["presence"] == "away", listed[ann]
                assert (await a.request("presence", status="online"))["type"] == "ok"
                for who in (b, c):
                    await who.next_event("presence", where=of_ann, status="online")

    run(body())


def test_builtin_commands_typed_on_one_node_reach_the_others(three):
    """/invite, /topic, /mute and /leave typed as messages on one node act
    on every node, each answered with a command ack; nothing is stored."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "dan")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["dan"]) as d:
            lab = (await a.request("create_room", name="lab", kind="private"))["room"]["id"]
            r = await a.send_text(lab, "/invite @ben", client_id="inv-ben")
            assert command_ack(r, "inv-ben"), r
            await b.next_event(where=lambda e: about_room(e, lab))
            r = await a.send_text(lab, "/invite @dan", client_id="inv-dan")
            assert command_ack(r, "inv-dan"), r
            await d.next_event(where=lambda e: about_room(e, lab))
            r = await a.send_text(lab, "/topic demos on Friday", client_id="topic-1")
            assert command_ack(r, "topic-1"), r
            for who in (b, d):
                await who.next_event("room_updated", where=changed(lab, topic="demos on Friday"))
                assert (await my_rooms(who))[lab]["topic"] == "demos on Friday"
            r = await b.send_text(lab, "/mute lab", client_id="mute-1")
            assert command_ack(r, "mute-1"), r
            assert (await my_rooms(b))[lab]["notify"] == "none"
            r = await d.send_text(lab, "/leave", client_id="leave-1")
            assert command_ack(r, "leave-1"), r
            for who in (a, b):
                ev = await who.next_event("member_left", room=lab)
                assert ev["user"]["id"] == d.user["id"], ev
            hist = await a.history(lab)
            assert [m for m in hist["messages"] if (m.get("text") or "").startswith("/")] == []

    run(body())


def test_a_builtin_resent_to_another_node_is_not_run_again(three):
    """ann's /topic reaches node 0, her connection drops before she sees
    the ack, someone changes the topic again, and her client resends the
    same send (same client_id) through node 1: acked, not run a second
    time (the topic stays the later one on every node)."""
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben")
    ann_n1 = n0.token("ann")

    async def body():
        async with Client(n2, tok["ben"]) as b:
            async with Client(n0, tok["ann"]) as a:
                lab = await room_with_people(a, [b], "lab")
                r = await a.send_text(lab, "/topic first", client_id="topic-once")
                assert command_ack(r, "topic-once"), r
                await b.next_event("room_updated", where=changed(lab, topic="first"))
                r = await a.send_text(lab, "/topic second", client_id="topic-two")
                assert command_ack(r, "topic-two"), r
                await b.next_event("room_updated", where=changed(lab, topic="second"))
            async with Client(n1, ann_n1) as a1:
                r = await a1.send_text(lab, "/topic first", client_id="topic-once")
                assert command_ack(r, "topic-once"), r
                # A fresh client_id does run (the dedup is by client_id).
                r = await a1.send_text(lab, "/topic third", client_id="topic-three")
                assert command_ack(r, "topic-three"), r
                ev = await b.next_event("room_updated", where=lambda e: about_room(e, lab)
                                        and "by" in e)
                assert ev["room"]["topic"] == "third", ev
                assert (await my_rooms(b))[lab]["topic"] == "third"

    run(body())


def test_an_archived_room_is_searchable_from_another_node(three):
    n0, n1, n2 = three.nodes
    tok = three.people("ann", "ben", "cat")

    async def body():
        async with Client(n0, tok["ann"]) as a, Client(n1, tok["ben"]) as b, \
                Client(n2, tok["cat"]) as c:
            old = await room_with_people(a, [b], "old")
            sent = await b.send_text(old, "zanzibar minutes")
            assert sent["type"] == "ack", sent
            r = await a.request("room_settings", room=old, archived=True)
            assert r["type"] == "room" and r["room"]["archived"] is True, r
            await b.next_event("room_updated", where=changed(old, archived=True))
            found = await b.request("search", query="zanzibar")
            hits = found.get("results", found.get("messages", []))
            assert [h["id"] for h in hits] == [sent["id"]], found
            listed = await c.request("rooms", public=True)
            assert old not in {x["id"] for x in listed["rooms"]}
            assert is_error(await b.send_text(old, "late"), "forbidden")

    run(body())
