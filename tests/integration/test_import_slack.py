"""parley import --from slack (issue 17's stretch goal): a Slack workspace
export zip, built here the way Slack lays one out (users.json,
channels.json, groups.json, dms.json, a folder per conversation with a
JSON file per day), imported into an empty store on store_sqlite and on
store_mongo (conftest's mongo_uri: PARLEY_TEST_MONGO_URI, else CongoDB), then
read back through the protocol as the imported people: rooms and their
kinds, members, archived setting, history in ts order with converted
markup, threads, reactions, edits, file links, DMs; reset links only for
active people. A damaged export is refused naming the file, and leaves the
store empty."""

import json
import os
import subprocess
import zipfile

import pytest

from conftest import lua_str, make_config
from parley_client import Client, run

AUTH = '{"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }}'
# Not the `{"store_sqlite"}` spelling a PARLEY_TEST_STORE=mongo run rewrites:
# each case names its store.
PLUGINS = {
    "sqlite": '{ ' + AUTH + ', {"store_sqlite", path = "parley.db"} }',
    "mongo": '{ ' + AUTH + ', {"store_mongo", uri = %s, database = %s} }',
}
PUBLIC_URL = 'public_url = "http://parley.test"'

U_ANN, U_BEN, U_CAT, B_BOT = "U01ANN", "U02BEN", "U03CAT", "U04BOT"
ROOT_TS, REPLY1_TS, REPLY2_TS = "1614600100.000200", "1614600200.000300", "1614686400.000100"


def plugins_for(store, request, name):
    if store == "sqlite":
        return PLUGINS["sqlite"]
    uri = request.getfixturevalue("mongo_uri")
    return PLUGINS["mongo"] % (lua_str(uri), lua_str(f"slack_{name}_{os.getpid()}"))


def msg(ts, user, text, **extra):
    return {"type": "message", "ts": ts, "user": user, "text": text, **extra}


def slack_export():
    """{entry name: JSON value} of a small workspace."""
    users = [
        {"id": U_ANN, "name": "ann", "real_name": "Ann Archer", "is_admin": True,
         "profile": {"display_name": "Ann A.", "real_name": "Ann Archer",
                     "email": "ann@example.com"}},
        {"id": U_BEN, "name": "ben", "real_name": "Ben Baker",
         "profile": {"display_name": "", "real_name": "Ben Baker"}},
        {"id": U_CAT, "name": "cat", "deleted": True, "profile": {"real_name": "Cat Cole"}},
        {"id": B_BOT, "name": "deploybot", "is_bot": True, "profile": {"real_name": "Deploy"}},
    ]
    channels = [
        {"id": "C01GEN", "name": "general", "created": 1614500000, "creator": U_ANN,
         "is_general": True, "members": [U_ANN, U_BEN, U_CAT],
         "topic": {"value": "Team chat, see <https://wiki.example|the wiki>"},
         "purpose": {"value": "everything"}},
        {"id": "C02OLD", "name": "old-project", "created": 1577800000, "creator": U_BEN,
         "is_archived": True, "members": [U_ANN, U_BEN],
         "topic": {"value": ""}, "purpose": {"value": "Past work &amp; notes"}},
    ]
    groups = [{"id": "G01LAB", "name": "secret-lab", "created": 1614500000, "creator": U_ANN,
               "members": [U_ANN, U_BEN], "topic": {"value": "lab only"}}]
    dms = [{"id": "D01AB", "created": 1614500000, "members": [U_ANN, U_BEN]}]
    root = msg(ROOT_TS, U_ANN,
               "Hello <@U02BEN>, see <#C02OLD|old-project> &amp; "
               "<https://example.com/x?a=1&amp;b=2|the plan> *bold* ~old~ :tada:",
               thread_ts=ROOT_TS, reply_count=2,
               reactions=[{"name": "+1", "users": [U_BEN, U_CAT], "count": 2},
                          {"name": "party_parrot", "users": [U_ANN], "count": 1}])
    day1 = [
        {"type": "message", "subtype": "channel_join", "ts": "1614600000.000100",
         "user": U_BEN, "text": "<@U02BEN> has joined the channel"},
        root,
        msg(REPLY1_TS, U_BEN, "I agree &lt;3", thread_ts=ROOT_TS, parent_user_id=U_ANN,
            edited={"user": U_BEN, "ts": "1614600250.000000"}),
        # Earlier than the rest though later in the file: ts decides.
        msg("1614600050.000000", U_CAT, "early message from cat"),
    ]
    day2 = [
        msg(REPLY2_TS, U_ANN, "second reply <!here>", thread_ts=ROOT_TS,
            parent_user_id=U_ANN),
        msg("1614686500.000000", U_BEN, "the plot",
            files=[{"id": "F1", "name": "plot.png", "mimetype": "image/png", "size": 1234,
                    "url_private": "https://files.slack.com/files-pri/T1-F1/plot.png"}]),
        {"type": "message", "subtype": "bot_message", "ts": "1614686600.000000",
         "bot_id": "B0BOT", "username": "deploybot", "text": "deployed *v1*"},
        {"type": "message", "subtype": "channel_topic", "ts": "1614686700.000000",
         "user": U_ANN, "text": "set the channel topic", "topic": "x"},
    ]
    return {
        "users.json": users,
        "channels.json": channels,
        "groups.json": groups,
        "dms.json": dms,
        "general/2021-03-01.json": day1,
        "general/2021-03-02.json": day2,
        "old-project/2020-01-01.json": [
            msg("1577900000.000000", U_BEN, "archived stuff"),
            # A file with no words: the link line is the text.
            msg("1577900001.000000", U_ANN, "",
                files=[{"id": "F2", "name": "notes.pdf", "mimetype": "application/pdf",
                        "size": 99, "permalink": "https://t.slack.com/files/U01ANN/F2/notes.pdf",
                        "url_private": "https://files.slack.com/files-pri/T1-F2/notes.pdf"}]),
        ],
        "secret-lab/2021-03-01.json": [msg("1614600300.000000", U_BEN, "private note")],
        "D01AB/2021-03-01.json": [
            msg("1614600400.000000", U_ANN, "dm hi"),
            msg("1614600500.000000", U_BEN, "dm hello :smile:"),
        ],
    }


def write_zip(path, entries, raw=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, value in entries.items():
            z.writestr(name, json.dumps(value))
        for name, data in (raw or {}).items():
            z.writestr(name, data)
    return path


def cli(binary, cfg, *args):
    return subprocess.run([binary, *args, "--config", cfg], text=True, capture_output=True,
                          timeout=120)


def fresh(tmp_path, plugin_dir, plugins, name):
    data = str(tmp_path / name)
    cfg = str(tmp_path / (name + ".conf"))
    with open(cfg, "w") as f:
        f.write(make_config(data, plugin_dir, plugins, server_extra=PUBLIC_URL))
    return data, cfg


def import_slack(binary, cfg, zpath):
    """Runs `parley import --from slack` (it must succeed): the result and
    the password-reset link printed for each person, by name."""
    r = cli(binary, cfg, "import", "--from", "slack", zpath)
    assert r.returncode == 0, r.stderr
    links = dict(line.split(" ", 2)[1:] for line in r.stdout.splitlines()
                 if line.startswith("reset "))
    return r, links


def reset_and_login(srv, name, link):
    token = link.split("#reset=")[1]
    st, _, body = srv.http("POST", "/api/password/reset",
                           json={"token": token, "password": "a new passphrase 1"})
    assert st == 200, body
    login = srv.login(name, "a new passphrase 1")
    assert "token" in login, login
    return login["token"]


@pytest.mark.parametrize("store", ["sqlite", "mongo"])
def test_slack_export_imports_and_serves(store, request, server_factory, plugin_dir, parley_bin,
                                         tmp_path):
    plugins = plugins_for(store, request, "full")
    zpath = write_zip(str(tmp_path / "slack.zip"), slack_export())
    data, cfg = fresh(tmp_path, plugin_dir, plugins, "data")
    r, links = import_slack(parley_bin, cfg, zpath)
    # cat is deleted (a disabled account), deploybot a bot: no links.
    assert set(links) == {"ann", "ben"}, r.stdout
    assert all(v.startswith("http://parley.test/#reset=") for v in links.values())
    # 6 in general, 2 archived, 1 private, 2 in the DM; a join and a topic change skipped.
    assert "11 messages (2 thread replies" in r.stderr, r.stderr
    assert "2 join/leave/topic events skipped" in r.stderr, r.stderr
    assert "2 file links" in r.stderr, r.stderr

    # Into a store with data: refused.
    again = cli(parley_bin, cfg, "import", "--from", "slack", zpath)
    assert again.returncode == 1 and "not empty" in again.stderr, again.stderr

    srv = server_factory(plugins=plugins, data_dir=data, server_extra=PUBLIC_URL)
    ann = reset_and_login(srv, "ann", links["ann"])
    ben = reset_and_login(srv, "ben", links["ben"])
    # A deleted Slack user's account is disabled.
    assert "token" not in srv.login("cat", "whatever it is 1")

    async def check():
        async with Client(srv, ann) as a, Client(srv, ben) as b:
            me = a.user["id"]
            rooms = {x["name"]: x for x in a.ready["rooms"]}
            assert {"general", "old-project", "secret-lab"} <= set(rooms), rooms
            assert rooms["secret-lab"]["kind"] == "private"
            assert rooms["general"]["topic"] == "Team chat, see the wiki (https://wiki.example)"
            assert rooms["old-project"]["topic"] == "Past work & notes"
            dm = [x for x in a.ready["rooms"] if x["kind"] == "dm"]
            assert len(dm) == 1, a.ready["rooms"]
            g = rooms["general"]["id"]

            h = await a.history(g, limit=50)
            ms = sorted(h["messages"], key=lambda m: m["seq"])
            assert [m["seq"] for m in ms] == [1, 2, 3, 4, 5, 6], ms
            texts = [m["text"] for m in ms]
            assert texts[0] == "early message from cat"
            assert texts[1] == ("Hello @ben, see #old-project & the plan "
                                "(https://example.com/x?a=1&b=2) **bold** ~~old~~ 🎉")
            assert texts[2] == "I agree <3"
            assert texts[3] == "second reply @here"
            assert texts[4] == ("the plot\n📎 plot.png "
                                "(https://files.slack.com/files-pri/T1-F1/plot.png)")
            assert texts[5] == "**deploybot**: deployed **v1**"
            assert [m["user"]["name"] for m in ms] == [
                "cat", "ann", "ben", "ann", "ben", "slack-b0bot"]
            # Times are Slack's ts in milliseconds.
            assert ms[1]["ts"] == 1614600100000
            root = ms[1]
            assert root["replies"] == 2, root
            ben_id = ms[2]["user"]["id"]
            assert {k: sorted(v) for k, v in root["reactions"].items()} == {
                "👍": sorted([ben_id, ms[0]["user"]["id"]]),
                ":party_parrot:": [me]}, root
            assert ms[2].get("edited_ts") == 1614600250000, ms[2]
            assert root["mentions"] == [ben_id], root
            assert root["last_reply_ts"] == 1614686400000, root

            t = await a.request("history", room=g, thread=root["id"], limit=50)
            assert t["type"] == "history", t
            assert [m["text"] for m in t["messages"]] in (
                ["I agree <3", "second reply @here"], ["second reply @here", "I agree <3"])

            members = await a.request("members", room=g)
            assert sorted(m["name"] for m in members["members"]) == ["ann", "ben", "cat"]

            # The archived channel is read-only; its history is there.
            old = rooms["old-project"]["id"]
            h = await a.history(old, limit=10)
            assert sorted(m["text"] for m in h["messages"]) == [
                "archived stuff", "📎 notes.pdf (https://t.slack.com/files/U01ANN/F2/notes.pdf)"]
            sent = await a.send_text(old, "still there?")
            assert sent["type"] == "error" and "archived" in sent["message"], sent

            h = await b.history(rooms["secret-lab"]["id"], limit=10)
            assert [m["text"] for m in h["messages"]] == ["private note"]
            h = await a.history(dm[0]["id"], limit=10)
            assert sorted(m["text"] for m in h["messages"]) == ["dm hello 😄", "dm hi"]

            # Life goes on after the import: the next seq follows.
            ack = await a.send_text(g, "after the move")
            assert ack["type"] == "ack" and ack["seq"] == 7, ack

    run(check())


def test_damaged_exports_are_refused_naming_the_file(server_factory, plugin_dir, parley_bin,
                                                      tmp_path):
    plugins = PLUGINS["sqlite"]
    data, cfg = fresh(tmp_path, plugin_dir, plugins, "data")
    good = slack_export()

    def attempt(name, entries=None, raw=None, plain=None):
        path = str(tmp_path / name)
        if plain is not None:
            with open(path, "wb") as f:
                f.write(plain)
        else:
            write_zip(path, entries if entries is not None else good, raw)
        return cli(parley_bin, cfg, "import", "--from", "slack", path)

    r = attempt("not-a-zip.zip", plain=b"PK\x03\x04 this is not a zip at all")
    assert r.returncode == 1 and "not-a-zip.zip" in r.stderr, r.stderr

    broken = dict(good)
    del broken["general/2021-03-02.json"]
    r = attempt("broken-day.zip", broken, raw={"general/2021-03-02.json": b'[{"ts": "1",'})
    assert r.returncode == 1 and "general/2021-03-02.json: line" in r.stderr, r.stderr

    deep = dict(good)
    deep["secret-lab/2021-03-01.json"] = [json.loads("[" * 40 + "]" * 40)]
    r = attempt("deep.zip", deep)
    assert r.returncode == 1 and "secret-lab/2021-03-01.json" in r.stderr \
        and "nested deeper" in r.stderr, r.stderr

    bad_ts = dict(good)
    bad_ts["D01AB/2021-03-01.json"] = [msg("yesterday", U_ANN, "when?")]
    r = attempt("bad-ts.zip", bad_ts)
    assert r.returncode == 1 and "D01AB/2021-03-01.json entry 1" in r.stderr, r.stderr

    no_users = {k: v for k, v in good.items() if k != "users.json"}
    r = attempt("no-users.zip", no_users)
    assert r.returncode == 1 and "users.json" in r.stderr, r.stderr

    r = attempt("evil.zip", good, raw={"../escape.json": b"[]"})
    assert r.returncode == 1 and "escape" in r.stderr, r.stderr
    assert not os.path.exists(str(tmp_path / "escape.json"))

    # None of them wrote anything, nor left an unpacking folder behind: the
    # good export still goes in, and its folder goes as well.
    assert not [n for n in os.listdir(data) if n.endswith(".partial")], os.listdir(data)
    r = attempt("good.zip", good)
    assert r.returncode == 0, r.stderr
    assert not [n for n in os.listdir(data) if n.endswith(".partial")], os.listdir(data)


def test_long_texts_are_cut_to_max_text_and_names_fitted(parley_bin, plugin_dir, tmp_path):
    export = slack_export()
    export["users.json"].append({"id": "U05LONG", "name": "a name with spaces & more",
                                 "profile": {"display_name": "Long"}})
    export["secret-lab/2021-03-01.json"].append(
        msg("1614600301.000000", "U05LONG", "é" * 5000))
    export["channels.json"].append({"id": "C03DUP", "name": "General", "created": 1,
                                    "members": [U_ANN]})
    data, cfg = fresh(tmp_path, plugin_dir, PLUGINS["sqlite"], "data")
    path = write_zip(str(tmp_path / "long.zip"), export)
    r = cli(parley_bin, cfg, "import", "--from", "slack", path)
    assert r.returncode == 0, r.stderr
    assert "secret-lab: the message of ts 1614600301.000000 is longer than 4000" in r.stderr
    assert "'a name with spaces & more' is 'a_name_with_spaces___more'" in r.stderr
    assert "'General' is 'General-2'" in r.stderr, r.stderr
    # The cut text: 3999 characters and an ellipsis, read from the store.
    out = str(tmp_path / "export")
    r = cli(parley_bin, cfg, "export", "--out", out)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "messages.jsonl")) as f:
        texts = [json.loads(line)["text"] for line in f]
    cut = [t for t in texts if t and t.startswith("é")]
    assert cut == ["é" * 3999 + "…"], [len(t) for t in cut]


def test_usage_errors(parley_bin, tmp_path):
    r = subprocess.run([parley_bin, "import", "--from", "teams", "x.zip"], text=True,
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and "'slack' or 'parley'" in r.stderr, r.stderr
    r = subprocess.run([parley_bin, "export", "--from", "slack", "--out", "x"], text=True,
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and "--from applies to 'import' only" in r.stderr, r.stderr
    r = subprocess.run([parley_bin, "--help"], text=True, capture_output=True, timeout=30)
    assert "import --from slack" in r.stdout + r.stderr
