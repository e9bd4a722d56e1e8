"""Browser sign-in (OpenID Connect authorization code flow with PKCE)
against a real provider on loopback: npm oidc-provider, run by
tests/browser/oidc_provider.mjs as http://localhost:PORT while parley is
http://127.0.0.1:PORT. The test plays the browser with a cookie jar
(urllib with a cookie jar, redirects followed by hand so each hop can be checked).

What must hold: a finished flow gives a parley session cookie that works;
a forged state, a state without its cookie, a replayed code, a wrong nonce
and an expired state are refused with no session; the client secret is in
no answer of parley's.
"""

import json
import os
import socket
import subprocess
import threading
import time
from urllib.parse import parse_qs, urljoin, urlparse, urlencode

import http.cookiejar
import urllib.error
import urllib.request

import pytest

from conftest import SOURCE_DIR, lua_str
from test_tls import HOST, client_ctx, https_conn, pki  # noqa: F401 (pki: a fixture)
from test_uploads import node_binary

CLIENT_ID = "parley-web"
CLIENT_SECRET = "s3cret-never-in-a-response-7f1c"
CHEAP = "argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provider:
    """oidc-provider in a node process."""

    def __init__(self, port, parley_url):
        script = os.path.join(SOURCE_DIR, "tests", "browser", "oidc_provider.mjs")
        if not os.path.isdir(os.path.join(SOURCE_DIR, "tests", "node_modules", "oidc-provider")):
            pytest.fail("oidc-provider is not installed: run tools/setup.sh --test")
        self.proc = subprocess.Popen(
            [node_binary(), script, str(port), CLIENT_ID, CLIENT_SECRET, parley_url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.issuer = None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.issuer = json.loads(line)["issuer"]
                break
        if not self.issuer:
            self.stop()
            pytest.fail("oidc-provider did not start")
        self.output = []
        threading.Thread(target=lambda: self.output.extend(self.proc.stdout), daemon=True).start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def oidc_plugins(issuer, extra=""):
    return ('{ {"auth_local", ' + CHEAP + '},'
            ' {"auth_jwt", issuer = "' + issuer + '", jwks_url = "' + issuer + '/jwks",'
            ' audiences = { "' + CLIENT_ID + '" }, client_id = "' + CLIENT_ID + '",'
            ' client_secret = "' + CLIENT_SECRET + '", provider_name = "Test IdP"'
            + extra + '},'
            ' {"store_sqlite"} }')


@pytest.fixture
def idp(server_factory):
    """(parley, provider): each knows the other's address before it starts."""
    made = []

    def start(extra="", limits="", server_extra=""):
        parley_port, op_port = free_port(), free_port()
        parley_url = f"http://127.0.0.1:{parley_port}"
        op = Provider(op_port, parley_url)
        made.append(op)
        srv = server_factory(plugins=oidc_plugins(op.issuer, extra), limits=limits,
                             server_extra=f'listen = {{ "127.0.0.1:{parley_port}" }}'
                             + (", " + server_extra if server_extra else ""))
        return srv, op

    yield start
    for op in made:
        op.stop()


class Answer:
    """One HTTP answer: status, headers (every Set-Cookie joined), body."""

    def __init__(self, url, status, headers, body):
        self.url, self.status_code, self.text = url, status, body.decode("utf-8", "replace")
        self.headers = {}
        for k, v in headers.items():
            self.headers[k] = v
        cookies = headers.get_all("Set-Cookie") or []
        if cookies:
            self.headers["Set-Cookie"] = "\n".join(cookies)

    def json(self):
        return json.loads(self.text)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie jar that follows redirects one hop at a time and keeps every
    answer parley gave (to look for the secret in them)."""

    def __init__(self, parley_url):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect())
        self.parley = parley_url
        self.parley_answers = []

    def request(self, url, data=None, headers=None, method=None):
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=10) as r:
                a = Answer(url, r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            a = Answer(url, e.code, e.headers, e.read())
        if url.startswith(self.parley):
            self.parley_answers.append(a)
        return a

    def get(self, url):
        return self.request(url)

    def post_form(self, url, fields):
        return self.request(url, data=urlencode(fields).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def cookie(self, name):
        for c in self.jar:
            if c.name == name and c.domain.startswith("127.0.0.1"):
                return c.value
        return None

    def begin(self):
        """GET /api/oidc/login: the provider's authorization URL."""
        r = self.get(self.parley + "/api/oidc/login")
        assert r.status_code == 303, (r.status_code, r.text)
        return r.headers["Location"]

    def at_provider(self, authorize_url, login="alice"):
        """Signs in at the provider; the callback URL it sends back."""
        r = self.get(authorize_url)
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        interaction = urljoin(authorize_url, r.headers["Location"])
        r = self.post_form(interaction, {"prompt": "login", "login": login,
                                         "password": "anything"})
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        url = urljoin(interaction, r.headers["Location"])
        # Back to the authorization endpoint, which now sends us to parley.
        for _ in range(5):
            if url.startswith(self.parley):
                return url
            r = self.get(url)
            assert r.status_code in (302, 303), (r.status_code, r.text[:300])
            url = urljoin(url, r.headers["Location"])
        raise AssertionError("the provider never sent the browser back: " + url)

    def callback(self, url):
        return self.get(url)

    def session_cookie(self):
        return self.cookie("parley_session")


def error_of(r):
    """The web client's error fragment of a failed callback."""
    assert r.status_code == 303, (r.status_code, r.text)
    loc = r.headers["Location"]
    assert loc.startswith("/#sso_error="), loc
    q = parse_qs(loc[2:])
    return q["sso_error"][0], q.get("sso_message", [""])[0]


def signed_in_as(srv, browser):
    r = browser.get(browser.parley + "/api/settings")
    assert r.status_code == 200, (r.status_code, r.text)
    tok = browser.session_cookie()
    st, _, data = srv.http("GET", "/api/settings", headers={"Authorization": f"Bearer {tok}"})
    assert st == 200, data
    return tok


def assert_no_secret(browser):
    for r in browser.parley_answers:
        blob = (r.text + json.dumps(dict(r.headers))).lower()
        assert CLIENT_SECRET.lower() not in blob, r.url


def test_sign_in_makes_a_parley_session(idp):
    srv, op = idp()
    b = Browser(srv.url)
    # The web client learns what to offer.
    r = b.get(srv.url + "/api/auth/methods")
    assert r.status_code == 200
    methods = r.json()
    assert methods["password"] is True
    assert methods["oidc"]["name"] == "Test IdP"
    assert methods["oidc"]["login"] == "/api/oidc/login"

    authorize = b.begin()
    login = b.parley_answers[-1]
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("parley_oidc=")
    for attr in ("HttpOnly", "SameSite=Lax", "Path=/api/oidc/", "Max-Age="):
        assert attr in cookie, cookie
    assert "Secure" not in cookie  # plain http here; https adds it
    assert int(cookie.split("Max-Age=")[1].split(";")[0]) <= 600
    q = parse_qs(urlparse(authorize).query)
    assert authorize.startswith(op.issuer + "/")
    assert q["client_id"] == [CLIENT_ID]
    assert q["response_type"] == ["code"]
    assert q["code_challenge_method"] == ["S256"]
    assert q["redirect_uri"] == [srv.url + "/api/oidc/callback"]
    assert len(q["state"][0]) >= 43 and len(q["nonce"][0]) >= 43
    assert len(q["code_challenge"][0]) == 43
    assert "openid" in q["scope"][0].split()
    assert "client_secret" not in authorize

    cb = b.at_provider(authorize, login="alice")
    r = b.callback(cb)
    assert r.status_code == 303 and r.headers["Location"] == "/#sso=1", (r.status_code, r.headers)
    set_cookie = r.headers["Set-Cookie"]
    assert "parley_session=" in set_cookie and "parley_oidc=;" in set_cookie
    tok = signed_in_as(srv, b)
    # The account was made from the ID token's claims.
    st, _, data = srv.http("GET", "/api/settings", headers={"Authorization": f"Bearer {tok}"})
    assert st == 200
    srv.wait_log("oidc_signed_in")
    assert "user alice" in srv.stderr_text
    # A second sign-in links to the same account, no duplicate.
    b2 = Browser(srv.url)
    r = b2.callback(b2.at_provider(b2.begin(), login="alice"))
    assert r.headers["Location"] == "/#sso=1"
    signed_in_as(srv, b2)
    assert_no_secret(b)
    assert_no_secret(b2)
    assert CLIENT_SECRET not in srv.stderr_text, "the secret is never logged"


def test_logout_ends_the_session_and_offers_the_provider_logout(idp):
    srv, op = idp()
    b = Browser(srv.url)
    b.callback(b.at_provider(b.begin(), login="bob"))
    tok = signed_in_as(srv, b)
    methods = b.get(srv.url + "/api/auth/methods").json()
    logout_url = methods["oidc"]["logout_url"]
    assert logout_url.startswith(op.issuer + "/session/end"), logout_url
    q = parse_qs(urlparse(logout_url).query)
    assert q["client_id"] == [CLIENT_ID]
    assert q["post_logout_redirect_uri"] == [srv.url + "/"]
    r = b.request(srv.url + "/api/logout", data=b"", headers={"Origin": srv.url}, method="POST")
    assert r.status_code == 204, r.text
    st, _, _ = srv.http("GET", "/api/settings", headers={"Authorization": f"Bearer {tok}"})
    assert st == 401
    # The provider's logout page is there to be offered.
    r = b.get(logout_url)
    assert r.status_code == 200 and "logout" in r.text.lower()


def test_forged_state_is_refused(idp):
    srv, _ = idp()
    b = Browser(srv.url)
    cb = b.at_provider(b.begin(), login="mallory")
    parts = urlparse(cb)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q["state"] = "A" * 43
    code, msg = error_of(b.callback(srv.url + "/api/oidc/callback?" + urlencode(q)))
    assert code == "unauthorized" and "unknown" in msg, msg
    assert b.session_cookie() is None
    # The state is right but the browser is not the one that began: an
    # attacker's own callback link sent to a victim (login CSRF).
    victim = Browser(srv.url)
    attacker = Browser(srv.url)
    cb = attacker.at_provider(attacker.begin(), login="mallory")
    code, msg = error_of(victim.callback(cb))
    assert code == "unauthorized" and "another browser" in msg, msg
    assert victim.session_cookie() is None
    # ...and that flow is spent: the attacker cannot use it either.
    code, msg = error_of(attacker.callback(cb))
    assert code == "unauthorized" and "already used" in msg, msg
    assert_no_secret(b)


def test_replayed_code_is_refused(idp):
    srv, _ = idp()
    b = Browser(srv.url)
    cb = b.at_provider(b.begin(), login="carol")
    assert b.callback(cb).headers["Location"] == "/#sso=1"
    first = b.session_cookie()
    assert first
    # The same callback again: its flow is spent.
    b2 = Browser(srv.url)
    code, msg = error_of(b2.callback(cb))
    assert code == "unauthorized" and b2.session_cookie() is None
    # The used code with a fresh flow of the same browser: the provider
    # refuses it (PKCE verifier and single use), so no session either.
    authorize = b2.begin()
    state = parse_qs(urlparse(authorize).query)["state"][0]
    used_code = parse_qs(urlparse(cb).query)["code"][0]
    code, msg = error_of(b2.callback(
        srv.url + "/api/oidc/callback?" + urlencode({"code": used_code, "state": state})))
    assert code == "unauthorized" and "refused the code" in msg, msg
    assert b2.session_cookie() is None
    assert_no_secret(b2)


def test_wrong_nonce_is_refused(idp):
    srv, _ = idp()
    b = Browser(srv.url)
    authorize = b.begin()
    # The browser (or someone between) changes the nonce on the way to the
    # provider: the provider signs the ID token with that nonce, and the
    # flow's own nonce no longer matches. PKCE and state stay right, so
    # only the nonce check can refuse it.
    parts = urlparse(authorize)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q["nonce"] = "not-the-flows-nonce"
    tampered = parts._replace(query=urlencode(q)).geturl()
    code, msg = error_of(b.callback(b.at_provider(tampered, login="dave")))
    assert code == "unauthorized" and "nonce" in msg, msg
    assert b.session_cookie() is None
    assert "user dave" not in srv.stderr_text


def test_expired_state_is_refused(idp):
    srv, _ = idp(extra=", state_ttl = 1")
    b = Browser(srv.url)
    authorize = b.begin()
    cookie = b.parley_answers[-1].headers["Set-Cookie"]
    assert "Max-Age=1" in cookie or "Max-Age=0" in cookie, cookie
    binding = cookie.split("parley_oidc=")[1].split(";")[0]
    cb = b.at_provider(authorize, login="erin")
    time.sleep(1.5)
    # Even with the cookie still presented (a browser that kept it).
    r = b.request(cb, headers={"Cookie": "parley_oidc=" + binding})
    code, msg = error_of(r)
    assert code == "unauthorized", msg
    assert "too long" in msg or "unknown" in msg, msg
    assert b.session_cookie() is None
    assert_no_secret(b)


def test_provider_errors_and_missing_parameters(idp):
    srv, _ = idp()
    b = Browser(srv.url)
    b.begin()
    code, msg = error_of(b.callback(srv.url + "/api/oidc/callback?error=access_denied&state=x"))
    assert code == "unauthorized" and "access_denied" in msg
    code, msg = error_of(b.callback(srv.url + "/api/oidc/callback"))
    assert code == "bad_request", (code, msg)
    assert_no_secret(b)


def test_not_configured_without_client_id(server_factory):
    srv = server_factory(plugins='{ {"auth_local", ' + CHEAP + '}, {"auth_jwt",'
                         ' issuer = "https://issuer.example", audiences = { "x" } },'
                         ' {"store_sqlite"} }')
    st, _, data = srv.http("GET", "/api/auth/methods")
    assert st == 200 and json.loads(data) == {"password": True, "oidc": None}
    st, _, data = srv.http("GET", "/api/oidc/login")
    assert st == 404 and json.loads(data)["error"]["code"] == "not_found"
    st, _, data = srv.http("GET", "/api/oidc/callback?state=a&code=b")
    assert st == 404


def test_config_refuses_half_a_client(server_factory):
    srv = server_factory(plugins='{ {"auth_local", ' + CHEAP + '}, {"auth_jwt",'
                         ' issuer = "https://issuer.example", audiences = { "x" },'
                         ' client_id = "web" }, {"store_sqlite"} }', expect_fail=True)
    assert "client_secret" in srv.stderr_text


def test_state_cookie_is_secure_on_https(server_factory, pki):
    op = Provider(free_port(), "https://127.0.0.1")
    try:
        cert, key = pki.good[0], pki.good[1]
        text = ('server = {\n'
                '  listen = { "127.0.0.1:0",\n'
                f'    {{ addr = "127.0.0.1:0", tls = {{ cert = {lua_str(cert)}, key = {lua_str(key)} }} }} }},\n'
                '  data_dir = "{data_dir}",\n'
                '  plugin_dir = "{plugin_dir}",\n'
                '}\n'
                'log = { level = "debug" }\n'
                'plugins = ' + oidc_plugins(op.issuer) + '\n')
        srv = server_factory(raw_config=text)
        tls_port = int(srv.wait_log("listening", tls=True)["addr"].rsplit(":", 1)[1])
        conn = https_conn(tls_port, client_ctx(pki))
        try:
            conn.request("GET", "/api/oidc/login", headers={"Host": f"{HOST}:{tls_port}"})
            resp = conn.getresponse()
            resp.read()
            cookie = resp.getheader("Set-Cookie")
        finally:
            conn.close()
        assert resp.status == 303, (resp.status, cookie)
        assert "; Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie
        st, headers, _ = srv.http("GET", "/api/oidc/login")
        assert st == 303 and "Secure" not in headers["Set-Cookie"]
    finally:
        op.stop()


def test_flows_left_by_stopped_nodes_are_swept_at_the_store_cap(idp):
    """Flows a stopped node never finished stay in the store (no node is
    left to remove them); at the store's cap (4096) a begin is refused and
    sweeps the expired ones, so sign-in works again."""
    if os.environ.get("PARLEY_TEST_STORE") == "mongo":
        pytest.skip("fills the store_sqlite file directly")
    import sqlite3
    srv, _ = idp(limits="oidc_logins = false")  # the test polls the start
    db = sqlite3.connect(os.path.join(srv.data_dir, "parley.db"), timeout=10)
    long_ago = int(time.time() * 1000) - 3600 * 1000
    field = "A" * 43
    with db:
        db.executemany("INSERT INTO kv (owner, key, value) VALUES ('oidc_flow', ?, ?)",
                       [("%043d" % i, f"1 {long_ago} {field} {field} {field}")
                        for i in range(4096)])
    b = Browser(srv.url)
    r = b.get(srv.url + "/api/oidc/login")
    code, msg = error_of(r)
    assert code == "rate_limited" and "too many sign-ins" in msg, (code, msg)
    srv.wait_log("oidc_sweep")
    deadline = time.monotonic() + 15
    while True:
        r = b.get(srv.url + "/api/oidc/login")
        if r.headers.get("Location", "").startswith("http"):
            break
        assert time.monotonic() < deadline, "sign-in never came back: " + str(r.headers)
        time.sleep(0.2)
    # The sweep goes on page by page: every expired flow goes, the live
    # one (the begin that got through) stays.
    while True:
        left = db.execute("SELECT count(*) FROM kv WHERE owner = 'oidc_flow'").fetchone()[0]
        if left == 1:
            break
        assert time.monotonic() < deadline, left
        time.sleep(0.2)
    db.close()


def test_sign_in_starts_are_limited_per_network(idp):
    """Each start holds one of the provider's pending flows until it ends
    or expires; one network may start `limits.oidc_logins` of them (a
    token bucket per IPv4 address or IPv6 /64), so it cannot take the
    provider's whole table and lock everyone else out."""
    srv, _ = idp(limits="oidc_logins = { per_s = 0.001, burst = 3 }",
                 server_extra='trusted_proxies = { "127.0.0.1" }')

    def begin(forwarded):
        b = Browser(srv.url)
        return b.request(srv.url + "/api/oidc/login", headers={"X-Forwarded-For": forwarded})

    for _ in range(3):
        r = begin("192.0.2.10")
        assert r.status_code == 303 and r.headers["Location"].startswith("http"), r.headers
    code, msg = error_of(begin("192.0.2.10"))
    assert code == "rate_limited" and "too many sign-ins" in msg, (code, msg)
    # Another host of the same IPv6 /64 shares its network's bucket...
    for _ in range(3):
        assert begin("2001:db8:1:2::1").headers["Location"].startswith("http")
    assert error_of(begin("2001:db8:1:2::99"))[0] == "rate_limited"
    # ...other networks are not affected, and a full sign-in still works.
    b = Browser(srv.url)
    url = b.at_provider(b.begin())
    r = b.callback(url)
    assert r.headers["Location"] == "/#sso=1", r.headers
