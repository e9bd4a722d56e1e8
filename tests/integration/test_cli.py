"""The command line: --version, --help, usage errors, check-config, and the
admin commands (user add, user import, session new) on the store a running
server shares."""

import asyncio
import json
import os
import shutil

import websockets

PASSWORD = "correct horse 1"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def _ready(server, token):
    async with websockets.connect(server.ws_url, subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame.get("rid") == 1:
                return frame


def ready(server, token):
    """The ready frame of a WebSocket session authenticated with token."""
    return asyncio.run(_ready(server, token))


def test_version_and_help(run_parley):
    res = run_parley("--version")
    assert res.returncode == 0
    assert "0.1.0" in res.stdout

    res = run_parley("--help")
    assert res.returncode == 0
    for words in ("check-config", "user add", "user import", "session new"):
        assert words in res.stdout, words


def test_unknown_option_is_a_usage_error(run_parley):
    res = run_parley("--no-such-option")
    assert res.returncode == 2
    assert res.stderr.strip()


def test_check_config(server, run_parley, tmp_path):
    res = server.cli("check-config")
    assert res.stdout.strip() == "config OK"

    bad = tmp_path / "bad.conf"
    bad.write_text('server = {\n  listen = { "127.0.0.1:0" },\n  no_such_key = 1,\n}\n')
    res = run_parley("check-config", "--config", str(bad))
    assert res.returncode != 0
    assert "config OK" not in res.stdout
    assert f"{bad}:3" in res.stderr or "bad.conf:3" in res.stderr, res.stderr
    assert "no_such_key" in res.stderr


def test_user_add_then_login(server):
    server.add_user("dave", "a secret of his")
    out = server.login("dave", "a secret of his")
    assert out["user"]["name"] == "dave" and out["token"]

    res = server.cli("user", "add", "dave", input="another password\n", check=False)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith("parley: user add: ")

    # Admin role, and no password at all: only a token logs in.
    server.add_user("ops", "", role="admin")
    status, _, _ = server.http("POST", "/api/login", json={"username": "ops", "password": ""})
    assert status in (400, 401)
    token = server.token("ops")
    status, _, data = server.http("GET", "/api/admin/users", headers=bearer(token))
    assert status == 200, data


def test_user_import_csv(server, tmp_path):
    csv = tmp_path / "users.csv"
    csv.write_text(
        "name,role,password,email\n"
        'erin,member,"pass, with comma",erin@example.org\n'
        "\n"
        '"frank",admin,"say ""hi""",\n'
        "gina,bot\r\n"
        'hank,member,"two\nlines"\n')
    res = server.cli("user", "import", str(csv))
    assert res.stdout.strip() == "imported 4 users"

    assert server.login("erin", "pass, with comma")["user"]["name"] == "erin"
    frank = server.login("frank", 'say "hi"')
    assert frank["user"]["role"] == "admin"
    assert server.login("hank", "two\nlines")["user"]["name"] == "hank"
    # gina has no password: a token is her only way in.
    assert ready(server, server.token("gina"))["user"]["name"] == "gina"

    status, _, data = server.http("GET", "/api/admin/users", headers=bearer(frank["token"]))
    users = {u["name"]: u for u in json.loads(data)["users"]}
    assert users["erin"]["email"] == "erin@example.org"
    assert users["gina"]["role"] == "bot"


def test_user_import_errors_name_file_and_line(server, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ivy,member,first pass 1\njack,emperor,second pass 2\n")
    res = server.cli("user", "import", str(bad), check=False)
    assert res.returncode == 1
    assert f"{bad}:2:" in res.stderr, res.stderr
    # Nothing was written: the file is checked before any account is made.
    status, _, _ = server.http("POST", "/api/login", json={"username": "ivy", "password": "first pass 1"})
    assert status == 401

    quotes = tmp_path / "quotes.csv"
    quotes.write_text('kate,member,"unterminated\n')
    res = server.cli("user", "import", str(quotes), check=False)
    assert res.returncode == 1
    assert f"{quotes}:1:" in res.stderr, res.stderr

    dup = tmp_path / "dup.csv"
    dup.write_text("lena,member,long enough 1\nmike,member,long enough 2\nlena,member,long enough 3\n")
    res = server.cli("user", "import", str(dup), check=False)
    assert res.returncode == 1
    assert f"{dup}:3:" in res.stderr, res.stderr

    res = server.cli("user", "import", str(tmp_path / "missing.csv"), check=False)
    assert res.returncode == 1


def test_session_new_many(server, tmp_path):
    names = [f"u{i:03d}" for i in range(80)]  # more than one window in flight
    csv = tmp_path / "many.csv"
    csv.write_text("".join(f"{n},member\n" for n in names))
    res = server.cli("user", "import", str(csv))
    assert res.stdout.strip() == f"imported {len(names)} users"

    tokens = server.tokens(*names)
    assert len(set(tokens)) == len(names)
    for name, token in list(zip(names, tokens))[::16] + [(names[-1], tokens[-1])]:
        assert ready(server, token)["user"]["name"] == name

    res = server.cli("session", "new", "u000", "nobody-here", check=False)
    assert res.returncode == 1
    assert "nobody-here" in res.stderr


def test_user_added_while_running_joins_general(server):
    # The server is up (general exists); the CLI adds a user on the side.
    server.add_user("late", PASSWORD)
    out = server.login("late", PASSWORD)
    rooms = ready(server, out["token"])["rooms"]
    assert "general" in [r["name"] for r in rooms]


def test_cli_on_a_fresh_store_creates_general(server_factory):
    # The CLI runs first on an empty data dir: it must create `general`
    # itself, and the server started afterwards finds the user in it.
    srv = server_factory()
    srv.stop()
    shutil.rmtree(srv.data_dir)
    os.makedirs(srv.data_dir)
    srv.add_user("first", PASSWORD)
    srv.restart()
    token = srv.login("first", PASSWORD)["token"]
    assert "general" in [r["name"] for r in ready(srv, token)["rooms"]]
