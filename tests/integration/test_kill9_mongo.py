"""Ack means durable on store_mongo too (issue 14): kill -9 parley mid-
traffic, restart it on the same database, and every acked message is there
exactly once; seqs stay dense — the seq a killed append took and never
filled gets a tombstone from store_mongo's sweep (seq_hole_after, 1 s here)
before the restarted server appends after it.

Each test runs its own CongoDB (memory mode: it outlives the parley
processes, which is what a database does), so this runs on either
PARLEY_TEST_STORE. PARLEY_KILL9_MONGO_TRIALS sets the number of trials."""

import os
import random
import sys
import time

import pytest

from conftest import SOURCE_DIR, lua_str
from parley_client import Client, run
from test_kill9 import IN_FLIGHT, PREFIX, all_messages, flood_then_kill

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
import congo  # noqa: E402

TRIALS = int(os.environ.get("PARLEY_KILL9_MONGO_TRIALS", "6"))
MAX_ACKS = 120
HOLE_AFTER_S = 1


@pytest.fixture(scope="module")
def congo_db(plugin_dir):
    if not os.path.exists(os.path.join(plugin_dir, "store_mongo.so")):
        pytest.skip("store_mongo was not built (it needs libmongoc-dev)")
    if not congo.available():
        pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it)")
    with congo.Congo() as db:
        yield db


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill9_on_mongo_loses_nothing_and_seqs_stay_dense(server_factory, congo_db, trial):
    rnd = random.Random(os.environ.get("PARLEY_KILL9_SEED", "") + "mongo" + str(trial))
    kill_after = rnd.randint(1, MAX_ACKS)
    plugins = ('{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
               ' {"store_mongo", uri = %s, database = %s, seq_hole_after = %d} }'
               % (lua_str(congo_db.uri), lua_str("k9_%d_%d" % (os.getpid(), trial)),
                  HOLE_AFTER_S))
    srv = server_factory(plugins=plugins)
    token = srv.people("alice")["alice"]

    room, acks = run(flood_then_kill(srv, token, kill_after), timeout=60)
    assert srv.killed and len(acks) >= kill_after

    # Longer than seq_hole_after: the restart's first sweep may fill what
    # the killed appends left empty.
    time.sleep(HOLE_AFTER_S + 0.5)
    since = len(srv.logs)
    srv.restart()
    srv.wait_log("database_up", since=since, timeout=15)  # logged after the sweep

    async def one_more():
        async with Client(srv, token) as c:
            r = await c.send_text(room, PREFIX + "after the restart")
            assert r["type"] == "ack", r
            return r
    last = run(one_more(), timeout=30)

    stored = run(all_messages(srv, token, room), timeout=60)
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, last["seq"] + 1)), \
        f"seqs not dense 1..{last['seq']}: missing {sorted(set(range(1, last['seq'] + 1)) - set(seqs))}"
    live = [m for m in stored if not m.get("deleted")]
    texts = [m.get("text") for m in live]
    assert len(texts) == len(set(texts)), "a message is stored twice"
    by_seq = {m["seq"]: m for m in stored}
    lost = [a for a in acks
            if by_seq.get(a["seq"], {}).get("id") != a["id"]
            or by_seq[a["seq"]].get("text") != PREFIX + a["client_id"]]
    assert not lost, f"{len(lost)} of {len(acks)} acked messages lost or changed, e.g. {lost[:3]}"
    # Holes are the killed appends only: at most IN_FLIGHT of them.
    tombstones = [m["seq"] for m in stored if m.get("deleted")]
    assert len(tombstones) <= IN_FLIGHT, tombstones
    print(f"trial {trial}: {len(acks)} acks, {len(tombstones)} seqs tombstoned by the sweep")
