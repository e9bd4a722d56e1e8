"""Bad input gets a clear error and nothing else (PROTOCOL.md "Transport",
"Requests, replies, events"; issue 3 "Bad input"). Each test ends by
checking that two other users still chat on the same server."""

import socket
import struct
import time

import pytest

from parley_client import OP_CLOSE, Client, RawWS, raw_http, read_until_closed, run

SHORT = "auth_timeout = 1, header_timeout = 1"


@pytest.fixture
def srv(server_factory):
    s = server_factory(limits=SHORT)
    s.tok = s.people("alice", "bob")
    yield s
    run(still_chatting(s))


async def still_chatting(s):
    async with Client(s, s.tok["alice"]) as a, Client(s, s.tok["bob"]) as b:
        g = a.room_id("general")
        m = await a.send_text(g, "still here")
        assert m["type"] == "ack", m
        assert (await b.next_event("message", id=m["id"]))["text"] == "still here"


def err(r, code):
    return r.get("type") == "error" and r.get("code") == code


def test_invalid_json_keeps_the_connection(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            await a.raw_send('{"type":"rooms","rid":')
            e = await a.next_event("error")
            assert e["code"] == "bad_request", e
            await a.raw_send("[1,2,3]")
            e = await a.next_event("error")
            assert e["code"] == "bad_request", e
            assert (await a.request("rooms"))["type"] == "rooms"

    run(body())


def test_missing_and_unknown_type(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            await a.send_frame({"rid": 5, "room": "x"})
            e = await a.wait_frame(lambda f: f.get("type") == "error")
            assert e["code"] == "bad_request" and e.get("rid") == 5, e
            r = await a.request("frobnicate")
            assert err(r, "bad_request"), r
            assert (await a.request("rooms"))["type"] == "rooms"

    run(body())


def test_wrong_field_type_names_the_field(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            g = a.room_id("general")
            r = await a.request("send", room=g, text=5, client_id="c1")
            assert err(r, "bad_request") and "text" in r["message"], r
            r = await a.request("send", room=["general"], text="hi", client_id="c2")
            assert err(r, "bad_request") and "room" in r["message"], r
            r = await a.request("history", room=g, limit="ten")
            assert err(r, "bad_request") and "limit" in r["message"], r
            r = await a.request("send", text="hi", client_id="c3")
            assert err(r, "bad_request") and "room" in r["message"], r
            assert (await a.send_text(g, "ok now"))["type"] == "ack"

    run(body())


def test_rid_echoed_as_sent(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            for rid in ("abc-1", 77, 0, "77"):
                await a.send_frame({"type": "rooms", "rid": rid})
                f = await a.wait_frame(lambda f, rid=rid: f.get("type") == "rooms"
                                       and f.get("rid") == rid and type(f["rid"]) is type(rid))
                assert f["rid"] == rid
            # Over 64 chars: refused (the error may or may not echo it).
            await a.send_frame({"type": "rooms", "rid": "x" * 65})
            e = await a.wait_frame(lambda f: f.get("type") in ("error", "rooms")
                                   and f.get("rid") in (None, "x" * 65))
            assert err(e, "bad_request"), e
            assert (await a.request("rooms"))["type"] == "rooms"

    run(body())


def test_requests_before_auth(srv):
    async def body():
        c = Client(srv, auth=False)
        await c.connect()
        r = await c.request("rooms")
        assert err(r, "unauthorized"), r
        await c.close()

        c = Client(srv, auth=False)
        await c.connect()
        r = await c.auth(token="not-a-token")
        assert err(r, "unauthorized"), r
        await c.close()

        c = Client(srv, auth=False)
        await c.connect()
        t0 = time.monotonic()
        code = await c.wait_closed(timeout=6)
        assert code == 4401, (code, c.close_reason)
        assert time.monotonic() - t0 < 5

    run(body())


def test_binary_frame_is_refused_with_1003(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            await a.raw_send(b'{"type":"rooms","rid":1}')
            assert await a.wait_closed() == 1003

    run(body())


def test_oversized_frame_is_refused_with_1009(srv):
    async def body():
        async with Client(srv, srv.tok["alice"]) as a:
            limit = a.ready["server"]["limits"]["max_frame"]
            await a.raw_send('{"type":"rooms","pad":"' + "x" * limit + '"}')
            assert await a.wait_closed() == 1009

    run(body())


def test_oversized_fragmented_message_is_refused(srv):
    ws = RawWS(srv.port)
    assert ws.handshake() == 101
    ws.auth(srv.tok["alice"])
    chunk = b"x" * 40000
    ws.send_frame(0x1, b'{"type":"rooms","pad":"' + chunk, fin=False)
    ws.send_frame(0x0, chunk, fin=False)
    ws.send_frame(0x0, b'"}', fin=True)
    try:
        while True:
            op, payload = ws.recv_frame()
            if op == OP_CLOSE:
                break
    finally:
        ws.close()
    assert struct.unpack("!H", payload[:2])[0] == 1009, payload


def test_malformed_http_request(srv):
    data, closed = raw_http(srv.port, b"GARBAGE\x01 / HTTP/9\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400"), data[:100]
    assert closed


def test_oversized_body_gets_413(srv):
    head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n")
    data, closed = raw_http(srv.port, head + b"{" * 1000)
    assert data.startswith(b"HTTP/1.1 413"), data[:100]
    assert closed


def test_oversized_header_is_refused(srv):
    data, closed = raw_http(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100000
                            + b"\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 431") or data.startswith(b"HTTP/1.1 400"), data[:100]
    assert closed


def test_slow_header_is_cut_off(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall(b"GET /index.ht")
        t0 = time.monotonic()
        data, closed = read_until_closed(s, 6)
        assert closed, "a slow header was waited for"
        assert time.monotonic() - t0 < 5
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:100]
    finally:
        s.close()
