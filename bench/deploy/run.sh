#!/usr/bin/env bash
# End-to-end time of one static deployment of a small site, and its parts, on the real stack
# (Temporal dev server, Redis, versitygw started on free ports). Needs `make tools`.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench 'BenchmarkStaticDeploy$' -benchtime "${N:-10}x" ./e2e/ | grep -E 'static deploy|Benchmark'
