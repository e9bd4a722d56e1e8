"""Lua scripts (docs/scripting.md) in the real server: a shipped bot
answers a slash command; hostile scripts are contained while other users
are served; a failing script is switched off and shown in /metrics and the
admin API; reload by the admin API and SIGHUP keeps the old version when
the new one does not load, and kv survives; scripts reach a real HTTP
server on the allow-list through the shared curl multi; a plugin's
function is callable from a script; `parley test-script` fails a failing
test."""

import asyncio
import http.server
import json
import os
import re
import signal
import threading
import time

from parley_client import Client, new_client_id, run

PLUGINS = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
           ' {"store_sqlite"}, {"example_hello"} }')


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scripts_config(*entries):
    return "scripts = {\n" + "".join(f"  {e},\n" for e in entries) + "}"


def hostile_entry(source_dir, extra=""):
    path = os.path.join(source_dir, "tests", "lua", "hostile.lua")
    return ("{ file = " + lua_str(path) + ", instructions = 200000, memory = \"4M\","
            " http_allow = { \"127.0.0.1\" }" + (", " + extra if extra else "") + " }")


async def bot_says(client, room, bot, timeout=10):
    ev = await client.next_event("message", room=room, timeout=timeout,
                                 where=lambda e: e["user"]["name"] == bot)
    return ev["text"]


def admin_get(srv, token, path):
    status, _, data = srv.http("GET", path, headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(data)


def admin_post(srv, token, path):
    status, _, data = srv.http("POST", path, headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(data)


def script_status(srv, token, name):
    status, body = admin_get(srv, token, "/api/admin/scripts")
    assert status == 200, body
    for s in body["scripts"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"no script {name} in {body}")


def test_dice_answers_a_command(server_factory, source_dir):
    dice = os.path.join(source_dir, "scripts", "dice.lua")
    srv = server_factory(config_extra=scripts_config("{ file = " + lua_str(dice) + " }"))
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            ack = await a.send_text(g, "/roll 3d6", client_id=new_client_id())
            assert ack["type"] == "ack" and ack.get("command") is True, ack
            assert "id" not in ack and "seq" not in ack, ack
            text = await bot_says(b, g, "dice")
            assert re.match(r"^🎲 alice rolled 3d6: \d+ \+ \d+ \+ \d+ = \d+$", text), text
            # A word no script or built-in has is refused (naming /help), not stored.
            plain = await a.send_text(g, "/unknownword here")
            assert plain["type"] == "error" and plain["code"] == "bad_request", plain
            assert "/help" in plain["message"], plain

    run(body())


def test_hostile_script_is_contained_and_others_are_served(server_factory, source_dir):
    srv = server_factory(config_extra=scripts_config(hostile_entry(source_dir,
                                                                   "max_failures = 100")))
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            # loops, memory, recursion, huge string.rep, yields, escapes
            for word in ["/spin", "/spin-pcall", "/spin-coroutine", "/hoard", "/rep",
                         "/recurse", "/concat"]:
                ack = await a.send_text(g, word)
                assert ack["type"] == "ack" and ack.get("command"), (word, ack)
                # bob is served between the attacks
                mine = await b.send_text(g, f"still here after {word}")
                assert mine["type"] == "ack" and "seq" in mine, mine
            for word in ["loop-before", "sleep-before", "yield-before", "error-before"]:
                ack = await a.send_text(g, word)
                assert ack["type"] == "ack" and "seq" in ack, (word, ack)  # fails open
            await a.send_text(g, "/hoard-release")
            assert await bot_says(b, g, "hostile") == "released"
            await a.send_text(g, "/probe")
            assert await bot_says(b, g, "hostile") == "escapes: none"
            await a.send_text(g, "/fetch http://evil.example.com/")
            text = await bot_says(b, g, "hostile")
            assert "not on this script's http_allow list" in text, text
            await a.send_text(g, "/ping")
            assert await bot_says(b, g, "hostile") == "pong"

    run(body())
    line = srv.wait_log("script_error", script="hostile")
    assert "hostile.lua:" in line["msg"], line
    status, _, metrics = srv.http("GET", "/metrics")
    m = re.search(rb'parley_script_failures_total\{script="hostile"\} (\d+)', metrics)
    assert m and int(m.group(1)) >= 11, metrics[-2000:]


def test_a_failing_script_is_switched_off(server_factory, source_dir):
    srv = server_factory(config_extra=scripts_config(
        hostile_entry(source_dir, "max_failures = 3, failure_window = 60")))
    admin = srv.user("root", role="admin")
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            await a.send_text(g, "/spin")
            await a.send_text(g, "/ping")
            assert await bot_says(a, g, "hostile") == "pong", "one failure is not enough"
            await a.send_text(g, "/spin")
            await a.send_text(g, "/spin")
            srv.wait_log("script_disabled", script="hostile")
            await a.send_text(g, "/ping")
            marker = await a.send_text(g, "marker")
            ev = await a.next_event("message", room=g,
                                    where=lambda e: e["user"]["name"] in ("hostile", "alice")
                                    and e["text"] in ("pong", "marker"))
            assert ev["text"] == "marker", "a switched-off script does not answer"
            assert marker["type"] == "ack"

    run(body())
    st = script_status(srv, admin, "hostile")
    assert st["status"] == "disabled", st
    assert "3 failures within 60 s" in st["disabled_reason"], st
    assert "instruction budget exceeded" in st["disabled_reason"], st
    _, _, metrics = srv.http("GET", "/metrics")
    assert b'parley_script_disabled{script="hostile"} 1' in metrics


def test_a_script_over_its_cpu_budget_is_switched_off_and_others_are_served(
        server_factory, source_dir):
    """Issue 13 item 12: 1,000 timers, each within its slice budget, held the
    loop for seconds; a pathological pattern froze it. With cpu_ms the
    script is stopped within its budget, switched off with the reason, and
    another member's sends are acked meanwhile."""
    path = os.path.join(source_dir, "tests", "lua", "hostile_limits.lua")
    entry = ("{ file = " + lua_str(path) + ", cpu_ms = 200, cpu_window = 60,"
             " max_timers = 1000, max_failures = 100 }")
    srv = server_factory(config_extra=scripts_config(entry))
    admin = srv.user("root", role="admin")
    tok = srv.people("alice", "bob")
    worst = []

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            g = a.room_id("general")
            t0 = time.monotonic()
            await a.send_text(g, "/find")
            worst.append(("find", time.monotonic() - t0))
            await a.send_text(g, "/burn 1000")
            assert await bot_says(a, g, "hostile_limits") == "timers set"
            await asyncio.sleep(0.8)  # the timers fire 1 s after they were set
            for i in range(12):
                t0 = time.monotonic()
                ack = await b.send_text(g, f"still here {i}")
                worst.append(("send", time.monotonic() - t0))
                assert ack["type"] == "ack", ack
                await asyncio.sleep(0.05)
            srv.wait_log("script_disabled", script="hostile_limits")

    run(body())
    slowest = max(t for _, t in worst)
    print(f"slowest ack or find while the script burned: {slowest * 1000:.0f} ms")
    assert slowest < 1.0, worst
    st = script_status(srv, admin, "hostile_limits")
    assert st["status"] == "disabled", st
    assert st["disabled_reason"].startswith("CPU budget exceeded"), st
    assert st["cpu_ms"] == 200 and st["cpu_window"] == 60, st
    assert st["timers"] == 0 and st["max_timers"] == 1000, st
    assert st["cpu_seconds_total"] < 1.0, st
    _, _, metrics = srv.http("GET", "/metrics")
    assert b'parley_script_cpu_exceeded_total{script="hostile_limits"} 1' in metrics
    assert b'parley_script_disabled{script="hostile_limits"} 1' in metrics
    assert re.search(rb'parley_script_cpu_seconds_total\{script="hostile_limits"\} 0\.\d+',
                     metrics), metrics[-2000:]


COUNTER_V1 = """
parley.command("count", function(cmd)
  cmd:reply("v1 " .. parley.kv.incr("n"))
end)
"""

COUNTER_V2 = """
parley.command("count", function(cmd)
  cmd:reply("v2 " .. parley.kv.incr("n"))
end)
"""


def test_reload_keeps_the_old_version_on_errors_and_kv_survives(server_factory, tmp_path):
    script = tmp_path / "counter.lua"
    script.write_text(COUNTER_V1)
    srv = server_factory(config_extra=scripts_config("{ file = " + lua_str(str(script)) + " }"))
    admin = srv.user("root", role="admin")
    tok = srv.people("alice")

    async def count(a, g):
        await a.send_text(g, "/count")
        return await bot_says(a, g, "counter")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            assert await count(a, g) == "v1 1"
            # a version that does not parse: reported, the old one keeps running
            script.write_text("parley.command('count', function( end")
            status, rep = admin_post(srv, admin, "/api/admin/scripts/reload")
            assert status == 200 and rep["ok"] is False, rep
            assert rep["errors"][0]["script"] == "counter", rep
            assert "counter.lua:1:" in rep["errors"][0]["error"], rep
            assert await count(a, g) == "v1 2"
            st = script_status(srv, admin, "counter")
            assert st["status"] == "running" and "counter.lua:1:" in st["load_error"], st
            # members may not reload
            status, _ = admin_post(srv, tok["alice"], "/api/admin/scripts/reload")
            assert status == 403
            # a good version through SIGHUP: kv survives
            script.write_text(COUNTER_V2)
            since = len(srv.logs)
            srv.signal(signal.SIGHUP)
            srv.wait_log("script_loaded", since=since, script="counter")
            assert await count(a, g) == "v2 3"

    run(body())


class _Api(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = json.dumps({"reply": f"echo: {body['text']} from {body['user']}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_http_request_through_the_shared_curl_multi(server_factory, source_dir):
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{api.server_address[1]}/v1/echo"
        echo = os.path.join(source_dir, "scripts", "echo_http.lua")
        srv = server_factory(config_extra=scripts_config(
            "{ file = " + lua_str(echo) + ", http_allow = { \"127.0.0.1\" },"
            " options = { url = " + lua_str(url) + " } }"))
        tok = srv.people("alice")

        async def body():
            async with Client(srv, tok["alice"]) as a:
                g = a.room_id("general")
                await a.send_text(g, "/ask are you there?")
                assert await bot_says(a, g, "echo_http") == "echo: are you there? from alice"

        run(body())
    finally:
        api.shutdown()


def test_a_plugin_adds_a_function_to_scripts(server_factory, tmp_path):
    script = tmp_path / "greeter.lua"
    script.write_text('parley.command("greet", function(cmd)\n'
                      '  cmd:reply(parley.greeting(cmd.args))\nend)\n')
    srv = server_factory(plugins=PLUGINS,
                         config_extra=scripts_config("{ file = " + lua_str(str(script)) + " }"))
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            await a.send_text(g, "/greet Bob")
            assert await bot_says(a, g, "greeter") == "Hello, Bob!"

    run(body())


def test_a_bad_script_entry_is_a_config_error(server_factory, tmp_path):
    script = tmp_path / "x.lua"
    script.write_text("")
    srv = server_factory(config_extra=scripts_config(
        "{ file = " + lua_str(str(script)) + ",\n    memroy = \"8M\" }"), expect_fail=True)
    assert srv.returncode != 0
    assert "memroy" in srv.stderr_text and "unknown key" in srv.stderr_text, srv.stderr_text


def test_a_script_that_does_not_load_leaves_the_server_running(server_factory, tmp_path):
    bad = tmp_path / "broken.lua"
    bad.write_text("this is not lua")
    srv = server_factory(config_extra=scripts_config("{ file = " + lua_str(str(bad)) + " }"))
    line = srv.wait_log("script_load", script="broken")
    assert "broken.lua:1:" in line["msg"], line
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200


def test_test_script_fails_a_failing_test(run_parley, tmp_path):
    (tmp_path / "echo.lua").write_text(
        'parley.command("echo", function(cmd) cmd:reply(cmd.args) end)\n')
    (tmp_path / "echo_test.lua").write_text(
        'test.load()\n'
        'local alice = test.user("alice")\n'
        'test.case("echoes", function()\n'
        '  alice:say("/echo hi")\n'
        '  test.eq(test.one_post().text, "hi")\n'
        'end)\n'
        'test.case("wrong on purpose", function()\n'
        '  alice:say("/echo hi")\n'
        '  test.eq(test.one_post().text, "bye")\n'
        'end)\n')
    res = run_parley("test-script", str(tmp_path / "echo_test.lua"))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ok 1 - echoes" in res.stdout
    assert "not ok 2 - wrong on purpose" in res.stdout
    assert 'expected "bye", got "hi"' in res.stdout


def test_check_config_reports_bad_script_values(run_parley, tmp_path):
    (tmp_path / "x.lua").write_text("")
    cfg = tmp_path / "parley.conf"
    cfg.write_text('scripts = {\n'
                   '  { file = "x.lua", memory = "1K" },\n'
                   '  { file = "x.lua", instructions = 5 },\n'
                   '  { file = "x.lua", name = "Bad Name" },\n'
                   '  { file = "x.lua" },\n'
                   '  { file = "x.lua" },\n'
                   '  { file = "x.lua", name = "c1", cpu_ms = 0 },\n'
                   '  { file = "x.lua", name = "c2", cpu_ms = 20000, cpu_window = 10 },\n'
                   '  { file = "x.lua", name = "c3", max_timers = 0, kv_max_keys = -1 },\n'
                   '  { file = "x.lua", name = "c4", kv_max_bytes = "12Q" },\n'
                   '}\n')
    res = run_parley("check-config", "--config", str(cfg))
    assert res.returncode == 1, res.stdout + res.stderr
    msgs = [json.loads(ln)["msg"] for ln in res.stderr.splitlines() if ln.startswith("{")]
    err = "\n".join(msgs)
    assert "parley.conf:2: scripts[1].memory: expected a size from 256K to 1G" in err, err
    assert "parley.conf:3: scripts[2].instructions: expected an integer" in err, err
    assert 'parley.conf:4: scripts[3].name: the script\'s name "Bad Name"' in err, err
    assert 'parley.conf:6: scripts[5]: two scripts are named "x"' in err, err
    assert "parley.conf:7: scripts[6].cpu_ms: expected milliseconds from 1 to 600000" in err, err
    assert "parley.conf:8: scripts[7].cpu_ms: is more than cpu_window (10 s) holds" in err, err
    assert "parley.conf:9: scripts[8].max_timers: expected an integer from 1 to 10000" in err, err
    assert "parley.conf:9: scripts[8].kv_max_keys: expected an integer" in err, err
    assert "parley.conf:10: scripts[9].kv_max_bytes: expected a size from 1K to 1G" in err, err


def test_a_reminder_survives_a_restart(server_factory, source_dir):
    remind = os.path.join(source_dir, "scripts", "remind.lua")
    srv = server_factory(config_extra=scripts_config("{ file = " + lua_str(remind) + " }"))
    tok = srv.people("alice")

    async def ask():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            await a.send_text(g, "/remind 2s stretch")
            assert await bot_says(a, g, "remind") == "ok, in 2s I will remind you."
            return g

    room = run(ask())
    assert srv.stop() == 0
    srv.restart()
    # due while the server was down or soon after: posted once it is back
    deadline = time.monotonic() + 15
    texts = []
    while time.monotonic() < deadline:
        status, _, data = srv.http("GET", f"/api/rooms/{room}/messages",
                                   headers={"Authorization": f"Bearer {tok['alice']}"})
        assert status == 200, data
        texts = [m["text"] for m in json.loads(data)["messages"]]
        if "⏰ @alice: stretch" in texts:
            break
        time.sleep(0.2)
    assert texts.count("⏰ @alice: stretch") == 1, texts


def test_a_script_registering_a_builtin_name_fails_to_load_saying_so(server_factory, tmp_path):
    bad = tmp_path / "helpful.lua"
    bad.write_text('parley.command("help", function(cmd) cmd:reply("mine") end)\n')
    good = tmp_path / "fine.lua"
    good.write_text('parley.command("fine", function(cmd) cmd:reply("ok") end)\n')
    srv = server_factory(plugins=PLUGINS, config_extra=scripts_config(
        "{ file = " + lua_str(str(bad)) + " }", "{ file = " + lua_str(str(good)) + " }"))
    admin = srv.user("root", role="admin")
    st, _, data = srv.http("GET", "/api/admin/scripts",
                           headers={"Authorization": "Bearer " + admin})
    assert st == 200, data
    # It is not loaded, and the log says why; the other script runs.
    by_name = {s["name"]: s for s in json.loads(data)["scripts"]}
    assert "helpful" not in by_name and by_name["fine"]["status"] == "running", by_name
    line = srv.wait_log("script_load", script="helpful")
    assert "/help is a built-in command" in json.dumps(line), line
    # /help is still the built-in one.
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            g = a.room_id("general")
            r = await a.send_text(g, "/help")
            assert r["type"] == "ack" and r.get("command") is True, r
            n = await a.next_event("notice", room=g)
            assert "/fine" in n["text"] and "mine" not in n["text"], n

    run(body())
