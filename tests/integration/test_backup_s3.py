"""Backups to S3 (issue 17): scheduled backups go to s3://BUCKET/PREFIX
(s3rver, the S3 test server of the uploads_s3 tests), signed with SigV4 by
libcurl, the oldest beyond keep removed; `parley backup --out s3://…`; and
`parley restore s3://…` (the newest, one by name, or --at TIME) into a
new data dir gives back every message acked before the backup."""

import os
import time

from parley_client import Client, run
from test_backup import cli, metric, wait_for
from test_uploads import BUCKET, s3rver  # noqa: F401 (fixture)


def s3_section(s3, prefix, every="1s", keep=2):
    return (f'backup = {{ every = "{every}", keep = {keep}, to = "s3://{BUCKET}/{prefix}",'
            f' s3 = {{ endpoint = "{s3.endpoint()}", region = "us-east-1",'
            f' access_key = "S3RVER", secret_key = "S3RVER", path_style = true }} }}')


def names_in(s3, prefix):
    """Finished backups under prefix: folders with a manifest object."""
    d = os.path.join(s3.dir, BUCKET, prefix)
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d)
                  if os.path.exists(os.path.join(d, n, "manifest.json._S3rver_object")))


async def send(srv, token, texts):
    async with Client(srv, token) as c:
        g = c.room_id("general")
        acks = [await c.send_text(g, t) for t in texts]
        assert all(a["type"] == "ack" for a in acks), acks
        return g


async def texts(srv, token, room):
    async with Client(srv, token) as c:
        h = await c.history(room, limit=100)
        return {m.get("text") for m in h["messages"]}


def test_scheduled_backups_to_s3_and_restore(server_factory, s3rver, tmp_path):
    prefix = f"bk{os.getpid()}"
    srv = server_factory(config_extra=s3_section(s3rver, prefix))
    tok = srv.people("erin")
    g = run(send(srv, tok["erin"], [f"before {i}" for i in range(10)]))
    wait_for(lambda: (metric(srv, "parley_backup_runs_total", '{result="ok"}') or 0) >= 4, 30,
             "four scheduled backups in S3")
    wait_for(lambda: len(names_in(s3rver, prefix)) == 2, 10, "pruning to keep = 2")
    assert (metric(srv, "parley_backup_runs_total", '{result="failed"}') or 0) == 0
    assert metric(srv, "parley_backup_last_bytes") > 0
    first_kept = names_in(s3rver, prefix)[0]
    srv.stop()

    # The newest into a new data dir: every message acked before is there.
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", data_dir=str(tmp_path / "r1"))
    assert r.returncode == 0, r.stderr
    back = server_factory(config_extra=s3_section(s3rver, prefix + "x", every="1h"),
                          data_dir=str(tmp_path / "r1"))
    got = run(texts(back, back.token("erin"), g))
    assert {f"before {i}" for i in range(10)} <= got, got
    back.stop()

    # One by name, and --at: a time before every backup finds none.
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}/{first_kept}",
            data_dir=str(tmp_path / "r2"))
    assert r.returncode == 0, r.stderr
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", "--at", "2000-01-01",
            data_dir=str(tmp_path / "r3"))
    assert r.returncode == 1 and "no finished backup" in r.stderr, r.stderr
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", "--at", "2100-01-01",
            data_dir=str(tmp_path / "r4"))
    assert r.returncode == 0, r.stderr


def test_backup_cli_to_s3_and_bad_keys(server_factory, s3rver, tmp_path):
    prefix = f"cli{os.getpid()}"
    srv = server_factory(config_extra=s3_section(s3rver, prefix + "-sched", every="1h"))
    tok = srv.people("finn")
    g = run(send(srv, tok["finn"], ["kept in s3"]))
    r = cli(srv, "backup", "--out", f"s3://{BUCKET}/{prefix}")
    assert r.returncode == 0, r.stderr
    assert len(names_in(s3rver, prefix)) == 1
    srv.stop()
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", data_dir=str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    back = server_factory(config_extra=s3_section(s3rver, prefix + "-2", every="1h"),
                          data_dir=str(tmp_path / "r"))
    assert "kept in s3" in run(texts(back, back.token("finn"), g))

    # Wrong keys: S3 refuses the signature; the CLI says so and fails.
    bad = server_factory(config_extra=s3_section(s3rver, prefix, every="1h").replace(
        'secret_key = "S3RVER"', 'secret_key = "wrong"'))
    r = cli(bad, "backup", "--out", f"s3://{BUCKET}/{prefix}-bad")
    assert r.returncode == 1 and "HTTP 403" in r.stderr, r.stderr
