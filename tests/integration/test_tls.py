"""TLS listeners (issue 4, "TLS (mbedTLS)"): https:// and wss:// on a TLS
listener next to a plain one, checked with Python's ssl client and curl
against certificates the test makes (a CA, server certificates, an expired
one). Covers what a client must refuse (wrong host, expired), what the
server must refuse (TLS 1.1, plain HTTP, garbage), reload on SIGHUP, the
handshake bound, config errors at their line, and a clean stop with TLS
connections open (under ASan that stop is also the leak check)."""

import asyncio
import datetime
import http.client
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conftest import lua_str
from parley_client import Client, RawWS, run

HOST = "localhost"  # the name in the server certificates
GARBAGE_CONNS = 120  # connections that send random or mutated handshakes
GARBAGE_SEED = 4
GARBAGE_BATCH = 40
STALL_MESSAGES = 140  # of STALL_TEXT bytes: ~8 MB
STALL_TEXT = 60000
PARK_WAIT = 2.5  # s: the server parks sessions idle for 1-2 s


# -- certificates ---------------------------------------------------------


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def _write_cert(path, *certs):
    with open(path, "wb") as f:
        for c in certs:
            f.write(c.public_bytes(serialization.Encoding.PEM))


class PKI:
    """A CA and server certificates signed by it, as PEM files in a folder."""

    def __init__(self, folder):
        self.folder = folder
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (x509.CertificateBuilder()
                   .subject_name(_name("parley test CA")).issuer_name(_name("parley test CA"))
                   .public_key(self.ca_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = os.path.join(folder, "ca.pem")
        _write_cert(self.ca_file, self.ca)

    def server(self, name, cn=HOST, days=(-1, 30), rsa_key=False):
        """Writes NAME.crt (leaf + CA, like Let's Encrypt's fullchain.pem)
        and NAME.key; returns (cert path, key path, certificate)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key
               else ec.generate_private_key(ec.SECP256R1()))
        cert = (x509.CertificateBuilder()
                .subject_name(_name(cn)).issuer_name(self.ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=days[0]))
                .not_valid_after(now + datetime.timedelta(days=days[1]))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                    critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        crt_path = os.path.join(self.folder, name + ".crt")
        key_path = os.path.join(self.folder, name + ".key")
        _write_cert(crt_path, cert, self.ca)
        _write_key(key_path, key)
        return crt_path, key_path, cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = PKI(str(tmp_path_factory.mktemp("pki")))
    p.good = p.server("good")
    p.other = p.server("other", cn="parley-reloaded")
    p.expired = p.server("expired", days=(-30, -1))
    p.rsa = p.server("rsa", rsa_key=True)
    return p


def client_ctx(pki):
    ctx = ssl.create_default_context(cafile=pki.ca_file)
    return ctx


def tls_config(cert, key):
    """A config with a plain listener first and a TLS one second."""
    return ('server = {\n'
            '  listen = { "127.0.0.1:0",\n'
            f'    {{ addr = "127.0.0.1:0", tls = {{ cert = {lua_str(cert)}, key = {lua_str(key)} }} }} }},\n'
            '  data_dir = "{data_dir}",\n'
            '  plugin_dir = "{plugin_dir}",\n'
            '}\n'
            'log = { level = "debug" }\n'
            'plugins = { {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
            ' {"store_sqlite"} }\n')


def start_tls(server_factory, cert, key, limits=None):
    text = tls_config(cert, key)
    # Rate limits off, as in every test config that does not test them.
    text += "limits = { " + (limits + ", " if limits else "") + "rates = false, bot_rates = false }\n"
    srv = server_factory(raw_config=text)
    line = srv.wait_log("listening", tls=True)
    srv.tls_port = int(line["addr"].rsplit(":", 1)[1])
    assert srv.tls_port != srv.port
    return srv


@pytest.fixture
def tls_server(server_factory, pki):
    return start_tls(server_factory, pki.good[0], pki.good[1])


def https_conn(port, ctx, host=HOST):
    """An HTTPS connection to 127.0.0.1:port, already through its
    handshake, that verifies the certificate against `host`."""
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
    conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                                server_hostname=host)
    return conn


def https_get(port, ctx, path="/healthz", host=HOST):
    conn = https_conn(port, ctx, host)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def peer_cert(port, ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            return x509.load_der_x509_certificate(s.getpeercert(binary_form=True))


def still_serves(srv, pki):
    status, body = https_get(srv.tls_port, client_ctx(pki))
    assert status == 200 and b'"ok"' in body
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200


# -- serving ----------------------------------------------------------------


def test_https_and_plain_listeners_side_by_side(tls_server, pki):
    ctx = client_ctx(pki)
    conn = https_conn(tls_server.tls_port, ctx)
    try:
        version, cipher = conn.sock.version(), conn.sock.cipher()[0]
        # Keep-alive over TLS: several requests on one session.
        for _ in range(3):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            assert resp.status == 200
            assert b'"ok"' in resp.read()
    finally:
        conn.close()
    assert version == "TLSv1.2", version
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    status, _, _ = tls_server.http("GET", "/healthz")  # the plain one
    assert status == 200


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-CHACHA20-POLY1305",
                                    "ECDHE-ECDSA-AES256-GCM-SHA384"])
def test_other_aead_suites(tls_server, pki, cipher):
    ctx = client_ctx(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # set_ciphers names 1.2 suites
    ctx.set_ciphers(cipher)
    conn = https_conn(tls_server.tls_port, ctx)
    try:
        assert conn.sock.cipher()[0] == cipher
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256",
                                    "AES128-GCM-SHA256"])
def test_cbc_and_static_rsa_suites_refused(tls_server, pki, cipher):
    """Only ECDHE with an AEAD cipher: CBC and non-forward-secret suites
    get a handshake failure even though mbedTLS has them."""
    ctx = client_ctx(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher)
    since = len(tls_server.logs)
    with pytest.raises(ssl.SSLError, match="(?i)handshake|alert"):
        https_get(tls_server.tls_port, ctx)
    tls_server.wait_log("tls_handshake_failed", since=since)


def test_rsa_certificate(server_factory, pki):
    srv = start_tls(server_factory, pki.rsa[0], pki.rsa[1])
    status, _ = https_get(srv.tls_port, client_ctx(pki))
    assert status == 200


def test_wss_chat_with_a_plain_ws_peer(tls_server, pki):
    tok = tls_server.people("alice", "bob")
    url = f"wss://{HOST}:{tls_server.tls_port}/ws"

    async def body():
        async with Client(tls_server, tok["alice"], url=url, ssl=client_ctx(pki)) as a, \
                Client(tls_server, tok["bob"]) as b:
            g = a.room_id("general")
            ack = await a.send_text(g, "over TLS")
            assert ack["type"] == "ack", ack
            ev = await b.next_event("message", room=g, id=ack["id"])
            assert ev["text"] == "over TLS"
            # A big message: several TLS records each way.
            big = "x" * 3900
            back = await b.send_text(g, big)
            assert back["type"] == "ack", back
            ev = await a.next_event("message", room=g, id=back["id"])
            assert ev["text"] == big
            hist = await a.history(g)
            assert {m["text"] for m in hist["messages"]} >= {"over TLS", big}

    run(body())


def test_same_origin_and_secure_cookie_follow_the_listener(tls_server, pki):
    """What HTTP and WebSocket decide from "is this TLS": a browser's
    same-origin upgrade is https:// on the TLS port (http:// is another
    origin), and the session cookie is Secure over TLS only."""
    port = tls_server.tls_port
    ctx = client_ctx(pki)
    url = f"wss://{HOST}:{port}/ws"

    async def attempt(origin):
        try:
            ws = await websockets.connect(url, ssl=ctx, subprotocols=["parley.v1"],
                                          extra_headers={"Origin": origin})
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
        await ws.close()
        return 101

    assert run(attempt(f"https://{HOST}:{port}")) == 101
    assert run(attempt(f"http://{HOST}:{port}")) == 403

    tls_server.add_user("alice", "correct horse 1")
    conn = https_conn(port, ctx)
    try:
        conn.request("POST", "/api/login", body=json.dumps(
            {"username": "alice", "password": "correct horse 1"}),
            headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        cookie = resp.getheader("Set-Cookie")
    finally:
        conn.close()
    assert cookie and "Secure" in cookie.split("; "), cookie
    _, headers, _ = tls_server.http("POST", "/api/login", json={
        "username": "alice", "password": "correct horse 1"})
    assert "Secure" not in headers["Set-Cookie"].split("; ")


def test_stalled_tls_reader_gets_everything_in_order(server_factory, pki):
    """A wss reader with a tiny receive window stops reading while 8 MB of
    messages are broadcast, more than the kernel buffers: the server's TLS
    writes stop part-way through records (mbedTLS WANT_WRITE) and resume
    when the reader does; every message arrives, intact and in order."""
    srv = start_tls(server_factory, pki.good[0], pki.good[1],
                    limits=f"max_text = {STALL_TEXT + 100}, outbound_high_water = {64 << 20}")
    tok = srv.people("alice", "slow")
    slow = RawWS(srv.tls_port, rcvbuf=2048, ssl=client_ctx(pki))
    assert slow.handshake() == 101
    g = slow.auth(tok["slow"])
    texts = [f"{i:03d} " + chr(ord("a") + i % 26) * STALL_TEXT for i in range(STALL_MESSAGES)]

    async def body():
        async with Client(srv, tok["alice"]) as a:
            acks = await a.send_many(a.room_id("general"), texts, window=16)
            assert all(x["type"] == "ack" for x in acks)
            return a.room_id("general")

    try:
        room = run(body())
        got = []
        while len(got) < len(texts):
            f = slow.recv_json()
            if f.get("type") == "message" and f.get("room") == room:
                got.append(f["text"])
        assert got == texts
    finally:
        slow.close()
    assert g["type"] == "ready"


def test_slow_tls_consumer_is_cut(server_factory, pki):
    """The outbound bound holds on TLS too: a wss reader that never reads
    is disconnected, with a record half sent, and the server goes on."""
    srv = start_tls(server_factory, pki.good[0], pki.good[1],
                    limits=f"max_text = {STALL_TEXT + 100}, outbound_high_water = {1 << 20}, "
                           "outbound_grace = 1")
    tok = srv.people("alice", "slow")
    slow = RawWS(srv.tls_port, rcvbuf=2048, ssl=client_ctx(pki))
    assert slow.handshake() == 101
    slow.auth(tok["slow"])
    text = "c" * STALL_TEXT

    async def body():
        async with Client(srv, tok["alice"]) as a:
            since = len(srv.logs)
            for _ in range(STALL_MESSAGES // 10):
                # A small window: alice reads her own copies as they come.
                acks = await a.send_many(a.room_id("general"), [text] * 10, window=2)
                assert all(x["type"] == "ack" for x in acks)
                if any(e.get("event") == "slow_consumer" for e in srv.logs[since:]):
                    break
            srv.wait_log("slow_consumer", timeout=10, since=since)

    try:
        run(body())
    finally:
        slow.close()
    still_serves(srv, pki)


def test_curl_with_cacert(tls_server, pki):
    port = tls_server.tls_port
    res = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", pki.ca_file,
                          "--resolve", f"{HOST}:{port}:127.0.0.1",
                          f"https://{HOST}:{port}/healthz"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stderr
    assert '"ok"' in res.stdout


def metric(srv, name):
    status, _, body = srv.http("GET", "/metrics")
    assert status == 200
    m = re.search(rf"^{name} (\S+)$", body.decode(), re.M)
    assert m, f"no {name} in /metrics"
    return float(m.group(1))


def test_idle_sessions_park_and_wake(tls_server, pki):
    """Idle TLS sessions give back their record buffers (parked) and pick
    up where they were on the next byte, in both directions."""
    tok = tls_server.people("alice", "bob")
    ctx = client_ctx(pki)
    url = f"wss://{HOST}:{tls_server.tls_port}/ws"

    async def body():
        async with Client(tls_server, tok["alice"], url=url, ssl=ctx) as a, \
                Client(tls_server, tok["bob"], url=url, ssl=ctx) as b:
            g = a.room_id("general")
            keep = https_conn(tls_server.tls_port, ctx)
            keep.request("GET", "/healthz")
            assert keep.getresponse().read()
            for round in range(2):
                await asyncio.sleep(PARK_WAIT)
                assert metric(tls_server, "parley_tls_sessions") == 3
                assert metric(tls_server, "parley_tls_sessions_parked") == 3
                # Woken by what the server sends (a broadcast) ...
                ack = await a.send_text(g, f"round {round}")
                assert ack["type"] == "ack", ack
                ev = await b.next_event("message", room=g, id=ack["id"])
                assert ev["text"] == f"round {round}"
                # ... and by what the client sends, records bigger than one.
                big = "y" * 3999
                back = await b.send_text(g, big)
                assert back["type"] == "ack", back
                assert (await a.next_event("message", room=g, id=back["id"]))["text"] == big
                keep.request("GET", "/healthz")
                resp = keep.getresponse()
                assert resp.status == 200 and b'"ok"' in resp.read()
                assert metric(tls_server, "parley_tls_sessions_parked") < 3
            keep.close()

    run(body())


# -- what clients refuse -------------------------------------------------------


def test_wrong_hostname_refused_by_clients(tls_server, pki):
    port = tls_server.tls_port
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)hostname|match"):
        https_get(port, client_ctx(pki), host="chat.example.org")
    res = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", pki.ca_file,
                          "--resolve", f"chat.example.org:{port}:127.0.0.1",
                          f"https://chat.example.org:{port}/healthz"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 60, (res.returncode, res.stderr)  # peer certificate not OK
    still_serves(tls_server, pki)


def test_expired_certificate_refused_by_clients(server_factory, pki):
    srv = start_tls(server_factory, pki.expired[0], pki.expired[1])
    warn = srv.wait_log("tls_certificate")
    assert warn["level"] == "warn" and "EXPIRED" in warn["msg"], warn
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)expired"):
        https_get(srv.tls_port, client_ctx(pki))
    res = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", pki.ca_file,
                          "--resolve", f"{HOST}:{srv.tls_port}:127.0.0.1",
                          f"https://{HOST}:{srv.tls_port}/healthz"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 60, (res.returncode, res.stderr)
    assert "expired" in res.stderr.lower()


# -- what the server refuses ---------------------------------------------------


def test_tls_1_1_refused_by_server(tls_server, pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 drops 1.1 at level 1
    with warnings.catch_warnings():  # deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    since = len(tls_server.logs)
    with pytest.raises(ssl.SSLError) as info:
        with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=HOST):
                pass
    # The server said no (an alert), not our own library before sending.
    assert "NO_PROTOCOLS_AVAILABLE" not in str(info.value), info.value
    line = tls_server.wait_log("tls_handshake_failed", since=since)
    assert "version" in line["msg"].lower() or "handshake" in line["msg"].lower(), line
    still_serves(tls_server, pki)


def read_until_closed(s, timeout=5):
    s.settimeout(timeout)
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            return got, True
        except socket.timeout:
            return got, False
        if not chunk:
            return got, True
        got += chunk
    return got, False


def test_plain_http_to_tls_port_is_closed(tls_server, pki):
    since = len(tls_server.logs)
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        got, closed = read_until_closed(s)
    assert closed, "the server kept the connection open"
    assert b"HTTP/1.1" not in got, got
    tls_server.wait_log("tls_handshake_failed", since=since)
    still_serves(tls_server, pki)


def client_hello():
    """A real ClientHello, as Python's ssl sends it."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=HOST)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_handshake_garbage_keeps_the_server_serving(tls_server, pki):
    """Random bytes, and real ClientHellos with random bytes changed or cut,
    each on its own connection; then the server still answers both ports."""
    rnd = random.Random(GARBAGE_SEED)
    hello = client_hello()
    t0 = time.monotonic()
    # In batches, all sockets of a batch open at once, so the ones the
    # server rightly keeps waiting for more bytes cost one wait, not each.
    for batch in range(0, GARBAGE_CONNS, GARBAGE_BATCH):
        socks = []
        for i in range(batch, min(batch + GARBAGE_BATCH, GARBAGE_CONNS)):
            kind = i % 3
            if kind == 0:
                data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 600)))
            elif kind == 1:
                b = bytearray(hello)
                for _ in range(rnd.randint(1, 8)):
                    b[rnd.randrange(len(b))] = rnd.getrandbits(8)
                data = bytes(b)
            else:
                data = hello[:rnd.randrange(1, len(hello))]
            s = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5)
            socks.append(s)
            try:
                s.sendall(data)
            except (ConnectionResetError, BrokenPipeError):
                pass
        time.sleep(0.2)
        for s in socks:
            s.close()
    assert time.monotonic() - t0 < 30
    assert tls_server.proc.poll() is None
    still_serves(tls_server, pki)


def test_stalled_handshake_is_closed_after_the_header_timeout(server_factory, pki):
    srv = start_tls(server_factory, pki.good[0], pki.good[1], limits="header_timeout = 1")
    since = len(srv.logs)
    with socket.create_connection(("127.0.0.1", srv.tls_port), timeout=5) as s:
        s.sendall(client_hello()[:20])  # a start, then nothing
        t0 = time.monotonic()
        got, closed = read_until_closed(s, timeout=5)
        waited = time.monotonic() - t0
    assert closed and waited < 4, (closed, waited)
    srv.wait_log("conn_close", since=since)
    assert any("tls_handshake_timeout" in ln.get("msg", "") for ln in srv.logs[since:]), \
        "no tls_handshake_timeout close logged"


# -- reload on SIGHUP ------------------------------------------------------------


def test_sighup_new_certificate_keeps_open_connections(server_factory, pki, tmp_path):
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(pki.good[0], cert)
    shutil.copy(pki.good[1], key)
    srv = start_tls(server_factory, cert, key)
    tok = srv.people("alice", "bob")
    ctx = client_ctx(pki)
    assert peer_cert(srv.tls_port, ctx).serial_number == pki.good[2].serial_number
    url = f"wss://{HOST}:{srv.tls_port}/ws"

    async def body():
        async with Client(srv, tok["alice"], url=url, ssl=ctx) as a, \
                Client(srv, tok["bob"], url=url, ssl=ctx) as b:
            g = a.room_id("general")
            assert (await a.send_text(g, "before"))["type"] == "ack"
            # New files at the same paths (how certbot renews), then HUP.
            shutil.copy(pki.other[0], cert)
            shutil.copy(pki.other[1], key)
            since = len(srv.logs)
            srv.signal(signal.SIGHUP)
            line = srv.wait_log("tls_reload", since=since)
            assert "parley-reloaded" in line["msg"], line
            new = peer_cert(srv.tls_port, ctx)
            assert new.serial_number == pki.other[2].serial_number
            # The open sessions keep theirs and still chat.
            ack = await a.send_text(g, "after")
            assert ack["type"] == "ack", ack
            ev = await b.next_event("message", room=g, id=ack["id"])
            assert ev["text"] == "after"

    run(body())


def test_sighup_bad_certificate_keeps_the_old(server_factory, pki, tmp_path):
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(pki.good[0], cert)
    shutil.copy(pki.good[1], key)
    srv = start_tls(server_factory, cert, key)
    ctx = client_ctx(pki)
    # A renewal half done: the new certificate with the old key.
    shutil.copy(pki.other[0], cert)
    since = len(srv.logs)
    srv.signal(signal.SIGHUP)
    line = srv.wait_log("tls_reload_failed", since=since)
    assert line["level"] == "error" and "does not belong" in line["msg"], line
    assert peer_cert(srv.tls_port, ctx).serial_number == pki.good[2].serial_number
    # Garbage in the certificate file: the same.
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    since = len(srv.logs)
    srv.signal(signal.SIGHUP)
    srv.wait_log("tls_reload_failed", since=since)
    assert peer_cert(srv.tls_port, ctx).serial_number == pki.good[2].serial_number
    still_serves(srv, pki)


# -- config errors ----------------------------------------------------------------


def config_error_cases(pki, folder):
    garbage = os.path.join(folder, "garbage.key")
    with open(garbage, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    missing = os.path.join(folder, "missing.crt")
    return {
        # name: (cert, key, key the error names, words in the message)
        "missing_cert": (missing, pki.good[1], "tls.cert", ["cannot read", "No such file"]),
        "unparsable_key": (pki.good[0], garbage, "tls.key", ["cannot parse"]),
        "key_of_another_cert": (pki.good[0], pki.other[1], "tls.key", ["does not belong"]),
    }


@pytest.mark.parametrize("case", ["missing_cert", "unparsable_key", "key_of_another_cert"])
def test_config_errors_name_file_and_line(server_factory, run_parley, pki, tmp_path, case):
    cert, key, where, words = config_error_cases(pki, str(tmp_path))[case]
    text = tls_config(cert, key)
    conf = tmp_path / "parley.conf"
    conf.write_text(text.replace("{data_dir}", str(tmp_path / "data"))
                    .replace("{plugin_dir}", "plugins"))
    res = run_parley("check-config", "--config", str(conf))
    assert res.returncode != 0
    out = res.stderr + res.stdout
    # The tls table is on line 3 of the config.
    assert re.search(r"parley\.conf:3\b", out), out
    assert where in out, out
    for w in words:
        assert w in out, out
    # And the server refuses to start with it, saying the same.
    srv = server_factory(raw_config=text, expect_fail=True)
    assert srv.returncode not in (0, None)
    assert where in srv.stderr_text


def test_check_config_accepts_good_tls(run_parley, pki, tmp_path, plugin_dir):
    conf = tmp_path / "parley.conf"
    conf.write_text(tls_config(pki.good[0], pki.good[1])
                    .replace("{data_dir}", str(tmp_path / "data"))
                    .replace("{plugin_dir}", plugin_dir))
    res = run_parley("check-config", "--config", str(conf))
    assert res.returncode == 0, res.stderr


# -- stopping ------------------------------------------------------------------------


def test_stop_with_tls_connections_open(server_factory, pki):
    """SIGTERM with an authenticated wss session, an idle HTTPS keep-alive
    and a half-done handshake: the session gets its close frame, the other
    two are still open when the shutdown bound ends, and the exit is 0
    (under ASan that exit is also the leak check)."""
    srv = start_tls(server_factory, pki.good[0], pki.good[1], limits="shutdown_timeout = 1")
    tok = srv.user("alice")
    ctx = client_ctx(pki)
    url = f"wss://{HOST}:{srv.tls_port}/ws"

    async def body():
        async with Client(srv, tok, url=url, ssl=ctx) as a:
            half = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=5)
            half.sendall(client_hello())
            keep = https_conn(srv.tls_port, ctx)
            keep.request("GET", "/healthz")
            assert keep.getresponse().read()
            rc = await asyncio.get_running_loop().run_in_executor(None, srv.stop)
            assert rc == 0, srv.stderr_text[-3000:]
            assert "still open" in srv.stderr_text
            code = await a.wait_closed()
            assert code in (1001, 1006), code
            half.close()
            keep.close()

    run(body())
