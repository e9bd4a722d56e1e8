"""Threads (issue 15): replies in a thread take room seqs and reach every
member carrying `thread`, the root's `replies` / `last_reply_ts` and the
thread_updated event, history of a thread, the followed-threads list with
unread counts and paging, following by writing, by being named and by hand,
read marks, errors, bot token scopes, and a deleted root keeping its
thread."""

import asyncio
import json

import pytest

from parley_client import Client, run


@pytest.fixture
def tok(server):
    return server.people("alice", "bob", "carol")


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code


async def lobby(a, *others):
    room = (await a.request("create_room", name="lobby"))["room"]["id"]
    for o in others:
        j = await o.request("join", room=room)
        assert j["type"] == "room", j
    return room


def test_reply_reaches_members_with_its_thread(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby(a, b)
            root = await a.send_text(room, "which buffer did we use in March?")
            ack = await b.send_text(room, "PBS, pH 7.4", thread=root["id"])
            assert ack["type"] == "ack" and ack["seq"] == root["seq"] + 1, ack
            # Every member gets the reply as a message carrying its thread.
            ev = await a.next_event("message", room=room, id=ack["id"])
            assert ev["thread"] == root["id"] and "also_room" not in ev, ev
            up = await a.next_event("thread_updated", room=room, id=root["id"])
            assert up["replies"] == 1 and up["last_reply_ts"] == ev["ts"], up
            up = await b.next_event("thread_updated", room=room, id=root["id"])
            # also_room travels on the send and on the message.
            ack2 = await a.send_text(room, "thanks!", thread=root["id"], also_room=True)
            ev = await b.next_event("message", room=room, id=ack2["id"])
            assert ev["thread"] == root["id"] and ev["also_room"] is True, ev
            await b.next_event("thread_updated", room=room, id=root["id"], replies=2)

            # The room's history has the replies (they take room seqs), and
            # the root carries its count.
            h = await b.history(room)
            by_id = {m["id"]: m for m in h["messages"]}
            assert by_id[root["id"]]["replies"] == 2, h
            assert by_id[root["id"]]["last_reply_ts"] == ev["ts"]
            assert by_id[ack["id"]]["thread"] == root["id"]
            assert sorted(m["seq"] for m in h["messages"]) == \
                [root["seq"], root["seq"] + 1, root["seq"] + 2], h

            # A search hit in a thread says which (so a client opens it there).
            r = await a.request("search", query="PBS")
            assert [m["id"] for m in r["messages"]] == [ack["id"]], r
            assert r["messages"][0]["thread"] == root["id"], r

            # A thread's own history, paged like history.
            t = await b.request("history", room=room, thread=root["id"])
            assert t["type"] == "history" and t["thread"] == root["id"], t
            assert t["root"]["id"] == root["id"] and t["root"]["replies"] == 2, t
            assert t["root"]["text"] == "which buffer did we use in March?"
            assert [m["text"] for m in t["messages"]] == ["PBS, pH 7.4", "thanks!"]
            t = await b.request("history", room=room, thread=root["id"], limit=1)
            assert [m["text"] for m in t["messages"]] == ["thanks!"] and t["more"] is True
            t = await b.request("history", room=room, thread=root["id"],
                                before=t["messages"][0]["seq"])
            assert [m["text"] for m in t["messages"]] == ["PBS, pH 7.4"] and not t["more"]

            # Errors: no nesting, unknown roots, a root of another room.
            r = await a.request("send", room=room, text="deeper", thread=ack["id"])
            assert is_error(r, "bad_request"), r
            r = await a.request("send", room=room, text="lost", thread="m_999999")
            assert is_error(r, "not_found"), r
            r = await a.request("send", room=room, text="bad", thread="nonsense")
            assert is_error(r, "bad_request"), r
            r = await a.request("send", room=room, text="bad", thread=root["id"],
                                also_room="yes")
            assert is_error(r, "bad_request"), r
            r = await a.request("send", room=room, text="where?", also_room=True)
            assert is_error(r, "bad_request"), r
            g = a.room_id("general")
            r = await a.request("send", room=g, text="wrong room", thread=root["id"])
            assert is_error(r, "not_found"), r
            r = await a.request("history", room=g, thread=root["id"])
            assert is_error(r, "not_found"), r
            # A refused reply took no seq.
            nxt = await a.send_text(room, "next")
            assert nxt["seq"] == ack2["seq"] + 1

            # Resending a reply (same client_id) stores it once.
            cid = "c-thread-1"
            one = await b.send_text(room, "once", client_id=cid, thread=root["id"])
            two = await b.send_text(room, "once", client_id=cid, thread=root["id"])
            assert two["id"] == one["id"] and two.get("duplicate") is True, two
            t = await b.request("history", room=room, thread=root["id"])
            assert len(t["messages"]) == 3
    run(body())


def test_followed_threads_and_unread(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b, \
                Client(server, tok["carol"]) as c:
            room = await lobby(a, b, c)
            t1 = await a.send_text(room, "thread one")
            t2 = await a.send_text(room, "thread two")
            # Nobody follows a thread without replies.
            r = await a.request("threads")
            assert r["type"] == "threads" and r["threads"] == [] and r["more"] is False, r

            # bob writes in t1 (he and alice, the root's author, follow it);
            # carol is named in t2 (she follows it).
            await b.send_text(room, "in one", thread=t1["id"])
            last = await b.send_text(room, "@carol see this", thread=t2["id"])
            await c.next_event("message", room=room, id=last["id"])
            r = await b.request("threads")
            assert [x["root"]["id"] for x in r["threads"]] == [t2["id"], t1["id"]], r
            assert [x["unread"] for x in r["threads"]] == [0, 0]
            assert r["threads"][0]["room"] == room
            assert r["threads"][0]["root"]["replies"] == 1
            r = await a.request("threads")
            assert [(x["root"]["id"], x["unread"]) for x in r["threads"]] == \
                [(t2["id"], 1), (t1["id"], 1)], r
            r = await c.request("threads")  # the follow after a mention is written meanwhile
            for _ in range(200):  # the write is queued behind others: wait for it
                if r["threads"]:
                    break
                await asyncio.sleep(0.05)
                r = await c.request("threads")
            assert [(x["root"]["id"], x["unread"]) for x in r["threads"]] == \
                [(t2["id"], 1)], r

            # Paging with after / limit / more.
            p1 = await a.request("threads", limit=1)
            assert len(p1["threads"]) == 1 and p1["more"] is True, p1
            p2 = await a.request("threads", limit=1, after=p1["threads"][0]["root"]["id"])
            assert [x["root"]["id"] for x in p2["threads"]] == [t1["id"]] and not p2["more"]
            r = await a.request("threads", limit=0)
            assert is_error(r, "bad_request"), r
            r = await a.request("threads", after="x")
            assert is_error(r, "bad_request"), r

            # Reading a thread clears its unread count.
            r = await a.request("thread_read", room=room, id=t2["id"], seq=last["seq"])
            assert r["type"] == "ok", r
            r = await a.request("threads")
            assert [(x["root"]["id"], x["unread"]) for x in r["threads"]] == \
                [(t2["id"], 0), (t1["id"], 1)], r
            r = await c.request("thread_read", room=room, id=t1["id"], seq=last["seq"])
            assert is_error(r, "not_found"), r  # carol does not follow t1

            # Following and unfollowing by hand.
            r = await c.request("thread_follow", room=room, id=t1["id"])
            assert r["type"] == "ok", r
            r = await c.request("threads")
            assert {x["root"]["id"] for x in r["threads"]} == {t1["id"], t2["id"]}
            r = await c.request("thread_follow", room=room, id=t2["id"], on=False)
            assert r["type"] == "ok", r
            r = await c.request("threads")
            assert [x["root"]["id"] for x in r["threads"]] == [t1["id"]], r
            r = await c.request("thread_follow", room=room, id="m_999999")
            assert is_error(r, "not_found"), r

            # Leaving the room hides its threads from the list.
            assert (await c.request("leave", room=room))["type"] == "ok"
            r = await c.request("threads")
            assert r["threads"] == [], r
    run(body())


def test_read_and_follow_reach_the_persons_other_sessions(server, tok):
    """thread_read and thread_follow from one session are told to the
    person's other sessions (a second tab's list and badges follow), not
    to the asking session and not to anyone else; a refused one to none."""
    async def body():
        async with Client(server, tok["alice"]) as a1, Client(server, tok["alice"]) as a2, \
                Client(server, tok["bob"]) as b:
            room = await lobby(a1, b)
            root = await a1.send_text(room, "thread root")
            reply = await b.send_text(room, "a reply", thread=root["id"])
            await a2.next_event("message", room=room, id=reply["id"])

            r = await a1.request("thread_read", room=room, id=root["id"], seq=reply["seq"])
            assert r["type"] == "ok", r
            ev = await a2.next_event("thread_read", room=room, id=root["id"])
            assert ev == {"type": "thread_read", "room": room, "id": root["id"],
                          "seq": reply["seq"]}, ev
            # The second session's list agrees with the event.
            t = await a2.request("threads")
            assert [(x["root"]["id"], x["unread"]) for x in t["threads"]] == [(root["id"], 0)], t

            r = await a2.request("thread_follow", room=room, id=root["id"], on=False)
            assert r["type"] == "ok", r
            ev = await a1.next_event("thread_follow", room=room, id=root["id"])
            assert ev["on"] is False, ev
            r = await a2.request("thread_follow", room=room, id=root["id"])
            assert r["type"] == "ok", r
            ev = await a1.next_event("thread_follow", room=room, id=root["id"])
            assert ev["on"] is True, ev

            # A refused request tells no one.
            r = await a1.request("thread_follow", room=room, id="m_999999")
            assert is_error(r, "not_found"), r
            # bob's own read goes to nobody but bob's other sessions.
            assert (await b.request("thread_read", room=room, id=root["id"],
                                    seq=reply["seq"]))["type"] == "ok"
            marker = await b.send_text(room, "marker")
            await a1.next_event("message", room=room, id=marker["id"])
            await a2.next_event("message", room=room, id=marker["id"])
            for cl in (a1, a2, b):
                assert not cl.queued("thread_read") and not cl.queued("thread_follow"), \
                    (cl.queued("thread_read"), cl.queued("thread_follow"))
    run(body())


def test_deleted_root_keeps_its_thread(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby(a, b)
            root = await a.send_text(room, "to be deleted")
            await b.send_text(room, "a reply", thread=root["id"])
            assert (await a.request("delete", room=room, id=root["id"]))["type"] == "ok"
            h = await b.history(room)
            gone = [m for m in h["messages"] if m["id"] == root["id"]][0]
            assert gone.get("deleted") is True and gone["replies"] == 1, gone
            t = await b.request("history", room=room, thread=root["id"])
            assert [m["text"] for m in t["messages"]] == ["a reply"], t
            r = await b.request("send", room=room, text="late", thread=root["id"])
            assert is_error(r, "not_found"), r
    run(body())


def test_bot_tokens_need_read(server):
    admin = server.user("root", role="admin")

    def bot_token(bot, body):
        st, _, data = server.http("POST", "/api/admin/bots/" + bot + "/tokens", json=body,
                                  headers={"Authorization": "Bearer " + admin})
        assert st in (200, 201), data
        return json.loads(data)["token"]

    st, _, data = server.http("POST", "/api/admin/bots", json={"name": "threader"},
                              headers={"Authorization": "Bearer " + admin})
    bot = json.loads(data)["user"]["id"]

    async def setup():
        async with Client(server, admin) as c:
            g = c.room_id("general")
            await c.request("invite", room=g, user=bot)
            root = await c.send_text(g, "root")
            await c.send_text(g, "reply", thread=root["id"])
            return g, root["id"]
    g, root = run(setup())
    reader = bot_token(bot, {"scopes": "read"})
    poster = bot_token(bot, {"scopes": "post"})

    async def ws():
        async with Client(server, reader) as c:
            t = await c.request("history", room=g, thread=root)
            assert [m["text"] for m in t["messages"]] == ["reply"], t
            r = await c.request("threads")
            assert r["type"] == "threads", r
        async with Client(server, poster) as c:
            r = await c.request("history", room=g, thread=root)
            assert is_error(r, "forbidden"), r
            r = await c.request("threads")
            assert is_error(r, "forbidden"), r
            # post may reply in a thread.
            ack = await c.send_text(g, "bot reply", thread=root)
            assert ack["type"] == "ack", ack
    run(ws())


def test_http_post_replies_in_a_thread(server, tok):
    """POST /api/rooms/{id}/messages takes thread and also_room like the
    send frame (webhooks and bot tokens reply in threads), with the same
    errors; members get the reply and thread_updated as from a session."""
    admin = {"Authorization": "Bearer " + server.user("root2", role="admin")}
    st, _, data = server.http("POST", "/api/admin/bots", json={"name": "hooker"}, headers=admin)
    assert st == 201, data
    bot = json.loads(data)["user"]["id"]
    st, _, data = server.http("POST", f"/api/admin/bots/{bot}/tokens",
                              json={"scopes": "post"}, headers=admin)
    assert st == 201, data
    bot_token = json.loads(data)["token"]

    def post(room, body, token=tok["bob"]):
        st, _, data = server.http("POST", f"/api/rooms/{room}/messages", json=body,
                                  headers={"Authorization": "Bearer " + token})
        return st, json.loads(data)

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            room = await lobby(a, b)
            root = await a.send_text(room, "which buffer?")
            st, ack = post(room, {"text": "PBS over HTTP", "thread": root["id"]})
            assert st == 200 and ack["seq"] == root["seq"] + 1, ack
            ev = await a.next_event("message", room=room, id=ack["id"])
            assert ev["thread"] == root["id"] and "also_room" not in ev, ev
            up = await a.next_event("thread_updated", room=room, id=root["id"])
            assert up["replies"] == 1 and up["last_reply_ts"] == ev["ts"], up
            st, ack2 = post(room, {"text": "also in the room", "thread": root["id"],
                                   "also_room": True, "client_id": "h-1"})
            assert st == 200, ack2
            ev = await a.next_event("message", room=room, id=ack2["id"])
            assert ev["thread"] == root["id"] and ev["also_room"] is True, ev
            await a.next_event("thread_updated", room=room, id=root["id"], replies=2)
            # Idempotent by client_id, in a thread too.
            st, again = post(room, {"text": "also in the room", "thread": root["id"],
                                    "also_room": True, "client_id": "h-1"})
            assert st == 200 and again["id"] == ack2["id"] and again.get("duplicate"), again
            t = await b.request("history", room=room, thread=root["id"])
            assert [m["text"] for m in t["messages"]] == ["PBS over HTTP", "also in the room"]
            assert t["root"]["replies"] == 2, t
            # Bob wrote in it over HTTP: he follows it.
            r = await b.request("threads")
            assert [x["root"]["id"] for x in r["threads"]] == [root["id"]], r

            # The send frame's errors, as HTTP statuses.
            g = a.room_id("general")
            for req, status in (
                    ({"text": "x", "also_room": True}, 400),
                    ({"text": "x", "thread": root["id"], "also_room": "yes"}, 400),
                    ({"text": "x", "thread": 7}, 400),
                    ({"text": "x", "thread": "nonsense"}, 400),
                    ({"text": "x", "thread": "m_" + "9" * 200}, 400),
                    ({"text": "x", "thread": ack["id"]}, 400),   # no nesting
                    ({"text": "x", "thread": "m_999999"}, 404)):
                st, out = post(room, req)
                assert st == status, (req, st, out)
            st, out = post(g, {"text": "wrong room", "thread": root["id"]})
            assert st == 404, out
            nxt = await a.send_text(room, "next")
            assert nxt["seq"] == ack2["seq"] + 1  # the refusals took no seq

            # A bot token with `post` replies in a thread over HTTP.
            assert (await a.request("invite", room=room, user=bot))["type"] == "ok"
            st, out = post(room, {"text": "bot says", "thread": root["id"]}, token=bot_token)
            assert st == 200, out
            ev = await a.next_event("message", room=room, id=out["id"])
            assert ev["thread"] == root["id"] and ev["user"]["id"] == bot, ev
            await a.next_event("thread_updated", room=room, id=root["id"], replies=3)
    run(body())


THREAD_BOT = """
parley.command("inthread", function(cmd)
  local id, err = cmd:reply("bot in thread", { thread = cmd.args })
  if not id then return cmd:reply("refused: " .. err) end
  local id2 = parley.send(cmd.room, "bot in both", { thread = cmd.args, also_room = true })
  cmd:reply("posted " .. tostring(id) .. " " .. tostring(id2))
end)
parley.on("message", function(m)
  if m.text == "echo?" then
    m:reply("echo " .. tostring(m.thread) .. " " .. tostring(m.also_room))
  end
end)
parley.command("badthread", function(cmd)
  local ok, err = pcall(parley.send, cmd.room, "x", { thread = 7 })
  local ok2, err2 = pcall(parley.send, cmd.room, "x", { also_room = true })
  cmd:reply(tostring(ok) .. " " .. err .. " | " .. tostring(ok2) .. " " .. err2)
end)
"""


def test_script_posts_reply_in_a_thread(server_factory, tmp_path):
    """A script's bot replies in a thread with opts.thread (and also_room),
    on cmd:reply and parley.send (docs/scripting.md)."""
    script = tmp_path / "threader.lua"
    script.write_text(THREAD_BOT)
    path = str(script).replace("\\", "\\\\").replace('"', '\\"')
    srv = server_factory(config_extra='scripts = { { file = "' + path + '" } }')
    tok = srv.people("alice", "bob")

    def from_bot(e):
        return e["user"]["name"] == "threader"

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            room = await lobby(a, b)
            root = await a.send_text(room, "bot, answer in the thread")
            await b.send_text(room, "/inthread " + root["id"])
            r1 = await a.next_event("message", room=room, where=from_bot)
            assert r1["text"] == "bot in thread" and r1["thread"] == root["id"], r1
            assert "also_room" not in r1, r1
            r2 = await a.next_event("message", room=room, where=from_bot)
            assert r2["text"] == "bot in both" and r2["thread"] == root["id"], r2
            assert r2["also_room"] is True, r2
            said = await a.next_event("message", room=room, where=from_bot)
            assert said["text"] == f"posted {r1['id']} {r2['id']}", said
            assert "thread" not in said, said
            await a.next_event("thread_updated", room=room, id=root["id"], replies=2)
            t = await a.request("history", room=room, thread=root["id"])
            assert [m["text"] for m in t["messages"]] == ["bot in thread", "bot in both"], t

            # A message handler sees thread/also_room, and its reply to a
            # message in a thread goes into that thread; outside, the room.
            ask = await b.send_text(room, "echo?", thread=root["id"], also_room=True)
            said = await a.next_event("message", room=room, where=from_bot)
            assert said["text"] == f"echo {root['id']} true", said
            assert said["thread"] == root["id"] and said["reply_to"] == ask["id"], said
            await b.send_text(room, "echo?")
            said = await a.next_event("message", room=room, where=from_bot)
            assert said["text"] == "echo nil nil" and "thread" not in said, said

            # A refused root answers nil and the reason; bad options raise.
            await b.send_text(room, "/inthread m_999999")
            said = await a.next_event("message", room=room, where=from_bot)
            assert said["text"].startswith("refused: "), said
            await b.send_text(room, "/badthread")
            said = await a.next_event("message", room=room, where=from_bot)
            assert said["text"].startswith("false ") and "thread: expected a message id" \
                in said["text"] and "also_room: only with thread" in said["text"], said
    run(body())


def test_resume_replays_missed_replies_with_their_thread(server, tok):
    """Replies take room seqs, so a reconnect with `resume` gets the ones
    it missed, in seq order, each carrying thread (and also_room), with no
    gap; the root read afterwards has the count."""
    async def body():
        async with Client(server, tok["alice"]) as a:
            room = (await a.request("create_room", name="lobby"))["room"]["id"]
            async with Client(server, tok["bob"]) as b:
                assert (await b.request("join", room=room))["type"] == "room"
                root = await a.send_text(room, "root before the break")
                last = (await b.next_event("message", id=root["id"]))["seq"]
            missed = [await a.send_text(room, "in thread", thread=root["id"]),
                      await a.send_text(room, "plain"),
                      await a.send_text(room, "both", thread=root["id"], also_room=True)]
            async with Client(server, tok["bob"], resume={room: last}) as b:
                got = [await b.next_event("message", room=room) for _ in missed]
                assert [m["seq"] for m in got] == [last + 1, last + 2, last + 3], got
                assert [m.get("thread") for m in got] == [root["id"], None, root["id"]]
                assert [m.get("also_room") for m in got] == [None, None, True]
                assert b.queued("gap") == []
                h = await b.history(room)
                r = [m for m in h["messages"] if m["id"] == root["id"]][0]
                assert r["replies"] == 2, r
    run(body())
