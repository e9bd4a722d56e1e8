"""The HTTP API of PROTOCOL.md against the real server: health, readiness and
metrics; login, logout and register with the session cookie; the CSRF fence
for cookie-authenticated requests; posting and reading messages over HTTP;
the admin endpoints; disabling a user; the Origin check of the WebSocket
upgrade."""

import asyncio
import json

import websockets

PASSWORD = "correct horse 1"


def body(data):
    return json.loads(data.decode())


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def ws_ready(server, token):
    """A raw WebSocket session authenticated with token: (ws, ready frame)."""
    ws = await websockets.connect(server.ws_url, subprotocols=["parley.v1"])
    await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame.get("rid") == 1:
            assert frame["type"] == "ready", frame
            return ws, frame


def general_id(server, token):
    async def run():
        ws, ready = await ws_ready(server, token)
        await ws.close()
        return ready

    ready = asyncio.run(run())
    rooms = [r for r in ready["rooms"] if r["name"] == "general"]
    assert rooms, ready
    return rooms[0]["id"]


def cookie_of(headers):
    """The parley_session Set-Cookie line and its token."""
    line = headers.get("Set-Cookie")
    assert line, headers
    first = line.split(";")[0].strip()
    name, _, value = first.partition("=")
    assert name == "parley_session"
    attrs = [a.strip() for a in line.split(";")[1:]]
    return value, attrs


def test_health_ready_metrics(server):
    status, headers, data = server.http("GET", "/healthz")
    assert status == 200
    assert body(data) == {"status": "ok"}
    assert headers["Content-Type"].startswith("application/json")

    status, _, data = server.http("GET", "/readyz")
    assert status == 200, data

    status, headers, data = server.http("GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE" in data

    status, _, data = server.http("POST", "/healthz")
    assert status == 405
    assert body(data)["error"]["code"]

    status, _, data = server.http("GET", "/api/nothing-here")
    assert status == 404
    assert body(data)["error"]["code"] == "not_found"


def test_login_sets_cookie(server):
    server.add_user("alice", PASSWORD)
    status, headers, data = server.http("POST", "/api/login",
                                        json={"username": "alice", "password": PASSWORD})
    assert status == 200, data
    out = body(data)
    assert out["user"]["name"] == "alice"
    assert out["user"]["role"] == "member"
    assert set(out["user"]) >= {"id", "name", "display_name", "role"}
    assert isinstance(out["expires"], int) and out["expires"] > 0
    token, attrs = cookie_of(headers)
    assert token == out["token"]
    assert "HttpOnly" in attrs
    assert "SameSite=Strict" in attrs
    assert "Path=/" in attrs
    assert "Secure" not in attrs  # plain HTTP
    max_age = [a for a in attrs if a.startswith("Max-Age=")]
    assert max_age and int(max_age[0].split("=")[1]) > 0

    status, _, data = server.http("POST", "/api/login",
                                  json={"username": "alice", "password": "wrong"})
    assert status == 401
    assert body(data)["error"]["code"] == "unauthorized"
    assert PASSWORD.encode() not in b"".join(line.encode() for line in server.stderr_lines)


def test_login_bad_bodies(server):
    status, _, data = server.http("POST", "/api/login", json={"username": "alice"})
    assert status == 400
    err = body(data)["error"]
    assert err["code"] == "bad_request"
    assert err["message"].startswith("password: expected a string")

    status, _, data = server.http("POST", "/api/login", json={"username": 5, "password": "x"})
    assert status == 400
    assert body(data)["error"]["message"].startswith("username:")

    for raw in ("[1, 2]", "{not json", "", '{"a":' * 40 + "1" + "}" * 40):
        status, _, data = server.http("POST", "/api/login", body=raw,
                                      headers={"Content-Type": "application/json"})
        assert status == 400, raw
        assert body(data)["error"]["code"] == "bad_request"

    status, _, _ = server.http("GET", "/api/login")
    assert status == 405


def test_repeated_failures_are_rate_limited_with_retry_after(server):
    server.add_user("target", PASSWORD)
    limited = None
    for _ in range(30):
        status, headers, data = server.http("POST", "/api/login",
                                            json={"username": "target", "password": "nope"})
        assert status in (401, 429), data
        if status == 429:
            limited = (headers, body(data))
            break
    assert limited, "30 failed logins were never rate limited"
    headers, out = limited
    assert out["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1


def test_cookie_post_needs_allowed_origin(server):
    server.add_user("bob", PASSWORD)
    status, headers, data = server.http("POST", "/api/login",
                                        json={"username": "bob", "password": PASSWORD})
    assert status == 200
    token, _ = cookie_of(headers)
    room = general_id(server, token)
    path = f"/api/rooms/{room}/messages"
    cookie = {"Cookie": f"parley_session={token}"}

    status, _, data = server.http("POST", path, json={"text": "no origin"}, headers=cookie)
    assert status == 403, data
    assert body(data)["error"]["code"] == "forbidden"

    status, _, data = server.http("POST", path, json={"text": "foreign"},
                                  headers={**cookie, "Origin": "http://evil.example.org"})
    assert status == 403, data

    status, _, data = server.http("POST", path, json={"text": "same origin"},
                                  headers={**cookie, "Origin": server.url})
    assert status == 200, data
    assert body(data)["seq"] >= 1

    # Reading needs no Origin: a GET changes nothing.
    status, _, data = server.http("GET", path, headers=cookie)
    assert status == 200, data
    assert [m["text"] for m in body(data)["messages"]][-1] == "same origin"

    # Even a bearer POST is refused when a browser says it comes from elsewhere.
    status, _, _ = server.http("POST", path, json={"text": "x"},
                               headers={**bearer(token), "Origin": "http://evil.example.org"})
    assert status == 403


def test_bearer_post_is_idempotent_and_history(server):
    token = server.user("bot1")
    room = general_id(server, token)
    path = f"/api/rooms/{room}/messages"

    status, _, data = server.http("POST", path, json={"text": "hello", "client_id": "c-1"},
                                  headers=bearer(token))
    assert status == 200, data
    ack = body(data)
    assert ack["id"] and ack["seq"] >= 1

    status, _, data = server.http("POST", path, json={"text": "hello", "client_id": "c-1"},
                                  headers=bearer(token))
    assert status == 200, data
    again = body(data)
    assert (again["id"], again["seq"]) == (ack["id"], ack["seq"])

    for i in range(3):
        status, _, _ = server.http("POST", path, json={"text": f"n{i}"}, headers=bearer(token))
        assert status == 200

    status, _, data = server.http("GET", path, headers=bearer(token))
    assert status == 200, data
    msgs = sorted(body(data)["messages"], key=lambda m: m["seq"])
    texts = [m["text"] for m in msgs]
    assert texts.count("hello") == 1
    assert texts[-4:] == ["hello", "n0", "n1", "n2"]

    # Neither before nor after: the newest page.
    status, _, data = server.http("GET", f"{path}?limit=2", headers=bearer(token))
    page = body(data)
    assert sorted(m["text"] for m in page["messages"]) == ["n1", "n2"]
    assert page["more"] is True

    status, _, data = server.http("GET", f"{path}?before={msgs[-1]['seq']}&limit=2",
                                  headers=bearer(token))
    assert [m["text"] for m in body(data)["messages"]] == ["n1", "n0"]

    status, _, data = server.http("GET", f"{path}?after={ack['seq']}&limit=1",
                                  headers=bearer(token))
    assert [m["text"] for m in body(data)["messages"]] == ["n0"]

    for bad in ("limit=0", "limit=101", "limit=x", "before=-3", "after=1e3"):
        status, _, data = server.http("GET", f"{path}?{bad}", headers=bearer(token))
        assert status == 400, bad
        assert body(data)["error"]["message"].startswith(bad.split("=")[0] + ":")

    status, _, data = server.http("POST", path, json={"text": 7}, headers=bearer(token))
    assert status == 400
    assert body(data)["error"]["message"].startswith("text: expected a string")

    status, _, _ = server.http("GET", path)
    assert status == 401
    status, _, _ = server.http("GET", path, headers=bearer("not-a-token"))
    assert status == 401
    status, _, _ = server.http("POST", path, json={"text": "x"}, headers=bearer("nope"))
    assert status == 401


def test_logout_revokes_and_clears_cookie(server):
    server.add_user("leaver", PASSWORD)
    token = server.login("leaver", PASSWORD)["token"]
    room = general_id(server, token)
    status, headers, _ = server.http("POST", "/api/logout", headers=bearer(token))
    assert status == 204
    value, attrs = cookie_of(headers)
    assert value == ""
    assert "Max-Age=0" in attrs
    status, _, _ = server.http("GET", f"/api/rooms/{room}/messages", headers=bearer(token))
    assert status == 401
    status, _, _ = server.http("POST", "/api/logout")
    assert status == 401


def test_admin_endpoints(server):
    server.add_user("root", PASSWORD, role="admin")
    member = server.user("mallory")
    admin = server.token("root")

    for method, path, payload in (("GET", "/api/admin/users", None),
                                  ("POST", "/api/admin/invites", {"role": "member"}),
                                  ("POST", "/api/admin/users/u_1/disable", None)):
        status, _, data = server.http(method, path, json=payload, headers=bearer(member))
        assert status == 403, (path, data)
        assert body(data)["error"]["code"] == "forbidden"
        status, _, _ = server.http(method, path, json=payload)
        assert status == 401, path

    status, _, data = server.http("GET", "/api/admin/users", headers=bearer(admin))
    assert status == 200, data
    users = {u["name"]: u for u in body(data)["users"]}
    assert {"root", "mallory"} <= set(users)
    m = users["mallory"]
    assert m["role"] == "member" and m["disabled"] is False
    assert set(m) >= {"id", "name", "display_name", "role", "email", "disabled", "created"}
    assert "password_hash" not in m

    status, _, data = server.http("POST", "/api/admin/invites",
                                  json={"role": "member", "email": "new@example.org"},
                                  headers=bearer(admin))
    assert status == 201, data
    invite = body(data)
    assert invite["token"] and "link" in invite and invite["expires"] > 0

    status, _, data = server.http("POST", "/api/admin/invites", json={"role": "king"},
                                  headers=bearer(admin))
    assert status == 400
    assert body(data)["error"]["message"].startswith("role:")

    # The invite registers a new account, which gets a session and a cookie.
    status, headers, data = server.http("POST", "/api/register",
                                        json={"invite": invite["token"], "username": "newbie",
                                              "password": PASSWORD})
    assert status == 201, data
    reg = body(data)
    assert reg["user"]["name"] == "newbie"
    assert cookie_of(headers)[0] == reg["token"]
    assert server.login("newbie", PASSWORD)["user"]["name"] == "newbie"
    status, _, _ = server.http("POST", "/api/register",
                               json={"invite": invite["token"], "username": "again",
                                     "password": PASSWORD})
    assert status >= 400

    status, _, data = server.http("POST", "/api/admin/users/u_999999/disable",
                                  headers=bearer(admin))
    assert status == 404, data


def test_disable_closes_websocket_and_refuses_token(server):
    server.add_user("root", PASSWORD, role="admin")
    admin = server.token("root")
    carol = server.user("carol")
    room = general_id(server, carol)
    status, _, data = server.http("GET", "/api/admin/users", headers=bearer(admin))
    carol_id = [u["id"] for u in body(data)["users"] if u["name"] == "carol"][0]

    async def run():
        ws, _ = await ws_ready(server, carol)
        loop = asyncio.get_running_loop()
        status, _, data = await loop.run_in_executor(
            None, lambda: server.http("POST", f"/api/admin/users/{carol_id}/disable",
                                      headers=bearer(admin)))
        assert status == 200, data
        assert body(data)["user"]["disabled"] is True
        await asyncio.wait_for(ws.wait_closed(), 5)
        return ws.close_code

    assert asyncio.run(run()) == 4401

    status, _, _ = server.http("GET", f"/api/rooms/{room}/messages", headers=bearer(carol))
    assert status == 401
    status, _, _ = server.http("POST", "/api/login",
                               json={"username": "carol", "password": PASSWORD})
    assert status in (401, 403)

    status, _, data = server.http("POST", f"/api/admin/users/{carol_id}/enable",
                                  headers=bearer(admin))
    assert status == 200, data
    assert body(data)["user"]["disabled"] is False
    # Her old sessions stay revoked; a new login works.
    status, _, _ = server.http("GET", f"/api/rooms/{room}/messages", headers=bearer(carol))
    assert status == 401
    assert server.login("carol", PASSWORD)["user"]["name"] == "carol"


def test_websocket_origin(server):
    async def attempt(headers):
        try:
            ws = await websockets.connect(server.ws_url, subprotocols=["parley.v1"],
                                          extra_headers=headers)
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
        await ws.close()
        return 101

    assert asyncio.run(attempt({"Origin": "http://evil.example.org"})) == 403
    assert asyncio.run(attempt({})) == 101
    assert asyncio.run(attempt({"Origin": server.url})) == 101


def test_websocket_origin_from_config(server_factory):
    srv = server_factory(server_extra='origins = { "https://chat.example.org" }')

    async def attempt(origin):
        try:
            ws = await websockets.connect(srv.ws_url, extra_headers={"Origin": origin})
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
        await ws.close()
        return 101

    assert asyncio.run(attempt("https://chat.example.org:443")) == 101
    assert asyncio.run(attempt(srv.url)) == 403
