#!/usr/bin/env bash
# Compare SkyDeploy's request handler with nginx serving the same three files.
#
#   bench/serve/run.sh                 # 10 s per case
#   DURATION=30 ROUNDS=5 bench/serve/run.sh
#
# Settings (environment): DURATION (s, 10), ROUNDS (3), THREADS (2), CONNS (64),
# SERVER_CPU (0), WRK_CPU (1), WORKERS (1: nginx worker_processes and the handler's
# GOMAXPROCS), CACHE_BYTES (256 MiB).
#
# Needs: go, wrk, nginx (Debian's), bin/versitygw (`make tools`), taskset (util-linux).
#
# What it does: builds a small site (an HTML page, a 20 KiB and a 150 KiB asset), publishes
# it to a throw-away versitygw as a deployment with an alias, writes the same files to a
# folder for nginx, warms the handler's cache, then runs `wrk -t$THREADS -c$CONNS -d$DURATION`
# against each file on both servers, ROUNDS times, alternating which server goes first, and
# prints the median requests/s and p99 latency, the handler/nginx ratios and the handler's
# peak RSS (VmRSS sampled every 100 ms). Rounds and medians are there because a shared
# machine is noisy: a single 10 s run can be off by a factor of two.
#
# Fairness: both servers get the same CPU. nginx runs WORKERS worker processes; the handler
# runs with GOMAXPROCS=WORKERS. Both are pinned with taskset to SERVER_CPU (default 0, one
# core) and wrk to WRK_CPU (default 1), so the load generator never steals the server's core.
# (For a two-core comparison sharing the cores with wrk: SERVER_CPU=0,1 WRK_CPU=0,1 WORKERS=2.) nginx is configured the way one serves static files well: sendfile,
# tcp_nopush, open_file_cache, keep-alive without a per-connection request limit, no
# access log (the handler's access log is off too), and the same headers the handler sends
# (Cache-Control, X-Content-Type-Options, Referrer-Policy, X-Frame-Options) so response sizes
# match. Both compute ETags. The handler requests go through the alias (bench.localhost), the
# realistic path: alias pointer -> manifest -> content, all from its memory cache.
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
CACHE_BYTES=${CACHE_BYTES:-268435456}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

need() { command -v "$1" >/dev/null 2>&1 || { echo "run.sh: $1 is needed ($2)" >&2; exit 1; }; }
need wrk "apt-get install wrk"
need nginx "apt-get install nginx"
need taskset "apt-get install util-linux"
need curl "apt-get install curl"
need go "https://go.dev/dl/"
VERSITY="$ROOT/bin/versitygw"
[ -x "$VERSITY" ] || { echo "run.sh: $VERSITY is missing (run make tools)" >&2; exit 1; }
if [ "$(nproc)" -lt 2 ]; then
	echo "run.sh: only one CPU; server and wrk will share it" >&2
	SERVER_CPU=0 WRK_CPU=0
fi

TMP=$(mktemp -d /tmp/skydeploy-servebench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
waitport() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "run.sh: nothing listens on port $1" >&2
	return 1
}

echo "building..." >&2
go build -o "$TMP/servebench" ./bench/serve
"$TMP/servebench" site "$TMP/site"
chmod -R a+rX "$TMP/site"

S3_PORT=$(freeport)
mkdir -p "$TMP/objects" "$TMP/meta"
"$VERSITY" --access benchaccess --secret benchsecret-0123456789 --port "127.0.0.1:$S3_PORT" --quiet \
	posix --sidecar "$TMP/meta" "$TMP/objects" >"$TMP/versitygw.log" 2>&1 &
PIDS+=($!)
waitport "$S3_PORT"
ENDPOINT="http://127.0.0.1:$S3_PORT"
DEPLOYMENT=$("$TMP/servebench" seed -endpoint "$ENDPOINT" "$TMP/site")
echo "published deployment $DEPLOYMENT as bench.localhost" >&2

H_PORT=$(freeport)
A_PORT=$(freeport)
GOMAXPROCS="$WORKERS" taskset -c "$SERVER_CPU" "$TMP/servebench" serve -endpoint "$ENDPOINT" \
	-addr "127.0.0.1:$H_PORT" -admin "127.0.0.1:$A_PORT" -cache-bytes "$CACHE_BYTES" 2>"$TMP/handler.log" &
H_PID=$!
PIDS+=($H_PID)
waitport "$H_PORT"

N_PORT=$(freeport)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes $WORKERS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	include /etc/nginx/mime.types;
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 120s;
	keepalive_requests 1000000;
	open_file_cache max=1000 inactive=60s;
	open_file_cache_valid 60s;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server {
		listen 127.0.0.1:$N_PORT;
		root $TMP/site;
		add_header Cache-Control "public, max-age=0, must-revalidate";
		add_header X-Content-Type-Options nosniff;
		add_header Referrer-Policy strict-origin-when-cross-origin;
		add_header X-Frame-Options SAMEORIGIN;
		location / { try_files \$uri \$uri.html \$uri/ =404; }
	}
}
NGINX
taskset -c "$SERVER_CPU" nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
PIDS+=($!)
waitport "$N_PORT"

PATHS=(/ /assets/app.3f2a1c9b.js /assets/vendor.8d7e6f5a.js)
NAMES=("html (small)" "asset 20 KiB" "asset 150 KiB")

# Both servers must return the same bytes; the handler's cache is warmed on the way.
for p in "${PATHS[@]}"; do
	for _ in 1 2 3; do
		curl -sf -H "Host: bench.localhost" "http://127.0.0.1:$H_PORT$p" -o "$TMP/h.out"
	done
	curl -sf "http://127.0.0.1:$N_PORT$p" -o "$TMP/n.out"
	cmp -s "$TMP/h.out" "$TMP/n.out" || { echo "run.sh: $p differs between handler and nginx" >&2; exit 1; }
done

# to_ms converts wrk's latency ("812.00us", "1.21ms", "1.02s") to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# run_wrk URL HOST -> "rps p99ms"
run_wrk() {
	local out
	out=$(taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -H "Host: $2" "$1")
	echo "$out" >>"$TMP/wrk.log"
	local rps p99
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
	if echo "$out" | grep -q "Non-2xx"; then echo "run.sh: non-2xx responses from $1" >&2; echo "$out" >&2; exit 1; fi
	echo "$rps $(to_ms "$p99")"
}

# Peak RSS of the handler, sampled while wrk runs.
MAX_RSS_FILE="$TMP/maxrss"
echo 0 >"$MAX_RSS_FILE"
sample_rss() {
	local max=0 rss
	while kill -0 "$H_PID" 2>/dev/null; do
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$H_PID/status" 2>/dev/null || echo 0)
		if [ "${rss:-0}" -gt "$max" ]; then max=$rss; echo "$max" >"$MAX_RSS_FILE"; fi
		sleep 0.1
	done
}
sample_rss &
SAMPLER=$!
PIDS+=($SAMPLER)

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

RESULTS=()
for i in "${!PATHS[@]}"; do
	p=${PATHS[$i]}
	: >"$TMP/h.runs"
	: >"$TMP/n.runs"
	for round in $(seq 1 "$ROUNDS"); do
		echo "${NAMES[$i]} ($p), round $round/$ROUNDS, ${DURATION}s each..." >&2
		if [ $((round % 2)) = 1 ]; then
			run_wrk "http://127.0.0.1:$H_PORT$p" bench.localhost >>"$TMP/h.runs"
			run_wrk "http://127.0.0.1:$N_PORT$p" localhost >>"$TMP/n.runs"
		else
			run_wrk "http://127.0.0.1:$N_PORT$p" localhost >>"$TMP/n.runs"
			run_wrk "http://127.0.0.1:$H_PORT$p" bench.localhost >>"$TMP/h.runs"
		fi
	done
	echo "  handler runs (rps p99ms): $(tr '\n' ';' <"$TMP/h.runs")" >&2
	echo "  nginx runs   (rps p99ms): $(tr '\n' ';' <"$TMP/n.runs")" >&2
	h="$(awk '{ print $1 }' "$TMP/h.runs" | median) $(awk '{ print $2 }' "$TMP/h.runs" | median)"
	n="$(awk '{ print $1 }' "$TMP/n.runs" | median) $(awk '{ print $2 }' "$TMP/n.runs" | median)"
	RESULTS+=("${NAMES[$i]}|$h|$n")
done
kill "$SAMPLER" 2>/dev/null || true
MAX_RSS_KB=$(cat "$MAX_RSS_FILE")

echo
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, median of $ROUNDS rounds; servers on CPU $SERVER_CPU (nginx $WORKERS worker(s), handler GOMAXPROCS=$WORKERS), wrk on CPU $WRK_CPU"
printf '%-15s | %12s %12s | %12s %12s | %9s %9s | %s\n' case "handler rps" "nginx rps" "handler p99" "nginx p99" "rps ratio" "p99 ratio" goal
printf -- '----------------+---------------------------+---------------------------+---------------------+-----\n'
ALL_OK=1
for r in "${RESULTS[@]}"; do
	IFS='|' read -r name h n <<<"$r"
	read -r hr hp <<<"$h"
	read -r nr np <<<"$n"
	line=$(awk -v name="$name" -v hr="$hr" -v hp="$hp" -v nr="$nr" -v np="$np" 'BEGIN {
		rr = hr / nr; pr = (np > 0) ? hp / np : 0; ok = (rr >= 0.9 && pr <= 1.5) ? "ok" : "MISSED"
		printf "%-15s | %12.0f %12.0f | %10.2fms %10.2fms | %8.2fx %8.2fx | %s", name, hr, nr, hp, np, rr, pr, ok }')
	echo "$line"
	case "$line" in *MISSED*) ALL_OK=0 ;; esac
done
RSS_MIB=$(awk -v k="$MAX_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')
LIMIT_MIB=$(awk -v c="$CACHE_BYTES" 'BEGIN { printf "%.0f", c / 1048576 + 64 }')
echo
echo "handler peak RSS: ${RSS_MIB} MiB (goal < cache ${CACHE_BYTES} bytes + 64 MiB = ${LIMIT_MIB} MiB)"
echo "goal (>= 0.9x nginx rps, <= 1.5x nginx p99 on every case): $([ $ALL_OK = 1 ] && echo met || echo missed)"
