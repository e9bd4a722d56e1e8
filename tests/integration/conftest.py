"""The integration-test harness: the real parley binary on a free port.

Design: each test gets a `server_factory` that writes a config file into a
fresh temporary folder (listen on 127.0.0.1:0, a data dir of its own, cheap
Argon2, debug logs), starts the binary and learns the port from the
"listening" log line. A thread per stream collects the output, so a test can
wait for a log event instead of sleeping. At teardown every server still
running gets SIGTERM (SIGKILL after a bounded wait) and must exit 0 unless
the test killed it on purpose.

The store: SQLite by default. PARLEY_TEST_STORE=mongo runs every test that
writes a config on store_mongo instead: each `{"store_sqlite"}` of the
config becomes `{"store_mongo", uri = ..., database = ...}`, one database
per data dir (a restart, or a second server on the same data dir, sees the
same data). The server is PARLEY_TEST_MONGO_URI when set (a real MongoDB),
else the CongoDB test server of tests/mongo/congo.py, started once for the
session. Without store_mongo built, or without either server, every test
that starts a server is skipped with the reason. Servers started with no
config file (--data-dir only) and bare `parley` runs stay on the default
store.
"""

import hashlib
import http.client
import json
import os
import re
import secrets
import resource
import signal
import sys
import subprocess
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))

START_TIMEOUT = 15.0  # s for the "listening" line (or the exit, expect_fail)
STOP_TIMEOUT = 10.0  # s after SIGTERM before SIGKILL
CLI_TIMEOUT = 60.0  # s for one admin command

STORE = os.environ.get("PARLEY_TEST_STORE", "sqlite")
STORES = ("sqlite", "mongo")
SQLITE_ENTRY = re.compile(r'\{\s*"store_sqlite"\s*\}')

DEFAULT_PLUGINS = (
    '{ {"auth_local", argon2 = { t_cost = 1, m_cost = 64, parallelism = 1 }},'
    ' {"store_sqlite"} }'
)


def pytest_addoption(parser):
    parser.addoption("--parley-bin", default=os.path.join(SOURCE_DIR, "build", "debug", "parley"),
                     help="the parley binary to test")
    parser.addoption("--parley-build", default=os.path.join(SOURCE_DIR, "build", "debug"),
                     help="its build dir (plugins, test plugins in DIR/plugins)")


def pytest_configure(config):
    if STORE not in STORES:
        raise pytest.UsageError(f"PARLEY_TEST_STORE={STORE!r}: use one of {', '.join(STORES)}")


def pytest_report_header(config):
    return f"store: {STORE} (PARLEY_TEST_STORE)"


def sqlite_only(why):
    """For a test about store_sqlite's own file (parley.db, its schema
    migrations, its WAL): skipped on another store, saying why."""
    if STORE != "sqlite":
        pytest.skip(f"PARLEY_TEST_STORE={STORE}: {why}")


class MongoStore:
    """Where the servers of a PARLEY_TEST_STORE=mongo run keep their data."""

    def __init__(self, uri):
        self.uri = uri
        self.run = secrets.token_hex(3)  # a real MongoDB keeps databases between runs

    def database(self, data_dir):
        return "it%s_%s" % (self.run, hashlib.sha1(data_dir.encode()).hexdigest()[:12])

    def rewrite(self, config_text, data_dir):
        """The config with store_sqlite replaced, on the same line (errors
        keep their line numbers)."""
        entry = '{"store_mongo", uri = %s, database = %s}' % (
            lua_str(self.uri), lua_str(self.database(data_dir)))
        return SQLITE_ENTRY.sub(lambda m: entry, config_text)


@pytest.fixture(scope="session")
def mongo_store(plugin_dir):
    """The MongoStore of a PARLEY_TEST_STORE=mongo run (skips when the
    plugin or a server is missing); None on the default store."""
    if STORE != "mongo":
        yield None
        return
    if not os.path.exists(os.path.join(plugin_dir, "store_mongo.so")):
        pytest.skip(f"PARLEY_TEST_STORE=mongo: store_mongo was not built (no "
                    f"{plugin_dir}/store_mongo.so; it needs libmongoc-dev)")
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    if uri:
        yield MongoStore(uri)
        return
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
    try:
        import congo
    except ImportError as e:
        pytest.skip(f"PARLEY_TEST_STORE=mongo: PARLEY_TEST_MONGO_URI is unset and there is "
                    f"no test server (tests/mongo/congo.py: {e})")
    if not congo.available():
        pytest.skip("PARLEY_TEST_STORE=mongo: PARLEY_TEST_MONGO_URI is unset and CongoDB is "
                    "not installed (tools/setup.sh --test installs it)")
    with congo.Congo() as server:
        yield MongoStore(server.uri)


@pytest.fixture(scope="session")
def mongo_uri():
    """A Mongo-wire server for a test that runs on store_mongo whatever
    PARLEY_TEST_STORE says: PARLEY_TEST_MONGO_URI when set, else a CongoDB
    test server started once (skips without either). A test module may
    still define its own."""
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    if uri:
        yield uri
        return
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "mongo"))
    try:
        import congo
    except ImportError as e:
        pytest.skip(f"no Mongo-wire test server (tests/mongo/congo.py: {e})")
    if not congo.available():
        pytest.skip("CongoDB is not installed (tools/setup.sh --test installs it) and "
                    "PARLEY_TEST_MONGO_URI is unset")
    with congo.Congo() as server:
        yield server.uri


@pytest.fixture(scope="session")
def parley_bin(request):
    path = os.path.abspath(request.config.getoption("--parley-bin"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"no parley binary at {path} (build it, or pass --parley-bin)")
    return path


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def parley_build(request):
    return os.path.abspath(request.config.getoption("--parley-build"))


@pytest.fixture(scope="session")
def plugin_dir(parley_build):
    return os.path.join(parley_build, "plugins")


def lua_str(s):
    """A Lua string literal for s."""
    return json.dumps(s)


class CIDict(dict):
    """Response headers: case-insensitive lookups, keys stored lower-case."""

    def __init__(self, pairs=()):
        super().__init__()
        for k, v in pairs:
            k = k.lower()
            super().__setitem__(k, v if k not in self else self[k] + ", " + v)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def __contains__(self, k):
        return super().__contains__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


class Server:
    """One parley process (and its restarts) with its config and output."""

    def __init__(self, binary, workdir, config_path, config_text, data_dir, env):
        self.binary = binary
        self.workdir = workdir
        self.config_path = config_path
        self.config_text = config_text
        self.data_dir = data_dir
        self.env = env
        self.nofile = None  # RLIMIT_NOFILE for the process, or None: inherited
        self.proc = None
        self.port = None
        self.logs = []  # parsed JSON log lines, all processes in order
        self.stderr_lines = []  # every stderr line, raw
        self.stdout_lines = []
        self.returncode = None
        self.killed = False  # the test ended the process on purpose
        self.stopped = False
        self._cond = threading.Condition()
        self._threads = []

    # -- process ---------------------------------------------------------

    def _collect(self, stream, raw, parse):
        for line in iter(stream.readline, ""):
            line = line.rstrip("\n")
            with self._cond:
                raw.append(line)
                if parse:
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        obj = None
                    if isinstance(obj, dict):
                        self.logs.append(obj)
                self._cond.notify_all()
        stream.close()
        with self._cond:
            self._cond.notify_all()

    def _spawn(self, args):
        nofile = self.nofile

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [self.binary, *args], cwd=self.workdir, env=self.env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            errors="replace", preexec_fn=limits if nofile is not None else None)
        self.killed = False
        self.stopped = False
        self.returncode = None
        self._threads = [
            threading.Thread(target=self._collect, args=(self.proc.stderr, self.stderr_lines, True),
                             daemon=True),
            threading.Thread(target=self._collect, args=(self.proc.stdout, self.stdout_lines, False),
                             daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _start(self, args, expect_fail=False):
        self.args = list(args)
        since = len(self.logs)
        self._spawn(args)
        deadline = time.monotonic() + START_TIMEOUT
        with self._cond:
            while True:
                line = self._find_log("listening", since, {})
                if line is not None:
                    break
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._threads):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        if line is not None:
            addr = line.get("addr", "")
            self.port = int(addr.rsplit(":", 1)[1])
            if expect_fail:
                pytest.fail("the server started although it should have failed:\n" + self.stderr_text)
            return
        if expect_fail:
            try:
                self.returncode = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill9()
                pytest.fail(f"the server neither listened nor exited within {START_TIMEOUT} s:\n"
                            + self.stderr_text)
            self._join()
            return
        rc = self.proc.poll()
        if rc is None:
            self.kill9()
            pytest.fail(f"no 'listening' log line within {START_TIMEOUT} s:\n" + self.stderr_text)
        self.returncode = rc
        self._join()
        pytest.fail(f"the server exited with {rc} before listening:\n" + self.stderr_text)

    def _join(self):
        for t in self._threads:
            t.join(timeout=5)

    def restart(self):
        """Starts again on the same config and data dir (a new port)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("restart() while the server still runs")
        self._start(self.args)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit code (SIGKILL after timeout, then -9)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._join()
        self.stopped = True
        self.returncode = self.proc.returncode
        return self.returncode

    def kill9(self):
        self.killed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._join()
        self.returncode = self.proc.returncode

    def signal(self, sig):
        self.proc.send_signal(sig)

    @property
    def stderr_text(self):
        with self._cond:
            return "\n".join(self.stderr_lines)

    @property
    def output_text(self):
        with self._cond:
            return "\n".join(self.stderr_lines + self.stdout_lines)

    # -- addresses -------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    # -- logs --------------------------------------------------------------

    def _find_log(self, event, since, fields):
        for line in self.logs[since:]:
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
                return line
        return None

    def store_members_missing(self):
        """The optional store members (plugin.h's appended ones) the
        running server's store lacks, from its `store_members` log line."""
        line = self.wait_log("store_members", timeout=5)
        return set(line.get("missing", []))

    def require_store_members(self, *members):
        """Skips the test when the store lacks one of these members (a
        feature another branch adds to store_mongo): the skip goes away by
        itself once the store has them."""
        lacking = [m for m in members if m in self.store_members_missing()]
        if lacking:
            pytest.skip(f"PARLEY_TEST_STORE={STORE}: the store lacks the member(s) "
                        f"{', '.join(lacking)} (store_members log line)")

    def wait_log(self, event, timeout=5, since=0, **fields):
        """The first log line (from index since) with this event and fields."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                line = self._find_log(event, since, fields)
                if line is not None:
                    return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no log event {event!r} {fields} within {timeout} s; "
                                         f"last lines:\n" + "\n".join(self.stderr_lines[-20:]))
                self._cond.wait(min(left, 0.2))

    def wait_exit(self, timeout):
        """Waits for the process to end on its own; returns the exit code."""
        self.returncode = self.proc.wait(timeout=timeout)
        self._join()
        return self.returncode

    # -- admin command line ----------------------------------------------

    def cli(self, *args, input=None, check=True):
        where = (["--config", self.config_path] if self.config_path
                 else ["--data-dir", self.data_dir])
        res = subprocess.run([self.binary, *args, *where], input=input,
                             text=True, capture_output=True, cwd=self.workdir, env=self.env,
                             timeout=CLI_TIMEOUT)
        if check and res.returncode != 0:
            raise AssertionError(f"parley {' '.join(args)} exited {res.returncode}:\n"
                                 f"{res.stdout}\n{res.stderr}")
        return res

    def add_user(self, name, password="correct horse 1", role="member", email=None):
        args = ["user", "add", name, "--role", role]
        if email is not None:
            args += ["--email", email]
        self.cli(*args, input=password + "\n")

    def tokens(self, *names):
        res = self.cli("session", "new", *names)
        lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
        assert len(lines) == len(names), f"session new printed {res.stdout!r}"
        return lines

    def token(self, name):
        return self.tokens(name)[0]

    def user(self, name, password="correct horse 1", role="member"):
        """add_user + token: the common case."""
        self.add_user(name, password=password, role=role)
        return self.token(name)

    def people(self, *names):
        """Adds members with the default password; returns {name: token}."""
        for n in names:
            self.add_user(n)
        return dict(zip(names, self.tokens(*names)))

    # -- HTTP ----------------------------------------------------------------

    def http(self, method, path, json=None, headers=None, body=None, timeout=10):
        hdrs = dict(headers or {})
        if json is not None:
            body = _json_dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, CIDict(resp.getheaders()), data
        finally:
            conn.close()

    def login(self, name, password):
        status, _, data = self.http("POST", "/api/login",
                                    json={"username": name, "password": password})
        try:
            out = _json_loads(data)
        except ValueError:
            raise AssertionError(f"login: status {status}, body {data[:200]!r}")
        return out


_json_dumps = json.dumps
_json_loads = json.loads


def make_config(data_dir, plugin_dir, plugins=None, server_extra="", limits="", config_extra=""):
    """The test config's text. Each section on its own lines, so a test can
    find the line of what it added."""
    server = ["  listen = { \"127.0.0.1:0\" },",
              f"  data_dir = {lua_str(data_dir)},",
              f"  plugin_dir = {lua_str(plugin_dir)},"]
    if server_extra:
        server.append("  " + server_extra.strip().rstrip(",") + ",")
    lines = ["server = {", *server, "}"]
    limits = limits.strip() if limits else ""
    if "rates" not in limits:
        # Per-user rate limits off unless a test sets them: many tests send
        # bursts on purpose (test_rate_limits.py tests the limits).
        limits = (limits.rstrip(",") + ", " if limits else "") + "rates = false, bot_rates = false"
    lines.append("limits = { " + limits + " }")
    lines.append('log = { level = "debug" }')
    lines.append("plugins = " + (plugins if plugins is not None else DEFAULT_PLUGINS))
    if config_extra:
        lines.append(config_extra)
    return "\n".join(lines) + "\n"


@pytest.fixture
def server_factory(parley_bin, parley_build, plugin_dir, tmp_path_factory, mongo_store):
    started = []

    def start(config_extra="", plugins=None, env=None, expect_fail=False, data_dir=None,
              server_extra="", limits="", raw_config=None, no_config=False, nofile=None):
        """Starts a server. server_extra: Lua fields added inside `server`;
        limits: Lua fields of `limits`. raw_config: the whole config file's
        text instead ({data_dir} and {plugin_dir} are substituted).
        no_config: no file at all, --listen and --data-dir only.
        nofile: the process's descriptor limit (RLIMIT_NOFILE)."""
        work = str(tmp_path_factory.mktemp("parley"))
        data = data_dir or os.path.join(work, "data")
        if no_config:
            full_env = dict(os.environ)
            full_env.update(env or {})
            srv = Server(parley_bin, work, None, None, data, full_env)
            started.append(srv)
            srv._start(["--listen", "127.0.0.1:0", "--data-dir", data], expect_fail=expect_fail)
            if expect_fail:
                srv.killed = True
            return srv
        if raw_config is not None:
            text = raw_config.replace("{data_dir}", data).replace("{plugin_dir}", plugin_dir)
        else:
            text = make_config(data, plugin_dir, plugins, server_extra, limits, config_extra)
        if mongo_store is not None:
            text = mongo_store.rewrite(text, data)
        cfg = os.path.join(work, "parley.conf")
        with open(cfg, "w") as f:
            f.write(text)
        full_env = dict(os.environ)
        full_env.update(env or {})
        srv = Server(parley_bin, work, cfg, text, data, full_env)
        srv.nofile = nofile
        started.append(srv)
        srv._start(["--config", cfg], expect_fail=expect_fail)
        if expect_fail:
            srv.killed = True  # nothing to stop at teardown
        return srv

    yield start

    problems = []
    for srv in started:
        if srv.proc is None:
            continue
        if srv.proc.poll() is None:
            rc = srv.stop()
            if rc != 0:
                problems.append(f"the server exited {rc} on SIGTERM:\n"
                                + "\n".join(srv.stderr_lines[-30:]))
        elif not srv.killed and not srv.stopped:
            rc = srv.proc.returncode
            if rc != 0:
                problems.append(f"the server died during the test with {rc}:\n"
                                + "\n".join(srv.stderr_lines[-30:]))
    if problems:
        pytest.fail("\n\n".join(problems))


@pytest.fixture
def server(server_factory):
    return server_factory()


@pytest.fixture
def run_parley(parley_bin, tmp_path):
    """Runs the binary with arbitrary arguments in tmp_path (no config)."""

    def run(*args, input=None, timeout=CLI_TIMEOUT, cwd=None):
        return subprocess.run([parley_bin, *args], input=input, text=True, capture_output=True,
                              cwd=cwd or str(tmp_path), timeout=timeout)

    return run
