#!/usr/bin/env bash
# End-to-end time of one static deployment of a small site, and its parts; then of a 1,000-file
# prebuilt folder deployed with `skydeploy deploy DIR --prebuilt`, cold and after a one-file
# change. On the real stack (Temporal dev server, Redis, versitygw started on free ports).
# Needs `make tools`.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench 'BenchmarkStaticDeploy$' -benchtime "${N:-10}x" ./e2e/ | grep -E 'static deploy|Benchmark'
go test -run '^$' -bench 'BenchmarkFolderDeploy$' -benchtime "${FOLDER_N:-3}x" -timeout 30m ./e2e/ | grep -E 'folder deploy|Benchmark'
