#!/usr/bin/env bash
# README command 2: install what the tests need, build, run every suite.
#
#   tools/test.sh                      debug preset: ctest (unit + integration),
#                                      the out-of-tree plugin build, and the Lua
#                                      and browser suites once they exist
#   tools/test.sh --preset asan-ubsan  the same under ASan + UBSan (clang)
#   tools/test.sh --fuzz SECONDS       builds the fuzz preset and runs every
#                                      fuzz target for SECONDS each
#   tools/test.sh --slow               only the slow suites: the container
#                                      image (tests/image/run.sh; root)
#
# Exits nonzero when any step fails; every step runs even after a failure,
# except the ones that need a build that failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

preset=debug
fuzz_secs=""
slow=0
while [ $# -gt 0 ]; do
	case $1 in
	--preset) preset=${2:?--preset needs a name}; shift 2 ;;
	--preset=*) preset=${1#*=}; shift ;;
	--fuzz) fuzz_secs=${2:?--fuzz needs SECONDS}; shift 2 ;;
	--fuzz=*) fuzz_secs=${1#*=}; shift ;;
	--slow) slow=1; shift ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
case $preset in debug | asan-ubsan | release) ;; *) echo "test.sh: no test preset '$preset'" >&2; exit 2 ;; esac
if [ -n "$fuzz_secs" ] && ! [[ $fuzz_secs =~ ^[0-9]+$ ]]; then
	echo "test.sh: --fuzz wants whole seconds, not '$fuzz_secs'" >&2
	exit 2
fi

jobs=$(nproc)
failed=()
step() { # step NAME COMMAND... : runs it, remembers a failure
	local name=$1 t0=$SECONDS
	shift
	echo "== $name" >&2
	if "$@"; then
		echo "== $name: ok ($((SECONDS - t0)) s)" >&2
		return 0
	fi
	echo "== $name: FAILED ($((SECONDS - t0)) s)" >&2
	failed+=("$name")
	return 1
}
finish() {
	if [ ${#failed[@]} -gt 0 ]; then
		echo "test.sh: FAILED: ${failed[*]}" >&2
		exit 1
	fi
	echo "test.sh: all passed" >&2
	exit 0
}

step setup tools/setup.sh --test || finish

if [ $slow = 1 ]; then
	step "container image" bash tests/image/run.sh
	finish
fi

if [ -n "$fuzz_secs" ]; then
	step "configure fuzz" cmake --preset fuzz || finish
	step "build fuzz" cmake --build --preset fuzz -j"$jobs" || finish
	if [ -f tests/fuzz/run.sh ]; then
		step "fuzz ${fuzz_secs}s per target" sh tests/fuzz/run.sh build/fuzz "$fuzz_secs"
	else
		echo "== fuzz: tests/fuzz/run.sh does not exist yet; nothing run" >&2
		failed+=("fuzz (no tests/fuzz/run.sh)")
	fi
	finish
fi

if [ "$preset" = asan-ubsan ]; then
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fi
build=build/$preset

step "configure $preset" cmake --preset "$preset" || finish
step "build $preset" cmake --build --preset "$preset" -j"$jobs" || finish
step "ctest $preset" ctest --preset "$preset"

if [ -f tests/out_of_tree.sh ]; then
	step "out-of-tree plugin build" bash tests/out_of_tree.sh "$build"
else
	echo "== out-of-tree plugin build: tests/out_of_tree.sh does not exist yet; skipped" >&2
fi
# Later suites: each runs when its runner exists.
for suite in lua browser; do
	if [ -f "tests/$suite/run.sh" ]; then
		step "$suite tests" bash "tests/$suite/run.sh" "$build"
	fi
done
finish
