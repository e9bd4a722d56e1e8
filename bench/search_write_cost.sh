#!/bin/sh
# The write cost of store_sqlite's search index: store_bench with the
# index's triggers dropped and with them, alternately, ROUNDS times each in
# one run (so both see the same machine load). One JSON line per run.
#   bench/search_write_cost.sh BUILD_DIR [SECONDS=10] [ROUNDS=2]
set -eu
build=${1:?usage: search_write_cost.sh BUILD_DIR [SECONDS] [ROUNDS]}
secs=${2:-10}
rounds=${3:-2}
i=0
while [ "$i" -lt "$rounds" ]; do
	PARLEY_BENCH_SEARCH_INDEX=off "$build/bench/store_bench" "$secs"
	PARLEY_BENCH_SEARCH_INDEX=on "$build/bench/store_bench" "$secs"
	i=$((i + 1))
done
