"""Starts the CongoDB test server (tests/mongo/congo_server.mjs) on a free
port on 127.0.0.1, for pytest and for C tests.

From pytest:

    from congo import Congo
    with Congo() as db:            # memory mode
        db.uri                     # "mongodb://127.0.0.1:PORT"
    with Congo(storage="file", path=tmp) as db:   # survives db.restart()

For C tests (and anything else), run a command with the server up:

    /usr/bin/python3 tests/mongo/congo.py [--file DIR] -- PROGRAM ARGS...

exports PARLEY_TEST_MONGO_URI (the server's URI) and, when CongoDB is
installed, PARLEY_TEST_CONGO (a command line that starts another server:
"node .../congo_server.mjs", for tests that stop and restart one), runs PROGRAM, stops the server and
exits with PROGRAM's status. When PARLEY_TEST_MONGO_URI is already set
(a real MongoDB), no server is started and the command runs against it.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "congo_server.mjs")


def node_binary():
    """The node that tools/setup.sh chose (.tools-node), else the PATH's."""
    try:
        with open(os.path.join(ROOT, ".tools-node")) as f:
            path = f.read().strip()
        if path and os.access(path, os.X_OK):
            return path
    except OSError:
        pass
    return shutil.which("node") or "node"


def available():
    """True when CongoDB is installed (tools/setup.sh --test)."""
    return os.path.exists(os.path.join(ROOT, ".tools", "congodb", "package", "dist_ts",
                                       "congodb", "index.js"))


class Congo:
    def __init__(self, storage="memory", path=None, port=0, timeout=20.0):
        if storage == "file" and not path:
            raise ValueError("file storage needs a path")
        self.storage, self.path, self.timeout = storage, path, timeout
        self.port = port
        self.proc = None
        self.uri = None

    def start(self):
        cmd = [node_binary(), SCRIPT, "--port", str(self.port), "--storage", self.storage]
        if self.path:
            cmd += ["--path", self.path]
        # stdin is a pipe: the server stops when this process goes away.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     cwd=ROOT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError("congo_server did not start: %r" % line)
        self.uri = line.split()[1]
        self.port = int(self.uri.rsplit(":", 1)[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        """Same port (and, in file mode, same data)."""
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    storage, path = "memory", None
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    i = argv.index("--")
    opts, cmd = argv[:i], argv[i + 1:]
    if opts[:1] == ["--file"] and len(opts) == 2:
        storage, path = "file", opts[1]
    env = dict(os.environ)
    if available():
        env["PARLEY_TEST_CONGO"] = "%s %s" % (node_binary(), SCRIPT)
    if env.get("PARLEY_TEST_MONGO_URI"):
        return subprocess.call(cmd, env=env)
    with Congo(storage, path) as db:
        env["PARLEY_TEST_MONGO_URI"] = db.uri
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
