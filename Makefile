# SkyDeploy — see README.md. `make dev` runs the platform locally, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
VERSITYGW_VERSION := v1.8.0
APT_PACKAGES := git redis-server bubblewrap
TEST_APT_PACKAGES := chromium nginx wrk docker-compose openssl
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
GO_TEST_TIMEOUT ?= 60m

.PHONY: dev test build tools web web-deps system-deps test-deps test-go test-web test-browser test-starters bench vet fmt clean

## dev: install what is missing, build, and run the whole platform locally (Ctrl-C stops it)
dev: tools build
	$(BIN)/skydeploy dev

## build: the skydeploy binary with the dashboard embedded
build: web
	$(GO) build -o $(BIN)/skydeploy ./cmd/skydeploy

## tools: the Temporal CLI (dev server + Web UI) and versitygw, into bin/; system packages when missing
tools: system-deps $(BIN)/temporal $(BIN)/versitygw

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(BIN)/versitygw:
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

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

## test-deps: what the test suites need besides the tools (a browser, nginx, wrk, docker-compose)
test-deps: tools
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

test-go: tools web
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
