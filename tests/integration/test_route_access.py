"""Every HTTP route against a minimal bot token (issue 13, item 5).

The routes come from the router's table in core/api/api.c, so a route added
there is walked here without anyone remembering to: a route nobody may call
without an account must be listed in PUBLIC on purpose, and every other one
must refuse a token that may only read one room, except the few that such a
token may use (ALLOWED)."""

import json
import os
import re
import urllib.parse

from conftest import SOURCE_DIR
from parley_client import Client, run

PLUGINS = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
           ' {"store_sqlite"}, {"uploads_local", dir = "files"} }')
ROW = re.compile(r'^\s*\{"(GET|HEAD|POST|PATCH|DELETE)",\s*"([^"]+)",\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+)\},',
                 re.M)

# Routes the router lets anyone reach (each checks what it needs itself).
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/ws"),
          ("POST", "/api/login"), ("POST", "/api/register"), ("POST", "/api/logout"),
          ("POST", "/api/password/forgot"), ("POST", "/api/password/reset"),
          ("GET", "/api/unsubscribe"), ("POST", "/api/unsubscribe"),
          # Browser sign-in: before any session exists (test_oidc.py).
          ("GET", "/api/auth/methods"), ("GET", "/api/oidc/login"), ("GET", "/api/oidc/callback")}
# What a token with scopes ["read"] limited to one room may use, with the
# {id} of that room or of a file posted there.
# Search is within a read token's scope: it answers 200, searching only the
# token's rooms (test_search.py checks what it finds).
# Profiles and avatars: of the people of its rooms only ({id}: a user).
ALLOWED = {("GET", "/api/commands"), ("GET", "/api/search"), ("GET", "/api/rooms/{id}/messages"),
           ("GET", "/api/uploads/{id}"), ("HEAD", "/api/uploads/{id}"),
           ("GET", "/api/users/{id}/profile"), ("GET", "/api/users/{id}/avatar")}


def route_table():
    text = open(os.path.join(SOURCE_DIR, "core", "api", "api.c")).read()
    start = text.index("routes[] = {")
    table = text[start:text.index("};", start)]
    rows = ROW.findall(table)
    # Every row of the table was understood: none escapes the walk.
    assert len(rows) == table.count('{"'), "a row of the route table does not parse"
    assert len(rows) >= 30, rows
    return [(m, p) for m, p, *_ in rows]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def call(srv, method, path, token=None, body=None, headers=None):
    hdrs = dict(bearer(token) if token else {})
    hdrs.update(headers or {})
    if isinstance(body, (dict, list)):
        st, h, data = srv.http(method, path, json=body, headers=hdrs)
    else:
        st, h, data = srv.http(method, path, body=body, headers=hdrs)
    try:
        return st, json.loads(data) if data else None
    except ValueError:
        return st, data


def upload(srv, token, data, name="notes.txt"):
    return call(srv, "POST", "/api/uploads", token, data,
                {"X-Filename": urllib.parse.quote(name),
                 "Content-Type": "application/octet-stream"})


# A body each POST route accepts, so a refusal is about access, not syntax.
BODIES = {
    "/api/rooms/{id}/messages": {"text": "from a bot that may only read"},
    "/api/password/change": {"old_password": "correct horse 1", "new_password": "a new long pw"},
    "/api/settings": {"email_digest": False},
    "/api/profile": {"pronouns": "they/them"},
    "/api/admin/users/{id}/profile": {"pronouns": "they/them"},
    "/api/profile/avatar": b"not even a picture",
    "/api/admin/users/{id}/role": {"role": "admin"},
    "/api/admin/invites": {"role": "admin"},
    "/api/admin/bots": {"name": "second-bot"},
    "/api/admin/bots/{id}/tokens": {"scopes": ["read", "post", "react", "moderate"]},
}


def test_every_route_checks_scope_and_rooms(server_factory):
    srv = server_factory(plugins=PLUGINS)
    admin = srv.user("root", role="admin")
    st, out = call(srv, "POST", "/api/admin/bots", admin, {"name": "reader-bot"})
    assert st == 201, out
    bot_id = out["user"]["id"]
    # Someone only in the room outside the token's list.
    st, out = call(srv, "POST", "/api/admin/bots", admin, {"name": "outsider"})
    outsider_id = out["user"]["id"]

    async def setup():
        async with Client(srv, admin) as c:
            ids = {}
            for name in ("inside", "outside"):
                r = await c.request("create_room", name=name, kind="private")
                ids[name] = r["room"]["id"]
                r = await c.request("invite", room=ids[name], user=bot_id)
                assert r["type"] != "error", r
            r = await c.request("invite", room=ids["outside"], user=outsider_id)
            assert r["type"] != "error", r
            files = {}
            for name in ("inside", "outside"):
                st, up = upload(srv, admin, f"a file for {name}\n".encode())
                assert st == 201, up
                ack = await c.send_text(ids[name], "file", attachments=[up["id"]])
                assert ack["type"] == "ack", ack
                files[name] = up["id"]
            return ids, files
    rooms, files = run(setup())

    st, out = call(srv, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                   {"scopes": ["read"], "rooms": [rooms["inside"]]})
    assert st == 201, out
    reader = out["token"]

    def path_for(pattern, where):
        if "{id}" not in pattern:
            return pattern
        if pattern.startswith("/api/rooms/"):
            value = rooms[where]
        elif pattern.startswith("/api/uploads/"):
            value = files[where]
        elif pattern.startswith(("/api/admin/users/", "/api/admin/bots/")):
            value = bot_id
        elif pattern.startswith("/api/users/"):
            value = bot_id if where == "inside" else outsider_id
        else:
            value = "inv_unknown"
        return pattern.replace("{id}", value)

    invites_before = call(srv, "GET", "/api/admin/invites", admin)[1]["invites"]
    table = route_table()
    assert PUBLIC <= set(table), "a public route left the table: update PUBLIC"
    walked = 0
    for method, pattern in table:
        if (method, pattern) in PUBLIC:
            continue
        walked += 1
        path = path_for(pattern, "outside")
        if pattern == "/api/search":
            path += "?q=anything"
        if pattern == "/api/uploads":
            body, hdrs = b"a bot that may only read uploads nothing\n", {
                "X-Filename": "x.txt", "Content-Type": "application/octet-stream"}
        else:
            body, hdrs = BODIES.get(pattern), None
        # Without a credential: 401, whatever the route.
        st, out = call(srv, method, path, None, body, hdrs)
        assert st == 401, (method, pattern, st, out)
        st, out = call(srv, method, path, reader, body, hdrs)
        if pattern == "/api/search" and "search" in srv.store_members_missing():
            # Past the scope check, to a store without the member.
            assert st == 503 and out["error"]["code"] == "unavailable", (pattern, st, out)
            continue
        if (method, pattern) in ALLOWED and "{id}" not in pattern:
            assert st == 200, (method, pattern, st, out)
            continue
        # Outside its scope (403) or outside its rooms (404): never done.
        assert st in (403, 404), (method, pattern, st, out)
        if method != "HEAD":
            assert out["error"]["code"] in ("forbidden", "not_found"), (method, pattern, out)
        if (method, pattern) in ALLOWED:
            # The same route in its own room works.
            st, out = call(srv, method, path_for(pattern, "inside"), reader, body, hdrs)
            assert st == 200, (method, pattern, st, out)
    assert walked >= 20, walked

    # Nothing the walk tried happened.
    st, out = call(srv, "GET", "/api/admin/users", admin)
    bot = [u for u in out["users"] if u["id"] == bot_id][0]
    assert bot["role"] == "bot" and not bot["disabled"], bot
    st, out = call(srv, "GET", f"/api/rooms/{rooms['outside']}/messages", admin)
    assert [m["text"] for m in out["messages"]] == ["file"], out
    st, out = call(srv, "GET", "/api/admin/invites", admin)
    assert out["invites"] == invites_before, out
    st, out = call(srv, "GET", f"/api/rooms/{rooms['inside']}/messages", reader)
    assert st == 200 and [m["text"] for m in out["messages"]] == ["file"], out


def test_bot_token_files_follow_scope_and_rooms(server_factory):
    """The two holes found: a read-only token uploaded, and a token limited
    to one room downloaded a file of another (private) room it is in."""
    srv = server_factory(plugins=PLUGINS)
    admin = srv.user("root", role="admin")
    st, out = call(srv, "POST", "/api/admin/bots", admin, {"name": "files-bot"})
    bot_id = out["user"]["id"]

    async def setup():
        async with Client(srv, admin) as c:
            ids = {}
            for name in ("ci", "payroll"):
                ids[name] = (await c.request("create_room", name=name,
                                             kind="private"))["room"]["id"]
                await c.request("invite", room=ids[name], user=bot_id)
            st, up = upload(srv, admin, b"salaries\n", name="payroll.txt")
            assert st == 201, up
            ack = await c.send_text(ids["payroll"], "numbers", attachments=[up["id"]])
            assert ack["type"] == "ack", ack
            return ids, up["id"]
    rooms, payroll_file = run(setup())
    tokens = {}
    for name, body in (("reader", {"scopes": ["read"], "rooms": [rooms["ci"]]}),
                       ("poster", {"scopes": ["read", "post"], "rooms": [rooms["ci"]]}),
                       ("anywhere", {"scopes": ["read"]})):
        st, out = call(srv, "POST", f"/api/admin/bots/{bot_id}/tokens", admin, body)
        assert st == 201, out
        tokens[name] = out["token"]

    st, out = upload(srv, tokens["reader"], b"build log\n")
    assert st == 403 and out["error"]["code"] == "forbidden", out
    st, out = upload(srv, tokens["poster"], b"build log\n")
    assert st == 201, out
    url = f"/api/uploads/{payroll_file}"
    st, out = call(srv, "GET", url, tokens["reader"])
    assert st == 404 and out["error"]["code"] == "not_found", out
    assert call(srv, "HEAD", url, tokens["reader"])[0] == 404
    # Without a room list, the bot's membership decides, as for a person.
    st, data = call(srv, "GET", url, tokens["anywhere"])
    assert st == 200 and data == b"salaries\n", (st, data)
