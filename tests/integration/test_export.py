"""parley export (issue 17): messages.jsonl and a manifest with counts and
a checksum, through the store vtable; --room, --since/--until and
--pseudonymise."""

import hashlib
import json
import os
import subprocess

from parley_client import Client, run


def cli(srv, *args):
    return subprocess.run([srv.binary, *args, "--config", srv.config_path], text=True,
                          capture_output=True, cwd=srv.workdir, env=srv.env, timeout=120)


async def fill(srv, tokens):
    async with Client(srv, tokens["ann"]) as a, Client(srv, tokens["ben"]) as b:
        g = a.room_id("general")
        r = await a.request("create_room", name="research")
        assert r["type"] != "error", r
        assert (await a.send_text(r["room"]["id"], "in research"))["type"] == "ack"
        for i in range(30):
            assert (await a.send_text(g, f"hello {i} from ann"))["type"] == "ack"
        m = await b.send_text(g, "reply from ben @ann")
        assert m["type"] == "ack", m
        return g


def load(out):
    with open(os.path.join(out, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(out, "messages.jsonl"), "rb") as f:
        raw = f.read()
    return manifest, raw, [json.loads(line) for line in raw.splitlines()]


def test_export_messages_manifest_and_pseudonyms(server_factory, tmp_path):
    srv = server_factory()
    tokens = srv.people("ann", "ben")
    run(fill(srv, tokens), timeout=60)

    out = str(tmp_path / "ex")
    r = cli(srv, "export", "--out", out)
    assert r.returncode == 0, r.stderr
    manifest, raw, lines = load(out)
    assert manifest["format"] == "parley-export" and manifest["messages"] == len(lines)
    assert manifest["messages_sha256"] == hashlib.sha256(raw).hexdigest()
    general = [m for m in lines if m["room"] == "general"]
    assert [m["room"] for m in lines if m["room"] != "general"] == ["research"]
    assert len(general) == 31
    assert [m["seq"] for m in general] == sorted(m["seq"] for m in general)
    room = next(x for x in manifest["rooms"] if x["name"] == "general")
    assert room["messages"] == 31 and room["last_seq"] == general[-1]["seq"]
    assert general[0]["user"]["name"] == "ann" and general[-1]["user"]["name"] == "ben"
    assert general[-1]["text"] == "reply from ben @ann"
    ann_id = general[0]["user"]["id"]

    # Pseudonyms: stable across exports, no real id or name left.
    p1, p2 = str(tmp_path / "p1"), str(tmp_path / "p2")
    assert cli(srv, "export", "--out", p1, "--pseudonymise").returncode == 0
    assert cli(srv, "export", "--out", p2, "--pseudonymise").returncode == 0
    m1, raw1, l1 = load(p1)
    _, raw2, _ = load(p2)
    assert m1["pseudonymised"] is True and raw1 == raw2
    people = {m["user"]["id"] for m in l1}
    assert len(people) == 2 and all(p.startswith("person-") for p in people)
    assert ann_id.encode() not in raw1 and b'"ann"' not in raw1 and b'"ben"' not in raw1

    # --room and --until: only that room, only up to the time.
    cut = general[9]["ts"]
    import time
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cut // 1000))
    f = str(tmp_path / "f")
    r = cli(srv, "export", "--out", f, "--room", "general", "--until", until)
    assert r.returncode == 0, r.stderr
    mf, _, lf = load(f)
    assert [x["name"] for x in mf["rooms"]] == ["general"]
    assert all(m["ts"] <= (cut // 1000) * 1000 for m in lf)

    # Refusals: an unknown room, an existing folder, a bad date.
    r = cli(srv, "export", "--out", str(tmp_path / "n"), "--room", "nope")
    assert r.returncode == 1 and "no room named 'nope'" in r.stderr
    r = cli(srv, "export", "--out", out)
    assert r.returncode == 1 and "new folder" in r.stderr
    r = cli(srv, "export", "--out", str(tmp_path / "d"), "--since", "last week")
    assert r.returncode == 2
