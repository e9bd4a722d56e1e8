"""Ending a session closes its sockets at once (issue 13, item 11): logout,
password change, disable and bot token revocation close every WebSocket of
the sessions they end with 4401 "session ended", and leave the others."""

import json

from parley_client import Client, run

PW = "correct horse 1"
CLOSE_WITHIN = 2.0  # seconds: "at once", with room for a loaded machine


def call(srv, method, path, token=None, body=None):
    st, _, data = srv.http(method, path, json=body,
                           headers={"Authorization": "Bearer " + token} if token else None)
    return st, json.loads(data) if data else None


async def ended(client):
    code = await client.wait_closed(timeout=CLOSE_WITHIN)
    assert (code, client.close_reason) == (4401, "session ended"), (code, client.close_reason)


async def still_open(client):
    assert (await client.request("ping"))["type"] == "pong"


def test_logout_closes_that_sessions_sockets(server):
    server.add_user("ann")
    gone, kept = server.tokens("ann", "ann")

    async def body():
        async with Client(server, gone) as a1, Client(server, gone) as a2, \
                Client(server, kept) as b:
            st, _ = call(server, "POST", "/api/logout", gone)
            assert st == 204
            await ended(a1)
            await ended(a2)
            await still_open(b)
            # The other session still hears the room; the ended one is gone.
            assert call(server, "GET", "/api/settings", gone)[0] == 401
            assert call(server, "GET", "/api/settings", kept)[0] == 200
    run(body())


def test_password_change_disable_and_revocation_end_sessions(server):
    admin = server.user("root", role="admin")
    server.add_user("bea")
    keep, other = server.tokens("bea", "bea")
    st, out = call(server, "POST", "/api/admin/bots", admin, {"name": "cron-bot"})
    bot_id = out["user"]["id"]
    st, out = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens", admin,
                   {"scopes": ["read"]})
    bot = out["token"]
    users = {u["name"]: u["id"] for u in call(server, "GET", "/api/admin/users", admin)[1]["users"]}

    async def body():
        async with Client(server, keep) as k, Client(server, other) as o, \
                Client(server, bot) as b, Client(server, admin) as a:
            st, out = call(server, "POST", "/api/password/change", keep,
                           {"old_password": PW, "new_password": "a middle password"})
            assert st == 200, out
            await ended(o)
            await still_open(k)

            st, out = call(server, "POST", f"/api/admin/bots/{bot_id}/tokens/revoke", admin)
            assert st == 200 and out["revoked"] == 1, out
            await ended(b)

            st, out = call(server, "POST", f"/api/admin/users/{users['bea']}/disable", admin)
            assert st == 200, out
            await ended(k)
            await still_open(a)
    run(body())
