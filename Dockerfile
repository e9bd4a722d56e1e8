# parley in a container: build stage with the -dev packages, final stage
# with only the runtime libraries, a non-root user and a data volume.
# No Docker engine runs in the project's CI, so this file is not built
# there: keep it short and obviously right (docs/operations.md).
#
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/var/lib/parley parley
FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
      libev-dev libwslay-dev libhttp-parser-dev libmbedtls-dev libjansson-dev \
      libargon2-dev libsqlite3-dev libcurl4-openssl-dev liblua5.4-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Installed layout: the binary finds plugins and web/ in these folders.
RUN cmake --preset release -DPARLEY_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr/local \
      -DCMAKE_INSTALL_LIBDIR=lib \
 && cmake --build --preset release -j"$(nproc)" \
 && install -D -m 0755 build/release/parley /out/usr/local/bin/parley \
 && mkdir -p /out/usr/local/lib/parley/plugins /out/usr/local/share/parley \
 && cp build/release/plugins/*.so /out/usr/local/lib/parley/plugins/ \
 && cp -r web /out/usr/local/share/parley/web

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libev4 libwslay1 libhttp-parser2.9 \
      libmbedtls14 libmbedx509-1 libmbedcrypto7 libjansson4 libargon2-1 libsqlite3-0 \
      libcurl4 liblua5.4-0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/parley --create-home --shell /usr/sbin/nologin parley
COPY --from=build /out/ /
USER parley
WORKDIR /var/lib/parley
VOLUME /var/lib/parley
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["parley"]
CMD ["--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/parley"]
