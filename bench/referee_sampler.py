#!/usr/bin/env python3
"""Samples, while a referee scenario runs, what the load generator cannot
see: the CPU time of every process of the system under test (all nodes,
the store server, redis-server, nginx's workers) and redis-server's
traffic counters. Used by bench/cluster_referee.sh.

    referee_sampler.py sample OUT.jsonl REDIS_PORT|0 NAME=PID...
        every 0.2 s until SIGTERM: one JSON line {t, cpu: {NAME: s}, redis}
    referee_sampler.py merge LOADGEN.json SAMPLES.jsonl LAUNCH_NS WARMUP_S EXTRA_JSON
        prints the load generator's line with an "sut" object added: CPU
        seconds per process inside the measured window (interpolated between
        samples), redis bytes and PUBLISH calls inside it, and EXTRA_JSON
    referee_sampler.py table FILE.json...
        medians per (scenario, setup) with the costs per delivery/message

Times are CLOCK_MONOTONIC ns, the clock the load generator uses."""
import json
import os
import signal
import socket
import statistics
import sys
import time
from collections import defaultdict

TICK = os.sysconf("SC_CLK_TCK")
PERIOD = 0.2


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


class RedisInfo:
    """INFO over one kept connection (a redis-cli per sample would cost more
    than what it measures)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.buf = b""
        self.own_bytes = 0  # this sampler's own INFO traffic, not the bus's

    def _reply(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, self.buf = self.buf.split(b"\r\n", 1)
        n = int(head[1:])
        while len(self.buf) < n + 2:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n + 2:]
        return body.decode()

    def sample(self):
        self.sock.sendall(b"INFO all\r\n")
        body = self._reply()
        out = {"own_bytes": self.own_bytes}
        self.own_bytes += len(b"INFO all\r\n") + len(body.encode()) + len(f"${len(body.encode())}\r\n\r\n")
        for line in body.splitlines():
            k, _, v = line.partition(":")
            if k in ("total_net_input_bytes", "total_net_output_bytes"):
                out[k] = int(v)
            elif k == "cmdstat_publish":
                out["publish_calls"] = int(v.split(",")[0].split("=")[1])
        out.setdefault("publish_calls", 0)
        return out


def sample(out_path, redis_port, pairs):
    procs = [p.split("=", 1) for p in pairs]
    redis = RedisInfo(int(redis_port)) if int(redis_port) else None
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out_path, "w") as out:
        while not stop:
            row = {"t": time.monotonic_ns(),
                   "cpu": {name: proc_cpu(pid) for name, pid in procs}}
            if redis:
                try:
                    row["redis"] = redis.sample()
                except OSError:
                    row["redis"] = None
            out.write(json.dumps(row) + "\n")
            out.flush()
            time.sleep(PERIOD)


def at(rows, t, get):
    """get(row) linearly interpolated at time t."""
    prev = None
    for r in rows:
        v = get(r)
        if v is None:
            continue
        if r["t"] >= t:
            if prev is None:
                return v
            pt, pv = prev
            return pv + (v - pv) * (t - pt) / max(1, r["t"] - pt)
        prev = (r["t"], v)
    return prev[1] if prev else None


def merge(lg_path, samples_path, launch_ns, warmup_s, extra):
    with open(lg_path) as f:
        lg = json.loads(f.readline())
    with open(samples_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    t0 = int(launch_ns) + int((lg["connect_s"] + float(warmup_s)) * 1e9)
    t1 = t0 + int(lg["window_s"] * 1e9)
    sut = {"window_cpu_s": {}, "redis": None}
    names = rows[0]["cpu"].keys() if rows else []
    for name in names:
        a = at(rows, t0, lambda r: r["cpu"].get(name))
        b = at(rows, t1, lambda r: r["cpu"].get(name))
        sut["window_cpu_s"][name] = None if a is None or b is None else round(b - a, 3)
    if rows and "redis" in rows[0]:
        red = {}
        for k in ("total_net_input_bytes", "total_net_output_bytes", "publish_calls", "own_bytes"):
            a = at(rows, t0, lambda r: (r.get("redis") or {}).get(k))
            b = at(rows, t1, lambda r: (r.get("redis") or {}).get(k))
            red[k] = None if a is None or b is None else round(b - a)
        sut["redis"] = red
    sut.update(json.loads(extra))
    lg["sut"] = sut
    print(json.dumps(lg))


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def table(paths):
    by = defaultdict(list)
    for p in paths:
        with open(p) as f:
            d = json.loads(f.readline())
        by[(d["label"].split("/")[-1], d["sut"]["setup"])].append(d)

    def node_cpu(d):
        c = d["sut"]["window_cpu_s"]
        v = [c[k] for k in c if k.startswith("node")]
        return None if None in v else sum(v)

    def all_cpu(d):
        v = list(d["sut"]["window_cpu_s"].values())
        return None if None in v else sum(v)

    def per(get, unit, base):
        def f(d):
            x, n = get(d), base(d)
            return None if x is None or not n else x * unit / n
        return f

    deliveries = lambda d: d["deliveries"]
    msgs = lambda d: d["msgs_sent"]

    def part(prefix):
        """CPU seconds of the processes named PREFIX, PREFIX1, PREFIX2..."""
        def f(d):
            v = [x for k, x in d["sut"]["window_cpu_s"].items() if k.rstrip("0123456789") == prefix]
            return None if not v or None in v else sum(v)
        return f

    def bus_bytes(d):
        r = d["sut"].get("redis")
        if not r or r["total_net_input_bytes"] is None:
            return None
        return r["total_net_input_bytes"] + r["total_net_output_bytes"] - (r.get("own_bytes") or 0)

    def pubs(d):
        r = d["sut"].get("redis")
        return None if not r else r["publish_calls"]

    cols = [
        ("runs", None),
        ("deliv/s", lambda d: d["deliveries_per_s"]),
        ("p50 ms", lambda d: d["lat_us"]["p50"] / 1000),
        ("p99 ms", lambda d: d["lat_us"]["p99"] / 1000),
        ("missing", lambda d: d["total"]["missing"]),
        ("errors", lambda d: sum(d["errors"].values()) + d["server_errors"]),
        ("nodes cpu%", lambda d: None if node_cpu(d) is None else 100 * node_cpu(d) / d["window_s"]),
        ("node us/dlv", per(node_cpu, 1e6, deliveries)),
        ("all us/dlv", per(all_cpu, 1e6, deliveries)),
        ("store us/msg", per(part("store"), 1e6, msgs)),
        ("redis us/msg", per(part("redis"), 1e6, msgs)),
        ("nginx us/dlv", per(part("nginx"), 1e6, deliveries)),
        ("bus B/msg", per(bus_bytes, 1, msgs)),
        ("pub/msg", per(pubs, 1, msgs)),
        ("bus B/pub", per(bus_bytes, 1, pubs)),
        ("lg cpu%", lambda d: d["loadgen"]["cpu_pct"]),
        ("busy%", lambda d: d["system_busy_pct"]),
        ("load1", lambda d: d["sut"].get("loadavg1")),
    ]
    print("| scenario | setup | " + " | ".join(c for c, _ in cols) + " |")
    print("|" + "---|" * (len(cols) + 2))
    for (scen, setup), rows in sorted(by.items()):
        cells = []
        for name, get in cols:
            if get is None:
                cells.append(str(len(rows)))
                continue
            v = med([get(r) for r in rows])
            cells.append("-" if v is None else f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}")
        print(f"| {scen} | {setup} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sample" and len(sys.argv) >= 4:
        sample(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "merge" and len(sys.argv) == 7:
        merge(*sys.argv[2:])
    elif cmd == "table" and len(sys.argv) > 2:
        table(sys.argv[2:])
    else:
        sys.exit(__doc__)
