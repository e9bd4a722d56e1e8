"""Offline mention and DM digests (notify_email's digest_delay), their
timing, the unsubscribe link they carry, and who gets none."""

import re
import time

from parley_client import Client, run
from test_email import email_plugins, lua_str, sinks  # noqa: F401 (fixture)


def start(server_factory, sinks, delay=1):
    sink = sinks().start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', digest_delay=str(delay),
        **{"from": '"chat@example.org"'}))
    return server, sink


def people(server):
    server.add_user("alice", email="alice@example.org")
    server.add_user("carol", email="carol@example.org")
    server.add_user("dave")  # no address
    tok = dict(zip(("alice", "carol", "dave"), server.tokens("alice", "carol", "dave")))

    async def visit():  # each has been online once, then left
        for t in tok.values():
            async with Client(server, t):
                pass
    run(visit())
    return tok


def general(c):
    async def ids():
        r = await c.request("rooms")
        return {x["name"]: x["id"] for x in r["rooms"]}
    return ids()


def test_digest_gathers_mentions_and_dms_after_the_delay(server_factory, sinks):
    server, sink = start(server_factory, sinks, delay=2)
    tok = people(server)

    async def body():
        async with Client(server, tok["alice"]) as a:
            rooms = await general(a)
            await a.send_text(rooms["general"], "@carol can you look at <b>this</b> & that?")
            await a.send_text(rooms["general"], "@dave too (no address: no mail)")
            dm = await a.request("dm", user="carol")
            assert dm["type"] == "room", dm
            await a.send_text(dm["room"]["id"], "private word for carol")
            await a.send_text(rooms["general"], "nobody mentioned here")
            return rooms["general"]
    room = run(body())
    sent = time.monotonic()
    time.sleep(0.8)
    assert sink.messages() == [], "the digest waits for digest_delay"
    msgs = sink.wait_messages(1)
    assert time.monotonic() - sent >= 1.5
    assert len(msgs) == 1, [m["To"] for m, _ in msgs]
    msg, env = msgs[0]
    assert env["rcpt_tos"] == ["carol@example.org"]
    assert msg["Subject"].startswith("2 message(s) for you")
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "can you look at <b>this</b> & that?" in plain
    assert "private word for carol" in plain and "nobody mentioned" not in plain
    assert "&lt;b&gt;this&lt;/b&gt; &amp; that?" in html and "<b>this</b>" not in html
    assert f"#room={room}" in html
    unsub = msg["List-Unsubscribe"].strip("<>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsub in plain

    # The link: GET only shows a button; POST (one-click) turns digests off.
    path = unsub[unsub.index("/api/"):]
    status, _, page = server.http("GET", path)
    assert status == 200 and b"<form method=\"post\"" in page
    assert server.http("GET", "/api/settings",
                       headers={"Authorization": "Bearer " + tok["carol"]})[2].find(b"true") > 0
    status, _, page = server.http("POST", path, body="List-Unsubscribe=One-Click",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and b"Unsubscribed" in page, page
    status, _, data = server.http("GET", "/api/settings",
                                  headers={"Authorization": "Bearer " + tok["carol"]})
    assert b'"email_digest":false' in data
    # A link for carol does not unsubscribe alice.
    forged = re.sub(r"u=u_\d+", "u=u_1", path)
    assert server.http("POST", forged)[0] == 400

    async def again():
        async with Client(server, tok["alice"]) as a:
            await a.send_text(room, "@carol once more")
    run(again())
    server.wait_log("digest_skipped", timeout=10)
    assert len(sink.messages()) == 1


def test_no_digest_for_people_online_or_back_in_time(server_factory, sinks):
    server, sink = start(server_factory, sinks, delay=1)
    tok = people(server)

    async def body():
        async with Client(server, tok["carol"]) as c, Client(server, tok["alice"]) as a:
            rooms = await general(a)
            await a.send_text(rooms["general"], "@carol you are here")
            await c.request("ping")
        # carol is gone now; she comes back before the delay ends.
        async with Client(server, tok["alice"]) as a:
            await a.send_text(rooms["general"], "@carol and now?")
        async with Client(server, tok["carol"]) as c:
            time.sleep(1.5)
            await c.request("ping")
    run(body())
    server.wait_log("digest_skipped", timeout=10)
    time.sleep(0.5)
    assert sink.messages() == []


def test_digests_can_be_turned_off_in_the_config(server_factory, sinks):
    server, sink = start(server_factory, sinks, delay=0)
    tok = people(server)

    async def body():
        async with Client(server, tok["alice"]) as a:
            rooms = await general(a)
            await a.send_text(rooms["general"], "@carol hello")
    run(body())
    time.sleep(1.5)
    assert sink.messages() == []


def test_digest_leaves_out_rooms_whose_level_is_none(server_factory, sinks):
    """Issue 15: a room set to "none" sends no digest mail; "mentions" still does."""
    server, sink = start(server_factory, sinks, delay=1)
    tok = people(server)

    async def quiet():
        async with Client(server, tok["alice"]) as a, Client(server, tok["carol"]) as c:
            rooms = await general(c)
            noisy = (await a.request("create_room", name="noisy"))["room"]["id"]
            assert (await c.request("join", room=noisy))["type"] == "room"
            r = await c.request("notify", room=rooms["general"], level="none")
            assert r["type"] == "ok", r
            r = await c.request("notify", room=noisy, level="mentions")
            assert r["type"] == "ok", r
            return rooms["general"], noisy
    room, noisy = run(quiet())

    async def body():
        async with Client(server, tok["alice"]) as a:
            await a.send_text(room, "@carol in a room she silenced")
            await a.send_text(noisy, "@carol in a room on mentions")
            dm = await a.request("dm", user="carol")
            await a.send_text(dm["room"]["id"], "a direct word")
    run(body())
    msgs = sink.wait_messages(1)
    assert len(msgs) == 1
    msg, env = msgs[0]
    assert env["rcpt_tos"] == ["carol@example.org"]
    assert msg["Subject"].startswith("2 message(s) for you"), msg["Subject"]
    plain = msg.get_body(("plain",)).get_content()
    assert "room on mentions" in plain and "a direct word" in plain
    assert "silenced" not in plain

    # Only messages of a silenced room: no mail at all.
    async def only_quiet():
        async with Client(server, tok["alice"]) as a:
            await a.send_text(room, "@carol silenced again")
    run(only_quiet())
    line = server.wait_log("digest_skipped", timeout=10)
    assert "notifications of these rooms turned off" in line["msg"], line
    time.sleep(0.3)
    assert len(sink.messages()) == 1
