#!/usr/bin/env bash
# Uploads under load: the server's memory while a 100 MB file streams in,
# and message latency for other users with and without uploads in flight.
#
#   bench/upload_bench.sh [-n RUNS] [SCENARIO]     (default: 1 run, fanout5)
#   LOADGEN=DIR  the referee load generator (default ../shared/loadgen)
#
# Starts build/release/parley (built if missing) with uploads_local on a
# free loopback port and a temporary data dir, 1,000 users; then
#   1. rss: one 100 MB upload alone, the server's RSS sampled every 10 ms
#      (baseline, peak, and the kernel's VmHWM before and after);
#   2. SCENARIO without uploads, then SCENARIO while one 100 MB upload is
#      in flight at RATE bytes/s (default 5e6: it spans the whole run),
#      and with SATURATE=1 also while a client uploads 100 MB files back
#      to back at full speed (the cleanup job removes them every second);
#      each RUNS times.
# Prints one JSON line per measurement (results/<date>-upload-*.json too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=1
while getopts n: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	*) sed -n '2,15p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
scenario=${1:-fanout5}
users=1000
loadgen=${LOADGEN:-$root/../shared/loadgen}
py=/usr/bin/python3

[ -x build/release/parley ] || { cmake --preset release -DPARLEY_TESTS=OFF && cmake --build --preset release -j2; }
make -C "$loadgen" -s loadgen
bin=$root/build/release/parley
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	[ -z "${KEEP_LOG:-}" ] || cp "$tmp/server.log" "$KEEP_LOG"
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cfg=$tmp/parley.conf
cat >"$cfg" <<CONF
server = { listen = { "127.0.0.1:$port" }, data_dir = "$tmp/data" }
log = { level = "${LOG_LEVEL:-warn}" }
limits = { max_upload = 200 * 1024 * 1024, max_connections_per_addr = 0, rates = false,
           bot_rates = false }
uploads = { unattached_max_age = 1, cleanup_interval = 1 }
plugins = { { "auth_local" }, { "store_sqlite" }, { "uploads_local" } }
CONF

start_server() {
	"$bin" --config "$cfg" 2>>"$tmp/server.log" &
	pid=$!
	for _ in $(seq 300); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "server did not start" >&2
	exit 1
}
stop_server() {
	kill -TERM "$pid"
	wait "$pid" || true
	pid=""
}

seq -f 'bench%05g' 1 "$users" >"$tmp/names"
sed 's/$/,member/' "$tmp/names" >"$tmp/users.csv"
"$bin" user import "$tmp/users.csv" --config "$cfg" >&2
xargs -n 500 "$bin" session new --config "$cfg" <"$tmp/names" >"$tmp/tokens"
# Every scenario run starts from this snapshot: the load generator's
# client_ids repeat from run to run, and a repeated client_id is a resend
# that delivers nothing (as bench/run_referee.sh does).
cp -a "$tmp/data" "$tmp/data.clean"
start_server
echo "server: pid $pid on port $port" >&2

room=$($py - "$port" "$(head -n1 "$tmp/tokens")" <<'PY'
import asyncio, json, sys
import websockets

async def main(port, token):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
        while True:
            f = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if f.get("rid") == 1:
                break
    print([r["id"] for r in f["rooms"] if r["name"] == "general"][0])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
PY
)

# The uploader: MODE once (one file, RSS sampled) or loop (until STOP exists).
cat >"$tmp/uploader.py" <<'PY'
import http.client, json, os, sys, threading, time
port, token, pid, mode, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
SIZE = 100 * 1000 * 1000
body = (os.urandom(1 << 20) * 96)[:SIZE]  # 100,000,000 bytes
def status(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
samples = []
done = threading.Event()
def sample():
    while not done.is_set():
        samples.append(status("VmRSS"))
        time.sleep(0.01)
def upload():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/api/uploads", body=body,
              headers={"Authorization": "Bearer " + token, "X-Filename": "big.bin"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status
if mode == "once":
    base, hwm0 = status("VmRSS"), status("VmHWM")
    t = threading.Thread(target=sample)
    t.start()
    t0 = time.time()
    st = upload()
    secs = time.time() - t0
    done.set()
    t.join()
    print(json.dumps({"label": "parley/upload100M-rss", "status": st, "seconds": round(secs, 2),
                      "mb_per_s": round(SIZE / secs / 1e6, 1), "rss_base_kb": base,
                      "rss_peak_kb": max(samples), "rss_growth_kb": max(samples) - base,
                      "vmhwm_before_kb": hwm0, "vmhwm_after_kb": status("VmHWM"),
                      "samples": len(samples)}))
elif mode == "paced":
    # One 100 MB upload at RATE bytes/s, the way a client on a LAN sends it.
    rate = float(os.environ.get("RATE", 5e6))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.putrequest("POST", "/api/uploads")
    c.putheader("Authorization", "Bearer " + token)
    c.putheader("X-Filename", "big.bin")
    c.putheader("Content-Length", str(SIZE))
    c.endheaders()
    t0, sent, piece = time.time(), 0, 64 * 1024
    view = memoryview(body)
    while sent < SIZE:
        n = min(piece, SIZE - sent)
        c.send(view[sent:sent + n])
        sent += n
        ahead = sent / rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    r = c.getresponse()
    r.read()
    print(json.dumps({"label": "parley/upload100M-paced", "status": r.status,
                      "seconds": round(time.time() - t0, 1)}), file=sys.stderr)
else:
    n = 0
    while not os.path.exists(stop):
        assert upload() == 201
        n += 1
    print(json.dumps({"label": "parley/upload100M-loop", "uploads": n}), file=sys.stderr)
PY

mkdir -p bench/results
date=$(date +%Y%m%d-%H%M)
upl_token=$(tail -n1 "$tmp/tokens")
$py "$tmp/uploader.py" "$port" "$upl_token" "$pid" once "$tmp/stop" | tee "bench/results/$date-upload-rss.json"
stop_server
# run_scenario NAME with|without: a fresh server from the snapshot.
run_scenario() {
	rm -rf "$tmp/data" && cp -a "$tmp/data.clean" "$tmp/data"
	start_server
	local upid=""
	if [ "$2" != without ]; then
		rm -f "$tmp/stop"
		$py "$tmp/uploader.py" "$port" "$upl_token" "$pid" "${2#with-}" "$tmp/stop" &
		upid=$!
		sleep 1
	fi
	ROOM=$room "$loadgen/scenarios" "$port" "$tmp/tokens" "$pid" "$scenario" |
		tee "bench/results/$date-upload-$scenario-$2-$1.json"
	if [ -n "$upid" ]; then
		touch "$tmp/stop"
		wait "$upid" || true
	fi
	stop_server
}
for r in $(seq 1 "$runs"); do
	run_scenario "$r" without
	run_scenario "$r" with-paced
	[ -z "${SATURATE:-}" ] || run_scenario "$r" with-loop
done
