"""Several parley nodes as one chat, as real processes: redis-server and
the CongoDB test server (tests/mongo/congo.py) on free ports, and N parley
nodes on store_mongo (one database) and cluster_redis (one Redis). Used by
test_cluster.py and test_cluster_faults.py through their `cluster`
fixture; skips when store_mongo was not built or a server is missing."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import SOURCE_DIR, lua_str

ARGON = 'argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }'


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """One redis-server on 127.0.0.1, no persistence; stop() and start()
    again on the same port (an outage)."""

    def __init__(self, workdir):
        self.binary = shutil.which("redis-server")
        self.workdir = workdir
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not answer on port {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Cluster:
    def __init__(self, server_factory, mongo_uri, redis, database, n, extra_plugins="",
                 **node_kw):
        self.node_kw = node_kw  # more server_factory arguments (limits, config_extra)
        self.extra_plugins = extra_plugins  # more plugin entries (uploads_s3)
        self.redis = redis
        self.database = database
        self.mongo_uri = mongo_uri
        self.factory = server_factory
        self.nodes = [self.start_node() for _ in range(n)]

    def plugins(self):
        return ('{ {"auth_local", %s}, {"store_mongo", uri = %s, database = %s},'
                ' {"cluster_redis", url = %s, prefix = "t"}%s }'
                % (ARGON, lua_str(self.mongo_uri), lua_str(self.database),
                   lua_str(self.redis.url),
                   ", " + self.extra_plugins if self.extra_plugins else ""))

    def start_node(self):
        node = self.factory(plugins=self.plugins(), **self.node_kw)
        node.wait_log("cluster_start", timeout=10)
        return node

    def wait_bus(self, timeout=15.0):
        """Until every node's bus is up (parley_cluster_bus_up 1)."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while not bus_up(node):
                if time.monotonic() > deadline:
                    raise AssertionError("the cluster bus did not come up on every node")
                time.sleep(0.05)

    def people(self, *names):
        return self.nodes[0].people(*names)



# -- waiting for what the bus brings ------------------------------------------

def about_room(ev, rid):
    """An event about room rid (its `room` is the id or a room object)."""
    room = ev.get("room")
    return room == rid or (isinstance(room, dict) and room.get("id") == rid)


def is_error(r, *codes):
    return r.get("type") == "error" and (not codes or r.get("code") in codes)


async def until(attempt, ok, tries=60):
    """attempt() every 0.1 s until ok(answer); the last answer."""
    for _ in range(tries):
        r = await attempt()
        if ok(r):
            return r
        await asyncio.sleep(0.1)
    return r


async def until_ok(attempt, tries=60):
    """attempt() every 0.1 s until it is not an error (a node learns a
    room or a member from the bus and a store read); its last answer."""
    return await until(attempt, lambda r: r.get("type") != "error", tries)


def metric(node, name):
    status, _, body = node.http("GET", "/metrics")
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def bus_up(node):
    return node.proc.poll() is None and metric(node, "parley_cluster_bus_up") == 1


@pytest.fixture
def cluster_env(server_factory, plugin_dir, tmp_path_factory):
    """(make(n) -> Cluster, redis): the servers a cluster test needs."""
    for plugin in ("store_mongo", "cluster_redis"):
        if not os.path.exists(os.path.join(plugin_dir, plugin + ".so")):
            pytest.skip(f"{plugin} was not built")
    if not shutil.which("redis-server"):
        pytest.skip("no redis-server (tools/setup.sh --test installs it)")
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
    import congo
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    db = None
    if not uri:
        if not congo.available():
            pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it)")
        db = congo.Congo()
        db.start()
        uri = db.uri
    redis = Redis(str(tmp_path_factory.mktemp("redis")))
    redis.start()
    database = "cluster_" + os.urandom(4).hex()
    made = []

    def make(n=3, extra_plugins="", **node_kw):
        c = Cluster(server_factory, uri, redis, database, n, extra_plugins, **node_kw)
        made.append(c)
        c.wait_bus()
        return c

    try:
        yield make, redis
    finally:
        # The nodes stop first (server_factory's teardown runs after this
        # fixture's only if they were started by it: stop them here).
        for c in made:
            for node in c.nodes:
                if node.proc.poll() is None:
                    rc = node.stop()
                    assert rc == 0, "a node exited %s on SIGTERM:\n%s" % (
                        rc, "\n".join(node.stderr_lines[-30:]))
        redis.stop()
        if db is not None:
            db.stop()
