#!/bin/sh
# Polls 1,000 fake GitHub repositories every simulated minute for 10 minutes with the real
# conditional-request code and checks the request budget. See main.go.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./bench/poll -repos 1000 -minutes 10 -push-rate 0.05 "$@"
