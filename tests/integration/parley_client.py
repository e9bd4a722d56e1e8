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
import itertools
import json
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
                 subprotocols=("parley.v1",), max_size=MAX_FRAME_IN, url=None):
        self.server = server
        self.token = token
        self.resume = resume
        self.headers = dict(headers or {})
        self.do_auth = auth
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.max_size = max_size
        self.url = url or server.ws_url
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
            open_timeout=DEFAULT_TIMEOUT, close_timeout=2)
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
        rid = fields.pop("rid", None)
        if rid is None:
            rid = next(self._rids)
        frame = {"type": type, "rid": rid}
        frame.update({k: v for k, v in fields.items() if v is not None})
        await self.ws.send(json.dumps(frame, ensure_ascii=False))
        return await self.reply(rid, timeout)

    async def send_request(self, type, **fields):
        """Sends a request without waiting; returns its rid (see reply())."""
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

    def queued(self, type=None, where=None, **match):
        """The queued (not yet taken) events that match."""
        return [ev for ev in self._queue if self._matches(ev, type, match, where)]

    def drain(self, type=None):
        """Drops queued events (of this type, or all)."""
        self._queue = [ev for ev in self._queue if type is not None and ev.get("type") != type]

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
