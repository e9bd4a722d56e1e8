"""An asyncio parley.v1 client for the integration tests (python3-websockets).

Design: one reader task takes every frame off the socket. Frames with a
`rid` are replies and are filed by rid for the request that waits on them;
frames without one are events, kept in arrival order in `events` (all of
them) and in a queue that `next_event` consumes from, leaving what it does
not match. `frames` keeps everything in arrival order, so a test can compare
the order of a reply and an event. Nothing here raises on a protocol error
frame: tests assert on what the server sent.
"""

import asyncio
import base64
import hashlib
import itertools
import json
import os
import socket
import struct
import time
import uuid

import websockets

DEFAULT_TIMEOUT = 5.0  # s for any single reply or event
MAX_FRAME_IN = 1 << 24  # what we accept from the server


def run(coro, timeout=120):
    """asyncio.run with an overall bound, for the synchronous tests."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def new_client_id():
    return str(uuid.uuid4())


class ClientClosed(Exception):
    """The connection closed while a test was waiting for something."""


def _key(rid):
    # 5 and "5" are different rids: a server must echo the type it got.
    return (type(rid).__name__, rid)


class Client:
    def __init__(self, server, token=None, resume=None, headers=None, auth=True,
                 subprotocols=("parley.v1",), max_size=MAX_FRAME_IN, url=None, ssl=None):
        self.server = server
        self.token = token
        self.resume = resume
        self.headers = dict(headers or {})
        self.do_auth = auth
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.max_size = max_size
        self.url = url or server.ws_url
        self.ssl = ssl  # an ssl.SSLContext for wss:// urls
        self.ws = None
        self.ready = None
        self.frames = []  # every frame, in arrival order
        self.events = []  # every event (no rid), in arrival order
        self._queue = []  # events not yet taken by next_event
        self._replies = {}
        self._rids = itertools.count(1)
        self._cond = asyncio.Condition()
        self._reader = None
        self.closed = False
        self.close_code = None
        self.close_reason = None

    # -- connection --------------------------------------------------------

    async def connect(self):
        self.ws = await websockets.connect(
            self.url, subprotocols=self.subprotocols, extra_headers=self.headers,
            max_size=self.max_size, compression=None, ping_interval=None,
            open_timeout=DEFAULT_TIMEOUT, close_timeout=2,
            **({"ssl": self.ssl} if self.ssl is not None else {}))
        self._reader = asyncio.ensure_future(self._read())

    async def __aenter__(self):
        await self.connect()
        if self.do_auth:
            reply = await self.auth()
            if reply.get("type") != "ready":
                await self.close()
                raise AssertionError(f"auth failed: {reply}")
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def auth(self, token=None, resume=None, **fields):
        """Sends the auth frame; returns the reply (ready or error)."""
        token = token if token is not None else self.token
        resume = resume if resume is not None else self.resume
        if token is not None:
            fields["token"] = token
        if resume is not None:
            fields["resume"] = resume
        reply = await self.request("auth", **fields)
        if reply.get("type") == "ready":
            self.ready = reply
        return reply

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except (ValueError, TypeError):
                    frame = {"type": "_unparsable", "raw": raw}
                async with self._cond:
                    self.frames.append(frame)
                    if isinstance(frame, dict) and "rid" in frame:
                        self._replies[_key(frame["rid"])] = frame
                    else:
                        self.events.append(frame)
                        self._queue.append(frame)
                    self._cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._cond:
                self.closed = True
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason
                self._cond.notify_all()

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, DEFAULT_TIMEOUT)
            except asyncio.TimeoutError:
                self._reader.cancel()

    async def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits until the server closes the connection; returns the code."""
        await self._wait(lambda: self.closed, timeout, "the connection to close")
        return self.close_code

    # -- waiting -------------------------------------------------------------

    async def _wait(self, pred, timeout, what, closed_ok=True):
        def check():
            v = pred()
            if v:
                return v
            if self.closed and not closed_ok:
                raise ClientClosed(f"closed ({self.close_code} {self.close_reason!r}) "
                                   f"while waiting for {what}")
            return v

        async with self._cond:
            try:
                return await asyncio.wait_for(self._cond.wait_for(check), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None

    async def reply(self, rid, timeout=DEFAULT_TIMEOUT):
        """The reply with this rid (waits for it)."""
        k = _key(rid)
        return await self._wait(lambda: self._replies.pop(k, None), timeout,
                                f"the reply to rid {rid!r}", closed_ok=False)

    async def request(self, type, timeout=DEFAULT_TIMEOUT, **fields):
        """Sends {type, rid, **fields} and returns the reply with that rid."""
        rid = await self.send_request(type, **fields)
        return await self.reply(rid, timeout)

    async def send_request(self, type, **fields):
        """Sends a request without waiting; returns its rid (see reply()).
        Fields that are None are left out."""
        rid = fields.pop("rid", None)
        if rid is None:
            rid = next(self._rids)
        frame = {"type": type, "rid": rid}
        frame.update({k: v for k, v in fields.items() if v is not None})
        await self.ws.send(json.dumps(frame, ensure_ascii=False))
        return rid

    async def send_text(self, room, text, client_id=None, timeout=DEFAULT_TIMEOUT, **extra):
        """send; returns the reply (an ack, or an error frame)."""
        return await self.request("send", timeout=timeout, room=room, text=text,
                                  client_id=client_id or str(uuid.uuid4()), **extra)

    async def send_many(self, room, texts, window=16, timeout=30):
        """Sends every text with up to `window` requests in flight; returns
        the replies in the order of texts."""
        sem = asyncio.Semaphore(window)

        async def one(text):
            async with sem:
                rid = await self.send_request("send", room=room, text=text,
                                              client_id=new_client_id())
                return await self.reply(rid, timeout)

        return await asyncio.gather(*(one(t) for t in texts))

    async def send_frame(self, obj):
        """Sends a frame as is (no rid added)."""
        await self.ws.send(json.dumps(obj, ensure_ascii=False))

    async def raw_send(self, data):
        """Sends a str (text frame) or bytes (binary frame) as is."""
        await self.ws.send(data)

    @staticmethod
    def _matches(ev, type, match, where=None):
        if not isinstance(ev, dict):
            return False
        if type is not None and ev.get("type") != type:
            return False
        if where is not None and not where(ev):
            return False
        return all(ev.get(k) == v for k, v in match.items())

    async def next_event(self, type=None, timeout=DEFAULT_TIMEOUT, where=None, **match):
        """Takes the first queued event of this type whose fields equal
        match (and for which where(event) is true); the others stay queued."""

        def find():
            for i, ev in enumerate(self._queue):
                if self._matches(ev, type, match, where):
                    return self._queue.pop(i)
            return None

        return await self._wait(find, timeout, f"event {type} {match}", closed_ok=False)

    async def wait_frame(self, where, timeout=DEFAULT_TIMEOUT):
        """The first frame received (reply or event, not consumed) for
        which where(frame) is true."""

        def find():
            return next((f for f in self.frames if isinstance(f, dict) and where(f)), None)

        return await self._wait(find, timeout, "a matching frame", closed_ok=False)

    def queued(self, type=None, where=None, **match):
        """The queued (not yet taken) events that match."""
        return [ev for ev in self._queue if self._matches(ev, type, match, where)]

    def drain(self, type=None, where=None):
        """Drops queued events (of this type, or all; and for which
        where(event) is true, when given)."""
        self._queue = [ev for ev in self._queue
                       if not ((type is None or ev.get("type") == type)
                               and (where is None or where(ev)))]

    # -- helpers ---------------------------------------------------------------

    @property
    def user(self):
        return self.ready["user"]

    def room_id(self, name):
        for r in self.ready["rooms"]:
            if r.get("name") == name:
                return r["id"]
        raise AssertionError(f"no room named {name!r} in ready: {self.ready['rooms']}")

    async def history(self, room, **fields):
        return await self.request("history", room=room, **fields)


# -- raw sockets: for what a well-behaved library will not do -----------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def raw_http(port, data, timeout=5.0):
    """Sends bytes on a fresh TCP connection and reads until the server
    closes it (or timeout); returns (bytes read, closed_by_server)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        return read_until_closed(s, timeout)
    finally:
        s.close()


def read_until_closed(s, timeout):
    """Reads until EOF; returns (data, True) or (data, False) on timeout."""
    out = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return out, False
        except ConnectionResetError:
            return out, True
        if not chunk:
            return out, True
        out += chunk


class RawWS:
    """A WebSocket client on a plain socket, handshake done by hand."""

    def __init__(self, port, rcvbuf=None, timeout=5.0, ssl=None, server_hostname="localhost"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Before connect, so the window the server sees is small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        if ssl is not None:  # an ssl.SSLContext: speak wss://
            self.sock = ssl.wrap_socket(self.sock, server_hostname=server_hostname)
        self.port = port
        self.buf = b""

    def handshake(self, headers=None, subprotocol="parley.v1"):
        """Sends the upgrade; returns the status code (101 on success)."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /ws HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        if status == 101:
            want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest())
            assert want.lower() in head.lower(), "bad Sec-WebSocket-Accept"
        return status

    def send_frame(self, opcode, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + body)

    def send_json(self, obj):
        self.send_frame(OP_TEXT, json.dumps(obj).encode())

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buf += chunk

    def recv_frame(self):
        """(opcode, payload) of the next frame (server frames are unmasked)."""
        self._need(2)
        op, ln = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        off = 2
        if ln == 126:
            self._need(4)
            ln, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif ln == 127:
            self._need(10)
            ln, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + ln)
        payload, self.buf = self.buf[off:off + ln], self.buf[off + ln:]
        return op, payload

    def recv_json(self):
        """The next text frame as JSON, answering pings on the way."""
        while True:
            op, payload = self.recv_frame()
            if op == OP_PING:
                self.send_frame(OP_PONG, payload)
            elif op == OP_TEXT:
                return json.loads(payload)
            elif op == OP_CLOSE:
                raise ConnectionError(f"close frame {payload[:2].hex()}")

    def auth(self, token):
        self.send_json({"type": "auth", "rid": 1, "token": token})
        while True:
            f = self.recv_json()
            if f.get("rid") == 1:
                assert f["type"] == "ready", f
                return f

    def close(self):
        self.sock.close()
