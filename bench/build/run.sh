#!/bin/sh
# Cold and warm build of the Vite fixture through the real stack. Needs network access to the
# npm registry and the dev binaries (make tools). PAIRS=n runs n cold/warm pairs per setup (default 2).
set -eu
cd "$(dirname "$0")/../.."
exec go test ./bench/build/ -run '^$' -bench BenchmarkColdWarmBuild -benchtime 1x -count 1 -timeout 20m "$@"
