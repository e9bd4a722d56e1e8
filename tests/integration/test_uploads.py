"""File uploads (issue 7): POST /api/uploads, GET /api/uploads/{id},
attachments, cleanup, limits. The same suite runs against uploads_local
and against uploads_s3 talking to a real S3 API: @20minutes/s3rver 4.0.4
(it checks SigV4 signatures), started here on a free port with a bucket.
S3-only cases (a wrong secret, expired presigned URLs, a failing part)
are marked so."""

import hashlib
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

import pytest

from conftest import SOURCE_DIR
from parley_client import Client, run

AUTH_PLUGINS = '{"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }}, {"store_sqlite"}'
BUCKET = "chat-files"
MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"


def png_with(payload):
    """A well-formed PNG whose IDAT chunk carries payload: photos' metadata
    is stripped (issue 19), and a file the stripper cannot read is refused,
    so a fake PNG must at least have PNG chunks. It has no metadata: it is
    stored byte for byte."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (PNG + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", payload) + chunk(b"IEND", b""))


# -- S3 (s3rver) ----------------------------------------------------------------

def node_binary():
    path = os.path.join(SOURCE_DIR, ".tools-node")
    if os.path.exists(path):
        with open(path) as f:
            node = f.read().strip()
        if node and os.access(node, os.X_OK):
            return node
    return "node"


class S3rver:
    """s3rver through its lib/cli module (the package has no bin file)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "s3")
        os.makedirs(self.dir)
        cli = os.path.join(SOURCE_DIR, "tests", "node_modules", "@20minutes", "s3rver", "lib",
                           "cli")
        if not os.path.exists(cli + ".js"):
            pytest.fail("s3rver is not installed: run tools/setup.sh --test")
        code = ("require(process.argv[1]).parseAsync(process.argv.slice(2), {from: 'user'})")
        # s3rver's ListObjectsV2 continuation tokens are DES-encrypted,
        # which OpenSSL 3 keeps in its legacy provider: without it every
        # listing that pages answers 500 (backups page, issue 17).
        self.proc = subprocess.Popen(
            [node_binary(), "--openssl-legacy-provider", "-e", code, cli, "-d", self.dir, "-a", "127.0.0.1", "-p", "0",
             "-s", "--configure-bucket", BUCKET],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 20
        for line in self.proc.stdout:
            m = re.search(r"listening on [^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if time.time() > deadline:
                break
        if not self.port:
            self.stop()
            pytest.fail("s3rver did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def objects(self, prefix):
        """Object keys stored under prefix (s3rver's own files on disk)."""
        d = os.path.join(self.dir, BUCKET, prefix.rstrip("/"))
        if not os.path.isdir(d):
            return set()
        return {n[: -len("._S3rver_object")] for n in os.listdir(d)
                if n.endswith("._S3rver_object")}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    s = S3rver(str(tmp_path_factory.mktemp("s3rver")))
    yield s
    s.stop()


class FailingProxy:
    """An HTTP proxy in front of s3rver that answers 500 to every UploadPart
    of part `fail_part` and counts what it saw. Requests are forwarded as
    they are (Host included), so SigV4 signatures stay valid."""

    def __init__(self, upstream_port, fail_part, fail_times=None):
        self.upstream = upstream_port
        self.fail_part = fail_part
        self.fail_times = fail_times  # None: every attempt
        self.seen = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _read_request(f):
        line = f.readline()
        if not line:
            return None
        headers = []
        length = 0
        while True:
            h = f.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            headers.append(h)
            name, _, value = h.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if name.strip().lower() == "expect":
                pass
        return line, headers, length

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                req = self._read_request(f)
                if not req:
                    return
                line, headers, length = req
                expects = any(h.lower().startswith(b"expect: 100") for h in headers)
                if expects:
                    c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = f.read(length) if length else b""
                method, target, _ = line.decode().split(" ", 2)
                with self.lock:
                    self.seen.append((method, target))
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                if (method == "PUT" and q.get("partNumber") == [str(self.fail_part)]
                        and self.fail_times != 0):
                    if self.fail_times:
                        self.fail_times -= 1
                    msg = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
                    c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
                              + str(len(msg)).encode() + b"\r\n\r\n" + msg)
                    continue
                up = socket.create_connection(("127.0.0.1", self.upstream))
                kept = [h for h in headers if not h.lower().startswith(b"expect:")]
                up.sendall(line + b"".join(kept) + b"\r\n" + body)
                resp = http.client.HTTPResponse(up, method=method)
                resp.begin()
                data = resp.read()
                out = [f"HTTP/1.1 {resp.status} {resp.reason}\r\n".encode()]
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        out.append(f"{k}: {v}\r\n".encode())
                out.append(f"Content-Length: {len(data)}\r\n\r\n".encode())
                c.sendall(b"".join(out) + data)
                up.close()
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


# -- Backends -----------------------------------------------------------------------

_prefix_counter = [0]


class Backend:
    """Starts servers with one uploads plugin and tells what it stores."""

    def __init__(self, kind, factory, s3=None):
        self.kind = kind
        self.factory = factory
        self.s3 = s3
        _prefix_counter[0] += 1
        self.prefix = f"t{os.getpid()}-{_prefix_counter[0]}/"

    def plugin(self, endpoint=None, secret="S3RVER", expiry=300, bucket=BUCKET, keys=True):
        if self.kind == "local":
            return '{"uploads_local", dir = "files"}'
        ep = endpoint or self.s3.endpoint()
        creds = ' access_key = "S3RVER", secret_key = "%s",' % secret if keys else ""
        return ('{"uploads_s3", endpoint = "%s", region = "us-east-1", bucket = "%s",'
                ' prefix = "%s", path_style = true,%s presign_expiry = %d,'
                ' part_size = 5242880, parallel = 3, retries = 2}'
                % (ep, bucket, self.prefix, creds, expiry))

    def start(self, limits="", uploads="", hooks="", env=None, **plugin_opts):
        srv = self.factory(plugins="{ " + AUTH_PLUGINS + ", " + self.plugin(**plugin_opts)
                           + (", " + hooks if hooks else "") + " }",
                           limits=limits, env=env,
                           config_extra=("uploads = { " + uploads + " }") if uploads else "")
        srv.backend = self
        return srv

    def stored(self, srv):
        """Objects in the backend: complete ones and anything half-written."""
        if self.kind == "local":
            d = os.path.join(srv.data_dir, "files")
            return set(os.listdir(d)) if os.path.isdir(d) else set()
        return self.s3.objects(self.prefix)


@pytest.fixture(params=["local", "s3"])
def backend(request, server_factory):
    if request.param == "local":
        return Backend("local", server_factory)
    return Backend("s3", server_factory, request.getfixturevalue("s3rver"))


# -- Helpers --------------------------------------------------------------------------

def upload(srv, token, body, name="plot.png", ctype="application/octet-stream", headers=None,
           timeout=60):
    hdrs = {"Authorization": "Bearer " + token, "X-Filename": urllib.parse.quote(name),
            "Content-Type": ctype}
    hdrs.update(headers or {})
    return srv.http("POST", "/api/uploads", body=body, headers=hdrs, timeout=timeout)


def upload_ok(srv, token, body, **kw):
    status, _, data = upload(srv, token, body, **kw)
    assert status == 201, (status, data)
    return json.loads(data)


def fetch(srv, token, url, headers=None):
    """The file as a client gets it: directly, or through the redirect."""
    hdrs = {"Authorization": "Bearer " + token}
    hdrs.update(headers or {})
    status, h, data = srv.http("GET", url, headers=hdrs, timeout=60)
    if status == 302:
        assert srv.backend.kind == "s3"
        loc = h["location"]
        assert "X-Amz-Signature=" in loc and "X-Amz-Expires=" in loc
        try:
            with urllib.request.urlopen(loc, timeout=60) as r:
                return 200, CIHeaders(r.getheaders()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, CIHeaders(e.headers.items()), e.read()
    return status, h, data


class CIHeaders(dict):
    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


def metric(srv, name):
    _, _, text = srv.http("GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def raw_post(srv, token, head_extra, body_parts, read_timeout=10):
    """A hand-made POST /api/uploads (chunked bodies, early answers)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=read_timeout)
    s.sendall(("POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
               + "\r\n" + head_extra + "\r\n").encode())
    try:
        for part in body_parts:
            s.sendall(part)
    except OSError:
        pass  # the server answered and closed early: fine
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                if m and len(rest) >= int(m.group(1)):
                    break
    except OSError:
        pass
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, data


def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# -- The suite ------------------------------------------------------------------------

def test_upload_and_download(backend):
    srv = backend.start()
    tok = srv.user("alice")
    body = png_with(os.urandom(300_000))
    # The client's Content-Type is not believed: the bytes say PNG.
    rec = upload_ok(srv, tok, body, name="Plot 1.png", ctype="text/plain")
    assert re.fullmatch(r"up_\d+", rec["id"])
    assert rec["type"] == "image/png"
    assert rec["size"] == len(body)
    assert rec["sha256"] == hashlib.sha256(body).hexdigest()
    assert rec["name"] == "Plot 1.png"
    assert rec["url"] == "/api/uploads/" + rec["id"]
    assert len(backend.stored(srv)) == 1
    status, h, data = fetch(srv, tok, rec["url"])
    assert status == 200 and data == body
    assert h["content-type"] == "image/png"
    assert h["content-disposition"] == 'inline; filename="Plot 1.png"'
    # Unauthenticated: nothing.
    status, _, _ = srv.http("GET", rec["url"])
    assert status == 401
    status, _, _ = srv.http("GET", "/api/uploads/up_999", headers={"Authorization": "Bearer " + tok})
    assert status == 404
    assert metric(srv, "parley_uploads_total") == 1


def test_name_and_disposition_cannot_be_abused(backend):
    srv = backend.start()
    tok = srv.user("alice")
    # A path is cut to its last part; quotes cannot close the parameter.
    rec = upload_ok(srv, tok, b"<html><script>alert(1)</script>", name='../x/"evil".html')
    assert rec["name"] == '"evil".html'
    assert rec["type"] == "text/html"
    status, h, data = fetch(srv, tok, rec["url"])
    assert status == 200
    disp = h["content-disposition"]
    # HTML never renders inline from our origin.
    assert disp.startswith("attachment;"), disp
    assert '"_evil_.html"' in disp and "filename*=UTF-8''%22evil%22.html" in disp, disp
    # A line break or control character in the name is refused.
    status, _, data = upload(srv, tok, b"hello", headers={"X-Filename": "a%0d%0aSet-Cookie:%20x=1"})
    assert status == 400, data
    assert b"X-Filename" in data
    # UTF-8 names survive.
    rec = upload_ok(srv, tok, b"plain text\n", name="r\u00e9sum\u00e9.txt")
    assert rec["name"] == "r\u00e9sum\u00e9.txt" and rec["type"] == "text/plain"


def test_range_requests(backend):
    if backend.kind == "s3":
        pytest.skip("uploads_s3 redirects: the object store serves ranges")
    srv = backend.start()
    tok = srv.user("alice")
    # several provider reads; the fixed head keeps the sniffer from reading
    # random bytes as a known kind (an MPEG frame sync: ~1 run in 5,000)
    body = b"\x00\x01parley-range\x00" + os.urandom(700_000)
    rec = upload_ok(srv, tok, body)
    assert rec["type"] == "application/octet-stream"
    status, h, data = fetch(srv, tok, rec["url"], headers={"Range": "bytes=100-199"})
    assert status == 206 and data == body[100:200]
    assert h["content-range"] == f"bytes 100-199/{len(body)}"
    status, h, data = fetch(srv, tok, rec["url"], headers={"Range": "bytes=-10"})
    assert status == 206 and data == body[-10:]
    status, h, data = fetch(srv, tok, rec["url"], headers={"Range": "bytes=300000-"})
    assert status == 206 and data == body[300000:]
    status, h, _ = fetch(srv, tok, rec["url"], headers={"Range": f"bytes={len(body)}-"})
    assert status == 416 and h["content-range"] == f"bytes */{len(body)}"
    status, _, data = fetch(srv, tok, rec["url"], headers={"Range": "bytes=1-2,5-6"})
    assert status == 200 and data == body  # several ranges: the whole file


def test_large_file(backend):
    """50 MB: multipart on S3 (5 MiB parts, 3 in flight), streamed on disk."""
    srv = backend.start(limits="max_upload = 64 * 1024 * 1024")
    tok = srv.user("alice")
    body = os.urandom(50 * 1000 * 1000)
    rec = upload_ok(srv, tok, body, name="data.bin")
    assert rec["size"] == len(body) and rec["sha256"] == hashlib.sha256(body).hexdigest()
    if backend.kind == "s3":
        assert srv.wait_log("s3_bucket") is not None
        assert metric(srv, "parley_plugin_uploads_s3_requests_total") >= 12  # create, 10 parts, complete
    status, _, data = fetch(srv, tok, rec["url"])
    assert status == 200 and hashlib.sha256(data).digest() == hashlib.sha256(body).digest()
    assert len(backend.stored(srv)) == 1


def test_too_large_leaves_nothing(backend):
    srv = backend.start(limits="max_upload = 100000")
    tok = srv.user("alice")
    # Content-Length says it: refused before a byte of the body is read.
    status, _, data = upload(srv, tok, os.urandom(100_001))
    assert status == 413, data
    assert json.loads(data)["error"]["code"] == "payload_too_large"
    # Chunked: no length up front; refused once the body passes the limit.
    chunk = os.urandom(30_000)
    parts = [b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(5)] + [b"0\r\n\r\n"]
    status, data = raw_post(srv, tok, "Transfer-Encoding: chunked\r\n", parts)
    assert status == 413, data
    time.sleep(0.3)
    assert backend.stored(srv) == set()
    # Exactly the limit is fine.
    upload_ok(srv, tok, os.urandom(100_000))
    assert len(backend.stored(srv)) == 1


def test_quota_per_day(backend):
    srv = backend.start(uploads="quota_per_day = 250000")
    tok = srv.user("alice")
    upload_ok(srv, tok, os.urandom(200_000))
    status, h, data = upload(srv, tok, os.urandom(60_000))
    assert status == 429, data
    err = json.loads(data)["error"]
    assert err["code"] == "rate_limited" and "quota" in err["message"]
    assert int(h["retry-after"]) > 0
    # Someone else has their own quota.
    upload_ok(srv, srv.user("bob"), os.urandom(200_000))
    assert len(backend.stored(srv)) == 2


def test_type_lists(backend):
    srv = backend.start(uploads='allow = { "image/*", "text/plain" }, deny = { "image/svg+xml" }')
    tok = srv.user("alice")
    upload_ok(srv, tok, png_with(b"x" * 100))
    upload_ok(srv, tok, b"just text\n")
    for body in (b"%PDF-1.7\n" + b"x" * 600, b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        # The client may claim what it likes.
        status, _, data = upload(srv, tok, body, ctype="image/png")
        assert status == 415, data
        assert json.loads(data)["error"]["code"] == "unsupported_type"
    time.sleep(0.3)
    assert len(backend.stored(srv)) == 2


def test_access_uploader_then_room_members(backend):
    srv = backend.start()
    tok = srv.people("alice", "bob")

    async def body():
        async with Client(srv, tok["alice"]) as a, Client(srv, tok["bob"]) as b:
            priv = (await a.request("create_room", name="ops", kind="private"))["room"]["id"]
            general = a.room_id("general")
            secret = upload_ok(srv, tok["alice"], png_with(os.urandom(1000)), name="secret.png")
            shared = upload_ok(srv, tok["alice"], b"for everyone\n", name="notes.txt")
            # Unattached: the uploader only.
            assert fetch(srv, tok["bob"], shared["url"])[0] == 403
            assert fetch(srv, tok["alice"], shared["url"])[0] == 200
            # Nobody can attach someone else's upload.
            r = await b.send_text(general, "mine now", attachments=[shared["id"]])
            assert r["type"] == "error" and r["code"] == "not_found", r
            ack = await a.send_text(general, "notes", attachments=[shared["id"]])
            assert ack["type"] == "ack", ack
            ev = await b.next_event("message", room=general, id=ack["id"])
            assert ev["attachments"] == [{"id": shared["id"], "name": "notes.txt",
                                          "type": "text/plain", "size": 13,
                                          "url": shared["url"]}]
            status, _, data = fetch(srv, tok["bob"], shared["url"])
            assert status == 200 and data == b"for everyone\n"
            # Attached once only.
            r = await a.send_text(general, "again", attachments=[shared["id"]])
            assert r["type"] == "error" and r["code"] == "conflict", r
            # A private room's file stays with its members: bob is not one.
            ack = await a.send_text(priv, "secret", attachments=[secret["id"]])
            assert ack["type"] == "ack", ack
            assert fetch(srv, tok["bob"], secret["url"])[0] == 403
            assert fetch(srv, tok["alice"], secret["url"])[0] == 200
            # History carries the attachments.
            hist = await a.history(general)
            assert any(m.get("attachments") for m in hist["messages"]), hist

    run(body())


def test_cleanup_of_unattached_and_detached(backend):
    srv = backend.start(uploads="unattached_max_age = 1, cleanup_interval = 0.3")
    tok = srv.people("alice")

    async def body():
        async with Client(srv, tok["alice"]) as a:
            general = a.room_id("general")
            kept = upload_ok(srv, tok["alice"], b"kept\n")
            dropped = upload_ok(srv, tok["alice"], b"dropped\n")
            detached = upload_ok(srv, tok["alice"], b"detached\n")
            ack1 = await a.send_text(general, "kept", attachments=[kept["id"]])
            ack2 = await a.send_text(general, "to delete", attachments=[detached["id"]])
            assert ack1["type"] == ack2["type"] == "ack"
            # Deleting the message detaches its file: the job takes it.
            assert (await a.request("delete", room=general, id=ack2["id"]))["type"] == "ok"
            wait_until(lambda: len(backend.stored(srv)) == 1
                       and metric(srv, "parley_uploads_cleaned_total") == 2,
                       timeout=10, what="the cleanup job")
            for gone in (dropped, detached):
                assert fetch(srv, tok["alice"], gone["url"])[0] == 404
            status, _, data = fetch(srv, tok["alice"], kept["url"])
            assert status == 200 and data == b"kept\n"
            assert metric(srv, "parley_uploads_cleaned_total") == 2

    run(body())


def test_client_gone_midway_leaves_nothing(backend):
    srv = backend.start()
    tok = srv.user("alice")
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(("POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
               + "\r\nContent-Length: 10000000\r\n\r\n").encode())
    s.sendall(os.urandom(6 * MIB))  # past the first S3 part
    time.sleep(0.5)
    s.close()
    srv.wait_log("upload_aborted", timeout=10)
    wait_until(lambda: backend.stored(srv) == set(), timeout=10, what="nothing stored")
    if backend.kind == "local":
        assert os.listdir(os.path.join(srv.data_dir, "files")) == []


# -- S3 only -----------------------------------------------------------------------

def s3_only(backend):
    if backend.kind != "s3":
        pytest.skip("S3 only")


def test_s3_wrong_secret_refused(backend):
    s3_only(backend)
    srv = backend.start(secret="not-the-secret")
    tok = srv.user("alice")
    status, _, data = upload(srv, tok, b"hello\n")
    assert status == 502, data
    assert json.loads(data)["error"]["code"] == "storage_failed"
    line = srv.wait_log("s3_upload_failed", timeout=5)
    assert "403" in line["msg"] and "SignatureDoesNotMatch" in line["msg"], line
    assert "secret_key" in line["msg"]
    status, _, data = srv.http("GET", "/readyz")
    assert status == 503 and b"403" in data, data
    assert backend.stored(srv) == set()


def test_s3_missing_bucket_named(backend):
    s3_only(backend)
    srv = backend.start(bucket="no-such-bucket")
    tok = srv.user("alice")
    wait_until(lambda: b"no-such-bucket" in srv.http("GET", "/readyz")[2], what="bucket probe")
    status, _, data = srv.http("GET", "/readyz")
    assert status == 503 and b"HTTP 404" in data and b"bucket name" in data, data
    status, _, data = upload(srv, tok, b"hello\n")
    assert status == 502, data
    line = srv.wait_log("s3_upload_failed", timeout=5)
    assert "404" in line["msg"] and "NoSuchBucket" in line["msg"], line


def test_s3_credentials_from_environment(backend):
    s3_only(backend)
    srv = backend.start(keys=False, env={"AWS_ACCESS_KEY_ID": "S3RVER",
                                         "AWS_SECRET_ACCESS_KEY": "S3RVER",
                                         "AWS_SESSION_TOKEN": "a-session-token"})
    tok = srv.user("alice")
    rec = upload_ok(srv, tok, b"from the environment\n")
    status, h, _ = srv.http("GET", rec["url"], headers={"Authorization": "Bearer " + tok})
    assert status == 302 and "X-Amz-Security-Token=a-session-token" in h["location"]
    assert fetch(srv, tok, rec["url"])[2] == b"from the environment\n"


def test_s3_readyz_and_expired_presigned_url(backend):
    s3_only(backend)
    srv = backend.start(expiry=1)
    tok = srv.user("alice")
    wait_until(lambda: srv.http("GET", "/readyz")[0] == 200, what="bucket probe")
    rec = upload_ok(srv, tok, b"short-lived\n")
    status, h, _ = srv.http("GET", rec["url"], headers={"Authorization": "Bearer " + tok})
    assert status == 302
    with urllib.request.urlopen(h["location"]) as r:
        assert r.read() == b"short-lived\n"
    time.sleep(2.2)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(h["location"])
    assert e.value.code == 403
    assert b"expired" in e.value.read().lower()


def test_s3_failing_part_aborts(backend):
    s3_only(backend)
    proxy = FailingProxy(backend.s3.port, fail_part=2)
    try:
        srv = backend.start(endpoint=f"http://127.0.0.1:{proxy.port}")
        tok = srv.user("alice")
        status, _, data = upload(srv, tok, os.urandom(12 * MIB))
        assert status == 502, data
        assert json.loads(data)["error"]["code"] == "storage_failed"
        # The part was retried, then the multipart upload aborted.
        line = srv.wait_log("s3_upload_failed", timeout=10)
        assert "part 2" in line["msg"] and "500" in line["msg"], line
        wait_until(lambda: any(m == "DELETE" and "uploadId=" in t for m, t in proxy.seen),
                   what="AbortMultipartUpload")
        tries = [t for m, t in proxy.seen if m == "PUT" and "partNumber=2&" in t]
        assert len(tries) == 3, proxy.seen  # 1 + retries
        # s3rver 4.0.4 answers 405 to AbortMultipartUpload: logged and counted.
        line = srv.wait_log("s3_abort_failed", timeout=10)
        assert "405" in line["msg"], line
        assert metric(srv, "parley_plugin_uploads_s3_multipart_aborts_total") == 1
        assert metric(srv, "parley_plugin_uploads_s3_multipart_abort_failures_total") == 1
        assert metric(srv, "parley_upload_failures_total") >= 1
        assert backend.stored(srv) == set()
        # The next upload works.
        proxy.fail_part = 99
        upload_ok(srv, tok, os.urandom(1000))
    finally:
        proxy.close()


def test_upload_hook_rejects_and_tags(backend):
    """tests/plugins/upload_hook.c: refuses the EICAR test file (reading it
    from disk with uploads_local, by its name with uploads_s3), tags the rest."""
    srv = backend.start(hooks='{"upload_hook"}')
    tok = srv.user("alice")
    status, _, data = upload(srv, tok, b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR", name="eicar.com")
    assert status == 403, data
    assert "infected" in json.loads(data)["error"]["message"]
    # The refused file goes (s3rver drops an emptied folder when it
    # deletes: wait, so the next PUT does not race that).
    wait_until(lambda: backend.stored(srv) == set(), what="the refused file removed")
    rec = upload_ok(srv, tok, b"clean\n", name="clean.txt")
    assert rec["tags"] == "scanned:6"
    assert len(backend.stored(srv)) == 1


def test_expect_100_continue(backend):
    """curl sends Expect: 100-continue for large bodies and waits for it."""
    srv = backend.start()
    tok = srv.user("alice")
    body = os.urandom(200_000)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(("POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok
               + f"\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode())
    interim = s.recv(100)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
    s.sendall(body)
    f = s.makefile("rb")
    status = f.readline()
    assert status.startswith(b"HTTP/1.1 201"), status
    s.close()


def test_s3_part_retried_after_a_5xx(backend):
    s3_only(backend)
    proxy = FailingProxy(backend.s3.port, fail_part=1, fail_times=1)
    try:
        srv = backend.start(endpoint=f"http://127.0.0.1:{proxy.port}")
        tok = srv.user("alice")
        body = os.urandom(11 * MIB)
        rec = upload_ok(srv, tok, body)
        tries = [t for m, t in proxy.seen if m == "PUT" and "partNumber=1&" in t]
        assert len(tries) == 2, proxy.seen
        line = srv.wait_log("s3_retry", timeout=5)
        assert "UploadPart 1" in line["msg"] and "500" in line["msg"], line
        assert metric(srv, "parley_plugin_uploads_s3_retries_total") == 1
        assert fetch(srv, tok, rec["url"])[2] == body
    finally:
        proxy.close()


def test_web_client_csp_names_the_download_origin(backend):
    """Presigned downloads come from the bucket's origin: the web client's
    CSP lets images and media load from there, and from nowhere else."""
    srv = backend.start()
    status, headers, _ = srv.http("GET", "/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    img = [d for d in csp.split(";") if d.strip().startswith("img-src")][0].split()
    media = [d for d in csp.split(";") if d.strip().startswith("media-src")][0].split()
    if backend.kind == "local":
        assert img == ["img-src", "'self'", "data:", "blob:"], csp
        assert media == ["media-src", "'self'", "blob:"], csp
    else:
        origin = backend.s3.endpoint().rstrip("/")
        assert img == ["img-src", "'self'", "data:", "blob:", origin], csp
        assert media == ["media-src", "'self'", "blob:", origin], csp
    assert "script-src 'self';" in csp


def test_lua_upload_handler_refuses_and_tags(server_factory, tmp_path):
    """A script's parley.on("upload") sees the stored file before it can be
    attached: false + reason refuses it (403, removed), a string tags it."""
    script = tmp_path / "files.lua"
    script.write_text('''
parley.on("upload", function(ev)
  if ev.file.name:match("%.exe$") then return false, "no programs, please" end
  return "checked:" .. ev.file.type .. ":" .. ev.user.id
end)
''')
    srv = server_factory(
        plugins="{ " + AUTH_PLUGINS + ', {"uploads_local", dir = "files"} }',
        config_extra=f'scripts = {{ {{ file = "{script}" }} }}')
    tok = srv.user("alice")
    status, _, data = upload(srv, tok, b"MZ\x90\x00" + b"\x00" * 60, name="setup.exe")
    assert status == 403, data
    assert json.loads(data)["error"]["message"] == "no programs, please"
    files = os.path.join(srv.data_dir, "files")
    wait_until(lambda: not os.path.isdir(files) or os.listdir(files) == [],
               what="the refused file removed")
    rec = upload_ok(srv, tok, png_with(b"\x00" * 100), name="plot.png")
    assert re.fullmatch(r"checked:image/png:u_\d+", rec["tags"]), rec


def test_parallel_uploads_share_the_quota(server_factory):
    """Issue 13, item 8: eight concurrent 900 KiB uploads under a 1 MiB
    quota all succeeded. Uploads in flight count against the quota."""
    srv = Backend("local", server_factory).start(uploads="quota_per_day = 1048576")
    tok = srv.user("alice")
    results = []

    def one(i):
        st, _, data = upload(srv, tok, os.urandom(900 * 1024), name=f"part{i}.bin")
        results.append((st, data))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = sorted(st for st, _ in results)
    assert len(statuses) == 8, results
    assert statuses.count(201) == 1, statuses
    assert statuses.count(429) == 7, statuses
    for st, data in results:
        if st == 429:
            assert json.loads(data)["error"]["code"] == "rate_limited"
    assert len(srv.backend.stored(srv)) == 1
    # Refused uploads left no count behind: the day's 100 KiB still fit.
    upload_ok(srv, tok, os.urandom(100 * 1024))
    status, _, _ = upload(srv, tok, os.urandom(100 * 1024))
    assert status == 429


def test_utf16_text_is_text(server_factory):
    """Issue 13, item 20: UTF-16 text with a byte order mark was sniffed as
    audio/mpeg (FF FE is also an MPEG frame sync)."""
    srv = Backend("local", server_factory).start()
    tok = srv.user("alice")
    for name, data in (("le.txt", "\ufeffHello, UTF-16 world\r\n".encode("utf-16-le")),
                       ("be.txt", "\ufeffGr\u00fc\u00dfe \U0001F600\n".encode("utf-16-be"))):
        up = upload_ok(srv, tok, data, name=name)
        assert up["type"] == "text/plain", up
        status, h, got = fetch(srv, tok, up["url"])
        assert status == 200 and got == data
        assert h["content-type"].startswith("text/plain"), h
