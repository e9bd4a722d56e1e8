"""deploy/ (docs/deployment.md): what can be checked without a container
engine or a cloud. The compose file parses and its services and ports
agree with deploy/nginx.conf; `nginx -t` accepts nginx.conf with the
compose names pointed at real parley processes on free loopback ports;
and that nginx, started by this test only, carries HTTP and a WebSocket
to those nodes (stopped by its PID at the end)."""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
import websockets

from conftest import SOURCE_DIR

DEPLOY = os.path.join(SOURCE_DIR, "deploy")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_text():
    with open(os.path.join(DEPLOY, "nginx.conf")) as f:
        return f.read()


def compose():
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(DEPLOY, "compose.yaml")) as f:
        return yaml.safe_load(f)


def test_compose_services_agree_with_nginx():
    doc = compose()
    services = doc["services"]
    assert {"mongo", "redis", "parley1", "parley2", "nginx"} <= set(services)
    upstream = re.search(r"upstream parley \{(.*?)\}", nginx_text(), re.S).group(1)
    targets = re.findall(r"server\s+([\w.-]+):(\d+)", upstream)
    assert sorted(h for h, _ in targets) == ["parley1", "parley2"]
    with open(os.path.join(DEPLOY, "cluster.conf")) as f:
        conf = f.read()
    listen_port = re.search(r'listen = \{ "0\.0\.0\.0:(\d+)" \}', conf).group(1)
    assert {p for _, p in targets} == {listen_port}, "nginx must reach the port the nodes listen on"
    for name in ("parley1", "parley2"):
        svc = services[name]
        assert svc["command"][-1] == "/etc/parley/cluster.conf"
        assert any(v.startswith("./cluster.conf:/etc/parley/cluster.conf") for v in svc["volumes"])
        assert svc["environment"]["PARLEY_MONGO_URI"].startswith("mongodb://mongo:")
        assert svc["environment"]["PARLEY_REDIS_URL"].startswith("redis://redis:")
        assert "ports" not in svc, "nodes are reached through nginx only"
    # nginx publishes the port it listens on.
    nginx_listen = re.search(r"listen (\d+);", nginx_text()).group(1)
    assert any(p.endswith(":" + nginx_listen) for p in services["nginx"]["ports"])
    assert any(v.startswith("./nginx.conf:/etc/nginx/nginx.conf") for v in
               services["nginx"]["volumes"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_nginx_conf(tmp_path, ports, listen):
    """deploy/nginx.conf with the compose names and ports replaced by this
    machine's: the rest as shipped."""
    text = nginx_text()
    for name, port in zip(("parley1", "parley2"), ports):
        text = re.sub(rf"server {name}:\d+", f"server 127.0.0.1:{port}", text)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    text = text.replace("pid /tmp/parley-nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    text = text.replace("access_log /dev/stdout;", f"access_log {tmp_path}/access.log;")
    text = text.replace("error_log /dev/stderr warn;", f"error_log {tmp_path}/error.log warn;")
    for d in ("client_body", "proxy"):
        text = text.replace("http {", f"http {{\n    {d}_temp_path {tmp_path}/{d};", 1)
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    return str(path)


@pytest.fixture
def nginx_bin():
    if not os.access(NGINX, os.X_OK):
        pytest.skip("nginx is not installed (tools/setup.sh --test installs it)")
    return NGINX


def test_nginx_accepts_the_config_and_proxies_to_two_nodes(server_factory, nginx_bin,
                                                           tmp_path):
    # Two nodes; each its own store here (the same topology on one shared
    # store is test_cluster_state.py's): what is checked is the proxy.
    nodes = [server_factory(), server_factory()]
    listen = free_port()
    conf = local_nginx_conf(tmp_path, [n.port for n in nodes], listen)
    prefix = ["-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", conf]
    res = subprocess.run([nginx_bin, "-t", *prefix], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    proc = subprocess.Popen([nginx_bin, "-g", "daemon off;", *prefix],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.1)
        import http.client
        for _ in range(4):  # round robin: both nodes answer
            conn = http.client.HTTPConnection("127.0.0.1", listen, timeout=10)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            assert resp.status == 200 and b"ok" in resp.read()
            conn.close()
        token = nodes[0].user("alice")

        async def ws_through_nginx():
            async with websockets.connect(f"ws://127.0.0.1:{listen}/ws",
                                          subprotocols=["parley.v1"]) as ws:
                await ws.send('{"type":"auth","token":"%s"}' % token)
                return await asyncio.wait_for(ws.recv(), 10)

        # Whichever node nginx picks: the first answers hello, the other
        # (its own store here) refuses the token; either way the upgrade
        # went through the proxy and a frame came back.
        first = asyncio.run(ws_through_nginx())
        assert first
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
