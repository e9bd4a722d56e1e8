"""The scripts the shipped configs turn on (issue 18): config/parley.conf
as it is in the source tree (what `tools/run.sh --config
config/parley.conf` uses) and the image's config/docker.conf both load
welcome, dice, poll and remind; a config without a `scripts` key loads
none. tests/image/run.sh checks the image itself."""

import json
import os
import re

from conftest import Server
from parley_client import Client, run

SHIPPED = ("welcome", "dice", "poll", "remind")


def start(parley_bin, tmp_path, config_path):
    """parley on config_path as it is, on a free port and a fresh data
    folder (given on the command line, over the file's own)."""
    data = str(tmp_path / "data")
    with open(config_path) as f:
        text = f.read()
    srv = Server(parley_bin, str(tmp_path), config_path, text, data, dict(os.environ))
    srv._start(["--config", config_path, "--listen", "127.0.0.1:0", "--data-dir", data])
    return srv


def loaded_scripts(srv):
    srv.wait_log("script_loaded", script=SHIPPED[-1])
    return sorted(e["script"] for e in srv.logs if e.get("event") == "script_loaded")


def assert_no_load_errors(srv):
    errors = [e for e in srv.logs if e.get("event") == "script_load"]
    assert errors == [], errors


def test_the_shipped_config_turns_on_four_scripts(parley_bin, source_dir, tmp_path):
    srv = start(parley_bin, tmp_path, os.path.join(source_dir, "config", "parley.conf"))
    try:
        assert loaded_scripts(srv) == sorted(SHIPPED)
        assert_no_load_errors(srv)
    finally:
        assert srv.stop() == 0, srv.stderr_text


def test_the_images_config_turns_on_the_same_four(parley_bin, source_dir, tmp_path):
    """config/docker.conf with the image's install folder of the scripts
    put where they are here; nothing else changed."""
    with open(os.path.join(source_dir, "config", "docker.conf")) as f:
        text = f.read()
    installed = "/usr/local/share/parley/scripts/"
    assert text.count(installed) == len(SHIPPED), text
    text = text.replace(installed, os.path.join(source_dir, "scripts") + "/")
    text = re.sub(r'data_dir = "[^"]*"', f'data_dir = "{tmp_path}/data"', text)
    conf = tmp_path / "docker.conf"
    conf.write_text(text)
    srv = start(parley_bin, tmp_path, str(conf))
    try:
        assert loaded_scripts(srv) == sorted(SHIPPED)
        assert_no_load_errors(srv)
    finally:
        assert srv.stop() == 0, srv.stderr_text


def test_a_config_without_scripts_loads_none(server):
    """The test servers' config has no `scripts` key: only the built-in
    commands are listed, and no script says it loaded."""
    tok = server.people("alice")

    async def body():
        async with Client(server, tok["alice"]):
            pass

    run(body())
    st, _, data = server.http("GET", "/api/commands",
                              headers={"Authorization": "Bearer " + tok["alice"]})
    assert st == 200, data
    cmds = json.loads(data)["commands"]
    assert cmds and all(c["builtin"] is True for c in cmds), cmds
    assert not [e for e in server.logs if e.get("event") in ("script_loaded", "script_load")]
    assert "scripts" not in server.config_text
