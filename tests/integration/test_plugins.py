"""Plugins (DESIGN.md "Plugins (C)"): the test-only plugins that fail on
purpose are reported clearly and stop start-up; a deny/rewrite hook works
on the send path; the template plugin answers /hello."""

import json
import os
import re

from parley_client import Client, new_client_id, run

BASE = ('  {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},\n'
        '  {"store_sqlite"},\n')


def plugins(*extra):
    """The default test plugins plus extra entries, one per line (tests
    find an entry's line with line_of)."""
    return "{\n" + BASE + "".join(f"  {e},\n" for e in extra) + "}"


def abi(source_dir):
    with open(os.path.join(source_dir, "include", "parley", "plugin.h")) as f:
        return int(re.search(r"#define PARLEY_PLUGIN_ABI (\d+)", f.read()).group(1))


def line_of(srv, needle):
    for i, ln in enumerate(srv.config_text.splitlines(), 1):
        if needle in ln:
            return i
    raise AssertionError(f"{needle!r} not in the config")


def test_wrong_abi_is_refused(server_factory, source_dir):
    srv = server_factory(plugins=plugins('{"bad_abi"}'), expect_fail=True)
    assert srv.returncode != 0
    out = srv.stderr_text
    n = abi(source_dir)
    assert "bad_abi" in out
    assert re.search(rf"\b{n + 98}\b", out) and re.search(rf"\b{n}\b", out), out


def test_failing_check_is_reported_with_file_and_line(server_factory):
    srv = server_factory(plugins=plugins('{"check_fail",\n    why = "because",\n  }'),
                         expect_fail=True)
    assert srv.returncode != 0
    out = srv.stderr_text
    assert "this plugin always fails its check" in out, out
    assert f"parley.conf:{line_of(srv, 'why = ')}" in out, out


def test_failing_init_is_reported(server_factory):
    srv = server_factory(plugins=plugins('{"init_fail"}'), expect_fail=True)
    assert srv.returncode != 0
    out = srv.stderr_text
    assert "this plugin always fails its init" in out, out
    assert re.search(r"init_fail.*init failed", out), out


def test_deny_hook(server_factory):
    srv = server_factory(plugins=plugins('{"deny_hook"}'))
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            r = await a.send_text(g, "this is forbidden talk")
            assert r["type"] == "error" and r["code"] == "forbidden", r
            assert "the word forbidden is not allowed here" in r["message"], r
            ok = await a.send_text(g, "this is fine")
            assert ok["type"] == "ack", ok
            ev = await b.next_event("message", room=g)
            assert ev["id"] == ok["id"], "the denied message was broadcast"
            h = await a.history(g)
            assert all("forbidden" not in (m.get("text") or "") for m in h["messages"])
            m = await b.send_text(g, "bob too")
            assert m["type"] == "ack"
            # An edit goes through the same hook.
            r = await a.request("edit", room=g, id=ok["id"], text="now forbidden")
            assert r["type"] == "error" and r["code"] == "forbidden", r

    run(body())


def test_rewrite_hook(server_factory):
    srv = server_factory(plugins=plugins('{"deny_hook", rewrite = true}'))
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            m = await a.send_text(g, "my cat sleeps")
            assert m["type"] == "ack", m
            ev = await b.next_event("message", id=m["id"])
            assert ev["text"] == "my dog sleeps"
            h = await b.history(g)
            assert next(x for x in h["messages"] if x["id"] == m["id"])["text"] == "my dog sleeps"

    run(body())


def test_example_hello_command(server_factory):
    srv = server_factory(plugins=plugins('{"example_hello"}'))
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            cid = new_client_id()
            r = await a.send_text(g, "/hello", client_id=cid)
            assert r["type"] == "ack" and r.get("command") is True, r
            assert r["client_id"] == cid and isinstance(r["ts"], int)
            assert "id" not in r and "seq" not in r, r
            bot = await b.next_event("message", room=g,
                                     where=lambda e: e["user"]["name"] == "hello")
            assert "alice" in bot["text"] and bot["text"].startswith("Hello"), bot
            # Resending the same client_id does not run the command again.
            again = await a.send_text(g, "/hello", client_id=cid)
            assert again["type"] == "ack" and again.get("command") is True, again
            marker = await a.send_text(g, "after the resend")
            nxt = await b.next_event("message", room=g)
            assert nxt["id"] == marker["id"], f"the command ran twice: {nxt}"
            # An unknown /word from a person's session is refused, naming
            # /help, and nothing is stored; //word posts /word.
            plain = await a.send_text(g, "/nosuchcommand hi")
            assert plain["type"] == "error" and plain["code"] == "bad_request", plain
            assert "/help" in plain["message"], plain
            slash = await a.send_text(g, "//nosuchcommand hi")
            assert slash["type"] == "ack" and "seq" in slash, slash
            # Typed in a thread, command_reply answers in that thread.
            await b.next_event("message", room=g, id=slash["id"])
            r = await a.send_text(g, "/hello", thread=slash["id"])
            assert r["type"] == "ack" and r.get("command") is True, r
            bot = await b.next_event("message", room=g,
                                     where=lambda e: e["user"]["name"] == "hello")
            assert bot["thread"] == slash["id"] and "also_room" not in bot, bot

    run(body())


def test_commands_are_listed_for_everyone(server_factory):
    srv = server_factory(plugins=plugins('{"example_hello"}'))
    tok = srv.user("ann")
    status, _, data = srv.http("GET", "/api/commands", headers={"Authorization": "Bearer " + tok})
    assert status == 200, data
    cmds = json.loads(data)["commands"]
    mine = [c for c in cmds if not c["builtin"]]
    assert [c["name"] for c in mine] == ["hello"] and mine[0]["help"], cmds
    assert mine[0]["usage"] == "/hello"
    assert srv.http("GET", "/api/commands")[0] == 401


def test_bare_names_and_the_loaded_log(server_factory):
    """Issue 19: plugins = { "name", … } works like { "name" }, and start-up
    names every plugin with its version and kind."""
    srv = server_factory(plugins='{ "auth_local", "store_sqlite", "uploads_local", "deny_hook" }')
    want = {"auth_local": "auth", "store_sqlite": "store", "uploads_local": "uploads",
            "deny_hook": "hooks"}
    for name, kind in want.items():
        line = srv.wait_log("plugin_loaded", plugin=name)
        assert line["kind"] == kind, line
        assert re.fullmatch(r"\d+\.\d+\.\d+", line["version"]), line
        assert name in line["msg"] and line["version"] in line["msg"], line
    # A bare name is the plugin with its defaults: it works.
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            ok = await a.send_text(a.room_id("general"), "hello with bare names")
            assert ok["type"] == "ack", ok

    run(body())
