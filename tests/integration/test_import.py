"""parley import (issue 17): an export (folder or zip, with files) into an
empty data dir gives the same rooms, seqs, authors, times, members,
reactions, edit history and files: exporting the imported server gives the
same manifest, messages and people. People come without passwords and get
single-use reset links; refused while a server holds the data dir, into a
store that has data, for a damaged or pseudonymised export."""

import json
import os
import subprocess
import zipfile

from conftest import make_config
from parley_client import Client, run
from test_uploads import AUTH_PLUGINS, upload_ok

PLUGINS = "{ " + AUTH_PLUGINS + ', {"uploads_local", dir = "files"} }'


def cli(binary, cfg, *args, env=None):
    return subprocess.run([binary, *args, "--config", cfg], text=True, capture_output=True,
                          timeout=120, env=env)


def fresh_config(tmp_path, plugin_dir, name, mongo_store=None):
    """A config of an empty server; on a PARLEY_TEST_STORE=mongo run, with
    the database a server_factory server on the same data dir uses."""
    data = str(tmp_path / name)
    cfg = str(tmp_path / (name + ".conf"))
    text = make_config(data, plugin_dir, PLUGINS, server_extra='public_url = "http://parley.test"')
    if mongo_store is not None:
        text = mongo_store.rewrite(text, data)
    with open(cfg, "w") as f:
        f.write(text)
    return data, cfg


def unzip(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


async def fill(srv, tok):
    async with Client(srv, tok["ann"]) as a, Client(srv, tok["ben"]) as b:
        g = a.room_id("general")
        lab = (await a.request("create_room", name="lab", topic="bench work"))["room"]["id"]
        up = upload_ok(srv, tok["ann"], b"spectrum,1,2,3\n", name="run.csv")
        acks = [await a.send_text(g, f"note {i}") for i in range(5)]
        acks.append(await a.send_text(lab, "with a file", attachments=[up["id"]]))
        acks.append(await b.send_text(g, "reply @ann", reply_to=acks[0]["id"]))
        assert all(x["type"] == "ack" for x in acks), acks
        assert (await a.request("edit", room=g, id=acks[1]["id"], text="note 1 v2"))["type"] != "error"
        assert (await a.request("edit", room=g, id=acks[1]["id"], text="note 1 v3"))["type"] != "error"
        assert (await b.request("react", room=g, id=acks[2]["id"], emoji="🎉", on=True))["type"] != "error"
        assert (await a.request("react", room=g, id=acks[2]["id"], emoji="🎉", on=True))["type"] != "error"
        assert (await a.request("delete", room=g, id=acks[3]["id"]))["type"] != "error"
        return g, lab, up


def test_round_trip_export_import_export(server_factory, plugin_dir, parley_bin, tmp_path,
                                         mongo_store):
    src = server_factory(plugins=PLUGINS)
    tok = src.people("ann", "ben")
    g, lab, up = run(fill(src, tok))
    first = str(tmp_path / "first.zip")
    r = cli(src.binary, src.config_path, "export", "--out", first, "--with-files")
    assert r.returncode == 0, r.stderr

    data, cfg = fresh_config(tmp_path, plugin_dir, "copy", mongo_store)
    r = cli(parley_bin, cfg, "import", first)
    assert r.returncode == 0, r.stderr
    links = dict(line.split(" ", 2)[1:] for line in r.stdout.splitlines()
                 if line.startswith("reset "))
    assert set(links) == {"ann", "ben"}, r.stdout
    assert all(v.startswith("http://parley.test/#reset=") for v in links.values())
    assert "7 messages" in r.stderr and "1 files" in r.stderr, r.stderr

    # Into a store with data: refused, nothing changes.
    again = cli(parley_bin, cfg, "import", first)
    assert again.returncode == 1 and "not empty" in again.stderr, again.stderr
    # Both archives were unpacked into the data dir; neither folder is left.
    assert not [n for n in os.listdir(data) if n.endswith(".partial")], os.listdir(data)

    dst = server_factory(plugins=PLUGINS, data_dir=data)
    # Refused while a server holds the data dir.
    locked = cli(parley_bin, dst.config_path, "import", first)
    assert locked.returncode == 1 and "lock" in locked.stderr.lower(), locked.stderr

    second = str(tmp_path / "second.zip")
    r = cli(dst.binary, dst.config_path, "export", "--out", second, "--with-files")
    assert r.returncode == 0, r.stderr
    a, b = unzip(first), unzip(second)
    assert set(a) == set(b)
    # Equal, all of it: the import keeps ids, seqs, times, members and read
    # marks, reactions, edits, and the files (new keys, same bytes). The
    # one thing that must differ is outside the export: passwords.
    assert a["messages.jsonl"] == b["messages.jsonl"]
    assert a["users.jsonl"] == b["users.jsonl"]
    assert json.loads(a["manifest.json"]) == json.loads(b["manifest.json"])
    assert a["files/" + up["id"]] == b"spectrum,1,2,3\n" == b["files/" + up["id"]]
    lines = [json.loads(x) for x in b["messages.jsonl"].splitlines()]
    edited = next(m for m in lines if m["text"] == "note 1 v3")
    assert [e["text"] for e in edited["edits"]] == ["note 1", "note 1 v2"]

    # A reset link sets a password; the person signs in and goes on where
    # the history ended (the next seq follows the imported ones).
    token = links["ann"].split("#reset=")[1]
    st, _, body = dst.http("POST", "/api/password/reset",
                           json={"token": token, "password": "a new passphrase 1"})
    assert st == 200, body
    login = dst.login("ann", "a new passphrase 1")
    assert "token" in login, login
    session = login["token"]

    async def after():
        async with Client(dst, session) as c:
            h = await c.history(g, limit=100)
            assert sorted(m["seq"] for m in h["messages"]) == list(range(1, 7)), h
            ack = await c.send_text(g, "after the move")
            assert ack["seq"] == 7, ack
            h = await c.history(lab, limit=10)
            att = h["messages"][0]["attachments"][0]
            st, _, data = dst.http("GET", att["url"],
                                   headers={"Authorization": "Bearer " + session})
            assert st == 200 and data == b"spectrum,1,2,3\n", (st, data)

    run(after())


def test_refusals(server_factory, plugin_dir, parley_bin, tmp_path, mongo_store):
    src = server_factory(plugins=PLUGINS)
    tok = src.people("ann", "ben")
    run(fill(src, tok))
    out = str(tmp_path / "ex")
    assert cli(src.binary, src.config_path, "export", "--out", out).returncode == 0
    pseudo = str(tmp_path / "pseudo")
    assert cli(src.binary, src.config_path, "export", "--out", pseudo,
               "--pseudonymise").returncode == 0

    data, cfg = fresh_config(tmp_path, plugin_dir, "dst", mongo_store)
    r = cli(parley_bin, cfg, "import", pseudo)
    assert r.returncode == 1 and "pseudonymised" in r.stderr, r.stderr
    with open(os.path.join(out, "messages.jsonl"), "ab") as f:
        f.write(b'{"room":"general","seq":99}\n')
    r = cli(parley_bin, cfg, "import", out)
    assert r.returncode == 1 and "does not match the manifest" in r.stderr, r.stderr
    bad = str(tmp_path / "evil.zip")
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../escape", b"x")
    r = cli(parley_bin, cfg, "import", bad)
    assert r.returncode == 1 and "does not have" in r.stderr, r.stderr
    assert not os.path.exists(str(tmp_path / "escape"))
    # Nothing was written by any of them: a good import still works.
    good = str(tmp_path / "good")
    assert cli(src.binary, src.config_path, "export", "--out", good).returncode == 0
    r = cli(parley_bin, cfg, "import", good)
    assert r.returncode == 0, r.stderr
