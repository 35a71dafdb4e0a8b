# SkyDeploy — see README.md. `make dev` runs the platform locally, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
# A `temporal` already on PATH is used instead of compiling one when it is this CLI series, or a
# source build (it reports 0.0.0-DEV) of the Temporal Server series that v1.5.1 embeds.
TEMPORAL_CLI_SERIES := 1.5
TEMPORAL_SERVER_SERIES := 1.29
VERSITYGW_VERSION := v1.8.0
# Pebble, Let's Encrypt's test ACME CA, and its challenge test server (DNS for test domains):
# the custom-domain end-to-end test obtains real certificates from them.
PEBBLE_VERSION := v2.8.0
APT_PACKAGES := git redis-server bubblewrap
TEST_APT_PACKAGES := chromium nginx wrk docker-compose openssl
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
GO_TEST_TIMEOUT ?= 60m
# The version every part shows (/api/config, `skydeploy version`, the dashboard's footer).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/skydeploy/skydeploy/internal/version.Version=$(VERSION)
# Jobs `make dev` runs at once: one more than the cores, so downloads overlap compiling.
DEV_JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

.PHONY: dev test build tools temporal-cli acme-tools web web-deps system-deps test-deps test-go test-web test-browser test-starters bench vet fmt clean

## dev: install what is missing, build, and run the whole platform locally (Ctrl-C stops it).
## The tools and the dashboard are built in parallel ($(DEV_JOBS) jobs).
dev:
	@$(MAKE) --no-print-directory -j$(DEV_JOBS) tools build
	$(BIN)/skydeploy dev

## build: the skydeploy binary with the dashboard embedded
build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/skydeploy ./cmd/skydeploy

## tools: the Temporal CLI (dev server + Web UI) and versitygw, into bin/; system packages when missing
tools: system-deps temporal-cli $(BIN)/versitygw

# temporal-cli: bin/temporal, or the `temporal` on PATH when its version fits (see above);
# `skydeploy dev` and the tests look in bin/ first, then on PATH.
temporal-cli:
	@if [ -x $(BIN)/temporal ]; then exit 0; fi; \
	if command -v temporal >/dev/null 2>&1; then \
	  v=$$(temporal --version 2>/dev/null | head -n1); \
	  if echo "$$v" | grep -Eq 'version $(subst .,\.,$(TEMPORAL_CLI_SERIES))\.[0-9]+ ' || \
	     echo "$$v" | grep -Eq 'version 0\.0\.0-DEV \(Server $(subst .,\.,$(TEMPORAL_SERVER_SERIES))\.'; then \
	    echo "using $$(command -v temporal): $$v"; exit 0; \
	  fi; \
	  echo "$$(command -v temporal) ($$v) is not the $(TEMPORAL_CLI_SERIES).x series SkyDeploy runs: installing $(TEMPORAL_VERSION) into bin/"; \
	fi; \
	echo "First run: compiling the Temporal CLI $(TEMPORAL_VERSION) (dev server and Web UI) with go install, about 7 minutes on 2 cores; it is kept in bin/ and never compiled again."; \
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(BIN)/versitygw:
	@echo "First run: compiling versitygw $(VERSITYGW_VERSION) (S3 server) with go install, about 5 minutes on 2 cores; it is kept in bin/."
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

## acme-tools: Pebble and pebble-challtestsrv into bin/ (for the tests; a minute to compile)
acme-tools: $(BIN)/pebble $(BIN)/pebble-challtestsrv

$(BIN)/pebble:
	GOBIN=$(BIN) $(GO) install github.com/letsencrypt/pebble/v2/cmd/pebble@$(PEBBLE_VERSION)

$(BIN)/pebble-challtestsrv:
	GOBIN=$(BIN) $(GO) install github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$(PEBBLE_VERSION)

system-deps:
	@missing=""; \
	command -v git >/dev/null || missing="$$missing git"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing (Debian: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

## test-deps: what the test suites need besides the tools (Pebble, a browser, nginx, wrk, docker-compose)
test-deps: tools acme-tools
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "please install:$$missing"; exit 1; fi; \
	fi

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web-deps: web/node_modules/.package-lock.json

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

## web: the dashboard bundle in web/dist (embedded by `go build`)
web: web/dist/index.html

## api-types: the dashboard's TypeScript types (web/src/api.gen.ts) from gateway/openapi.yaml
.PHONY: api-types
api-types:
	$(GO) run ./scripts/apitypes

## test: every test — Go unit, workflow and end-to-end tests on the real stack, dashboard tests, browser e2e
test: test-deps web
	@bash scripts/test.sh

## test-starters: every framework's default project from the npm registry (and Hugo), deployed cold and warm; prints the table of README
test-starters: tools
	@command -v hugo >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing: hugo"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hugo; \
	  else echo "please install: hugo (Debian: sudo apt-get install hugo)"; exit 1; fi; }
	SKYDEPLOY_TEST_STARTERS=$${SKYDEPLOY_TEST_STARTERS:-all} $(GO) test -count=1 -timeout 150m -run '^TestStarters$$' -v ./e2e/ \
	  | grep --line-buffered -v '^=== \(RUN\|PAUSE\|CONT\)'; exit $${PIPESTATUS[0]}

test-go: tools acme-tools web
	$(GO) test -timeout $(GO_TEST_TIMEOUT) ./...

test-web: web-deps
	cd web && npm test

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

## bench: benchmarks and the bench/ scripts that print figures
bench: tools build
	$(GO) test -run '^$$' -bench . -benchmem ./servehandler/ ./activities/ ./e2e/
	@for s in bench/*/run.sh; do echo "== $$s"; bash $$s || exit 1; done

clean:
	rm -rf $(BIN) web/dist/assets web/dist/index.html
