# syntax=docker/dockerfile:1
#
# SkyDeploy: one image for every role (gateway, worker, build worker, serve, token create).
#
#   docker build -t skydeploy:local .
#   docker run --rm skydeploy:local version
#
# Stages: the dashboard (web/, Node 20), the Go binary (static, CGO off, dashboard embedded),
# and a runtime on node:20-bookworm-slim, because the build worker runs `npm`/`pnpm`/`yarn`
# builds and needs node, npm, corepack, git, bubblewrap and CA roots. The gateway, serve and
# light worker only need the static binary; they share the image to keep one artifact per
# release (about 80 MB more than a distroless image would be).
#
# Users: the image runs as `skydeploy` (uid 10001). The build worker is the exception and is
# started as root (see temporal-compose.yml): SkyDeploy's sandbox then runs every build as the
# separate unprivileged user `skybuild` (uid 10002, SKYDEPLOY_BUILD_USER), so a build can neither
# read the worker's environment (/proc/1/environ is the worker's, mode 0400) nor its files.
#
# Bubblewrap in a container: bwrap is installed without setuid and relies on unprivileged user
# namespaces. Docker's default seccomp profile, the docker-default AppArmor profile and the masked
# /proc paths all stop it (bwrap fails with "Operation not permitted" when it creates the
# namespace or mounts /proc). Either
#   * run the build worker with  --security-opt seccomp=unconfined --security-opt apparmor=unconfined
#     --security-opt systempaths=unconfined  (what temporal-compose.yml does; the host kernel must
#     allow unprivileged user namespaces: Ubuntu 23.10+ needs
#     kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap), or
#   * set SKYDEPLOY_SANDBOX=none and rely on the container itself plus the separate build
#     user for isolation (weaker: a build shares the container's network and file system view).
# SKYDEPLOY_SANDBOX=bwrap (the default) has no fallback: a build worker whose bubblewrap cannot
# create its namespaces refuses to start and says why.

ARG NODE_VERSION=20
ARG GO_VERSION=1.26

# ---- dashboard ------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- Go binary ------------------------------------------------------------------------------
FROM golang:${GO_VERSION} AS go
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist/ ./web/dist/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/skydeploy/skydeploy/internal/version.Version=${VERSION}" -o /out/skydeploy ./cmd/skydeploy

# ---- runtime --------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# git: npm/yarn/pnpm dependencies from git URLs; bubblewrap: the build sandbox; util-linux:
# prlimit (already present on Debian, listed to be explicit); tini: PID 1 that reaps the
# orphaned processes builds leave behind and forwards SIGTERM.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git bubblewrap util-linux tini \
 && rm -rf /var/lib/apt/lists/* \
 && corepack --version \
 && groupadd --system --gid 10001 skydeploy \
 && useradd --system --uid 10001 --gid skydeploy --home-dir /var/lib/skydeploy --shell /usr/sbin/nologin skydeploy \
 && groupadd --system --gid 10002 skybuild \
 && useradd --system --uid 10002 --gid skybuild --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin skybuild \
 && mkdir -p /var/lib/skydeploy/work \
 && chown -R skydeploy:skydeploy /var/lib/skydeploy \
 && chmod 0755 /var/lib/skydeploy /var/lib/skydeploy/work
COPY --from=go /out/skydeploy /usr/local/bin/skydeploy

ENV SKYDEPLOY_WORK_DIR=/var/lib/skydeploy/work \
    SKYDEPLOY_LOG_FORMAT=json \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0
WORKDIR /var/lib/skydeploy
USER skydeploy
EXPOSE 3001 3002
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/skydeploy"]
CMD ["gateway"]
