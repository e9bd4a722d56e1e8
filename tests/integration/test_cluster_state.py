"""State one per cluster (issue 16), with two parley processes sharing one
store as two nodes behind a load balancer: login failures made on both
count toward one lockout, a parley.every fires once per period (not once
per node), and both sign unsubscribe links with one key. The shared
store is store_mongo on the CongoDB test server of tests/mongo (or
PARLEY_TEST_MONGO_URI), whatever PARLEY_TEST_STORE says; skipped without
store_mongo or a server. The single-node cases (store_sqlite) are the
rest of the suite: test_auth*.py, test_scripts.py, test_email.py."""

import hashlib
import hmac
import http.client
import json
import os
import secrets
import sys
import time

import pytest

from conftest import SOURCE_DIR, lua_str

CHEAP = "argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }"
PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def mongo_uri(plugin_dir):
    if not os.path.exists(os.path.join(plugin_dir, "store_mongo.so")):
        pytest.skip("store_mongo was not built (it needs libmongoc-dev)")
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    if uri:
        yield uri
        return
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
    try:
        import congo
    except ImportError as e:
        pytest.skip(f"no MongoDB test server (tests/mongo/congo.py: {e})")
    if not congo.available():
        pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it)")
    with congo.Congo() as server:
        yield server.uri


def cluster_config(uri, database, auth_extra="", extra=""):
    """A node's config: both nodes name the same database."""
    auth = '{"auth_local", ' + CHEAP + (", " + auth_extra if auth_extra else "") + "}"
    store = '{"store_mongo", uri = %s, database = %s}' % (lua_str(uri), lua_str(database))
    return ("server = {\n"
            '  listen = { "127.0.0.1:0" },\n'
            "  data_dir = {data_dir},\n"
            "  plugin_dir = {plugin_dir},\n"
            "}\n"
            "limits = { rates = false, bot_rates = false }\n"
            'log = { level = "debug" }\n'
            f"plugins = {{ {auth}, {store} }}\n" + extra)


def two_nodes(server_factory, uri, data_dirs=(None, None), **kw):
    database = "cluster_" + secrets.token_hex(4)
    # The factory puts the paths in bare: quote them as Lua strings.
    raw = cluster_config(uri, database, **kw).replace(
        "{data_dir}", '"{data_dir}"').replace("{plugin_dir}", '"{plugin_dir}"')
    return [server_factory(raw_config=raw, data_dir=d) for d in data_dirs]


_sources = iter(f"127.0.{i // 250}.{1 + i % 250}" for i in range(10, 60000))


def login(node, name, password):
    """A login from an address of its own: only the account's count can
    lock it out, never the address's."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10,
                                      source_address=(next(_sources), 0))
    try:
        conn.request("POST", "/api/login", body=json.dumps({"username": name,
                                                            "password": password}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_login_failures_on_two_nodes_count_toward_one_lockout(server_factory, mongo_uri):
    a, b = two_nodes(server_factory, mongo_uri,
                     auth_extra="throttle = { max_failures = 4, window = 600 }")
    a.add_user("bob", PASSWORD)
    # Two failures on each node: neither node alone reached 4.
    for node in (a, b, a, b):
        status, _ = login(node, "bob", "wrong password")
        assert status == 401
    # Both nodes now refuse the right password: the count is the cluster's.
    for node in (b, a):
        status, headers = login(node, "bob", PASSWORD)
        assert status == 429, f"node on port {node.port} let bob in after 4 failures"
        assert int(headers["retry-after"]) >= 1


def test_a_success_on_one_node_clears_the_count_of_both(server_factory, mongo_uri):
    a, b = two_nodes(server_factory, mongo_uri,
                     auth_extra="throttle = { max_failures = 3, window = 600 }")
    a.add_user("carol", PASSWORD)
    for node in (a, b):
        assert login(node, "carol", "wrong password")[0] == 401
    assert login(b, "carol", PASSWORD)[0] == 200
    # A fresh count: two more failures (one on each) do not lock her out.
    for node in (a, b):
        assert login(node, "carol", "wrong password")[0] == 401
    assert login(a, "carol", PASSWORD)[0] == 200


TICK_SCRIPT = """
parley.every(%s, function()
  parley.log.info("tick")
end)
"""


def ticks(node):
    return sum(1 for line in node.logs
               if line.get("event") == "script_log" and line.get("msg") == "tick")


def test_a_script_timer_fires_once_per_period_with_two_nodes(server_factory, mongo_uri,
                                                              tmp_path):
    period = 0.4
    script = tmp_path / "ticker.lua"
    script.write_text(TICK_SCRIPT % period)
    scripts = "scripts = {\n  { file = %s },\n}\n" % lua_str(str(script))
    a, b = two_nodes(server_factory, mongo_uri, extra=scripts)
    a.wait_log("script_log", timeout=10, msg="tick")
    start_a, start_b = ticks(a), ticks(b)
    window = 4.0
    time.sleep(window)
    total = ticks(a) - start_a + ticks(b) - start_b
    periods = window / period
    # One node's ticks (give or take the edges), not both nodes' (2x).
    assert periods * 0.6 <= total <= periods + 2, \
        f"{total} ticks in {window} s at {period} s: a {ticks(a)}, b {ticks(b)}"
    # The holder keeps the timer: the other node never ran it meanwhile.
    assert min(ticks(a) - start_a, ticks(b) - start_b) == 0


def seeded_data_dir(tmp_path, name, key):
    """A data dir holding a server.key of an older parley (one per node)."""
    data = tmp_path / name
    data.mkdir()
    (data / "server.key").write_bytes(key)
    os.chmod(data / "server.key", 0o600)
    return str(data)


def unsubscribe_status(node, key, user="u_1"):
    sig = hmac.new(key, b"unsubscribe:" + user.encode(), hashlib.sha256).hexdigest()
    status, _, _ = node.http("GET", f"/api/unsubscribe?u={user}&s={sig}")
    return status


def test_links_signed_by_the_first_nodes_server_key_work_on_both(server_factory, mongo_uri,
                                                                  tmp_path):
    k1, k2 = os.urandom(32), os.urandom(32)
    a, b = two_nodes(server_factory, mongo_uri,
                     data_dirs=[seeded_data_dir(tmp_path, "a", k1),
                                seeded_data_dir(tmp_path, "b", k2)])
    assert "moved there" in a.wait_log("server_key", timeout=5)["msg"]
    assert "another node's" in b.wait_log("server_key", timeout=5)["msg"]
    # The first node's key is the cluster's: its old links work on both.
    assert unsubscribe_status(a, k1) == 200
    assert unsubscribe_status(b, k1) == 200
    # The second node's own old links still work where they were signed.
    assert unsubscribe_status(b, k2) == 200
    assert unsubscribe_status(a, k2) == 400
    assert unsubscribe_status(a, os.urandom(32)) == 400


def test_a_new_cluster_makes_one_key_in_the_store(server_factory, mongo_uri):
    a, b = two_nodes(server_factory, mongo_uri)
    for node in (a, b):
        msg = node.wait_log("server_key", timeout=5)["msg"]
        assert msg == "server key from the store", msg
        # No server.key of its own: the key lives in the store only.
        assert not os.path.exists(os.path.join(node.data_dir, "server.key"))


def test_a_single_nodes_server_key_moves_into_its_store(server_factory, tmp_path):
    """One node (the configured store, store_sqlite by default): the links
    an older parley signed with server.key keep working once the file is
    gone, since the key now lives in the store."""
    key = os.urandom(32)
    data = seeded_data_dir(tmp_path, "single", key)
    srv = server_factory(data_dir=data)
    assert unsubscribe_status(srv, key) == 200
    srv.stop()
    os.unlink(os.path.join(data, "server.key"))
    srv2 = server_factory(data_dir=data)
    assert unsubscribe_status(srv2, key) == 200
    assert unsubscribe_status(srv2, os.urandom(32)) == 400
