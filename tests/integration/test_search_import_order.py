"""Search sorted `recent` over imported history: a Slack import writes one
conversation after another, so message ids follow the conversations, not
time. `recent` still pages newest first across all of them (store_sqlite
walks its index by id and must not stop early: search_recent.c), and what
people write after the import comes first. On both stores."""

import pytest

from parley_client import Client, run
from test_import_slack import fresh, import_slack, plugins_for, reset_and_login, write_zip

U_ANN, U_BEN = "U01ANN", "U02BEN"
DAY = 86400


def message(ts, user, text):
    return {"type": "message", "ts": f"{ts}.000000", "user": user, "text": text}


def export():
    """Two channels whose times interleave (days apart): general is
    written first and holds days 2 and 4, lab days 1, 3 and 5."""
    base = 1614600000
    users = [{"id": U_ANN, "name": "ann", "profile": {"real_name": "Ann"}},
             {"id": U_BEN, "name": "ben", "profile": {"real_name": "Ben"}}]
    channels = [
        {"id": "C01GEN", "name": "general", "created": base - DAY, "creator": U_ANN,
         "members": [U_ANN, U_BEN], "topic": {"value": ""}, "purpose": {"value": ""}},
        {"id": "C02LAB", "name": "lab", "created": base - DAY, "creator": U_ANN,
         "members": [U_ANN, U_BEN], "topic": {"value": ""}, "purpose": {"value": ""}},
    ]
    return {
        "users.json": users, "channels.json": channels, "groups.json": [], "dms.json": [],
        "general/2021-03-02.json": [message(base + 2 * DAY, U_ANN, "centrifuge day 2"),
                                    message(base + 2 * DAY + 1, U_BEN, "nothing here")],
        "general/2021-03-04.json": [message(base + 4 * DAY, U_BEN, "centrifuge day 4")],
        "lab/2021-03-01.json": [message(base + 1 * DAY, U_ANN, "centrifuge day 1")],
        "lab/2021-03-03.json": [message(base + 3 * DAY, U_BEN, "centrifuge day 3")],
        "lab/2021-03-05.json": [message(base + 5 * DAY, U_ANN, "centrifuge day 5")],
    }


@pytest.mark.parametrize("store", ["sqlite", "mongo"])
def test_recent_pages_imported_history_in_time_order(store, request, server_factory,
                                                     plugin_dir, parley_bin, tmp_path):
    plugins = plugins_for(store, request, "order")
    zpath = write_zip(str(tmp_path / "slack.zip"), export())
    data, cfg = fresh(tmp_path, plugin_dir, plugins, "data")
    _, links = import_slack(parley_bin, cfg, zpath)
    srv = server_factory(plugins=plugins, data_dir=data,
                         server_extra='public_url = "http://parley.test"')
    srv.require_store_members("search")
    ann = reset_and_login(srv, "ann", links["ann"])

    async def pages(a, limit):
        found, cursor = [], None
        for _ in range(20):
            fields = {"query": "centrifuge", "sort": "recent", "limit": limit}
            if cursor:
                fields["cursor"] = cursor
            r = await a.request("search", **fields)
            assert r["type"] == "search", r
            found += [m["text"] for m in r["messages"]]
            if not r["more"]:
                return found
            cursor = r["cursor"]
        raise AssertionError("more than 20 pages")

    async def check():
        async with Client(srv, ann) as a:
            days = [f"centrifuge day {d}" for d in (5, 4, 3, 2, 1)]
            for limit in (1, 2, 3, 5):
                assert await pages(a, limit) == days, limit
            general = a.room_id("general")
            ack = await a.send_text(general, "centrifuge after the move")
            assert ack["type"] == "ack", ack
            for limit in (1, 2):
                assert await pages(a, limit) == ["centrifuge after the move"] + days

    run(check())
