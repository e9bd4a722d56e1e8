"""The data dir and the database file on a bad day (issue 13, items 16, 17
and 18): a clean stop leaves parley.db complete on its own, a second server
on the same data dir is refused, store failures a client can wait out are
`unavailable` with a retry time, a database the server cannot write fails
/readyz at start, and a zero-length parley.db is refused, not taken for a
fresh install.
"""

import json
import os
import shutil
import sqlite3
import subprocess


from conftest import sqlite_only
from parley_client import Client, run

# These open, empty or lock parley.db itself: store_sqlite's file. On
# store_mongo there is none (its database errors are tested with mockupdb,
# plugins/store_mongo/tests/mock_errors.py, and its restarts in
# test_store_mongo.c).
def send_some(srv, token, n):
    async def go():
        async with Client(srv, token) as c:
            acks = await c.send_many(c.room_id("general"), [f"cold copy {i}" for i in range(n)])
            assert all(a["type"] == "ack" for a in acks), acks
            return [a["id"] for a in acks]

    return run(go())


def test_clean_stop_leaves_a_complete_parley_db(server_factory, tmp_path):
    sqlite_only("parley.db and its WAL are store_sqlite's files")
    srv = server_factory()
    tok = srv.people("alice")["alice"]
    ids = send_some(srv, tok, 20)
    assert srv.stop() == 0
    db = os.path.join(srv.data_dir, "parley.db")
    wal = db + "-wal"
    # Checkpointed and removed by the last connection to close.
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    # parley.db alone, copied cold, has every acked message.
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        texts = [r[0] for r in con.execute("SELECT text FROM messages")]
    finally:
        con.close()
    assert sum(t.startswith("cold copy ") for t in texts) == len(ids) == 20


def test_second_server_on_the_same_data_dir_is_refused(server_factory):
    first = server_factory()
    first.add_user("alice")
    second = server_factory(data_dir=first.data_dir, expect_fail=True)
    assert second.returncode != 0
    text = second.stderr_text
    assert "in use by another parley server" in text, text
    assert first.data_dir in text and str(first.proc.pid) in text, text
    # The admin command line keeps working beside the running server, and
    # the first server still serves what it wrote.
    first.add_user("bob")
    assert first.login("bob", "correct horse 1")["user"]["name"] == "bob"
    # Once the first stops, the data dir is free again.
    assert first.stop() == 0
    third = server_factory(data_dir=first.data_dir)
    assert third.login("alice", "correct horse 1")["user"]["name"] == "alice"


def test_zero_length_parley_db_is_refused(server_factory, tmp_path):
    sqlite_only("parley.db is store_sqlite's file")
    data = tmp_path / "data"
    data.mkdir()
    (data / "parley.db").write_bytes(b"")
    srv = server_factory(data_dir=str(data), expect_fail=True)
    assert srv.returncode != 0
    text = srv.stderr_text
    assert str(data / "parley.db") in text and "empty" in text, text
    assert "first_admin_invite" not in text and "#invite=" not in text
    assert (data / "parley.db").stat().st_size == 0


def plugins_with_store(store_extra):
    return ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
            ' {"store_sqlite", ' + store_extra + '} }')


def test_full_database_is_unavailable_with_a_retry_time(server_factory):
    # max_size_mb caps the file as a full disk would: SQLite reports
    # SQLITE_FULL either way.
    srv = server_factory(plugins=plugins_with_store("max_size_mb = 1"))
    tok = srv.people("alice")["alice"]

    async def fill():
        async with Client(srv, tok) as c:
            g = c.room_id("general")
            for batch in range(40):
                replies = await c.send_many(g, [f"{batch}-{i} " + "x" * 3900 for i in range(32)])
                errors = [r for r in replies if r["type"] == "error"]
                if errors:
                    return errors[0]
            return None

    err = run(fill())
    assert err is not None, "1 MiB never filled up"
    assert err["code"] == "unavailable" and err["retry_after_ms"] == 5000, err
    # Over HTTP: 503 with Retry-After.
    async def general_id():
        async with Client(srv, tok) as c:
            return c.room_id("general")

    # (A failed batch can leave a little room behind: post until refused.)
    room = run(general_id())
    for _ in range(100):
        status, headers, data = srv.http("POST", f"/api/rooms/{room}/messages",
                                         headers={"Authorization": f"Bearer {tok}"},
                                         json={"text": "y" * 3900})
        if status != 200:
            break
    assert status == 503, data
    assert headers["Retry-After"] == "5"
    body = json.loads(data)
    assert body["error"]["code"] == "unavailable" and body["error"]["retry_after_ms"] == 5000


def make_unwritable(path):
    """Root writes through mode bits: make the file immutable instead."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)
    os.chmod(path, 0o444)
    return lambda: os.chmod(path, 0o644)


def test_unwritable_database_fails_readyz_at_start(server_factory):
    sqlite_only("an unwritable parley.db is store_sqlite's case (store_mongo's "
                "unreachable database: test_mongo_outage.py)")
    srv = server_factory()
    srv.add_user("alice")
    assert srv.stop() == 0
    db = os.path.join(srv.data_dir, "parley.db")
    undo = make_unwritable(db)
    try:
        srv.restart()
        status, _, data = srv.http("GET", "/readyz")
        assert status == 503, data
        assert db.encode() in data and b"cannot be written" in data, data
        status, headers, data = srv.http("POST", "/api/login",
                                         json={"username": "alice",
                                               "password": "correct horse 1"})
        assert status == 503 and headers["Retry-After"] == "5", data
        # That login's batch failed op by op inside a transaction that still
        # committed: the file is no more writable than before it.
        status, _, data = srv.http("GET", "/readyz")
        assert status == 503 and b"cannot be written" in data, data
        assert srv.stop() == 0
    finally:
        undo()
