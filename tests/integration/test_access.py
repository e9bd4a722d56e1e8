"""Access, against the real binary, SQLite and an SMTP sink: password reset
by e-mail, password change, the admin API (roles, invites, audit log),
bot accounts with scoped tokens, user settings and the unsubscribe link."""

import json
import re
import time

from parley_client import Client, run
from smtp_sink import SmtpSink
from test_email import email_plugins, lua_str, sinks  # noqa: F401 (fixture)

PW = "correct horse 1"


def bearer(token):
    return {"Authorization": "Bearer " + token}


def call(server, method, path, token=None, body=None):
    status, headers, data = server.http(method, path, json=body,
                                        headers=bearer(token) if token else None)
    try:
        return status, json.loads(data) if data else None, headers
    except ValueError:
        return status, data, headers


def mail_server(server_factory, sinks, config_extra=""):
    sink = sinks().start()
    server = server_factory(config_extra=config_extra, plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', **{"from": '"chat@example.org"'}))
    return server, sink


def test_password_reset_by_email(server_factory, sinks):
    server, sink = mail_server(server_factory, sinks)
    server.add_user("dana", email="dana@example.org")
    old = server.token("dana")

    st, body, _ = call(server, "POST", "/api/password/forgot", body={"email": "DANA@example.org"})
    assert st == 202, body
    msg, env = sink.wait_messages(1)[0]
    assert env["rcpt_tos"] == ["dana@example.org"]
    plain = msg.get_body(("plain",)).get_content()
    token = re.search(r"#reset=([A-Za-z0-9_-]{43})", plain).group(1)

    # Rules first: the token is not spent by a refused password.
    st, body, _ = call(server, "POST", "/api/password/reset", body={"token": token, "password": "x"})
    assert st == 400 and body["error"]["code"] == "bad_request"
    st, body, _ = call(server, "POST", "/api/password/reset",
                       body={"token": token, "password": "a new long password"})
    assert st == 200, body
    assert body["user"]["name"] == "dana"
    # Once only; every old session is revoked; the new password works.
    st, body, _ = call(server, "POST", "/api/password/reset",
                       body={"token": token, "password": "another long password"})
    assert st == 401 and body["error"]["code"] == "unauthorized"
    st, _, _ = call(server, "GET", "/api/settings", old)
    assert st == 401
    assert server.login("dana", "a new long password")["user"]["name"] == "dana"
    assert "error" in server.login("dana", PW)


def test_reset_link_is_not_spent_by_a_name_rule_refusal(server_factory, sinks):
    # issue 13 item 10: the rule that needs the account's name (the password
    # must not contain it) refused only after the link was spent.
    server, sink = mail_server(server_factory, sinks)
    server.add_user("dana", email="dana@example.org")
    st, body, _ = call(server, "POST", "/api/password/forgot", body={"email": "dana@example.org"})
    assert st == 202, body
    msg, _ = sink.wait_messages(1)[0]
    token = re.search(r"#reset=([A-Za-z0-9_-]{43})", msg.get_body(("plain",)).get_content()).group(1)
    st, body, _ = call(server, "POST", "/api/password/reset",
                       body={"token": token, "password": "I am Dana, really"})
    assert st == 400 and "username" in body["error"]["message"], body
    st, body, _ = call(server, "POST", "/api/password/reset",
                       body={"token": token, "password": "a new long password"})
    assert st == 200, body
    assert server.login("dana", "a new long password")["user"]["name"] == "dana"


def test_forgot_tells_nothing_and_is_throttled(server_factory, sinks):
    server, sink = mail_server(server_factory, sinks)
    st, body, _ = call(server, "POST", "/api/password/forgot", body={"email": "nobody@example.org"})
    assert st == 202, body
    time.sleep(0.5)
    assert sink.messages() == []
    st, body, _ = call(server, "POST", "/api/password/forgot", body={})
    assert st == 400
    statuses = [call(server, "POST", "/api/password/forgot",
                     body={"email": "x@example.org"})[0] for _ in range(12)]
    assert 429 in statuses
    st, body, headers = call(server, "POST", "/api/password/forgot", body={"email": "x@example.org"})
    assert st == 429 and int(headers["Retry-After"]) >= 1
    # Forged and truncated reset tokens.
    for bad in ["", "A" * 43, "short", "A" * 44]:
        st, body, _ = call(server, "POST", "/api/password/reset",
                           body={"token": bad, "password": "a new long password"})
        assert st == 401, (bad, body)


def test_password_change_revokes_other_sessions(server):
    server.add_user("erin")
    keep, other = server.tokens("erin", "erin")

    async def connections():
        async with Client(server, keep) as k, Client(server, other) as o:
            st, body, _ = call(server, "POST", "/api/password/change", keep,
                               {"old_password": PW, "new_password": "a middle password"})
            assert st == 200, body
            await o.wait_closed()
            assert (await k.request("ping"))["type"] == "pong"
    run(connections())
    PW2 = "a middle password"
    st, body, _ = call(server, "POST", "/api/password/change", keep,
                       {"old_password": "wrong one here", "new_password": "brand new secret"})
    assert st == 403, body
    st, body, _ = call(server, "POST", "/api/password/change", keep,
                       {"old_password": PW2, "new_password": "erin"})
    assert st == 400, body
    other = server.login("erin", PW2)["token"]
    st, body, _ = call(server, "POST", "/api/password/change", keep,
                       {"old_password": PW2, "new_password": "brand new secret"})
    assert st == 200, body
    assert call(server, "GET", "/api/settings", keep)[0] == 200
    assert call(server, "GET", "/api/settings", other)[0] == 401


def test_admin_api_roles_invites_and_audit(server):
    admin = server.user("root", role="admin")
    member = server.user("mallory")
    uid = {u["name"]: u["id"] for u in call(server, "GET", "/api/admin/users", admin)[1]["users"]}

    # A member calling admin APIs changes nothing.
    for method, path, body in [("GET", "/api/admin/users", None),
                               ("POST", f"/api/admin/users/{uid['mallory']}/role", {"role": "admin"}),
                               ("GET", "/api/admin/invites", None),
                               ("GET", "/api/admin/audit", None),
                               ("POST", "/api/admin/bots", {"name": "evilbot"})]:
        st, out, _ = call(server, method, path, member, body)
        assert st == 403 and out["error"]["code"] == "forbidden", (path, out)

    st, out, _ = call(server, "POST", f"/api/admin/users/{uid['mallory']}/role", admin,
                      {"role": "overlord"})
    assert st == 400
    st, out, _ = call(server, "POST", f"/api/admin/users/{uid['root']}/role", admin,
                      {"role": "member"})
    assert st == 409, out
    st, out, _ = call(server, "POST", f"/api/admin/users/{uid['mallory']}/role", admin,
                      {"role": "admin"})
    assert st == 200 and out["user"]["role"] == "admin", out
    st, out, _ = call(server, "POST", "/api/admin/users/u_999/role", admin, {"role": "member"})
    assert st == 404

    st, inv, _ = call(server, "POST", "/api/admin/invites", admin, {"role": "member"})
    assert st == 201, inv
    st, out, _ = call(server, "GET", "/api/admin/invites", admin)
    # The first-start admin invite is listed too (created by no one).
    mine = [i for i in out["invites"] if i["created_by"] == uid["root"]]
    assert st == 200 and len(mine) == 1 and mine[0]["role"] == "member", out
    iid = mine[0]["id"]
    assert call(server, "POST", f"/api/admin/invites/{iid}/revoke", admin)[0] == 200
    assert call(server, "POST", f"/api/admin/invites/{iid}/revoke", admin)[0] == 404
    st, out, _ = call(server, "POST", "/api/register", body={
        "invite": inv["token"], "username": "zed", "password": "long enough pw"})
    assert st == 401, out

    deadline = time.monotonic() + 5
    while True:
        st, out, _ = call(server, "GET", "/api/admin/audit?limit=2", admin)
        acts = [e["action"] for e in out["entries"]]
        if acts[0] == "invite.revoke" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert st == 200 and out["more"] is True, out
    assert acts == ["invite.revoke", "invite.create"]
    st, out, _ = call(server, "GET", "/api/admin/audit", admin)
    role = [e for e in out["entries"] if e["action"] == "user.role"][0]
    assert role["actor"] == uid["root"] and role["target"] == uid["mallory"]
    assert role["detail"] == {"role": "admin"} and role["client"] == "127.0.0.1"
    assert role["ts"] > 0
    assert call(server, "GET", "/api/admin/audit?limit=0", admin)[0] == 400


def audit_actions(server, admin, n, newest, timeout=5):
    """The newest n audit actions, once `newest` is visible (audit entries
    are written beside the answer, not before it)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = call(server, "GET", "/api/admin/audit", admin)[1]["entries"]
        actions = [e["action"] for e in entries][:n]
        if actions[:1] == [newest] or time.monotonic() > deadline:
            return actions
        time.sleep(0.05)


def general_room(server, token):
    async def body():
        async with Client(server, token) as c:
            r = await c.request("rooms")
            return {x["name"]: x["id"] for x in r["rooms"]}
    return run(body())


def test_bot_tokens_are_scoped(server):
    admin = server.user("root", role="admin")
    st, out, _ = call(server, "POST", "/api/admin/bots", admin, {"name": "ci-bot"})
    assert st == 201 and out["user"]["role"] == "bot", out
    bot_id = out["user"]["id"]
    rooms = general_room(server, admin)

    async def make_room():
        async with Client(server, admin) as c:
            r = await c.request("create_room", name="ops")
            await c.request("invite", room=r["room"]["id"], user=bot_id)
            return r["room"]["id"]
    ops = run(make_room())
    general = rooms["general"]

    for bad in [{"scopes": []}, {"scopes": ["read", "fly"]}, {"scopes": "read", "rooms": "x"},
                {"scopes": "read", "ttl": -1}]:
        assert call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin, bad)[0] == 400, bad
    admin_id = [u for u in call(server, "GET", "/api/admin/users", admin)[1]["users"]
                if u["name"] == "root"][0]["id"]
    assert call(server, "POST", f"/api/admin/bots/{admin_id}/tokens", admin,
                {"scopes": "read"})[0] == 400

    st, out, _ = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                      {"scopes": ["read"], "rooms": [general]})
    assert st == 201, out
    reader = out["token"]
    st, out, _ = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                      {"scopes": "read,post"})
    poster = out["token"]

    # HTTP: read in its room only; no posting; no admin.
    assert call(server, "GET", f"/api/rooms/{general}/messages", reader)[0] == 200
    assert call(server, "GET", f"/api/rooms/{ops}/messages", reader)[0] == 404
    st, out, _ = call(server, "POST", f"/api/rooms/{general}/messages", reader, {"text": "hi"})
    assert st == 403 and out["error"]["code"] == "forbidden"
    assert call(server, "GET", "/api/admin/users", poster)[0] == 403
    assert call(server, "POST", "/api/password/change", poster,
                {"old_password": "a", "new_password": "bbbbbbbbbbb"})[0] == 403

    # Incoming webhook: idempotent by client_id.
    st, a, _ = call(server, "POST", f"/api/rooms/{ops}/messages", poster,
                    {"text": "deploy done", "client_id": "hook-1"})
    assert st == 200, a
    st, b, _ = call(server, "POST", f"/api/rooms/{ops}/messages", poster,
                    {"text": "deploy done", "client_id": "hook-1"})
    assert st == 200 and b["id"] == a["id"] and b.get("duplicate") is True

    # WebSocket: the same limits.
    async def ws():
        async with Client(server, reader) as c:
            r = await c.request("send", room=general, text="hello", client_id="c1")
            assert r["type"] == "error" and r["code"] == "forbidden", r
            r = await c.request("history", room=ops)
            assert r["type"] == "error" and r["code"] == "not_found", r
            r = await c.request("history", room=general)
            assert r["type"] == "history", r
            r = await c.request("react", room=general, id="m_1", emoji="👍")
            assert r["type"] == "error" and r["code"] == "forbidden", r
    run(ws())

    st, out, _ = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens/revoke", admin)
    assert st == 200 and out["revoked"] == 2, out
    assert call(server, "GET", f"/api/rooms/{general}/messages", reader)[0] == 401
    assert audit_actions(server, admin, 4, "bot.token_revoke") == ["bot.token_revoke", "bot.token", "bot.token",
                                               "bot.create"]


def test_settings_and_unsubscribe_link_checks(server):
    tok = server.user("fay")
    st, out, _ = call(server, "GET", "/api/settings", tok)
    assert st == 200 and out["settings"] == {"email_digest": True}, out
    # No notify plugin in this server: the client must not offer digests.
    assert out["email_available"] is False, out
    st, out, _ = call(server, "POST", "/api/settings", tok, {"email_digest": False})
    assert st == 200 and out["settings"] == {"email_digest": False}
    assert call(server, "GET", "/api/settings", tok)[1]["settings"]["email_digest"] is False
    for bad in [{"email_digest": "no"}, {"theme": "dark"}]:
        st, out, _ = call(server, "POST", "/api/settings", tok, bad)
        assert st == 400 and out["error"]["code"] == "bad_request", out
    assert call(server, "GET", "/api/settings")[0] == 401
    # Forged unsubscribe links change nothing.
    for q in ["", "?u=u_1", "?u=u_1&s=" + "0" * 64, "?u=u_1%0d&s=" + "0" * 64]:
        st, _, _ = server.http("POST", "/api/unsubscribe" + q)
        assert st == 400, q


def test_cli_invite_prints_a_working_link(server):
    admin = server.user("root", role="admin")
    res = server.cli("invite", "--role", "admin", "--email", "ops@example.org")
    link = res.stdout.strip()
    token = re.search(r"#invite=([A-Za-z0-9_-]{43})$", link).group(1)
    assert "valid until" in res.stderr
    st, out, _ = call(server, "POST", "/api/register",
                      body={"invite": token, "username": "ops", "password": "long enough pw"})
    assert st == 201 and out["user"]["role"] == "admin", out
    entries = call(server, "GET", "/api/admin/audit", admin)[1]["entries"]
    made = [e for e in entries if e["action"] == "invite.create"]
    assert made and made[0]["client"] == "cli" and made[0]["detail"]["role"] == "admin"
    assert [e for e in entries if e["action"] == "user.add" and e["target"] == "root"]
    bad = server.cli("invite", "now", check=False)
    assert bad.returncode == 2 and "invite takes no argument" in bad.stderr


def test_private_rooms_and_dms_stay_private(server):
    tok = server.people("ann", "ben", "cat")

    async def setup():
        async with Client(server, tok["ann"]) as a:
            priv = (await a.request("create_room", name="board", kind="private"))["room"]["id"]
            await a.send_text(priv, "secret plans")
            return priv
    priv = run(setup())

    async def dm_room():
        async with Client(server, tok["ben"]) as b, Client(server, tok["ann"]) as a:
            r = await a.request("dm", user=b.user["id"])
            await a.send_text(r["room"]["id"], "just between us")
            return r["room"]["id"]
    dm = run(dm_room())

    # cat, a member of neither, sees neither: over HTTP and WebSocket alike.
    for room in (priv, dm):
        st, out, _ = call(server, "GET", f"/api/rooms/{room}/messages", tok["cat"])
        assert st == 404 and out["error"]["code"] == "not_found", out
        st, out, _ = call(server, "POST", f"/api/rooms/{room}/messages", tok["cat"], {"text": "hi"})
        assert st == 404, out

    async def cat():
        async with Client(server, tok["cat"]) as c:
            ids = {x["id"] for x in (await c.request("rooms", public=True))["rooms"]}
            ids |= {x["id"] for x in (await c.request("rooms"))["rooms"]}
            assert priv not in ids and dm not in ids
            for room in (priv, dm):
                r = await c.request("history", room=room)
                assert r["type"] == "error" and r["code"] == "not_found", r
                r = await c.request("join", room=room)
                assert r["type"] == "error" and r["code"] in ("not_found", "forbidden"), r
                r = await c.request("members", room=room)
                assert r["type"] == "error" and r["code"] == "not_found", r
    run(cat())
