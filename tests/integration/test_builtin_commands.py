"""Built-in slash commands (issue 18): /me, /help, /topic, /invite, /leave,
/notify, /mute, /shrug; an unknown /word from a person's session is
refused and not stored, //word posts /word, bot tokens post /word as text;
GET /api/commands lists every command with help and usage."""

import json

import pytest

from parley_client import Client, run


@pytest.fixture
def tok(server):
    return server.people("alice", "bob")


def is_error(r, code):
    return r.get("type") == "error" and r.get("code") == code


def is_command_ack(r, client_id=None):
    """The answer ../shared/PROTOCOL.md gives a command that stores
    nothing: {"type":"ack","rid","client_id","command":true,"ts"}."""
    ok = (r.get("type") == "ack" and r.get("command") is True and isinstance(r.get("ts"), int)
          and "rid" in r and "id" not in r and "seq" not in r)
    return ok and (client_id is None or r.get("client_id") == client_id)


def test_me_shrug_and_double_slash(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            assert (await a.send_text(g, "/me waves"))["type"] == "ack"
            assert (await b.next_event("message", room=g))["text"] == "_alice waves_"
            assert (await a.send_text(g, "/shrug fine"))["type"] == "ack"
            assert (await b.next_event("message", room=g))["text"] == "fine ¯\\_(ツ)_/¯"
            assert (await a.send_text(g, "//etc/hosts is a file"))["type"] == "ack"
            assert (await b.next_event("message", room=g))["text"] == "/etc/hosts is a file"
            assert is_error(await a.send_text(g, "/me"), "bad_request")

    run(body())


def test_unknown_word_is_refused_and_not_stored(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            r = await a.send_text(g, "/nosuchcommand hi")
            assert is_error(r, "bad_request") and "/help" in r["message"], r
            hist = await a.history(g)
            assert all("nosuchcommand" not in (m.get("text") or "") for m in hist["messages"])

    run(body())


def test_help_is_a_notice_to_that_session_only(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            r = await a.send_text(g, "/help", client_id="help-1")
            assert is_command_ack(r, "help-1"), r
            n = await a.next_event("notice", room=g)
            for usage in ("/me text", "/topic text", "/invite @name", "/leave",
                          "/notify ROOM all|mentions|none", "/mute ROOM", "/shrug"):
                assert usage in n["text"], n
            marker = await a.send_text(g, "after help")
            got = await b.next_event(where=lambda e: e["type"] in ("notice", "message"))
            assert got["type"] == "message" and got["id"] == marker["id"], got
            hist = await a.history(g)
            assert [m["text"] for m in hist["messages"]] == ["after help"]

    run(body())


def test_topic_invite_leave_notify_mute(server, tok):
    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            lab = (await a.request("create_room", name="lab", kind="private"))["room"]["id"]
            r = await a.send_text(lab, "/topic Friday demos", client_id="topic-1")
            assert is_command_ack(r, "topic-1"), r
            ev = await a.next_event("room_updated", where=lambda e: e["room"]["id"] == lab)
            assert ev["room"]["topic"] == "Friday demos"
            assert is_command_ack(await a.send_text(lab, "/invite @bob"))
            await b.next_event("room_updated", where=lambda e: e["room"]["id"] == lab)
            # bob is a member, not a moderator: no topic for him.
            assert is_error(await b.send_text(lab, "/topic mine"), "forbidden")
            r = await b.send_text(lab, "/notify #lab mentions")
            assert is_command_ack(r), r
            mine = {x["id"]: x for x in (await b.request("rooms"))["rooms"]}
            assert mine[lab]["notify"] == "mentions"
            assert is_command_ack(await b.send_text(lab, "/mute lab"))
            mine = {x["id"]: x for x in (await b.request("rooms"))["rooms"]}
            assert mine[lab]["notify"] == "none"
            assert is_error(await b.send_text(lab, "/notify lab loud"), "bad_request")
            assert is_error(await b.send_text(lab, "/notify nowhere all"), "not_found")
            assert is_command_ack(await b.send_text(lab, "/leave"))
            left = await a.next_event("member_left", room=lab)
            assert left["user"]["name"] == "bob"

    run(body())


def test_a_resent_builtin_is_acked_and_not_run_again(server, tok):
    """A built-in resent with the same client_id (after a reconnect, say)
    gets the command ack again and does not run a second time."""
    async def body():
        async with Client(server, tok["alice"]) as a:
            g = (await a.request("create_room", name="once", kind="private"))["room"]["id"]
            first = await a.send_text(g, "/topic first", client_id="once-1")
            assert is_command_ack(first, "once-1"), first
            await a.next_event("room_updated", where=lambda e: e["room"].get("topic") == "first")
            r = await a.send_text(g, "/topic second", client_id="other-1")
            assert is_command_ack(r, "other-1"), r
            await a.next_event("room_updated", where=lambda e: e["room"].get("topic") == "second")
        async with Client(server, tok["alice"]) as a:
            again = await a.send_text(g, "/topic first", client_id="once-1")
            assert is_command_ack(again, "once-1"), again
            await a.send_text(g, "/help", client_id="help-2")
            await a.next_event("notice", room=g)
            # A resent /help sends no second notice: only the ack.
            assert is_command_ack(await a.send_text(g, "/help", client_id="help-2"), "help-2")
            marker = await a.send_text(g, "marker")
            got = await a.next_event(where=lambda e: e["type"] in ("notice", "message",
                                                                   "room_updated"))
            assert got["type"] == "message" and got["id"] == marker["id"], got
            rooms = {x["id"]: x for x in (await a.request("rooms"))["rooms"]}
            assert rooms[g]["topic"] == "second", rooms[g]
            # /me stores a message: its resend is the stored message's ack.
            me1 = await a.send_text(g, "/me waves", client_id="me-1")
            me2 = await a.send_text(g, "/me waves", client_id="me-1")
            assert me1["type"] == "ack" and "command" not in me1 and me1["seq"] > 0, me1
            assert me2["id"] == me1["id"] and me2.get("duplicate") is True, me2
            # A built-in's error answers the send (its rid), not a stand-in.
            r = await a.send_text(g, "/invite", client_id="inv-1")
            assert is_error(r, "bad_request") and isinstance(r.get("rid"), (int, str)), r

    run(body())


def test_bot_tokens_and_http_post_slash_words_as_text(server, tok):
    admin = server.user("root", role="admin")
    st, _, data = server.http("POST", "/api/admin/bots", json={"name": "ci"},
                              headers={"Authorization": "Bearer " + admin})
    assert st == 201, data
    bot_id = json.loads(data)["user"]["id"]
    st, _, data = server.http("POST", f"/api/admin/bots/{bot_id}/tokens",
                              json={"scopes": "read,post"},
                              headers={"Authorization": "Bearer " + admin})
    assert st in (200, 201), data
    bot_tok = json.loads(data)["token"]

    async def body():
        async with Client(server, bot_tok) as bot:
            g = bot.room_id("general")
            r = await bot.send_text(g, "/deploy done")
            assert r["type"] == "ack" and "seq" in r, r
        async with Client(server, tok["alice"]) as a:
            st, _, data = server.http("POST", f"/api/rooms/{g}/messages",
                                      json={"text": "/status green"},
                                      headers={"Authorization": "Bearer " + tok["alice"]})
            assert st in (200, 201), data
            texts = [m["text"] for m in (await a.history(g))["messages"]]
            assert "/deploy done" in texts and "/status green" in texts, texts

    run(body())


def test_commands_api_lists_builtins_with_usage(server, tok):
    st, _, data = server.http("GET", "/api/commands",
                              headers={"Authorization": "Bearer " + tok["alice"]})
    assert st == 200, data
    cmds = {c["name"]: c for c in json.loads(data)["commands"]}
    for name in ("help", "me", "shrug", "topic", "invite", "leave", "notify", "mute"):
        assert cmds[name]["builtin"] is True and cmds[name]["help"], cmds[name]
        assert cmds[name]["usage"].startswith("/" + name)


def server_with_script(server_factory, tmp_path, name, source):
    """A server running one script (name.lua with source), with alice and
    bob: the server and their tokens."""
    script = tmp_path / (name + ".lua")
    script.write_text(source)
    path = str(script).replace("\\", "\\\\").replace('"', '\\"')
    srv = server_factory(config_extra='scripts = { { file = "' + path + '" } }')
    return srv, srv.people("alice", "bob")


def test_an_ephemeral_script_reply_reaches_only_its_asker(server_factory, tmp_path):
    srv, tok = server_with_script(
        server_factory, tmp_path, "whisper",
        'parley.command("whisper", function(cmd)\n'
        '  cmd:reply("only you: " .. cmd.args, { ephemeral = true })\nend)\n')

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            r = await a.send_text(g, "/whisper psst")
            assert r["type"] == "ack" and r.get("command") is True, r
            n = await a.next_event("notice", room=g)
            assert n["text"] == "only you: psst", n
            marker = await a.send_text(g, "after")
            got = await b.next_event(where=lambda e: e["type"] in ("notice", "message"))
            assert got["type"] == "message" and got["id"] == marker["id"], got
            assert [m["text"] for m in (await a.history(g))["messages"]] == ["after"]
        # /help lists the script's command too.
        st, _, data = srv.http("GET", "/api/commands",
                               headers={"Authorization": "Bearer " + tok["bob"]})
        cmds = {c["name"]: c for c in json.loads(data)["commands"]}
        assert cmds["whisper"]["usage"] == "/whisper" and cmds["whisper"]["builtin"] is False

    run(body())


def test_scripts_post_slash_words_as_text(server_factory, tmp_path):
    """parley.send and cmd:reply post "/word" as a message (scripts are
    not a person's session): stored, seen by everyone, no command run."""
    srv, tok = server_with_script(
        server_factory, tmp_path, "relay",
        'parley.command("relay", function(cmd)\n'
        '  parley.send(cmd.room, "/deploy " .. cmd.args, { as = "relay" })\n'
        '  cmd:reply("/status green")\nend)\n')

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            r = await a.send_text(g, "/relay prod")
            assert r["type"] == "ack" and r.get("command") is True, r
            seen = set()
            while len(seen) < 2:
                m = await b.next_event("message", room=g)
                seen.add(m["text"])
            assert seen == {"/deploy prod", "/status green"}, seen
            texts = [m["text"] for m in (await a.history(g))["messages"]]
            assert "/deploy prod" in texts and "/status green" in texts, texts
            assert not [e for e in a.events if e.get("type") == "notice"]

    run(body())


def test_script_commands_declare_help_and_usage(server_factory, tmp_path):
    # parley.command(name, {help, usage}, fn): shown by GET /api/commands
    # and /help; bad options fail the script's load with the reason.
    script = tmp_path / "lab.lua"
    script.write_text('parley.command("book", { help = "books the microscope",'
                      ' usage = "/book DAY HOURS" }, function(cmd) cmd:reply("ok") end)\n')
    bad = tmp_path / "bad.lua"
    bad.write_text('parley.command("oops", { help = "two\\nlines" }, function() end)\n')
    paths = [str(p).replace("\\", "\\\\").replace('"', '\\"') for p in (script, bad)]
    srv = server_factory(config_extra='scripts = { { file = "%s" }, { file = "%s" } }' % tuple(paths))
    tok = srv.people("alice")
    st, _, data = srv.http("GET", "/api/commands",
                           headers={"Authorization": "Bearer " + tok["alice"]})
    cmds = {c["name"]: c for c in json.loads(data)["commands"]}
    assert cmds["book"]["help"] == "books the microscope", cmds["book"]
    assert cmds["book"]["usage"] == "/book DAY HOURS", cmds["book"]
    assert "oops" not in cmds
    assert "help must be one line" in srv.stderr_text, srv.stderr_text[-2000:]

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            await a.send_text(g, "/help")
            n = await a.next_event("notice", room=g)
            assert "/book DAY HOURS" in n["text"] and "books the microscope" in n["text"], n

    run(body())


def test_commands_typed_in_a_thread(server_factory, tmp_path):
    """A script's command sent with `thread` sees it (cmd.thread,
    cmd.also_room) and cmd:reply answers inside the thread; ephemeral
    replies stay notices; /me and /shrug post into the thread; /help and
    /topic store nothing, as in the room."""
    srv, tok = server_with_script(
        server_factory, tmp_path, "where",
        'parley.command("where", function(cmd)\n'
        '  cmd:reply("in " .. tostring(cmd.thread) .. " " .. tostring(cmd.also_room))\n'
        '  cmd:reply("psst", { ephemeral = true })\nend)\n')

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            root = await a.send_text(g, "let's roll")
            await b.next_event("message", room=g, id=root["id"])
            r = await a.send_text(g, "/where", thread=root["id"])
            assert is_command_ack(r), r
            ev = await b.next_event("message", room=g)
            assert ev["text"] == "in %s false" % root["id"], ev
            assert ev["thread"] == root["id"] and "also_room" not in ev, ev
            up = await b.next_event("thread_updated", room=g, id=root["id"])
            assert up["replies"] == 1, up
            # The ephemeral answer names the thread: the client shows it there.
            n = await a.next_event("notice", room=g)
            assert n["text"] == "psst" and n["thread"] == root["id"], n

            r = await a.send_text(g, "/where", thread=root["id"], also_room=True)
            assert is_command_ack(r), r
            ev = await b.next_event("message", room=g)
            assert ev["text"] == "in %s true" % root["id"] and ev["thread"] == root["id"], ev
            assert (await a.next_event("notice", room=g))["text"] == "psst"

            # /me and /shrug: stored in the thread, also_room kept.
            r = await a.send_text(g, "/me waves", thread=root["id"])
            assert r["type"] == "ack" and r.get("id"), r
            ev = await b.next_event("message", room=g, id=r["id"])
            assert ev["text"] == "_alice waves_" and ev["thread"] == root["id"], ev
            r = await a.send_text(g, "/shrug ok", thread=root["id"], also_room=True)
            ev = await b.next_event("message", room=g, id=r["id"])
            assert ev["thread"] == root["id"] and ev["also_room"] is True, ev

            # /help stores nothing, in a thread as in the room.
            assert (await a.send_text(g, "/help", thread=root["id"]))["type"] in ("ok", "ack")
            n = await a.next_event("notice", room=g)
            assert n["text"].startswith("Commands:") and n["thread"] == root["id"], n

            th = await a.request("history", room=g, thread=root["id"])
            assert [m["text"] for m in th["messages"]] == [
                "in %s false" % root["id"], "in %s true" % root["id"], "_alice waves_",
                "ok ¯\\_(ツ)_/¯"], th
            # A command in the room still answers in the room.
            await a.send_text(g, "/where")
            ev = await b.next_event("message", room=g, text="in nil nil")
            assert "thread" not in ev, ev
            n = await a.next_event("notice", room=g)
            assert n["text"] == "psst" and "thread" not in n, n

    run(body())


def test_a_command_typed_in_a_thread_that_is_not_there_is_refused(server_factory, tmp_path):
    """A command sent with a `thread` that is no root of the room (absent,
    deleted, another room's message, a reply) is refused as a reply there
    would be, and does not run: its answer would have had nowhere to go."""
    srv, tok = server_with_script(
        server_factory, tmp_path, "count",
        'local n = 0\n'
        'parley.command("count", function(cmd)\n'
        '  n = n + 1\n'
        '  cmd:reply("run " .. n)\nend)\n')

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            other = (await a.request("create_room", name="elsewhere"))["room"]["id"]
            root = await a.send_text(g, "root")
            reply = await a.send_text(g, "a reply", thread=root["id"])
            gone = await a.send_text(g, "soon deleted")
            assert (await a.request("delete", room=g, id=gone["id"]))["type"] == "ok"
            there = await a.send_text(other, "in another room")
            for bad, code in (("m_987654321", "not_found"), (gone["id"], "not_found"),
                              (there["id"], "not_found"), (reply["id"], "bad_request")):
                for text in ("/count", "/help", "/topic nope"):
                    r = await a.send_text(g, text, thread=bad)
                    assert is_error(r, code), (text, bad, r)
                    assert "thread" in r["message"], r
            # A plain reply to the same ids gets the same answer.
            assert is_error(await a.send_text(g, "hi", thread="m_987654321"), "not_found")
            # Nothing ran: the first real run is number 1, and no topic moved.
            r = await a.send_text(g, "/count", thread=root["id"])
            assert is_command_ack(r), r
            ev = await b.next_event("message", room=g, text="run 1")
            assert ev["thread"] == root["id"], ev
            rooms = {x["id"]: x for x in (await a.request("rooms"))["rooms"]}
            assert rooms[g].get("topic", "") != "nope", rooms[g]
            assert a.queued("notice") == [], a.queued("notice")

    run(body())
