#!/usr/bin/env python3
"""What an idle WebSocket costs the server in memory, over TLS and plain.

    /usr/bin/python3 bench/tls_idle.py [--conns 2000] [--bin build/release/parley]

For each transport (plain ws://, then wss://) it starts its own server on
loopback ports with a temporary data dir, a self-signed P-256 certificate
(openssl CLI) and one user; opens and closes a few warm-up sessions; reads
the server's VmRSS; opens --conns WebSocket sessions, each authenticated
(the `auth` frame answered by `ready`, so each is joined to #general like a
real client); waits for the RSS to settle; reads it again; closes
everything and stops the server by its PID. Prints one JSON line per
transport: the RSS delta divided by the number of sessions. Bounded: at
most --conns sessions, and --timeout seconds per phase.
"""

import argparse
import asyncio
import json
import os
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WARMUP = 20  # sessions opened and closed before the baseline
SETTLE = 3.0  # s to wait before reading the RSS (TLS parks idle sessions after 1-2 s)
BATCH = 100  # sessions opened concurrently


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(binary, work, tls):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out",
                    "cert.pem", "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"], cwd=work, check=True,
                   capture_output=True)
    listen = ('{ addr = "127.0.0.1:0", tls = { cert = "cert.pem", key = "key.pem" } }'
              if tls else '"127.0.0.1:0"')
    with open(os.path.join(work, "parley.conf"), "w") as f:
        f.write(f'server = {{ listen = {{ {listen} }}, data_dir = "data" }}\n'
                'log = { level = "info" }\n'
                # --conns sessions from one address, on purpose.
                'limits = { max_connections_per_addr = 0 }\n'
                'plugins = { {"auth_local", argon2 = { t_cost = 1, m_cost = 64, '
                'parallelism = 1 }}, {"store_sqlite"} }\n')
    conf = ["--config", os.path.join(work, "parley.conf")]
    subprocess.run([binary, "user", "add", "bench", *conf], input="correct horse 1\n",
                   text=True, check=True, capture_output=True)
    token = subprocess.run([binary, "session", "new", "bench", *conf], text=True, check=True,
                           capture_output=True).stdout.strip()
    proc = subprocess.Popen([binary, *conf], cwd=work, stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL)
    port = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and port is None:
        line = proc.stderr.readline()
        if not line:
            break
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "listening":
            port = int(ev["addr"].rsplit(":", 1)[1])
    if port is None:
        proc.kill()
        raise RuntimeError("the server did not listen")
    # Keep draining its stderr so it never blocks on a full pipe.
    asyncio.get_event_loop().run_in_executor(None, lambda: [None for _ in proc.stderr])
    return proc, port, token, os.path.join(work, "cert.pem")


async def open_session(url, token, ctx):
    ws = await websockets.connect(url, subprotocols=["parley.v1"], ssl=ctx,
                                  compression=None, ping_interval=None, max_size=1 << 24,
                                  open_timeout=30)
    await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("rid") == 1:
            if frame.get("type") != "ready":
                raise RuntimeError(f"auth: {frame}")
            break
    return ws


async def drain(ws):
    """Reads (and drops) events so the server's queue stays empty."""
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


async def measure(binary, conns, tls, timeout):
    with tempfile.TemporaryDirectory(prefix="parley-tls-bench-") as work:
        proc, port, token, cert = start_server(binary, work, tls)
        try:
            ctx = None
            scheme = "ws"
            if tls:
                ctx = ssl.create_default_context(cafile=cert)
                scheme = "wss"
            url = f"{scheme}://localhost:{port}/ws"
            warm = [await open_session(url, token, ctx) for _ in range(WARMUP)]
            for ws in warm:
                await ws.close()
            await asyncio.sleep(SETTLE)
            before = rss_kib(proc.pid)
            sessions, readers = [], []
            t0 = time.monotonic()
            while len(sessions) < conns:
                n = min(BATCH, conns - len(sessions))
                batch = await asyncio.wait_for(
                    asyncio.gather(*(open_session(url, token, ctx) for _ in range(n))), timeout)
                sessions += batch
                readers += [asyncio.ensure_future(drain(ws)) for ws in batch]
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError(f"only {len(sessions)} sessions in {timeout} s")
            opened_s = time.monotonic() - t0
            await asyncio.sleep(SETTLE)
            after = rss_kib(proc.pid)
            await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in sessions)), timeout)
            for r in readers:
                r.cancel()
            return {"transport": "wss" if tls else "ws", "sessions": len(sessions),
                    "rss_before_kib": before, "rss_after_kib": after,
                    "per_session_kib": round((after - before) / len(sessions), 2),
                    "open_seconds": round(opened_s, 2)}
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=120, help="s per phase")
    default_bin = os.path.join(ROOT, "build", "release", "parley")
    if not os.access(default_bin, os.X_OK):
        default_bin = os.path.join(ROOT, "build", "debug", "parley")
    ap.add_argument("--bin", default=default_bin)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4 * args.conns + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 2 * args.conns + 64:
        sys.exit(f"tls_idle: the open-files limit ({hard}) is too low for {args.conns} sessions")
    for tls in (False, True):
        print(json.dumps(asyncio.run(measure(args.bin, args.conns, tls, args.timeout))),
              flush=True)


if __name__ == "__main__":
    main()
