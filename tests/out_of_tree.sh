#!/bin/sh
# Builds plugins/example_hello the way a third party would: install parley
# from BUILD_DIR into a scratch prefix, build the plugin standalone against
# the installed header found through pkg-config, check the .so exports the
# entry point, and have the server's check-config load it by path.
#
# usage: tests/out_of_tree.sh BUILD_DIR      (exits nonzero on any failure)
set -eu

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

fail() {
	echo "out_of_tree: $*" >&2
	exit 1
}

echo "out_of_tree: installing $BUILD into a scratch prefix"
cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log" >&2; fail "cmake --install failed"; }

# lib/pkgconfig, or lib/<multiarch>/pkgconfig on Debian.
PC=$(find "$TMP/prefix" -name parley-plugin.pc | head -n 1)
[ -n "$PC" ] || fail "parley-plugin.pc was not installed"
[ -f "$TMP/prefix/include/parley/plugin.h" ] || fail "parley/plugin.h was not installed"

# The .pc file names the configured prefix; point it at the scratch one.
echo "out_of_tree: building example_hello standalone"
PKG_CONFIG_PATH=$(dirname "$PC") cmake -S "$SRC/plugins/example_hello" -B "$TMP/build" \
	-DCMAKE_BUILD_TYPE=Release "-DPKG_CONFIG_ARGN=--define-variable=prefix=$TMP/prefix" \
	>"$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log" >&2; fail "configure failed"; }
cmake --build "$TMP/build" >"$TMP/build.log" 2>&1 ||
	{ cat "$TMP/build.log" >&2; fail "build failed"; }

SO="$TMP/build/example_hello.so"
[ -f "$SO" ] || fail "no $SO"
nm -D --defined-only "$SO" | grep -qw parley_plugin_entry ||
	fail "example_hello.so does not export parley_plugin_entry"
# Built against the installed header, not the source tree's.
grep -rq -- "$TMP/prefix/include" "$TMP/build/CMakeFiles" ||
	fail "the build did not use the installed header"

[ -x "$BUILD/parley" ] || fail "no parley binary in $BUILD"
mkdir -p "$TMP/data"
cat >"$TMP/parley.conf" <<CONF
server = { data_dir = "$TMP/data" }
plugins = {
  { "auth_local" },
  { "store_sqlite" },
  { "example_hello", so = "$SO", greeting = "Howdy" },
}
CONF
echo "out_of_tree: loading it with parley check-config"
"$BUILD/parley" check-config --config "$TMP/parley.conf" ||
	fail "parley check-config refused the out-of-tree example_hello"
echo "out_of_tree: ok"
