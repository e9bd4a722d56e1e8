"""auth_jwt against the real server: single sign-on with JWTs from an OpenID
Connect provider, played by the test.

The test makes the provider's keys (RSA 2048 and EC P-256, with
python3-cryptography), serves its JWKS from a local HTTP server on a free
port (http.server in a thread) and signs the tokens itself. The server runs
auth_local and auth_jwt in its auth chain over a real SQLite store, with a
Cognito-shaped config: issuer, app client id, token_use, cognito:username,
cognito:groups mapped to roles.
"""

import asyncio
import base64
import http.server
import json
import socket
import threading
import time
import uuid

import pytest
import websockets
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TESTPOOL"
CLIENT_ID = "parley-app-client"
CHEAP = "argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n, size=None):
    return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")


class Key:
    """One signing key of the provider, with its public JWK."""

    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        if kind == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                        "n": b64u(int_bytes(pub.n)), "e": b64u(int_bytes(pub.e))}
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                        "x": b64u(int_bytes(pub.x, 32)), "y": b64u(int_bytes(pub.y, 32))}

    def public_pem(self):
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data, der=False):
        if self.kind == "RS256":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        sig = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        if der:
            return sig
        r, s = utils.decode_dss_signature(sig)
        return int_bytes(r, 32) + int_bytes(s, 32)


def jws(header, claims, sign):
    """A compact JWS; sign(bytes) gives the signature bytes."""
    head = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    return head + "." + b64u(sign(head.encode()))


def claims_for(name, groups=(), sub=None, **over):
    now = int(time.time())
    c = {"iss": ISSUER, "sub": sub or str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
         "aud": CLIENT_ID, "token_use": "id", "iat": now, "exp": now + 600,
         "cognito:username": name, "email": f"{name}@example.org", "name": name.title()}
    if groups:
        c["cognito:groups"] = list(groups)
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def token(key, name, groups=(), header=None, **over):
    h = {"alg": key.kind, "kid": key.kid, "typ": "JWT"}
    h.update(header or {})
    return jws(h, claims_for(name, groups, **over), key.sign)


class JwksServer:
    """The provider's JWKS endpoint: serves `doc` (bytes) and counts hits."""

    def __init__(self):
        self.doc = b'{"keys":[]}'
        self.hits = 0
        self.delay = 0.0  # seconds before answering (a slow provider)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits += 1
                time.sleep(owner.delay)
                body = owner.doc
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"

    def publish(self, *keys):
        self.doc = json.dumps({"keys": [k.jwk for k in keys]}).encode()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def keys():
    return {"rsa1": Key("RS256", "rsa-1"), "ec1": Key("ES256", "ec-1"),
            "rsa2": Key("RS256", "rsa-2"), "rogue": Key("RS256", "rsa-1")}


@pytest.fixture
def jwks():
    srv = JwksServer()
    yield srv
    srv.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jwt_plugins(jwks_url, extra=""):
    return ('{ {"auth_local", ' + CHEAP + '},'
            ' {"auth_jwt", issuer = "' + ISSUER + '", jwks_url = "' + jwks_url + '",'
            ' audiences = { "' + CLIENT_ID + '" }, token_use = "id",'
            ' username_claim = "cognito:username", groups_claim = "cognito:groups",'
            ' roles = { admin = { "chat-admins" } }' + extra + '},'
            ' {"store_sqlite"} }')


@pytest.fixture
def sso(server_factory, jwks, keys):
    """A server whose auth chain trusts the test's provider, keys fetched."""
    jwks.publish(keys["rsa1"], keys["ec1"])
    srv = server_factory(plugins=jwt_plugins(jwks.url))
    srv.wait_log("jwks_fetched", timeout=10)
    return srv


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


def get_users(server, tok):
    status, _, data = server.http("GET", "/api/admin/users", headers=bearer(tok))
    return status, json.loads(data) if data else None


def ws_auth(server, tok):
    """The answer to an auth frame: ready or error (or closed)."""

    async def go():
        async with websockets.connect(server.ws_url, subprotocols=["parley.v1"],
                                      max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "rid": 1, "token": tok}))
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 10))
            except websockets.ConnectionClosed as e:
                return {"type": "closed", "code": e.code}

    return asyncio.run(go())


def refused(server, tok, code="unauthorized", status=401):
    """The HTTP error of a refused token (asserting its status and code)."""
    st, body = get_users(server, tok)
    assert st == status, (st, body)
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


def test_rs256_and_es256_sign_in_over_ws_and_http(sso, keys):
    # RS256 over WebSocket: the account is made from the claims, its role
    # from the groups, and it joins #general like any new account.
    ready = ws_auth(sso, token(keys["rsa1"], "alice", groups=["staff", "chat-admins"]))
    assert ready["type"] == "ready", ready
    assert ready["user"]["name"] == "alice"
    assert ready["user"]["display_name"] == "Alice"
    assert ready["user"]["role"] == "admin"
    assert "general" in [r["name"] for r in ready["rooms"]]
    sso.wait_log("sso_user_created")

    # ES256 over HTTP Bearer: authenticated (a member: admin APIs say 403).
    bob = token(keys["ec1"], "bob", groups=["staff"])
    status, body = get_users(sso, bob)
    assert status == 403, body
    status, body = get_users(sso, token(keys["rsa1"], "alice", groups=["chat-admins"]))
    assert status == 200, body
    users = {u["name"]: u for u in body["users"]}
    assert users["bob"]["role"] == "member"
    assert users["bob"]["email"] == "bob@example.org"
    assert users["alice"]["role"] == "admin"

    # The role follows the groups at each sign-in: bob promoted, alice not.
    ready = ws_auth(sso, token(keys["ec1"], "bob", groups=["chat-admins"]))
    assert ready["user"]["role"] == "admin", ready
    ready = ws_auth(sso, token(keys["rsa1"], "alice"))
    assert ready["user"]["role"] == "member", ready
    sso.wait_log("sso_role_changed")

    # The same person signing in again is the same account.
    status, body = get_users(sso, token(keys["ec1"], "bob", groups=["chat-admins"]))
    assert status == 200
    assert [u["name"] for u in body["users"]].count("bob") == 1

    # auth_local's session tokens still work next to it in the chain.
    sso.add_user("carol")
    ready = ws_auth(sso, sso.token("carol"))
    assert ready["type"] == "ready" and ready["user"]["name"] == "carol"


def test_bad_tokens_refused_with_clear_messages(sso, keys):
    rsa1, ec1 = keys["rsa1"], keys["ec1"]
    now = int(time.time())
    pem = rsa1.public_pem()

    def hs256(data):
        h = hmac.HMAC(pem, hashes.SHA256())
        h.update(data)
        return h.finalize()

    good = token(rsa1, "dave")
    cases = {
        "expired": (token(rsa1, "dave", exp=now - 3600, iat=now - 7200), "expired"),
        "not yet valid": (token(rsa1, "dave", nbf=now + 3600), "not valid yet"),
        "wrong audience": (token(rsa1, "dave", aud="someone-else"), "audience"),
        "access token": (token(rsa1, "dave", token_use="access"), "token_use"),
        "no exp": (token(rsa1, "dave", exp=None), "exp"),
        "alg none": (jws({"alg": "none"}, claims_for("dave"), lambda d: b""), "alg none"),
        "HS256 with the public key": (
            jws({"alg": "HS256", "kid": "rsa-1"}, claims_for("dave"), hs256), "HS256"),
        "forged (another key, same kid)": (token(keys["rogue"], "dave"), "signature"),
        "ES256 signature in DER": (
            jws({"alg": "ES256", "kid": "ec-1"}, claims_for("dave"),
                lambda d: ec1.sign(d, der=True)), "signature"),
        "RSA kid with alg ES256": (
            jws({"alg": "ES256", "kid": "rsa-1"}, claims_for("dave"), ec1.sign), "no key"),
        "bad user name": (token(rsa1, "dave smith"), "user name"),
        "garbage": ("eyJhbGciOi.eyJzdWIi.xyz", "malformed"),
        "truncated in the signature": (good[:-20], "signature"),
        "truncated in the claims": (good.split(".")[0] + "." + good.split(".")[1][:-9] + ".",
                                    "malformed"),
        "truncated to two parts": (good[:good.rindex(".")], "invalid or expired token"),
        "oversized": (good + "A" * (9000 - len(good)), "too long"),
    }
    for what, (tok, words) in cases.items():
        msg = refused(sso, tok)
        assert words in msg, (what, msg)
    # Over WebSocket, the same answer.
    for what in ("expired", "alg none", "HS256 with the public key", "oversized"):
        reply = ws_auth(sso, cases[what][0])
        assert reply["type"] == "error" and reply["code"] == "unauthorized", (what, reply)
        assert cases[what][1] in reply["message"], (what, reply)
    # Another issuer's token is not this provider's: passed on, refused at
    # the chain's end like any unknown token.
    refused(sso, token(rsa1, "dave", iss="https://other.example"))
    # Refusals are logged and counted; nothing was created; the server serves.
    line = sso.wait_log("jwt_refused")
    assert "dave" in line.get("msg", "") or "-" in line.get("msg", "")
    status, _, metrics = sso.http("GET", "/metrics")
    assert b"parley_plugin_auth_jwt_refused_total" in metrics
    ready = ws_auth(sso, good)
    assert ready["type"] == "ready" and ready["user"]["name"] == "dave", ready


def test_unknown_kid_then_key_rotation(sso, jwks, keys):
    assert jwks.hits == 1
    # The provider rotates: rsa-1 retired, rsa-2 published. A token signed
    # with the new key makes the server fetch the set again, then passes.
    jwks.publish(keys["rsa2"], keys["ec1"])
    ready = ws_auth(sso, token(keys["rsa2"], "erin"))
    assert ready["type"] == "ready", ready
    assert jwks.hits == 2
    # The retired key is gone with the old set.
    assert "no key" in refused(sso, token(keys["rsa1"], "erin"))
    # A flood of made-up key ids costs the issuer nothing more within
    # min_refetch (60 s by default).
    for i in range(5):
        msg = refused(sso, token(keys["rsa2"], "erin", header={"kid": f"made-up-{i}"}))
        assert "no key" in msg, msg
    assert jwks.hits == 2


def test_sign_ins_wait_together_for_one_fetch(sso, jwks, keys):
    """A slow provider: sign-ins that need a new key all wait for one fetch."""
    jwks.publish(keys["rsa2"])
    jwks.delay = 1.0
    results = [None] * 8

    def one(i):
        results[i] = get_users(sso, token(keys["rsa2"], f"user{i}", groups=["chat-admins"]))[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    # Meanwhile the server answers everything else.
    status, _, _ = sso.http("GET", "/healthz")
    assert status == 200
    for t in threads:
        t.join(30)
    assert results == [200] * len(results)
    assert jwks.hits == 2


def test_shutdown_while_a_sign_in_waits_for_keys(sso, jwks, keys):
    """SIGTERM with a key fetch in flight and a sign-in waiting on it: the
    server stops cleanly (exit 0, and under ASan without leaks)."""
    jwks.publish(keys["rsa2"])
    jwks.delay = 3.0
    since = len(sso.logs)
    waiter = threading.Thread(target=lambda: ws_auth(sso, token(keys["rsa2"], "kim")),
                              daemon=True)
    waiter.start()
    sso.wait_log("jwks_fetch", since=since, timeout=10)
    assert sso.stop() == 0, sso.stderr_text[-3000:]
    waiter.join(10)


BAD_KEY_SETS = {
    "truncated": (b'{"keys": [ {"kty": "RSA", ', "not JSON"),
    "oversized": (b'{"keys":[' + b'{"kty":"oct","k":"AAAA"},' * 20000 + b'{}]}', "larger than"),
    "no key list": (b'{"keys": {"kty": "RSA"}}', 'no "keys" array'),
}


@pytest.mark.parametrize("which", list(BAD_KEY_SETS))
def test_bad_key_sets_refuse_sign_in_and_are_logged(server_factory, jwks, keys, which):
    jwks.doc, words = BAD_KEY_SETS[which]
    srv = server_factory(plugins=jwt_plugins(jwks.url))
    line = srv.wait_log("jwks_fetch_failed", timeout=10)
    assert words in line.get("msg", ""), line
    msg = refused(srv, token(keys["rsa1"], "frank"), code="unavailable", status=503)
    assert "keys are unavailable" in msg and words in msg, msg
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200


def test_issuer_down_means_unavailable(server_factory, keys):
    url = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    srv = server_factory(plugins=jwt_plugins(url, extra=", timeout = 2"))
    srv.wait_log("jwks_fetch_failed", timeout=10)
    reply = ws_auth(srv, token(keys["rsa1"], "gina"))
    assert reply["type"] == "error" and reply["code"] == "unavailable", reply
    assert "keys are unavailable" in reply["message"], reply
    # Within min_refetch the answer comes without another attempt.
    msg = refused(srv, token(keys["rsa1"], "gina"), code="unavailable", status=503)
    assert "keys are unavailable" in msg
    status, _, _ = srv.http("GET", "/healthz")
    assert status == 200


def test_names_taken_and_disabled_accounts(sso, keys):
    rsa1 = keys["rsa1"]
    # A local account's name cannot be taken over by the provider.
    sso.add_user("henry")
    assert "local account" in refused(sso, token(rsa1, "henry"))
    # Nor can another subject of the same provider take an SSO account.
    admin = token(rsa1, "ivy", groups=["chat-admins"])
    assert get_users(sso, admin)[0] == 200
    assert "another single sign-on" in refused(sso, token(rsa1, "ivy", sub="someone-else"))
    # And no password opens an SSO account (its password field is a marker).
    for password in ("", "correct horse 1", "$sso$"):
        status, _, _ = sso.http("POST", "/api/login",
                                json={"username": "ivy", "password": password})
        assert status in (400, 401), (password, status)
    # A disabled account is refused, though its token is valid.
    jack = token(keys["ec1"], "jack")
    assert get_users(sso, jack)[0] == 403
    users = {u["name"]: u for u in get_users(sso, admin)[1]["users"]}
    status, _, data = sso.http("POST", f"/api/admin/users/{users['jack']['id']}/disable",
                               headers=bearer(admin))
    assert status == 200, data
    assert "disabled" in refused(sso, jack)


def test_link_existing_claims_a_passwordless_account(server_factory, jwks, keys, tmp_path):
    jwks.publish(keys["rsa1"])
    srv = server_factory(plugins=jwt_plugins(jwks.url, extra=", link_existing = true"))
    srv.wait_log("jwks_fetched", timeout=10)
    csv = tmp_path / "users.csv"
    csv.write_text("lena,member\nmax,member,a password 1\n")
    assert srv.cli("user", "import", str(csv)).stdout.strip() == "imported 2 users"
    # lena was made without a password, for SSO: the first sign-in claims it.
    ready = ws_auth(srv, token(keys["rsa1"], "lena", groups=["chat-admins"]))
    assert ready["type"] == "ready" and ready["user"]["name"] == "lena", ready
    assert ready["user"]["role"] == "admin"
    srv.wait_log("sso_user_linked")
    # Claimed: another subject cannot have it any more; max has a password.
    assert "another single sign-on" in refused(srv, token(keys["rsa1"], "lena", sub="other"))
    assert "local account" in refused(srv, token(keys["rsa1"], "max"))


def test_bearer_on_the_websocket_upgrade(sso, keys):
    async def go():
        async with websockets.connect(
                sso.ws_url, subprotocols=["parley.v1"],
                extra_headers={"Authorization": "Bearer " + token(keys["ec1"], "nora")}) as ws:
            await ws.send(json.dumps({"type": "auth", "rid": 1}))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    ready = asyncio.run(go())
    assert ready["type"] == "ready" and ready["user"]["name"] == "nora", ready


def test_config_is_checked(run_parley, tmp_path):
    def check(section):
        cfg = tmp_path / "parley.conf"
        cfg.write_text('plugins = { {"auth_local"}, {"auth_jwt", ' + section + '},'
                       ' {"store_sqlite"} }\n')
        return run_parley("check-config", "--config", str(cfg))

    res = check('issuer = "https://idp.example", audiences = { "a" },'
                ' algorithms = { "RS256", "HS256" }')
    assert res.returncode != 0 and "algorithms" in res.stderr and "HS256" in res.stderr
    res = check('issuer = "https://idp.example"')
    assert res.returncode != 0 and "audiences" in res.stderr
    res = check('issuer = "https://idp.example", audiences = { "a" },'
                ' jwks_url = "http://idp.example/keys"')
    assert res.returncode != 0 and "https://" in res.stderr
    res = check('issuer = "https://idp.example", audiences = { "a" },'
                ' roles = { owner = { "x" } }, groups_claim = "groups"')
    assert res.returncode != 0 and "owner" in res.stderr
    res = check('issuer = "https://idp.example", audiences = { "a" }, token_use = "id",'
                ' groups_claim = "cognito:groups", roles = { admin = { "chat-admins" } }')
    assert res.returncode == 0, res.stderr


def test_jwks_url_with_userinfo_is_refused(run_parley, tmp_path):
    def check(url):
        cfg = tmp_path / "parley.conf"
        cfg.write_text('plugins = { {"auth_local"}, {"auth_jwt", issuer = "https://idp.example",'
                       ' audiences = { "a" }, jwks_url = "' + url + '"}, {"store_sqlite"} }\n')
        return run_parley("check-config", "--config", str(cfg))

    for url in ("http://x@evil/", "http://localhost:80@evil.example/keys",
                "http://127.0.0.1:@evil.example/", "https://user:pw@idp.example/keys",
                "http://localhost.evil.example/keys", "http://[::1]x/keys"):
        res = check(url)
        assert res.returncode != 0 and "jwks_url" in res.stderr, (url, res.stderr)
    for url in ("http://127.0.0.1:8080/keys", "http://localhost/keys", "http://[::1]:9/k",
                "https://idp.example/.well-known/jwks.json"):
        res = check(url)
        assert res.returncode == 0, (url, res.stderr)


def test_wrong_aud_is_not_saved_by_client_id(sso, keys):
    # An ID token for another app of the same pool: its client_id is ours.
    tok = token(keys["rsa1"], "mallory", aud="another-app", client_id=CLIENT_ID)
    assert "audience" in refused(sso, tok)
    assert ws_auth(sso, tok)["type"] in ("error", "closed")


def test_no_password_reset_for_sso_accounts(sso, keys):
    # The account exists once its first token was accepted.
    assert ws_auth(sso, token(keys["rsa1"], "sam"))["type"] == "ready"
    status, _, _ = sso.http("POST", "/api/password/forgot", json={"email": "sam@example.org"})
    assert status == 202
    line = sso.wait_log("password_reset_refused", timeout=5)
    assert "sam" in line["msg"]
    assert not sso._find_log("password_reset_sent", 0, {})
