"""notify_email against a real SMTP server (aiosmtpd, see smtp_sink.py).

Invites go out through POST /api/admin/invites with an email; each test
reads what the sink received back with Python's `email` package."""

import email
import email.policy
import glob
import json
import os
import subprocess
import time

import pytest


def lua_str(s):
    """A Lua string literal; UTF-8 stays as it is (Lua knows no \\uXXXX)."""
    return json.dumps(s, ensure_ascii=False)
from smtp_sink import SmtpSink, free_port

BASE_PLUGINS = ('{"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
                ' {"store_sqlite"}')


def email_plugins(**keys):
    fields = "".join(f", {k} = {v}" for k, v in keys.items())
    return "{ " + BASE_PLUGINS + ', {"notify_email"' + fields + "} }"


@pytest.fixture
def sinks(tmp_path):
    made = []

    def make(**kw):
        s = SmtpSink(str(tmp_path / f"sink{len(made)}"), **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def admin_token(server):
    server.add_user("root", role="admin")
    return server.token("root")


def invite(server, token, email, role="member"):
    return server.http("POST", "/api/admin/invites", json={"role": role, "email": email},
                       headers={"Authorization": "Bearer " + token})


def bodies(msg):
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return plain, html


def metric(server, name):
    status, _, data = server.http("GET", "/metrics")
    assert status == 200
    for line in data.decode().splitlines():
        if line.startswith(name) and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_invite_is_emailed_with_the_link(server_factory, sinks):
    sink = sinks().start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', **{"from": '"Chat <chat@example.org>"'}))
    token = admin_token(server)
    status, _, data = invite(server, token, "new.person@example.org")
    assert status == 201, data
    reply = json.loads(data)
    assert reply["emailed"] is True
    # With a mail plugin, the digest setting is offered as working.
    st, _, data = server.http("GET", "/api/settings", headers={"Authorization": "Bearer " + token})
    assert st == 200 and json.loads(data)["email_available"] is True, data
    msgs = sink.wait_messages(1)
    assert len(msgs) == 1
    msg, env = msgs[0]
    assert env["rcpt_tos"] == ["new.person@example.org"]
    assert env["mail_from"] == "chat@example.org"
    assert msg["To"] == "new.person@example.org"
    assert msg["From"].addresses[0].display_name == "Chat"
    assert "parley" in msg["Subject"]
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"].datetime is not None
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = bodies(msg)
    assert reply["link"] in plain
    assert reply["link"] in html
    assert "root" in plain  # the inviter
    server.wait_log("mail_sent")
    assert not os.listdir(os.path.join(server.data_dir, "mail", "queue"))
    assert metric(server, "parley_plugin_notify_email_mail_sent") == 1


def test_non_ascii_subject_and_names_round_trip(server_factory, sinks):
    sink = sinks().start()
    name = "Überchat — Grüße aus Köln ✓ 日本語のチャットサーバー with a long name"
    server = server_factory(
        server_extra=f"name = {lua_str(name)}",
        plugins=email_plugins(smtp=lua_str(sink.url), starttls='"off"',
                              **{"from": lua_str("Équipe Ünïcode <chat@example.org>")}))
    status, _, data = invite(server, admin_token(server), "zoe@example.org")
    assert status == 201, data
    msg, _ = sink.wait_messages(1)[0]
    assert msg["Subject"] == f"You are invited to {name}"
    assert msg["From"].addresses[0].display_name == "Équipe Ünïcode"
    raw = msg.as_bytes()
    assert all(b < 0x80 for b in raw), "headers and bodies must be 7-bit on the wire"
    plain, html = bodies(msg)
    assert name in plain
    # HTML-escaped where user text lands in HTML.
    assert "Überchat" in html


@pytest.mark.parametrize("bad", ["a@example.org\r\nBcc: evil@example.org",
                                 "a@example.org\nSubject: hi", "a@exa\x07mple.org"])
def test_header_injection_is_refused(server_factory, sinks, bad):
    sink = sinks().start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', **{"from": '"chat@example.org"'}))
    status, _, data = invite(server, admin_token(server), bad)
    assert status == 400, data
    assert b"bad_request" in data
    time.sleep(0.5)
    assert sink.messages() == []
    assert not os.listdir(os.path.join(server.data_dir, "mail", "queue"))


def test_bad_address_is_refused(server_factory, sinks):
    sink = sinks().start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', **{"from": '"chat@example.org"'}))
    status, _, data = invite(server, admin_token(server), "Evil <a@example.org>")
    assert status == 400, data
    time.sleep(0.3)
    assert sink.messages() == []


def test_retried_until_the_server_comes_up(server_factory, sinks):
    sink = sinks()  # a port with nothing listening yet
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', retry_base=0.3, retries=20, timeout=5,
        **{"from": '"chat@example.org"'}))
    status, _, data = invite(server, admin_token(server), "later@example.org")
    assert status == 201, data
    assert b'"emailed": true' in data or b'"emailed":true' in data
    server.wait_log("mail_retry", timeout=10)
    sink.start()
    msgs = sink.wait_messages(1, timeout=20)
    assert len(msgs) == 1
    assert msgs[0][1]["rcpt_tos"] == ["later@example.org"]
    server.wait_log("mail_sent", timeout=5)


def test_queue_survives_a_restart(server_factory, sinks):
    sink = sinks()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', retry_base=30, retries=5, timeout=5,
        **{"from": '"chat@example.org"'}))
    status, _, _ = invite(server, admin_token(server), "after.restart@example.org")
    assert status == 201
    server.wait_log("mail_retry", timeout=10)
    assert server.stop() == 0
    queue = os.path.join(server.data_dir, "mail", "queue")
    assert len(glob.glob(os.path.join(queue, "*.eml"))) == 1
    sink.start()
    since = len(server.logs)
    server.restart()
    server.wait_log("mail_recovered", since=since)
    msgs = sink.wait_messages(1, timeout=15)
    assert [m[1]["rcpt_tos"] for m in msgs] == [["after.restart@example.org"]]
    server.wait_log("mail_sent", since=since)
    assert not glob.glob(os.path.join(queue, "*.eml"))


def test_failed_mail_is_kept_with_its_reason(server_factory, sinks):
    sink = sinks()  # never started
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"off"', retry_base=0.2, retries=3, timeout=5,
        **{"from": '"chat@example.org"'}))
    status, _, _ = invite(server, admin_token(server), "nobody@example.org")
    assert status == 201
    server.wait_log("mail_failed", timeout=15)
    failed = os.path.join(server.data_dir, "mail", "failed")
    emls = glob.glob(os.path.join(failed, "*.eml"))
    assert len(emls) == 1
    with open(emls[0][:-4] + ".reason") as f:
        reason = f.read()
    assert "3 attempts" in reason
    assert "connect" in reason.lower()
    assert metric(server, "parley_plugin_notify_email_mail_failed") == 1


def test_spool_mode_writes_eml_files(server_factory):
    server = server_factory(plugins=email_plugins())
    token = admin_token(server)
    server.wait_log("mail_ready")
    status, _, data = invite(server, token, "spooled@example.org")
    assert status == 201, data
    line = server.wait_log("mail_spooled")
    spool = os.path.join(server.data_dir, "mail")
    emls = glob.glob(os.path.join(spool, "*.eml"))
    assert len(emls) == 1
    assert emls[0] in line["msg"]
    with open(emls[0], "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    assert msg["To"] == "spooled@example.org"
    plain, _ = bodies(msg)
    assert json.loads(data)["link"] in plain


def test_starttls_required_never_sends_in_clear(server_factory, sinks):
    sink = sinks().start()  # plain: offers no STARTTLS
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), retry_base=0.2, retries=2, timeout=5,
        **{"from": '"chat@example.org"'}))
    status, _, _ = invite(server, admin_token(server), "secret@example.org")
    assert status == 201
    line = server.wait_log("mail_failed", timeout=15)
    assert "STARTTLS" in line["msg"]
    assert sink.messages() == []


def test_opportunistic_logs_cleartext(server_factory, sinks):
    sink = sinks().start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), starttls='"opportunistic"', **{"from": '"chat@example.org"'}))
    status, _, _ = invite(server, admin_token(server), "plain@example.org")
    assert status == 201
    assert len(sink.wait_messages(1)) == 1
    server.wait_log("mail_cleartext")


@pytest.fixture
def cert(tmp_path):
    key, crt = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return crt, key


def test_starttls_and_auth(server_factory, sinks, cert):
    sink = sinks(tls=cert, auth="mailer:s3cret pass").start()
    server = server_factory(
        plugins=email_plugins(smtp=lua_str(sink.url), username='env("SMTP_USER")',
                              password='env("SMTP_PASSWORD")', ca_file=lua_str(cert[0]),
                              **{"from": '"chat@example.org"'}),
        env={"SMTP_USER": "mailer", "SMTP_PASSWORD": "s3cret pass"})
    status, _, _ = invite(server, admin_token(server), "tls@example.org")
    assert status == 201
    msgs = sink.wait_messages(1)
    assert len(msgs) == 1
    assert msgs[0][1]["tls"] is True
    assert msgs[0][1]["authenticated"] is True


def test_wrong_password_is_retried_then_failed(server_factory, sinks, cert):
    sink = sinks(tls=cert, auth="mailer:right").start()
    server = server_factory(plugins=email_plugins(
        smtp=lua_str(sink.url), username='"mailer"', password='"wrong"',
        ca_file=lua_str(cert[0]), retry_base=0.2, retries=2, timeout=5,
        **{"from": '"chat@example.org"'}))
    status, _, _ = invite(server, admin_token(server), "tls@example.org")
    assert status == 201
    line = server.wait_log("mail_failed", timeout=20)
    assert "535" in line["msg"] or "login" in line["msg"].lower()
    assert sink.messages() == []


@pytest.mark.parametrize("keys,why", [
    ({"smtp": '"http://x"'}, "smtp://"),
    ({"smtp": '"smtp://127.0.0.1:25"'}, "from"),
    ({"starttls": '"maybe"'}, "starttls"),
    ({"retries": "0"}, "retries"),
    ({"from": '"not an address"'}, "from"),
])
def test_config_errors(server_factory, keys, why):
    server = server_factory(plugins=email_plugins(**keys), expect_fail=True)
    assert server.returncode != 0
    assert why in server.stderr_text


def test_invite_without_mail_plugin_says_not_emailed(server):
    """An address given but nothing to mail it with: the answer says so
    (emailed false), the client shows it; the link still works."""
    token = admin_token(server)
    status, _, data = invite(server, token, "someone@example.org")
    assert status == 201, data
    reply = json.loads(data)
    assert reply["emailed"] is False and reply["link"], reply
