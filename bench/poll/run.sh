#!/bin/sh
# Real poll schedules on the Temporal dev server against a fake GitHub. N watched projects
# (default 200; N=1000 for the full run) polled every minute for MINUTES (default 10) minutes,
# PUSH_RATE of them (default 0.05) receiving a commit each minute. POLL_PER_HOUR overrides
# SKYDEPLOY_POLL_REQUESTS_PER_HOUR (default: the platform's, 54000/h with a token). Needs
# `make tools`; takes MINUTES plus about 2-3 minutes. See doc.go.
set -eu
cd "$(dirname "$0")/../.."
exec go test ./bench/poll/ -run '^$' -bench BenchmarkPollSchedules -benchtime 1x -count 1 -timeout 90m "$@"
