"""A bad config fails start-up clearly (DESIGN.md "Configuration and command
line"): exit nonzero within seconds, with `file:line: key.path: message`;
and the server starts with no config file at all."""

import re
import time

import pytest

from parley_client import Client, run

FAIL_WITHIN = 10  # s

HEAD = '''server = {
  listen = { "127.0.0.1:0" },
  data_dir = "{data_dir}",
  plugin_dir = "{plugin_dir}",
}
log = { level = "debug" }
plugins = { {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }}, {"store_sqlite"} }
'''

CASES = {
    # name: (config text, 1-based line of the error, what the text must name)
    "unknown_top_level_key": (HEAD + "bogus = 1\n", 8, ["bogus"]),
    "unknown_key_in_server": (
        'server = {\n  listen = { "127.0.0.1:0" },\n  lissten = { "127.0.0.1:0" },\n'
        '  data_dir = "{data_dir}",\n}\n', 3, ["server.lissten", "unknown"]),
    "wrong_type": (HEAD + 'limits = {\n  max_text = "lots",\n}\n', 9, ["limits.max_text"]),
    "bad_listen": (
        'server = {\n  data_dir = "{data_dir}",\n  listen = { "127.0.0.1:http" },\n}\n', 3,
        ["server.listen"]),
    "lua_syntax_error": (HEAD + "limits = { max_text = 4000 max_frame = 1 }\n", 8, []),
    "missing_plugin": (
        'server = { listen = { "127.0.0.1:0" }, data_dir = "{data_dir}", plugin_dir = "{plugin_dir}" }\n'
        'plugins = {\n  {"auth_local"},\n  {"store_sqlite"},\n  {"no_such_plugin"},\n}\n', 5,
        ["no_such_plugin", "plugins[3]"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_fails_clearly(server_factory, case):
    text, line, names = CASES[case]
    t0 = time.monotonic()
    srv = server_factory(raw_config=text, expect_fail=True)
    assert time.monotonic() - t0 < FAIL_WITHIN
    assert srv.returncode not in (0, None), srv.returncode
    out = srv.stderr_text
    assert re.search(rf"parley\.conf:{line}\b", out), f"no 'parley.conf:{line}' in:\n{out}"
    for n in names:
        assert n in out, f"{n!r} not named in:\n{out}"


def test_unknown_key_message_format(server_factory):
    text, _, _ = CASES["unknown_key_in_server"]
    srv = server_factory(raw_config=text, expect_fail=True)
    assert "parley.conf:3: server.lissten: unknown key" in srv.stderr_text, srv.stderr_text


def test_starts_without_a_config_file(server_factory):
    srv = server_factory(no_config=True)
    assert srv.config_path is None
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200

    async def body():
        c = Client(srv, auth=False)
        await c.connect()
        r = await c.auth(token="nope")
        assert r["type"] == "error" and r["code"] == "unauthorized", r
        await c.close()

    run(body())
