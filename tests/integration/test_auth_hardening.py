"""auth_local and auth_jwt under attack (issue 13, items 3, 9 and 10): the
login lockout cannot be reset by filling the throttle table, over-long
passwords count as failures, registration tells nothing about names to
someone without an invite and is throttled like login, a reset link is not
spent by a password the rules refuse.

Every test starts its own server. Clients use several loopback source
addresses (127.0.x.y), as the attack did.
"""

import http.client
import json
import uuid

from test_auth import PASSWORD, first_invite, login, plugins, register


def post_from(server, source, path, payload):
    """POST from a given loopback source address; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("POST", path, body=json.dumps(payload),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None
    finally:
        conn.close()


def test_locked_account_stays_locked_when_the_table_fills(server_factory):
    srv = server_factory(plugins=plugins(
        "throttle = { max_failures = 3, window = 600, max_keys = 64 }"))
    srv.add_user("bob", PASSWORD)
    for _ in range(3):
        status, _ = post_from(srv, "127.0.0.1", "/api/login",
                              {"username": "bob", "password": "wrong password"})
        assert status == 401
    status, _ = post_from(srv, "127.0.0.2", "/api/login",
                          {"username": "bob", "password": PASSWORD})
    assert status == 429
    # Random names and over-long passwords from many addresses, two
    # failures each (under each address's limit), far more keys than the
    # table holds.
    answers = {}
    for i in range(300):
        source = f"127.0.{1 + i // 250}.{1 + i % 250}"
        for _ in range(2):
            status, _ = post_from(srv, source, "/api/login",
                                  {"username": uuid.uuid4().hex, "password": "x" * 2000})
            answers[status] = answers.get(status, 0) + 1
    # Under pressure the addresses are counted by /24: the flood is cut.
    assert answers.get(429, 0) > 0, answers
    # bob's count survived: a wrong guess now (if his block has run out)
    # blocks him again, for longer, instead of starting a fresh count.
    status, out = post_from(srv, "127.0.0.3", "/api/login",
                            {"username": "bob", "password": "wrong again"})
    assert status in (401, 429), out
    status, out = post_from(srv, "127.0.0.4", "/api/login",
                            {"username": "bob", "password": PASSWORD})
    assert status == 429, out
    assert out["error"]["code"] == "rate_limited"


def test_over_long_passwords_count_as_failures(server_factory):
    srv = server_factory(plugins=plugins("throttle = { max_failures = 3, window = 60 }"))
    srv.add_user("bob", PASSWORD)
    for _ in range(3):
        status, _, _ = login(srv, "bob", "y" * 5000)
        assert status == 401
    status, _, out = login(srv, "bob", PASSWORD)
    assert status == 429, out


def test_over_long_current_password_counts_in_password_change(server_factory):
    srv = server_factory(plugins=plugins("throttle = { max_failures = 3, window = 60 }"))
    token = srv.user("bob", PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        status, _, data = srv.http("POST", "/api/password/change", headers=auth,
                                   json={"old_password": "z" * 5000,
                                         "new_password": "another horse 2"})
        assert status == 403, data
    status, _, data = srv.http("POST", "/api/password/change", headers=auth,
                               json={"old_password": PASSWORD, "new_password": "another horse 2"})
    assert status == 429, data


def test_register_with_a_bad_invite_tells_nothing_about_names(server):
    first_invite(server)
    server.add_user("alice", PASSWORD)
    bogus = "A" * 43
    taken = register(server, bogus, "alice", PASSWORD)
    free = register(server, bogus, "nobody-here", PASSWORD)
    assert taken == free, (taken, free)
    assert taken[0] == 401 and taken[1]["error"]["code"] == "unauthorized"


def test_register_is_throttled_like_login(server_factory):
    srv = server_factory(plugins=plugins("throttle = { max_failures = 3, window = 60 }"))
    invite = first_invite(srv)
    for i in range(3):
        status, out = post_from(srv, "127.0.0.9", "/api/register",
                                {"invite": uuid.uuid4().hex[:22] + "B" * 21,
                                 "username": f"guess{i}", "password": PASSWORD})
        assert status == 401, out
    status, out = post_from(srv, "127.0.0.9", "/api/register",
                            {"invite": invite, "username": "admin1", "password": PASSWORD})
    assert status == 429, out
    assert out["error"]["code"] == "rate_limited" and out["error"]["retry_after_ms"] > 0
    # Another address is not held up, and the invite was not spent.
    status, out = post_from(srv, "127.0.0.10", "/api/register",
                            {"invite": invite, "username": "admin1", "password": PASSWORD})
    assert status == 201, out


def test_admin_cannot_disable_or_demote_themselves(server):
    # The caller is an active admin whatever they do to others, so refusing
    # only themselves keeps the admin pages reachable.
    root = server.user("root", PASSWORD, role="admin")
    other = server.user("other", PASSWORD, role="admin")
    auth = {"Authorization": f"Bearer {root}"}
    status, _, data = server.http("GET", "/api/admin/users", headers=auth)
    ids = {u["name"]: u["id"] for u in json.loads(data)["users"]}
    status, _, data = server.http("POST", f"/api/admin/users/{ids['root']}/disable",
                                  headers=auth)
    assert status == 409, data
    assert json.loads(data)["error"]["code"] == "conflict"
    assert "themselves" in json.loads(data)["error"]["message"]
    status, _, data = server.http("POST", f"/api/admin/users/{ids['root']}/role", headers=auth,
                                  json={"role": "member"})
    assert status == 409, data
    # Still an admin, still signed in.
    status, _, _ = server.http("GET", "/api/admin/users", headers=auth)
    assert status == 200
    # Another admin can be disabled (one admin, the caller, remains).
    status, _, data = server.http("POST", f"/api/admin/users/{ids['other']}/disable",
                                  headers=auth)
    assert status == 200, data
    status, _, _ = server.http("GET", "/api/admin/users",
                               headers={"Authorization": f"Bearer {other}"})
    assert status == 401


def _raw_request(port, method, path, token, body=b""):
    # Sent whole before any answer is read, so both requests are in the
    # server before either store write comes back.
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
               "Content-Type: application/json\r\n"
               "Connection: close\r\n\r\n").encode() + body)
    return s


def _raw_status(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1])


def test_two_admins_disabling_each_other_at_once_leave_one(server):
    # Both requests pass "not yourself"; the removals in flight are counted,
    # so one of the two is refused and an active admin always remains.
    root = server.user("root", PASSWORD, role="admin")
    other = server.user("other", PASSWORD, role="admin")
    status, _, data = server.http("GET", "/api/admin/users",
                                  headers={"Authorization": f"Bearer {root}"})
    ids = {u["name"]: u["id"] for u in json.loads(data)["users"]}
    tokens = {"root": root, "other": other}
    for _ in range(5):
        a = _raw_request(server.port, "POST", f"/api/admin/users/{ids['other']}/disable", root)
        b = _raw_request(server.port, "POST", f"/api/admin/users/{ids['root']}/disable", other)
        statuses = sorted([_raw_status(a), _raw_status(b)])
        # The second is refused: 409 when both were in the server at once;
        # when the first finished before the second was authenticated, its
        # caller is no longer an admin or signed in (403, 401).
        assert statuses[0] == 200 and statuses[1] in (401, 403, 409), statuses
        status, _, data = server.http("GET", "/api/admin/users",
                                      headers={"Authorization": f"Bearer {root}"})
        survivor = "root" if status == 200 else "other"
        loser = "other" if survivor == "root" else "root"
        if survivor == "other":
            status, _, data = server.http("GET", "/api/admin/users",
                                          headers={"Authorization": f"Bearer {other}"})
            assert status == 200, data
        users = {u["name"]: u for u in json.loads(data)["users"]}
        active = [n for n in ("root", "other")
                  if users[n]["role"] == "admin" and not users[n].get("disabled")]
        assert active == [survivor], users
        # The survivor brings the other back; their sessions were revoked.
        status, _, data = server.http(
            "POST", f"/api/admin/users/{ids[loser]}/enable",
            headers={"Authorization": f"Bearer {tokens[survivor]}"})
        assert status == 200, data
        tokens[loser] = server.login(loser, PASSWORD)["token"]
        root, other = tokens["root"], tokens["other"]


def test_the_last_active_admin_cannot_be_demoted_by_a_racing_pair(server):
    root = server.user("root", PASSWORD, role="admin")
    other = server.user("other", PASSWORD, role="admin")
    status, _, data = server.http("GET", "/api/admin/users",
                                  headers={"Authorization": f"Bearer {root}"})
    ids = {u["name"]: u["id"] for u in json.loads(data)["users"]}
    body = json.dumps({"role": "member"}).encode()
    a = _raw_request(server.port, "POST", f"/api/admin/users/{ids['other']}/role", root, body)
    b = _raw_request(server.port, "POST", f"/api/admin/users/{ids['root']}/role", other, body)
    statuses = sorted([_raw_status(a), _raw_status(b)])
    assert statuses[0] == 200 and statuses[1] in (403, 409), statuses
    status, _, data = server.http("GET", "/api/admin/users",
                                  headers={"Authorization": f"Bearer {root}"})
    if status != 200:
        status, _, data = server.http("GET", "/api/admin/users",
                                      headers={"Authorization": f"Bearer {other}"})
    assert status == 200, data
    admins = [u["name"] for u in json.loads(data)["users"]
              if u["role"] == "admin" and not u.get("disabled")]
    assert len(admins) == 1, admins
