# parley in a container: a build stage with the -dev packages, a final stage
# with only the runtime libraries, a non-root user and a data volume. The
# steps live in tools/docker-build.sh; tests/image/run.sh (tools/test.sh
# --slow, in CI) runs this file in a Debian 12 root made with mmdebstrap,
# starts the image's command there and checks /healthz (docs/operations.md).
#
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/var/lib/parley parley
FROM debian:12-slim AS build
COPY tools/docker-build.sh /usr/local/sbin/parley-docker-build
RUN parley-docker-build build-deps
WORKDIR /src
COPY . .
RUN parley-docker-build build /out

FROM debian:12-slim
COPY tools/docker-build.sh /usr/local/sbin/parley-docker-build
RUN parley-docker-build runtime && rm /usr/local/sbin/parley-docker-build
# The binary, plugins, web/, mail templates, scripts/ and /etc/parley/parley.conf.
COPY --from=build /out/ /
# Every command (serve, check-config, user add, ...) reads this config.
ENV PARLEY_CONFIG=/etc/parley/parley.conf
USER parley
WORKDIR /var/lib/parley
VOLUME /var/lib/parley
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["parley"]
