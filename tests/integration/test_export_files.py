"""parley export --with-files and --out FILE.zip (issue 17): the attached
files land in files/ with their size and SHA-256 in the manifest, read
through uploads_local and through uploads_s3 (s3rver, presigned GETs);
the zip passes `python3 -m zipfile -t` and holds the same folder;
users.jsonl (never a password), room members and edit history ride along."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

from parley_client import Client, run
from test_uploads import AUTH_PLUGINS, backend, s3rver, upload_ok  # noqa: F401 (fixtures)


def cli(srv, *args):
    return subprocess.run([srv.binary, *args, "--config", srv.config_path], text=True,
                          capture_output=True, cwd=srv.workdir, env=srv.env, timeout=120)


def folder(path):
    """{relative name: bytes} of an export folder."""
    out = {}
    for root, _, names in os.walk(path):
        for n in names:
            full = os.path.join(root, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = f.read()
    return out


def test_with_files_and_zip(backend, server_factory, tmp_path):
    srv = backend.factory(plugins="{ " + AUTH_PLUGINS + ", " + backend.plugin() + " }")
    srv.backend = backend
    tok = srv.people("ann", "ben")
    blobs = [os.urandom(300_000), b"plain notes\n"]

    async def body():
        async with Client(srv, tok["ann"]) as a, Client(srv, tok["ben"]) as b:
            g = a.room_id("general")
            ups = [upload_ok(srv, tok["ann"], blobs[0], name="data.bin"),
                   upload_ok(srv, tok["ann"], blobs[1], name="notes.txt")]
            ack = await a.send_text(g, "two files", attachments=[u["id"] for u in ups])
            assert ack["type"] == "ack", ack
            r = await a.request("edit", room=g, id=ack["id"], text="two files, edited")
            assert r["type"] != "error", r
            r = await b.request("react", room=g, id=ack["id"], emoji="👍", on=True)
            assert r["type"] != "error", r
            return ups, ack

    ups, ack = run(body())
    out = str(tmp_path / "ex")
    r = cli(srv, "export", "--out", out, "--with-files")
    assert r.returncode == 0, r.stderr
    tree = folder(out)
    manifest = json.loads(tree["manifest.json"])
    assert manifest["with_files"] is True
    assert set(manifest["files"]) == {u["id"] for u in ups}
    for u, blob in zip(ups, blobs):
        entry = manifest["files"][u["id"]]
        assert tree["files/" + u["id"]] == blob
        assert entry["sha256"] == hashlib.sha256(blob).hexdigest()
        assert entry["size"] == len(blob)
    assert manifest["users_sha256"] == hashlib.sha256(tree["users.jsonl"]).hexdigest()
    users = [json.loads(x) for x in tree["users.jsonl"].splitlines()]
    assert {u["name"] for u in users} >= {"ann", "ben"}
    assert all("password_hash" not in u and "password" not in u for u in users)
    general = next(x for x in manifest["rooms"] if x["name"] == "general")
    assert {m["role"] for m in general["members"]} <= {"owner", "moderator", "member"}
    assert len(general["members"]) >= 2
    line = next(json.loads(x) for x in tree["messages.jsonl"].splitlines()
                if json.loads(x)["id"] == ack["id"])
    assert line["text"] == "two files, edited"
    assert [e["text"] for e in line["edits"]] == ["two files"]
    assert len(line["reactions"]["👍"]) == 1

    # The same as one zip: `python3 -m zipfile -t` passes, and it holds the
    # same files (the manifest's own fields equal but for nothing).
    z = str(tmp_path / "ex.zip")
    r = cli(srv, "export", "--out", z, "--with-files")
    assert r.returncode == 0, r.stderr
    t = subprocess.run([sys.executable, "-m", "zipfile", "-t", z], capture_output=True,
                       text=True)
    assert t.returncode == 0, t.stdout + t.stderr
    with zipfile.ZipFile(z) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        assert names == set(tree), (names, set(tree))
        for n in names:
            assert zf.read(n) == tree[n], n
        assert zf.getinfo("files/" + ups[0]["id"]).compress_type == zipfile.ZIP_STORED
    assert not os.path.exists(z + ".partial")
    r = cli(srv, "export", "--out", z)
    assert r.returncode == 1 and "exists" in r.stderr, r.stderr
