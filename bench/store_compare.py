"""store_bench on store_sqlite and on store_mongo in one run, same build,
same machine, one after the other:

    /usr/bin/python3 bench/store_compare.py BUILD_DIR [seconds=5] [runs=3]

store_mongo runs against PARLEY_TEST_MONGO_URI when set (a real MongoDB),
else against CongoDB started by tests/mongo/congo.py (memory mode): those
numbers are the emulator's (a JavaScript server that scans whole
collections), not MongoDB's. Prints each run's JSON line, then the
median of each store.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "mongo"))
import congo  # noqa: E402


def run(bench, seconds, env):
    out = subprocess.run([bench, str(seconds)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("store_bench failed: %s" % out.stderr[-2000:])
    line = out.stdout.strip().splitlines()[-1]
    print(line)
    sys.stdout.flush()
    return json.loads(line)


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    bench = os.path.join(argv[0], "bench", "store_bench")
    seconds = float(argv[1]) if len(argv) > 1 else 5
    runs = int(argv[2]) if len(argv) > 2 else 3
    base = {k: v for k, v in os.environ.items() if k != "PARLEY_BENCH_MONGO_URI"}
    results = {"store_sqlite": [], "store_mongo": []}
    server = None
    uri = os.environ.get("PARLEY_TEST_MONGO_URI")
    if not uri:
        server = congo.Congo().start()
        uri = server.uri
    try:
        for _ in range(runs):
            results["store_sqlite"].append(run(bench, seconds, base))
            results["store_mongo"].append(
                run(bench, seconds, dict(base, PARLEY_BENCH_MONGO_URI=uri)))
    finally:
        if server:
            server.stop()
    what = "a real MongoDB" if os.environ.get("PARLEY_TEST_MONGO_URI") else "CongoDB (emulator)"
    for store, rs in results.items():
        print("median %s%s: %.0f appends/s, p50 %.1f ms, p99 %.1f ms" % (
            store, " on " + what if store == "store_mongo" else "",
            statistics.median(r["appends_per_s"] for r in rs),
            statistics.median(r["p50_ms"] for r in rs),
            statistics.median(r["p99_ms"] for r in rs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
