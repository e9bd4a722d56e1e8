"""The data dir and the database file on a bad day (issue 13, items 16, 17
and 18): a clean stop leaves parley.db complete on its own, a second server
on the same data dir is refused, store failures a client can wait out are
`unavailable` with a retry time, a database the server cannot write fails
/readyz at start, and a zero-length parley.db is refused, not taken for a
fresh install.
"""

import os
import shutil
import sqlite3

from parley_client import Client, run


def send_some(srv, token, n):
    async def go():
        async with Client(srv, token) as c:
            acks = await c.send_many(c.room_id("general"), [f"cold copy {i}" for i in range(n)])
            assert all(a["type"] == "ack" for a in acks), acks
            return [a["id"] for a in acks]

    return run(go())


def test_clean_stop_leaves_a_complete_parley_db(server_factory, tmp_path):
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
