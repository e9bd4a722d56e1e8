"""Backups to S3 (issue 17): scheduled backups go to s3://BUCKET/PREFIX
(s3rver, the S3 test server of the uploads_s3 tests) through the uploads
provider's object members (uploads_s3 signs and sends them: no second S3
client), the oldest beyond keep removed; `parley backup --out s3://…`; and
`parley restore s3://…` (the newest, one by name, or --at TIME) into a
new data dir gives back every message acked before the backup. The URL's
bucket is uploads_s3's bucket; check-config refuses anything else."""

import os
import time

from parley_client import Client, run
from test_backup import cli, metric, wait_for
from test_uploads import AUTH_PLUGINS, BUCKET, s3rver  # noqa: F401 (fixture)


def uploads_s3(s3, secret="S3RVER", list_page=None, bucket=BUCKET):
    page = f", list_page = {list_page}" if list_page else ""
    return ('{"uploads_s3", endpoint = "%s", region = "us-east-1", bucket = "%s",'
            ' prefix = "up%d/", path_style = true, access_key = "S3RVER",'
            ' secret_key = "%s", retries = 0%s}' % (s3.endpoint(), bucket, os.getpid(), secret,
                                                    page))


def s3_server(factory, s3, prefix, every="1s", keep=2, secret="S3RVER", list_page=None,
              data_dir=None, to=None):
    """A server whose uploads provider is uploads_s3 on s3rver and whose
    scheduled backups go to s3://BUCKET/prefix through it."""
    return factory(plugins="{ " + AUTH_PLUGINS + ", " + uploads_s3(s3, secret, list_page)
                   + " }",
                   config_extra=(f'backup = {{ every = "{every}", keep = {keep},'
                                 f' to = "{to or f"s3://{BUCKET}/{prefix}"}" }}'),
                   data_dir=data_dir)


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
    srv = s3_server(server_factory, s3rver, prefix)
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
    back = s3_server(server_factory, s3rver, prefix + "x", every="1h",
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
    srv = s3_server(server_factory, s3rver, prefix + "-sched", every="1h")
    tok = srv.people("finn")
    g = run(send(srv, tok["finn"], ["kept in s3"]))
    r = cli(srv, "backup", "--out", f"s3://{BUCKET}/{prefix}")
    assert r.returncode == 0, r.stderr
    assert len(names_in(s3rver, prefix)) == 1
    srv.stop()
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", data_dir=str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    back = s3_server(server_factory, s3rver, prefix + "-2", every="1h",
                     data_dir=str(tmp_path / "r"))
    assert "kept in s3" in run(texts(back, back.token("finn"), g))

    # Wrong keys: S3 refuses the signature; the CLI says so and fails.
    bad = s3_server(server_factory, s3rver, prefix + "-wrong", every="1h", secret="wrong")
    r = cli(bad, "backup", "--out", f"s3://{BUCKET}/{prefix}-bad")
    assert r.returncode == 1 and "HTTP 403" in r.stderr, r.stderr


def test_pruning_follows_every_listing_page(server_factory, s3rver):
    """list_page = 1: each backup is several objects (the manifest, the
    store's file), so every listing of the prefix spans pages; pruning that
    read only the first page would see one backup and never get down to
    keep."""
    prefix = f"pg{os.getpid()}"
    srv = s3_server(server_factory, s3rver, prefix, keep=2, list_page=1)
    run(send(srv, srv.people("gil")["gil"], ["paged"]))
    wait_for(lambda: (metric(srv, "parley_backup_runs_total", '{result="ok"}') or 0) >= 5, 40,
             "five scheduled backups in S3")
    wait_for(lambda: len(names_in(s3rver, prefix)) == 2, 10, "pruning to keep = 2")
    d = os.path.join(s3rver.dir, BUCKET, prefix)
    assert sorted(os.listdir(d)) == names_in(s3rver, prefix), "unfinished leftovers stay"
    assert (metric(srv, "parley_backup_runs_total", '{result="failed"}') or 0) == 0
    # What pruning listed spanned pages: more objects than one page holds.
    objects = [f for _, _, fs in os.walk(d) for f in fs if f.endswith("._S3rver_object")]
    assert len(objects) >= 4 > 1, objects


def test_restore_a_named_backup_across_pages(server_factory, s3rver, tmp_path):
    """Two CLI backups; restoring the first by name gives its messages and
    not the later one's, with listings of one key a page."""
    prefix = f"nm{os.getpid()}"
    srv = s3_server(server_factory, s3rver, prefix + "-sched", every="1h", list_page=1)
    tok = srv.people("hana")
    g = run(send(srv, tok["hana"], ["early"]))
    assert cli(srv, "backup", "--out", f"s3://{BUCKET}/{prefix}").returncode == 0
    time.sleep(0.01)  # names are UTC times to the millisecond
    run(send(srv, tok["hana"], ["late"]))
    assert cli(srv, "backup", "--out", f"s3://{BUCKET}/{prefix}").returncode == 0
    first, second = names_in(s3rver, prefix)
    srv.stop()

    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}/{first}", data_dir=str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    assert f"from s3://{BUCKET}/{prefix}/{first}/" in r.stderr, r.stderr
    back = s3_server(server_factory, s3rver, prefix + "-a", every="1h",
                     data_dir=str(tmp_path / "a"))
    got = run(texts(back, back.token("hana"), g))
    assert "early" in got and "late" not in got, got
    back.stop()

    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}", data_dir=str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert f"from s3://{BUCKET}/{prefix}/{second}/" in r.stderr, r.stderr
    # A name that is not there: said plainly.
    r = cli(srv, "restore", f"s3://{BUCKET}/{prefix}/2000-01-01T000000.000Z",
            data_dir=str(tmp_path / "c"))
    assert r.returncode == 1 and "no finished backup" in r.stderr, r.stderr


def test_backup_to_a_missing_bucket_fails_clearly(server_factory, s3rver):
    """uploads_s3 names a bucket s3rver does not have: the CLI backup and
    the scheduled one fail with S3's NoSuchBucket and the hint."""
    prefix = f"mb{os.getpid()}"
    plugins = ("{ " + AUTH_PLUGINS + ", "
               + uploads_s3(s3rver).replace(f'bucket = "{BUCKET}"', 'bucket = "no-such-bucket"')
               + " }")
    srv = server_factory(plugins=plugins, config_extra=(
        f'backup = {{ every = "1h", keep = 2, to = "s3://no-such-bucket/{prefix}" }}'))
    r = cli(srv, "backup", "--out", f"s3://no-such-bucket/{prefix}")
    assert r.returncode == 1, r.stderr
    assert "NoSuchBucket" in r.stderr and "is the bucket name right" in r.stderr, r.stderr
    wait_for(lambda: (metric(srv, "parley_backup_runs_total", '{result="failed"}') or 0) >= 1,
             15, "the scheduled backup to fail")
    assert not metric(srv, "parley_backup_runs_total", '{result="ok"}')
    line = srv.wait_log("backup_failed", timeout=5)
    assert "NoSuchBucket" in line.get("msg", ""), line


def test_s3_backup_config_rules(run_parley, plugin_dir, s3rver, tmp_path):
    """check-config: the URL's bucket is uploads_s3's, it has a prefix of
    its own, outside the uploads' keys; uploads_local has no object store;
    backup.s3 is gone."""
    from conftest import make_config
    up = uploads_s3(s3rver)
    upre = f"up{os.getpid()}"
    for plugins, backup, msg in [
            (up, f'to = "s3://{BUCKET}/backups"', None),
            (up, 'to = "s3://other-bucket/backups"', "is not uploads_s3's bucket (chat-files)"),
            (up, f'to = "s3://{BUCKET}"', "a prefix is required"),
            (up, f'to = "s3://{BUCKET}/{upre}"', "overlaps the uploads' objects"),
            (up.replace(f'prefix = "{upre}/"', 'prefix = "b/"'), f'to = "s3://{BUCKET}/b"',
             "overlaps the uploads' objects"),
            ('{"uploads_local", dir = "files"}', f'to = "s3://{BUCKET}/backups"',
             "the uploads provider uploads_local has no object store"),
            (up, f'to = "s3://{BUCKET}/backups", s3 = {{ region = "us-east-1" }}',
             "backup.s3")]:
        text = make_config(str(tmp_path / "d"), plugin_dir, "{ " + AUTH_PLUGINS + ", "
                           + plugins + " }", config_extra=f'backup = {{ every = "1h", {backup} }}')
        cfg = tmp_path / "p.conf"
        cfg.write_text(text)
        r = run_parley("check-config", "--config", str(cfg))
        if msg is None:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode == 1 and msg in r.stderr, (backup, r.stderr)


def test_stop_during_an_s3_backup_leaves_nothing_behind(server_factory, s3rver, tmp_path):
    """SIGTERM while a 40 MB backup is on its way to S3 (parts on the
    worker pool, parts in flight): the server exits 0 and uploads_s3 has
    freed everything at fini (the host counts what a plugin still holds;
    before puts were ended at fini, 8 MiB stayed: a part and its writer)."""
    for delay in (1.0, 2.5):
        d = str(tmp_path / f"d{delay}")
        os.makedirs(d)
        with open(os.path.join(d, "big.bin"), "wb") as f:
            f.write(os.urandom(40 * 1024 * 1024))
        srv = s3_server(server_factory, s3rver, f"stop{os.getpid()}-{delay}", every="1s",
                        keep=1, data_dir=d)
        time.sleep(delay)
        assert srv.stop() == 0
        leaks = [line for line in srv.stderr_text.splitlines()
                 if "plugin_leak" in line and "uploads_s3" in line]
        assert not leaks, leaks
