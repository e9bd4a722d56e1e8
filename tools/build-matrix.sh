#!/usr/bin/env bash
# Builds parley the way a packager would, in every combination a user may
# pick: build type x compiler x PARLEY_TESTS, with warnings as errors so
# that any warning shows. Each combination is the plain CMake command
# (no preset), in its own folder under build/matrix/.
#
#   tools/build-matrix.sh                  every combination (16, slow)
#   tools/build-matrix.sh gcc:Release      only the ones named (CC:TYPE)
#
# For each CC:TYPE it configures and builds with PARLEY_TESTS=ON, then
# reconfigures the same folder with PARLEY_TESTS=OFF and builds again (the
# objects are shared, so the second build only proves the configuration).
# Prints one line per combination and exits nonzero when any failed; the
# compiler output of a failure is in build/matrix/<CC>-<TYPE>.log.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

combos=("$@")
if [ ${#combos[@]} -eq 0 ]; then
	for cc in gcc clang; do
		for type in Release RelWithDebInfo MinSizeRel Debug; do
			combos+=("$cc:$type")
		done
	done
fi

jobs=$(nproc)
results=()
failed=0
mkdir -p build/matrix
for combo in "${combos[@]}"; do
	cc=${combo%%:*}
	type=${combo#*:}
	dir=build/matrix/$cc-$type
	log=$dir.log
	: >"$log"
	for tests in ON OFF; do
		t0=$SECONDS
		if CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DPARLEY_WERROR=ON \
			-DPARLEY_TESTS=$tests >>"$log" 2>&1 &&
			cmake --build "$dir" -j"$jobs" >>"$log" 2>&1; then
			status=ok
		else
			status=FAILED
			failed=1
		fi
		results+=("$(printf '%-6s %-15s tests %-3s %-6s %4d s' "$cc" "$type" "$tests" "$status" $((SECONDS - t0)))")
		echo "${results[-1]}" >&2
	done
done
echo "build-matrix:" >&2
printf '    %s\n' "${results[@]}" >&2
exit $failed
