#!/bin/sh
# Runs every fuzz target found in a fuzz build for a bounded time, each over
# a scratch copy of its seed corpus (the checked-in corpus stays as it is).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]     (default 20 s per target)
# Builds nothing: configure and build with the `fuzz` preset first.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
found=0
status=0
for exe in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	name=$(basename "$exe")
	corpus="$here/corpus/${name#fuzz_}"
	copy="$work/$name"
	mkdir -p "$copy"
	if [ -d "$corpus" ]; then
		cp -R "$corpus"/. "$copy"/
	fi
	# The shipped scripts are seeds of the script sandbox as they are (no
	# copies of them in the corpus).
	if [ "$name" = fuzz_script ]; then
		cp "$here"/../../scripts/*.lua "$here"/../lua/hostile.lua "$copy"/
	fi
	found=$((found + 1))
	echo "== $name: ${secs}s over $(ls "$copy" | wc -l) seeds"
	if ! "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$name-" "$copy"; then
		echo "== $name FAILED; artifacts:" "$work/$name-"*
		cp "$work/$name-"* . 2>/dev/null || true
		status=1
	fi
done
if [ "$found" -eq 0 ]; then
	echo "no fuzz targets in $build/tests/fuzz" >&2
	exit 1
fi
exit $status
