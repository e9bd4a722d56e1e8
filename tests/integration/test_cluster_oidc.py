"""Browser sign-in (OIDC) behind a load balancer without sticky sessions:
two parley processes share one store_mongo database (the CongoDB test
server of tests/mongo, or PARLEY_TEST_MONGO_URI) and one public_url, as
two nodes behind a balancer, with the real provider of test_oidc.py. The
provider sends the browser back to the public address; the test delivers
that callback to whichever node it chooses.

What must hold: a flow begun on one node finishes on the other; a
callback is spent once in the whole cluster (replayed to either node, or
sent to both at once, only one sign-in); an expired flow is refused by
the node that did not begin it. The single-node cases (store_sqlite, and
store_mongo with PARLEY_TEST_STORE=mongo) are test_oidc.py."""

import secrets
import threading
import time
from urllib.parse import urlencode

import pytest

from conftest import lua_str
from test_cluster_state import mongo_uri  # noqa: F401 (a fixture)
from test_oidc import (CHEAP, CLIENT_ID, CLIENT_SECRET, Browser, Provider, assert_no_secret,
                       error_of, free_port, signed_in_as)


def node_config(uri, database, issuer, port, public_url, extra=""):
    auth_jwt = ('{"auth_jwt", issuer = %s, jwks_url = %s, audiences = { %s },'
                ' client_id = %s, client_secret = %s, provider_name = "Test IdP"%s}'
                % (lua_str(issuer), lua_str(issuer + "/jwks"), lua_str(CLIENT_ID),
                   lua_str(CLIENT_ID), lua_str(CLIENT_SECRET), extra))
    store = '{"store_mongo", uri = %s, database = %s}' % (lua_str(uri), lua_str(database))
    return ("server = {\n"
            f'  listen = {{ "127.0.0.1:{port}" }},\n'
            f"  public_url = {lua_str(public_url)},\n"
            '  data_dir = "{data_dir}",\n'
            '  plugin_dir = "{plugin_dir}",\n'
            "}\n"
            "limits = { rates = false, bot_rates = false }\n"
            'log = { level = "debug" }\n'
            f'plugins = {{ {{"auth_local", {CHEAP}}}, {auth_jwt}, {store} }}\n')


@pytest.fixture
def balanced(server_factory, mongo_uri):  # noqa: F811 (the imported fixture)
    """start(extra) -> (public_url, node_a, node_b): both nodes announce
    node A's address as the public one (the balancer's)."""
    made = []

    def start(extra=""):
        port_a, port_b, op_port = free_port(), free_port(), free_port()
        public = f"http://127.0.0.1:{port_a}"
        op = Provider(op_port, public)
        made.append(op)
        database = "oidc_" + secrets.token_hex(4)
        nodes = [server_factory(raw_config=node_config(mongo_uri, database, op.issuer, port,
                                                       public, extra))
                 for port in (port_a, port_b)]
        return public, nodes[0], nodes[1]

    yield start
    for op in made:
        op.stop()


def to_node(callback_url, public, node):
    """The callback as the balancer would hand it to node."""
    assert callback_url.startswith(public + "/api/oidc/callback?"), callback_url
    return node.url + callback_url[len(public):]


def binding_cookie(browser):
    value = browser.cookie("parley_oidc")
    assert value, "begin set no binding cookie"
    return {"Cookie": "parley_oidc=" + value}


def test_a_sign_in_begun_on_one_node_finishes_on_the_other(balanced):
    public, a, b = balanced()
    browser = Browser(public)
    cb = browser.at_provider(browser.begin(), login="alice")  # begun on A
    cookie = binding_cookie(browser)
    r = browser.request(to_node(cb, public, b), headers=cookie)
    assert r.status_code == 303 and r.headers["Location"] == "/#sso=1", (r.status_code, r.text)
    assert "parley_session=" in r.headers["Set-Cookie"]
    tok = browser.session_cookie()
    for node in (a, b):  # one account, one session, on both nodes
        st, _, data = node.http("GET", "/api/settings",
                                headers={"Authorization": f"Bearer {tok}"})
        assert st == 200, data
    b.wait_log("oidc_signed_in")
    assert "user alice" in b.stderr_text and "user alice" not in a.stderr_text

    # Replayed: to A, which began it and still has its own copy, and to B.
    for node in (a, b):
        other = Browser(public)
        code, msg = error_of(other.request(to_node(cb, public, node), headers=cookie))
        assert code == "unauthorized" and "already used" in msg, (node.port, msg)
        assert other.session_cookie() is None
    assert_no_secret(browser)


def test_a_flow_finished_where_it_began_is_spent_for_the_other_node(balanced):
    public, a, b = balanced()
    browser = Browser(public)
    cb = browser.at_provider(browser.begin(), login="bob")
    cookie = binding_cookie(browser)
    r = browser.request(to_node(cb, public, a), headers=cookie)
    assert r.headers["Location"] == "/#sso=1", (r.status_code, r.text)
    signed_in_as(a, browser)
    thief = Browser(public)
    code, msg = error_of(thief.request(to_node(cb, public, b), headers=cookie))
    assert code == "unauthorized" and "already used" in msg, msg
    assert thief.session_cookie() is None


def test_one_callback_sent_to_both_nodes_at_once_signs_in_once(balanced):
    public, a, b = balanced()
    for attempt in range(3):
        browser = Browser(public)
        cb = browser.at_provider(browser.begin(), login="carol")
        cookie = binding_cookie(browser)
        answers = {}
        go = threading.Barrier(2)

        def deliver(node):
            go.wait()
            answers[node.port] = Browser(public).request(to_node(cb, public, node),
                                                         headers=cookie)

        threads = [threading.Thread(target=deliver, args=(n,)) for n in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        locations = sorted(r.headers.get("Location", "") for r in answers.values())
        assert len(locations) == 2, answers
        won = [loc for loc in locations if loc == "/#sso=1"]
        assert len(won) == 1, (attempt, locations)
        lost = [r for r in answers.values() if r.headers.get("Location") != "/#sso=1"]
        code, msg = error_of(lost[0])
        assert code == "unauthorized" and "already used" in msg, msg


def test_an_expired_flow_is_refused_by_the_other_node(balanced):
    public, a, b = balanced(extra=", state_ttl = 1")
    browser = Browser(public)
    authorize = browser.begin()
    # From the answer: with Max-Age 0 or 1 the jar may not keep it.
    set_cookie = browser.parley_answers[-1].headers["Set-Cookie"]
    cookie = {"Cookie": "parley_oidc=" + set_cookie.split("parley_oidc=")[1].split(";")[0]}
    cb = browser.at_provider(authorize, login="erin")
    time.sleep(1.5)
    code, msg = error_of(browser.request(to_node(cb, public, b), headers=cookie))
    assert code == "unauthorized" and "too long" in msg, msg
    assert browser.session_cookie() is None
    # ...and spent by that refusal: A cannot take it either.
    code, msg = error_of(browser.request(to_node(cb, public, a), headers=cookie))
    assert code == "unauthorized", msg
    assert "user erin" not in a.stderr_text + b.stderr_text


def test_the_binding_is_checked_on_the_other_node(balanced):
    public, a, b = balanced()
    attacker = Browser(public)
    cb = attacker.at_provider(attacker.begin(), login="mallory")
    victim = Browser(public)
    code, msg = error_of(victim.request(to_node(cb, public, b)))
    assert code == "unauthorized" and "another browser" in msg, msg
    code, msg = error_of(victim.request(
        to_node(public + "/api/oidc/callback?" + urlencode({"state": "A" * 43, "code": "x"}),
                public, b), headers=binding_cookie(attacker)))
    assert code == "unauthorized" and "unknown" in msg, msg
    assert victim.session_cookie() is None
