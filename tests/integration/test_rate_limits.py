"""Per-user rate limits (issue 13, item 13): token buckets for send, react,
create_room and join (`limits.rates`, `limits.bot_rates` for bots), the
`rate_limited` error with `retry_after_ms`, and the public room list in
pages (`after`, `limit`, `more`)."""

import asyncio
import json
import time

from parley_client import Client, run

# Small buckets so that a test runs in a second: 3 at once, 4 a second.
SMALL = ("rates = { send = { per_s = 4, burst = 3 }, react = { per_s = 4, burst = 3 },"
         " create_room = { per_s = 4, burst = 3 }, join = { per_s = 4, burst = 3 } },"
         " bot_rates = { send = { per_s = 4, burst = 6 } }")


def is_limited(r):
    return r.get("type") == "error" and r.get("code") == "rate_limited"


def test_send_burst_then_rate_limited_with_a_retry_time(server_factory):
    server = server_factory(limits=SMALL)
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            replies = [await a.send_text(g, f"m{i}") for i in range(5)]
            assert [r["type"] for r in replies[:3]] == ["ack"] * 3, replies
            limited = [r for r in replies[3:] if is_limited(r)]
            assert limited, replies
            retry = limited[0]["retry_after_ms"]
            assert isinstance(retry, int) and 0 < retry <= 250, limited[0]
            # Per user: bob's bucket is his own.
            assert (await b.send_text(g, "bob is fine"))["type"] == "ack"
            # A second session of alice shares her bucket.
            async with Client(server, tok["alice"]) as a2:
                assert is_limited(await a2.send_text(g, "me again"))
            await asyncio.sleep(retry / 1000 + 0.05)
            assert (await a.send_text(g, "after the wait"))["type"] == "ack"

    run(body())


def test_react_create_room_and_join_are_limited(server_factory):
    server = server_factory(limits=SMALL)
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            g = a.room_id("general")
            m = await a.send_text(g, "react to me")
            reacts = [await b.request("react", room=g, id=m["id"], emoji=f":e{i}:")
                      for i in range(5)]
            assert [r["type"] for r in reacts[:3]] == ["ok"] * 3, reacts
            assert any(is_limited(r) for r in reacts[3:]), reacts
            made = [await a.request("create_room", name=f"room{i}") for i in range(5)]
            assert [r["type"] for r in made[:3]] == ["room"] * 3, made
            assert any(is_limited(r) for r in made[3:]), made
            ids = [r["room"]["id"] for r in made if r["type"] == "room"]
            joins = [await b.request("join", room=ids[i % len(ids)]) for i in range(5)]
            assert [r["type"] for r in joins[:3]] == ["room"] * 3, joins
            assert any(is_limited(r) for r in joins[3:]), joins

    run(body())


def test_bots_have_their_own_rates_and_http_posts_count(server_factory):
    server = server_factory(limits=SMALL)
    admin = server.user("root", role="admin")
    st, _, data = server.http("POST", "/api/admin/bots", json={"name": "hook-bot"},
                              headers={"Authorization": f"Bearer {admin}"})
    bot = json.loads(data)["user"]["id"]
    st, _, data = server.http("POST", f"/api/admin/bots/{bot}/tokens",
                              json={"scopes": "read,post"},
                              headers={"Authorization": f"Bearer {admin}"})
    token = json.loads(data)["token"]

    async def general():
        async with Client(server, admin) as c:
            g = c.room_id("general")
            assert (await c.request("invite", room=g, user=bot))["type"] == "ok"
            return g
    g = run(general())
    statuses, bodies = [], []
    for i in range(8):
        st, headers, data = server.http("POST", f"/api/rooms/{g}/messages",
                                        json={"text": f"hook {i}"},
                                        headers={"Authorization": f"Bearer {token}"})
        statuses.append(st)
        bodies.append((headers, data))
    # bot_rates.send has a burst of 6 (people's is 3).
    assert statuses[:6] == [200] * 6, statuses
    assert 429 in statuses[6:], statuses
    headers, data = bodies[statuses.index(429)]
    err = json.loads(data)["error"]
    assert err["code"] == "rate_limited" and err["retry_after_ms"] > 0, err
    assert int(headers["retry-after"]) >= 1


def test_default_rates_apply_without_config(server_factory):
    # `rates = {}`: the defaults (send: 20 at once, then 5 a second).
    server = server_factory(limits="rates = {}")
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            replies = await a.send_many(g, [f"m{i}" for i in range(30)], window=30)
            acks = sum(1 for r in replies if r["type"] == "ack")
            assert 20 <= acks < 30, [r["type"] for r in replies]
            assert all(r["type"] == "ack" or is_limited(r) for r in replies)

    run(body())


def test_rates_false_turns_them_off(server_factory):
    server = server_factory(limits="rates = false")
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]) as a:
            g = a.room_id("general")
            replies = await a.send_many(g, [f"m{i}" for i in range(60)], window=30)
            assert all(r["type"] == "ack" for r in replies)

    run(body())


def test_bad_rate_config_is_refused(server_factory):
    for bad in ("rates = { send = { per_s = -1 } }", "rates = { send = { burst = 0 } }",
                "rates = { send = { per_s = 1, bust = 2 } }", "rates = true",
                "rates = { sned = { per_s = 1 } }"):
        srv = server_factory(limits=bad, expect_fail=True)
        assert "rates" in srv.output_text, (bad, srv.output_text[-500:])


def test_public_room_list_pages(server_factory):
    server = server_factory(limits="rates = false")
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["alice"]) as a, Client(server, tok["bob"]) as b:
            made = {(await a.request("create_room", name=f"pub{i:02}"))["room"]["id"]
                    for i in range(12)}
            await a.request("create_room", name="hidden", kind="private")
            # An old client (no limit) gets every room of a small server.
            old = await b.request("rooms", public=True)
            everything = {r["id"] for r in old["rooms"]}
            assert made <= everything and old["more"] is False, old
            assert all(r["kind"] == "public" for r in old["rooms"])
            # Pages of 5 in id order, each once.
            seen, after = [], None
            while True:
                page = await b.request("rooms", public=True, limit=5, after=after)
                assert page["type"] == "rooms" and len(page["rooms"]) <= 5, page
                seen += [r["id"] for r in page["rooms"]]
                if not page["more"]:
                    break
                after = page["rooms"][-1]["id"]
            assert seen == sorted(seen) and len(seen) == len(set(seen))
            assert set(seen) == everything
            for bad in ({"limit": 0}, {"limit": 501}, {"after": 5}):
                r = await b.request("rooms", public=True, **bad)
                assert r["type"] == "error" and r["code"] == "bad_request", (bad, r)

    run(body())
