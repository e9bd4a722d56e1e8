#!/bin/sh
# The steps of the Dockerfile, in one place: the Dockerfile RUNs this script,
# and tests/image/run.sh runs the Dockerfile (so these very steps) in a
# Debian 12 root made with mmdebstrap. Runs as root on debian:12.
#
#   tools/docker-build.sh build-deps     install what the build needs
#   tools/docker-build.sh build OUT      build the release preset in the
#                                        working folder (the sources) and
#                                        install it into the folder OUT
#   tools/docker-build.sh runtime        install the runtime libraries, the
#                                        sqlite3 tool (docs/operations.md,
#                                        Backups), curl for the health check,
#                                        and add the user parley
set -eu

# One list per stage; the runtime list is the -dev list's libraries.
build_pkgs="build-essential cmake pkg-config ca-certificates
	libev-dev libwslay-dev libhttp-parser-dev libmbedtls-dev libjansson-dev
	libargon2-dev libsqlite3-dev libcurl4-openssl-dev liblua5.4-dev libzip-dev
	libjpeg-dev libpng-dev libwebp-dev"
runtime_pkgs="ca-certificates curl sqlite3
	libev4 libwslay1 libhttp-parser2.9 libmbedtls14 libmbedx509-1 libmbedcrypto7
	libjansson4 libargon2-1 libsqlite3-0 libcurl4 liblua5.4-0 libzip4
	libjpeg62-turbo libpng16-16 libwebp7"

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086 # the lists are words
	apt-get install -y --no-install-recommends $*
	rm -rf /var/lib/apt/lists/*
}

case ${1:-} in
build-deps)
	apt_install "$build_pkgs"
	;;
build)
	out=${2:?usage: docker-build.sh build OUT}
	# Warnings stay warnings here: this is a user's build, not CI.
	cmake --preset release -DPARLEY_TESTS=OFF -DPARLEY_WERROR=OFF \
		-DCMAKE_INSTALL_PREFIX=/usr/local -DCMAKE_INSTALL_LIBDIR=lib
	cmake --build --preset release -j"$(nproc)"
	# The binary, plugins, web/, mail templates, scripts/, the example config.
	DESTDIR=$out cmake --install build/release
	# The image's configuration: listens on 0.0.0.0:8080, data in the volume.
	install -D -m 0644 config/docker.conf "$out/etc/parley/parley.conf"
	;;
runtime)
	apt_install "$runtime_pkgs"
	useradd --system --home-dir /var/lib/parley --create-home --shell /usr/sbin/nologin parley
	;;
*)
	sed -n '2,13p' "$0" >&2
	exit 2
	;;
esac
