#!/usr/bin/env bash
# The referee scenarios (../shared/loadgen) on one node and on two nodes of a
# cluster, and on store_sqlite beside store_mongo, interleaved in one run
# (issues 16 and 14).
#
#   bench/cluster_referee.sh [-n RUNS] [-s SETUPS] [SCENARIO...]
#       RUNS: rounds (default 3); each round runs every scenario on every setup
#       SETUPS (space separated, in this order within a round; default all):
#         sqlite1     one node, store_sqlite, the load generator on its port
#         mongo1      one node, store_mongo on CongoDB, on its port
#         mongo1_lb   one node, store_mongo, behind nginx
#         cluster2_lb two nodes, store_mongo + cluster_redis, behind nginx
#       SCENARIO: fanout5 fanout200 saturate (default: the three)
#   PERF=1       after the rounds, one more saturate and fanout200 on
#                cluster2_lb and saturate on mongo1 with `perf record` on
#                node 1 (not in the medians); reports in bench/results/
#   LOADGEN=DIR  the load generator (default ../shared/loadgen)
#
# Everything runs on 127.0.0.1 on free ports: CongoDB (tests/mongo, memory
# mode), redis-server, nginx (deploy/nginx.conf's shape: round robin, worker
# processes auto) and build/release/parley. 1,000 users with tokens are
# made once per store; each scenario run starts from a copy of that clean
# state (the load generator's client_ids repeat from run to run). Each run
# is bounded by the load generator's --max-time and `timeout`. Every process
# is stopped by its PID. Result: bench/results/<date>-cluster-<scenario>-
# <setup>-<round>.json (the load generator's line + "sut": CPU seconds of
# every process of the system under test inside the measured window, redis
# bytes and PUBLISH calls inside it, load average), and a table of medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

users=1000          # the fanout scenarios' 1,000 members
start_timeout=30    # s for a node to answer /healthz (and its bus to be up)
runs=3
setups="sqlite1 mongo1 mongo1_lb cluster2_lb"
while getopts n:s: opt; do
	case $opt in
	n) runs=$OPTARG ;;
	s) setups=$OPTARG ;;
	*) sed -n '2,28p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
scenarios=(fanout5 fanout200 saturate)
[ $# -eq 0 ] || scenarios=("$@")
loadgen=${LOADGEN:-$root/../shared/loadgen}
py=/usr/bin/python3 # Debian's: python3-websockets, python3-pymongo
sampler=$root/bench/referee_sampler.py
bin=$root/build/release/parley
plugin_dir=$root/build/release/plugins
nginx=$(command -v nginx || echo /usr/sbin/nginx)

[ -x "$bin" ] || { echo "build the release preset first (cmake --preset release && cmake --build --preset release)" >&2; exit 1; }
for so in store_mongo cluster_redis; do
	ls "$plugin_dir"/$so.so >/dev/null 2>&1 || ls "$root"/build/release/plugins/*/$so.so >/dev/null 2>&1 ||
		{ echo "$so was not built (libmongoc-dev / libhiredis-dev)" >&2; exit 1; }
done
make -C "$loadgen" -s loadgen
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
pids=()      # every long-lived process this script started
node_pids=() # the nodes of the current run
nginx_pid="" sampler_pid=""
stop_pid() { # PID: TERM, wait up to 10 s, then KILL
	local p=$1
	kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
}
stop_run() {
	[ -z "$sampler_pid" ] || stop_pid "$sampler_pid"
	[ -z "$nginx_pid" ] || { kill -QUIT "$nginx_pid" 2>/dev/null || true; stop_pid "$nginx_pid"; }
	for p in "${node_pids[@]}"; do stop_pid "$p"; done
	node_pids=() nginx_pid="" sampler_pid=""
}
cleanup() {
	stop_run
	for p in "${pids[@]}"; do stop_pid "$p"; done
	exec 7>&- 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { $py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mono_ns() { $py -c 'import time; print(time.monotonic_ns())'; }

# --- the servers every setup shares -----------------------------------------
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$tmp" --protected-mode yes >/dev/null 2>&1 </dev/null &
redis_pid=$! && pids+=("$redis_pid")
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null

# CongoDB stops when its stdin closes: fd 7 holds the pipe open until exit.
mkfifo "$tmp/congo.in"
node "$root/tests/mongo/congo_server.mjs" --port 0 --storage memory <"$tmp/congo.in" >"$tmp/congo.out" 2>&1 &
congo_pid=$! && pids+=("$congo_pid")
exec 7>"$tmp/congo.in"
for _ in $(seq 200); do grep -q '^ready ' "$tmp/congo.out" && break; sleep 0.1; done
mongo_uri=$(awk '/^ready /{print $2}' "$tmp/congo.out")
[ -n "$mongo_uri" ] || { cat "$tmp/congo.out" >&2; exit 1; }
echo "redis-server pid $redis_pid port $redis_port; CongoDB pid $congo_pid $mongo_uri" >&2

# --- configs ----------------------------------------------------------------
# node_conf FILE PORT DATA_DIR STORE_PLUGIN [CLUSTER_PLUGIN]
node_conf() {
	cat >"$1" <<CONF
server = { listen = { "127.0.0.1:$2" }, data_dir = "$3" }
log = { level = "warn" }
-- As bench/run_referee.sh: the referee opens its connections from a few
-- addresses and saturates on purpose.
limits = { max_connections_per_addr = 0, rates = false, bot_rates = false }
plugins = { { "auth_local" }, $4${5:+, $5} }
CONF
}
sqlite_plugin='{ "store_sqlite" }'
mongo_plugin() { echo "{ \"store_mongo\", uri = \"$mongo_uri\", database = \"$1\" }"; }
cluster_plugin() { echo "{ \"cluster_redis\", url = \"redis://127.0.0.1:$redis_port\", prefix = \"$1\" }"; }

# nginx_conf FILE LISTEN PORT...: deploy/nginx.conf with this machine's ports
# (as tests/integration/test_deploy.py does); the access log off.
nginx_conf() {
	local file=$1 listen=$2 dir
	dir=$(dirname "$file")
	shift 2
	local servers=""
	for p in "$@"; do servers+="        server 127.0.0.1:$p max_fails=3 fail_timeout=10s;\n"; done
	awk -v servers="$servers" '
		/server parley1:/ { printf "%s", servers; next }
		/server parley2:/ { next }
		{ print }' deploy/nginx.conf |
		sed -e "s|listen 80;|listen 127.0.0.1:$listen;|" \
			-e "s|pid /tmp/parley-nginx.pid;|pid $dir/nginx.pid;|" \
			-e "s|access_log /dev/stdout;|access_log off;|" \
			-e "s|error_log /dev/stderr warn;|error_log $dir/error.log warn;|" \
			-e "s|^http {|http {\n    client_body_temp_path $dir/client_body;\n    proxy_temp_path $dir/proxy;|" \
			-e "s|^events {|worker_rlimit_nofile $(ulimit -n);\nevents {|" >"$file"
}

wait_node() { # PORT PID LOG [bus]
	for _ in $(seq $((start_timeout * 10))); do
		if curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then
			[ -z "${4:-}" ] && return 0
			curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null | grep -q '^parley_cluster_bus_up 1' && return 0
		fi
		kill -0 "$2" 2>/dev/null || { tail -n 30 "$3" >&2; return 1; }
		sleep 0.1
	done
	echo "node on port $1 did not come up" >&2
	tail -n 30 "$3" >&2
	return 1
}
start_node() { # CONF PORT LOG [bus] -> appends to node_pids
	"$bin" --config "$1" 2>>"$3" &
	node_pids+=($!)
	wait_node "$2" $! "$3" "${4:-}"
}

# room_id PORT TOKEN: general's id from a ready frame
room_id() {
	timeout 30 $py - "$1" "$2" <<'PY'
import asyncio, json, sys
import websockets

async def main(port, token):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["parley.v1"]) as ws:
        await ws.send(json.dumps({"type": "auth", "rid": 1, "token": token}))
        while True:
            f = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if f.get("rid") == 1:
                break
    rooms = [r["id"] for r in f.get("rooms", []) if r.get("name") == "general"]
    if f.get("type") != "ready" or not rooms:
        sys.exit(f"no general room in the reply: {f}")
    print(rooms[0])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
PY
}

# mongo_db FROM TO|--drop: copies every collection of database FROM to TO
# (the clean state for one run), or drops FROM.
mongo_db() {
	timeout 120 $py - "$mongo_uri" "$1" "$2" <<'PY'
import sys
from pymongo import MongoClient

uri, src, dst = sys.argv[1:]
c = MongoClient(uri, serverSelectionTimeoutMS=10000)
if dst == "--drop":
    c.drop_database(src)
    sys.exit(0)
for name in c[src].list_collection_names():
    docs = list(c[src][name].find())
    if docs:
        c[dst][name].insert_many(docs, ordered=True)
PY
}

# --- the clean states: 1,000 users and their tokens, once per store --------
seq -f 'bench%05g' 1 "$users" >"$tmp/names"
sed 's/$/,member/' "$tmp/names" >"$tmp/users.csv"
prepare() { # NAME STORE_PLUGIN: users, tokens and room id into $tmp/NAME.*
	local name=$1 port cfg
	port=$(free_port)
	cfg=$tmp/$name.prep.conf
	node_conf "$cfg" "$port" "$tmp/$name.data" "$2"
	start_node "$cfg" "$port" "$tmp/$name.prep.log"
	timeout 300 "$bin" user import "$tmp/users.csv" --config "$cfg" >/dev/null
	timeout 300 xargs -n 500 "$bin" session new --config "$cfg" <"$tmp/names" >"$tmp/$name.tokens"
	[ "$(wc -l <"$tmp/$name.tokens")" -eq "$users" ] || { echo "expected $users tokens" >&2; exit 1; }
	room_id "$port" "$(head -n1 "$tmp/$name.tokens")" >"$tmp/$name.room"
	stop_run
	echo "prepared $name: room $(cat "$tmp/$name.room")" >&2
}
prepare sqlite "$sqlite_plugin"
cp -a "$tmp/sqlite.data" "$tmp/sqlite.clean"
prepare mongo "$(mongo_plugin bench_clean)"

warmup_of() { case $1 in saturate) echo 3 ;; *) echo 5 ;; esac; }

# run_one SETUP SCENARIO OUT [perf]: one scenario run on a fresh copy
run_one() {
	local setup=$1 scen=$2 out=$3 perf=${4:-} id="r$RANDOM$RANDOM"
	local store="" ports=() port lport procs=() db="" tokens room
	case $setup in
	sqlite1)
		rm -rf "$tmp/sqlite.data" && cp -a "$tmp/sqlite.clean" "$tmp/sqlite.data"
		port=$(free_port)
		node_conf "$tmp/run.conf" "$port" "$tmp/sqlite.data" "$sqlite_plugin"
		start_node "$tmp/run.conf" "$port" "$tmp/run.log"
		ports=("$port") tokens=$tmp/sqlite.tokens room=$(cat "$tmp/sqlite.room") ;;
	mongo1 | mongo1_lb | cluster2_lb)
		db=bench_$id
		mongo_db bench_clean "$db"
		local n=1 cl=""
		[ "$setup" = cluster2_lb ] && n=2 cl=$(cluster_plugin "$id")
		for i in $(seq 1 $n); do
			port=$(free_port)
			rm -rf "$tmp/node$i.data"
			node_conf "$tmp/node$i.conf" "$port" "$tmp/node$i.data" "$(mongo_plugin "$db")" "$cl"
			ports+=("$port")
		done
		for i in $(seq 1 $n); do
			start_node "$tmp/node$i.conf" "${ports[$((i - 1))]}" "$tmp/run.log" ${cl:+bus}
		done
		store=$congo_pid tokens=$tmp/mongo.tokens room=$(cat "$tmp/mongo.room") ;;
	*) echo "unknown setup $setup" >&2; exit 2 ;;
	esac
	lport=${ports[0]}
	if [[ $setup == *_lb ]]; then
		lport=$(free_port)
		mkdir -p "$tmp/nginx"
		nginx_conf "$tmp/nginx/nginx.conf" "$lport" "${ports[@]}"
		"$nginx" -g 'daemon off;' -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" 2>>"$tmp/nginx/error.log" &
		nginx_pid=$!
		for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$lport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
		curl -fsS "http://127.0.0.1:$lport/healthz" >/dev/null || { cat "$tmp/nginx/error.log" >&2; exit 1; }
	fi
	local i=1
	for p in "${node_pids[@]}"; do procs+=("node$i=$p"); i=$((i + 1)); done
	[ -z "$store" ] || procs+=("store=$store")
	[ "$setup" != cluster2_lb ] || procs+=("redis=$redis_pid")
	if [ -n "$nginx_pid" ]; then
		i=1
		for w in $(cat /proc/"$nginx_pid"/task/*/children); do procs+=("nginx$i=$w"); i=$((i + 1)); done
	fi
	$py "$sampler" sample "$tmp/samples.jsonl" "$([ "$setup" = cluster2_lb ] && echo "$redis_port" || echo 0)" "${procs[@]}" &
	sampler_pid=$!
	sleep 0.5
	local launch load
	launch=$(mono_ns)
	if [ -n "$perf" ]; then
		(sleep "$(($(warmup_of "$scen") + 3))" && perf record -q -e cpu-clock -g -p "${node_pids[0]}" -o "$perf" -- sleep 8 >/dev/null 2>&1) &
	fi
	ROOM=$room "$loadgen/scenarios" "$lport" "$tokens" "${node_pids[0]}" "$scen" >"$out.lg" 2>>"$tmp/loadgen.log" || true
	[ -z "$perf" ] || wait $! || true
	load=$(cut -d' ' -f1 /proc/loadavg)
	kill -0 "${node_pids[0]}" 2>/dev/null || { echo "node 1 died; its log:" >&2; tail -n 40 "$tmp/run.log" >&2; exit 1; }
	stop_run
	if [ -s "$out.lg" ]; then
		$py "$sampler" merge "$out.lg" "$tmp/samples.jsonl" "$launch" "$(warmup_of "$scen")" \
			"{\"setup\": \"$setup\", \"nodes\": ${#ports[@]}, \"loadavg1\": $load, \"procs\": \"${procs[*]}\"}" >"$out"
	else
		echo "  no result" >&2
	fi
	rm -f "$out.lg"
	[ -z "$db" ] || mongo_db "$db" --drop
	return 0
}

mkdir -p bench/results
date=$(date +%Y%m%d-%H%M)
files=()
for r in $(seq 1 "$runs"); do
	for s in "${scenarios[@]}"; do
		for setup in $setups; do
			out=bench/results/$date-cluster-$s-$setup-$r.json
			echo "round $r: $s on $setup (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
			run_one "$setup" "$s" "$out"
			[ ! -s "$out" ] || files+=("$out")
		done
	done
done

# perf_summary DATA TITLE: self time by library, the bus's and the store's
# shares (the bus: libhiredis, cluster_redis.so and the functions of
# core/chat/cluster_*.c; the store: libmongoc, libbson, store_mongo.so or
# libsqlite3, store_sqlite.so), and the top symbols.
perf_summary() (
	set +o pipefail
	echo "$2"
	nm --defined-only build/release/CMakeFiles/parley_core.dir/core/chat/cluster_*.c.o 2>/dev/null |
		awk 'NF == 3 && $2 ~ /[tT]/ {print $3}' | sort -u >"$tmp/bus.syms"
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		awk -v syms="$tmp/bus.syms" '
			BEGIN { while ((getline l < syms) > 0) bus[l] = 1 }
			/^ *[0-9.]+%/ {
				pct = $1; sub("%", "", pct); dso = $2; sym = $4
				# cluster_order.c deliver() is the loop over local subscribers:
				# delivery work one node does too, not the bus.
				if (dso == "parley" && sym == "deliver") fan += pct
				else if (dso ~ /hiredis|cluster_redis/ || (dso == "parley" && sym in bus)) b += pct
				if (dso ~ /mongoc|bson|store_mongo|sqlite/) st += pct
				if (dso == "parley" && sym in bus && sym != "deliver") core += pct
			}
			END { printf "## shares (self time): bus %.2f%% (of which core/chat/cluster_*.c %.2f%%), local fan-out loop (cluster_order.c deliver) %.2f%%, store client %.2f%%\n", b, core, fan, st }'
	echo "## by shared object (self time)"
	perf report -i "$1" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ *[0-9.]+%|Samples'
	echo "## top 40 symbols (self time)"
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E '^ *[0-9.]+%' | head -n 40
	echo "## bus symbols (self time)"
	perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -E 'hiredis|cluster_' | head -n 30
	true
)

if [ "${PERF:-0}" = 1 ]; then
	for pr in "cluster2_lb saturate" "cluster2_lb fanout200" "mongo1 saturate" "sqlite1 saturate"; do
		set -- $pr
		base=bench/results/$date-cluster-perf-$2-$1
		echo "perf: $2 on $1" >&2
		run_one "$1" "$2" "$base.json" "$tmp/perf.data"
		perf_summary "$tmp/perf.data" "# perf record -e cpu-clock -g on node 1, 8 s of $2 on $1 (not in the medians)" >"$base.perf.txt"
		rm -f "$tmp/perf.data"
	done
fi

[ ${#files[@]} -gt 0 ] || exit $((runs > 0))
$py "$sampler" table "${files[@]}"
