#!/usr/bin/env bash
# Runs every test suite and prints one summary. Called by `make test` (and so by CI).
set -uo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
mkdir -p test-artifacts
export SKYDEPLOY_TEST_ARTIFACTS="$PWD/test-artifacts"
rm -f test-artifacts/faults-summary.txt
status=0

echo "== go vet and gofmt"
go vet ./... || status=1
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^web/node_modules/') 2>/dev/null)
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; status=1; fi

echo "== go test (unit, workflow, end-to-end on real Temporal/Redis/versitygw)"
go test -count=1 -timeout "${GO_TEST_TIMEOUT:-60m}" -json ./... > test-artifacts/go-test.json
go_status=$?
go run ./scripts/gotestsummary < test-artifacts/go-test.json || true
[ $go_status -eq 0 ] || status=1

echo "== dashboard component tests (vitest)"
(cd web && npm test -- --reporter=dot) || status=1

echo "== summary"
[ -f test-artifacts/faults-summary.txt ] && cat test-artifacts/faults-summary.txt
go run ./scripts/gotestsummary -final < test-artifacts/go-test.json
exit $status
