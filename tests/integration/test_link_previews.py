"""Issue 19: link previews. The server fetches the head of pages linked in a
message from a hostile little web server run here on 127.0.0.1 (the tests
allow loopback for it: link_previews.allow), and sends message_preview to
the room. Hostile pages: one that never ends, one that trickles, a redirect
to private and link-local addresses, a huge title, non-HTML; and the same
link without the allow list is refused."""

import http.server
import threading
import time

from parley_client import Client, run

ENABLED = 'link_previews = { enabled = true, allow = { "127.0.0.1/32" }, timeout = 3 }'


class Pages(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = {}
    stopped = []  # paths whose client hung up before the page ended

    def log_message(self, *a):
        pass

    def _send(self, status, ctype, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path
        Pages.hits[path] = Pages.hits.get(path, 0) + 1
        if path == "/article":
            self._send(200, "text/html; charset=utf-8", (
                "<!doctype html><html><head><title>Plain title</title>"
                '<meta property="og:title" content="Cryo-EM at 1.2 &Aring; &amp; more">'
                '<meta name="description" content="A lab note about grids">'
                '<meta property="og:image" content="/img/cover.png">'
                '<meta property="og:site_name" content="Lab Notes">'
                "</head><body><p>text</p></body></html>").encode())
        elif path == "/huge-title":
            self._send(200, "text/html", b"<title>" + b"A" * 100000 + b"</title>")
        elif path == "/never-ends":
            # Headers, a head, then a body that goes on for ever.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                self.wfile.write(b"<html><head><title>Endless</title></head><body>")
                while True:
                    self.wfile.write(b"<p>" + b"x" * 16384 + b"</p>")
            except OSError:
                Pages.stopped.append(path)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(60):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                Pages.stopped.append(path)
        elif path == "/to-metadata":
            self._send(302, "text/html", b"", [("Location", "http://169.254.169.254/latest/meta-data/")])
        elif path == "/to-private":
            self._send(301, "text/html", b"", [("Location", "http://10.1.2.3/admin")])
        elif path == "/photo.png":
            self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
        else:
            self._send(404, "text/html", b"<title>Not found</title>")


class PageServer:
    def __init__(self):
        Pages.hits = {}
        Pages.stopped = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def metric(srv, name):
    _, _, text = srv.http("GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_preview_sent_to_the_room_and_cached(server_factory):
    pages = PageServer()
    try:
        srv = server_factory(config_extra=ENABLED)
        tok = srv.people("alice", "bob")

        async def body():
            async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
                g = a.room_id("general")
                url = pages.url("/article")
                ack = await a.send_text(g, f"read this: {url}.")
                assert ack["type"] == "ack", ack
                ev = await b.next_event("message_preview", timeout=10, id=ack["id"])
                assert ev["room"] == g
                [p] = ev["previews"]
                assert p == {"url": url, "title": "Cryo-EM at 1.2 &Aring; & more",
                             "description": "A lab note about grids",
                             "site_name": "Lab Notes", "image": pages.url("/img/cover.png")}, p
                # The author gets it too.
                await a.next_event("message_preview", timeout=5, id=ack["id"])
                # The same link again: from the cache, no second request.
                ack2 = await a.send_text(g, f"again {url}")
                ev2 = await b.next_event("message_preview", timeout=10, id=ack2["id"])
                assert ev2["previews"] == [p]
                assert Pages.hits["/article"] == 1
                # "previews": false asks for none: a later message's preview
                # arrives, this one's never does.
                ack3 = await a.send_text(g, f"no card please {pages.url('/huge-title')}",
                                         previews=False)
                assert ack3["type"] == "ack", ack3
                ack4 = await a.send_text(g, f"but here {url}")
                await b.next_event("message_preview", timeout=10, id=ack4["id"])
                assert not b.queued("message_preview", id=ack3["id"])
                assert "/huge-title" not in Pages.hits
                bad = await a.send_text(g, "x", previews="no")
                assert bad["type"] == "error" and bad["code"] == "bad_request", bad

        run(body())
    finally:
        pages.close()


def test_hostile_pages(server_factory):
    pages = PageServer()
    try:
        srv = server_factory(config_extra=ENABLED)
        tok = srv.people("alice")

        async def body():
            async with Client(srv, tok["alice"]) as a:
                g = a.room_id("general")
                # One message, five hostile links and a good one: the event
                # comes once every fetch has ended, with only what is safe.
                links = ["/to-metadata", "/to-private", "/photo.png", "/huge-title",
                         "/never-ends", "/trickle"]
                t0 = time.monotonic()
                ack = await a.send_text(g, " ".join(pages.url(p) for p in links[:3]))
                ack2 = await a.send_text(g, " ".join(pages.url(p) for p in links[3:]))
                ev = await a.next_event("message_preview", timeout=15, id=ack2["id"])
                took = time.monotonic() - t0
                by_url = {p["url"]: p for p in ev["previews"]}
                # A huge title is cut at 300 bytes.
                assert by_url[pages.url("/huge-title")]["title"] == "A" * 300
                # A page that never ends: read up to max_bytes, then dropped.
                assert by_url[pages.url("/never-ends")]["title"] == "Endless"
                # A page that trickles past the timeout: no preview.
                assert pages.url("/trickle") not in by_url
                assert took < 3 + 3, took  # bounded by link_previews.timeout
                # Redirects to link-local and private addresses and a PNG:
                # nothing at all, so no event for that message.
                srv.wait_log("link_preview_refused", timeout=5)
                assert not a.queued("message_preview", id=ack["id"])
                for p in ("/to-metadata", "/to-private", "/photo.png"):
                    assert Pages.hits.get(p) == 1, (p, Pages.hits)

        run(body())
        refused = [ln for ln in srv.logs if ln.get("event") == "link_preview_refused"]
        msgs = " ".join(ln["msg"] for ln in refused)
        assert "169.254.169.254" in msgs and "10.1.2.3" in msgs, msgs
        assert metric(srv, "parley_link_preview_refused_total") == 2
        deadline = time.time() + 5
        while "/never-ends" not in Pages.stopped and time.time() < deadline:
            time.sleep(0.1)
        assert "/never-ends" in Pages.stopped, "the endless page was not hung up on"
    finally:
        pages.close()


def test_loopback_refused_without_allow(server_factory):
    """The same server, not in link_previews.allow: refused before connecting."""
    pages = PageServer()
    try:
        srv = server_factory(config_extra="link_previews = { enabled = true }")
        tok = srv.people("alice")

        async def body():
            async with Client(srv, tok["alice"]) as a:
                g = a.room_id("general")
                url = pages.url("/article").replace("127.0.0.1", "localhost")
                ack = await a.send_text(g, url)
                assert ack["type"] == "ack"
                line = srv.wait_log("link_preview_refused", timeout=5)
                assert "127.0.0.1" in line["msg"] or "::1" in line["msg"], line

        run(body())
        assert Pages.hits == {}
    finally:
        pages.close()


def test_off_by_default(server_factory):
    pages = PageServer()
    try:
        srv = server_factory(config_extra='link_previews = { allow = { "127.0.0.1/32" } }')
        tok = srv.people("alice")

        async def body():
            async with Client(srv, tok["alice"]) as a:
                ack = await a.send_text(a.room_id("general"), pages.url("/article"))
                assert ack["type"] == "ack"

        run(body())
        time.sleep(0.5)
        assert Pages.hits == {}
    finally:
        pages.close()


def test_bad_allow_range_is_a_config_error(server_factory):
    srv = server_factory(config_extra='link_previews = { enabled = true, allow = { "10.0.0.0/40" } }',
                         expect_fail=True)
    out = srv.stderr_text
    assert "link_previews.allow: bad address range" in out and "10.0.0.0/40" in out, out
