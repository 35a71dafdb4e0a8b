#!/usr/bin/env bash
# Compare SkyDeploy's request handler with nginx serving the same four files, at one core and
# at two cores shared with the load generator. Exits non-zero when a goal is missed.
#
#   bench/serve/run.sh                         # both configurations, 5 s per run
#   DURATION=10 ROUNDS=5 CONFIGS=1core bench/serve/run.sh
#
# Settings (environment): DURATION (s, 5), ROUNDS (3), THREADS (2), CONNS (64),
# CONFIGS ("1core 2cores"), CACHE_BYTES (256 MiB, the handler's memory cache), COLD (50,
# cold deployments per kind of file).
#
# Needs: go, wrk, nginx (Debian's), bin/versitygw (`make tools`), taskset (util-linux), curl.
#
# What it does: builds a small site (an HTML page, assets of 20 KiB, 150 KiB and 1 MiB),
# publishes it to a throw-away versitygw as a deployment with an alias, writes the same files
# to a folder for nginx, warms the handler's caches, then runs `wrk -t$THREADS -c$CONNS
# -d$DURATION` against each file on both servers, ROUNDS times, alternating which server goes
# first, and prints the median requests/s and p99 latency, the handler/nginx ratios, the CPU
# time each server used per request (user + system, all threads and workers) and the
# handler's peak RSS (VmRSS sampled every 100 ms). Rounds and medians are there because a
# shared machine is noisy: a single run can be off by a factor of two; CPU per request is
# much steadier than requests/s when other processes compete for the cores, but the goals
# stay on requests/s and p99.
#
# Configurations. 1core: both servers pinned with taskset to CPU 0 (nginx 1 worker, the
# handler GOMAXPROCS=1) and wrk to CPU 1, so the load generator never steals the server's
# core. 2cores: servers (2 workers, GOMAXPROCS=2) and wrk all on CPUs 0-1, sharing them.
#
# Fairness: nginx is configured the way one serves static files well: sendfile, tcp_nopush,
# open_file_cache, keep-alive without a per-connection request limit, no access log (the
# handler's access log is off too), and the same headers the handler sends (Cache-Control,
# X-Content-Type-Options, Referrer-Policy, X-Frame-Options) so response sizes match. Both
# compute ETags. The handler requests go through the alias (bench.localhost), the realistic
# path: alias pointer -> manifest -> content, from its memory cache (small files) or its disk
# cache (larger ones, sent with sendfile).
#
# Goals, per configuration and case: handler >= 0.9x nginx requests/s and <= 1.5x nginx p99;
# peak RSS < CACHE_BYTES + 64 MiB. Also printed: the first request to a deployment not yet
# cached (manifest and file read from the S3 server), median and p99 over COLD deployments.
set -euo pipefail

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
CONFIGS=${CONFIGS:-"1core 2cores"}
CACHE_BYTES=${CACHE_BYTES:-268435456}
COLD=${COLD:-50}

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
ONE_CPU=0
if [ "$(nproc)" -lt 2 ]; then
	echo "run.sh: only one CPU; servers and wrk will share it" >&2
	ONE_CPU=1
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

PATHS=(/ /assets/app.3f2a1c9b.js /assets/vendor.8d7e6f5a.js /assets/chunk.5b6c7d8e.js)
NAMES=("html (small)" "asset 20 KiB" "asset 150 KiB" "asset 1 MiB")

# to_ms converts wrk's latency ("812.00us", "1.21ms", "1.02s") to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID... -> user+system CPU ticks of the processes, all their threads included
cpu_ticks() { cat $(printf '/proc/%s/stat ' "$@") | awk '{ t += $14 + $15 } END { print t }'; }

# run_wrk CPUS URL HOST PID... -> "rps p99ms cpu_us_per_request" (the CPU time the server
# processes used per request: a figure a busy machine disturbs much less than requests/s)
run_wrk() {
	local cpus=$1 url=$2 host=$3 out c0 c1
	shift 3
	c0=$(cpu_ticks "$@")
	out=$(taskset -c "$cpus" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -H "Host: $host" "$url")
	c1=$(cpu_ticks "$@")
	echo "$out" >>"$TMP/wrk.log"
	local rps p99 n
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
	n=$(echo "$out" | awk '/ requests in / { print $1 }')
	if echo "$out" | grep -q "Non-2xx"; then echo "run.sh: non-2xx responses from $url" >&2; echo "$out" >&2; exit 1; fi
	echo "$rps $(to_ms "$p99") $(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}

write_nginx_conf() { # PORT WORKERS
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes $2;
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
		listen 127.0.0.1:$1;
		root $TMP/site;
		add_header Cache-Control "public, max-age=0, must-revalidate";
		add_header X-Content-Type-Options nosniff;
		add_header Referrer-Policy strict-origin-when-cross-origin;
		add_header X-Frame-Options SAMEORIGIN;
		location / { try_files \$uri \$uri.html \$uri/ =404; }
	}
}
NGINX
}

TABLES=()
ALL_OK=1

# run_config NAME SERVER_CPUS WRK_CPUS WORKERS: one full comparison.
run_config() {
	local cname=$1 scpu=$2 wcpu=$3 workers=$4
	if [ "$ONE_CPU" = 1 ]; then scpu=0 wcpu=0; fi
	echo "== $cname: servers on CPU $scpu, wrk on CPU $wcpu, $workers worker(s)" >&2

	local hport aport nport
	hport=$(freeport)
	aport=$(freeport)
	GOMAXPROCS="$workers" taskset -c "$scpu" "$TMP/servebench" serve -endpoint "$ENDPOINT" \
		-addr "127.0.0.1:$hport" -admin "127.0.0.1:$aport" -cache-bytes "$CACHE_BYTES" \
		-disk-cache-dir "$TMP/diskcache-$cname" 2>"$TMP/handler-$cname.log" &
	local hpid=$!
	PIDS+=($hpid)
	waitport "$hport"

	nport=$(freeport)
	write_nginx_conf "$nport" "$workers"
	taskset -c "$scpu" nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
	local npid=$!
	PIDS+=($npid)
	waitport "$nport"
	local nworkers=()
	for _ in $(seq 1 50); do
		mapfile -t nworkers < <(pgrep -P "$npid")
		[ "${#nworkers[@]}" -ge "$workers" ] && break
		sleep 0.1
	done

	# Both servers must return the same bytes; the handler's caches are warmed on the way.
	local p
	for p in "${PATHS[@]}"; do
		for _ in 1 2 3; do
			curl -sf -H "Host: bench.localhost" "http://127.0.0.1:$hport$p" -o "$TMP/h.out"
		done
		curl -sf "http://127.0.0.1:$nport$p" -o "$TMP/n.out"
		cmp -s "$TMP/h.out" "$TMP/n.out" || { echo "run.sh: $p differs between handler and nginx" >&2; exit 1; }
	done

	# Peak RSS of the handler, sampled while wrk runs.
	local maxrss="$TMP/maxrss-$cname"
	echo 0 >"$maxrss"
	(
		max=0
		while kill -0 "$hpid" 2>/dev/null; do
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$hpid/status" 2>/dev/null || echo 0)
			if [ "${rss:-0}" -gt "$max" ]; then max=$rss; echo "$max" >"$maxrss"; fi
			sleep 0.1
		done
	) &
	local sampler=$!
	PIDS+=($sampler)

	local results=() i round h n
	for i in "${!PATHS[@]}"; do
		p=${PATHS[$i]}
		: >"$TMP/h.runs"
		: >"$TMP/n.runs"
		for round in $(seq 1 "$ROUNDS"); do
			echo "  ${NAMES[$i]} ($p), round $round/$ROUNDS, ${DURATION}s each..." >&2
			if [ $((round % 2)) = 1 ]; then
				run_wrk "$wcpu" "http://127.0.0.1:$hport$p" bench.localhost "$hpid" >>"$TMP/h.runs"
				run_wrk "$wcpu" "http://127.0.0.1:$nport$p" localhost "${nworkers[@]}" >>"$TMP/n.runs"
			else
				run_wrk "$wcpu" "http://127.0.0.1:$nport$p" localhost "${nworkers[@]}" >>"$TMP/n.runs"
				run_wrk "$wcpu" "http://127.0.0.1:$hport$p" bench.localhost "$hpid" >>"$TMP/h.runs"
			fi
		done
		echo "    handler runs (rps p99ms cpu-us/req): $(tr '\n' ';' <"$TMP/h.runs")" >&2
		echo "    nginx runs   (rps p99ms cpu-us/req): $(tr '\n' ';' <"$TMP/n.runs")" >&2
		h="$(awk '{ print $1 }' "$TMP/h.runs" | median) $(awk '{ print $2 }' "$TMP/h.runs" | median) $(awk '{ print $3 }' "$TMP/h.runs" | median)"
		n="$(awk '{ print $1 }' "$TMP/n.runs" | median) $(awk '{ print $2 }' "$TMP/n.runs" | median) $(awk '{ print $3 }' "$TMP/n.runs" | median)"
		results+=("${NAMES[$i]}|$h|$n")
	done
	kill "$sampler" 2>/dev/null || true

	echo "  first requests to cold deployments ($COLD per kind)..." >&2
	local coldout
	coldout=$("$TMP/servebench" cold -endpoint "$ENDPOINT" -addr "127.0.0.1:$hport" -n "$COLD")

	kill "$hpid" "$npid" 2>/dev/null || true
	wait "$hpid" "$npid" 2>/dev/null || true

	local table r name hr hp nr np line
	table="$cname: wrk -t$THREADS -c$CONNS -d${DURATION}s, median of $ROUNDS rounds; servers on CPU $scpu (nginx $workers worker(s), handler GOMAXPROCS=$workers), wrk on CPU $wcpu"$'\n'
	table+=$(printf '%-15s | %12s %12s | %12s %12s | %9s %9s | %-6s | %s' case "handler rps" "nginx rps" "handler p99" "nginx p99" "rps ratio" "p99 ratio" goal "CPU µs/request, handler / nginx")$'\n'
	table+="----------------+---------------------------+---------------------------+---------------------+--------+--------------------------------"$'\n'
	for r in "${results[@]}"; do
		IFS='|' read -r name h n <<<"$r"
		read -r hr hp hc <<<"$h"
		read -r nr np nc <<<"$n"
		line=$(awk -v name="$name" -v hr="$hr" -v hp="$hp" -v hc="$hc" -v nr="$nr" -v np="$np" -v nc="$nc" 'BEGIN {
			rr = hr / nr; pr = (np > 0) ? hp / np : 0; ok = (rr >= 0.9 && pr <= 1.5) ? "ok" : "MISSED"
			printf "%-15s | %12.0f %12.0f | %10.2fms %10.2fms | %8.2fx %8.2fx | %-6s | %6.1f / %6.1f (%.2fx)", name, hr, nr, hp, np, rr, pr, ok, hc, nc, (nc > 0) ? hc / nc : 0 }')
		table+="$line"$'\n'
		case "$line" in *MISSED*) ALL_OK=0 ;; esac
	done
	local rss_kb rss_mib limit_mib rss_ok
	rss_kb=$(cat "$maxrss")
	rss_mib=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
	limit_mib=$(awk -v c="$CACHE_BYTES" 'BEGIN { printf "%.0f", c / 1048576 + 64 }')
	rss_ok=$(awk -v r="$rss_mib" -v l="$limit_mib" 'BEGIN { print (r < l) ? "ok" : "MISSED" }')
	[ "$rss_ok" = ok ] || ALL_OK=0
	table+="handler peak RSS: ${rss_mib} MiB (goal < memory cache $((CACHE_BYTES >> 20)) MiB + 64 MiB = ${limit_mib} MiB): $rss_ok"$'\n'
	table+="first request to a cold deployment (manifest + file from S3), over $COLD deployments each:"$'\n'
	while IFS='|' read -r name p50 p99 count; do
		table+=$(printf '  %-15s p50 %8.2fms   p99 %8.2fms' "$name" "$p50" "$p99")$'\n'
	done <<<"$coldout"
	TABLES+=("$table")
}

for c in $CONFIGS; do
	case "$c" in
	1core) run_config 1core 0 1 1 ;;
	2cores) run_config 2cores 0,1 0,1 2 ;;
	*) echo "run.sh: unknown configuration $c (1core, 2cores)" >&2; exit 2 ;;
	esac
done

echo
for t in "${TABLES[@]}"; do
	echo "$t"
done
if [ "$ALL_OK" = 1 ]; then
	echo "goals (>= 0.9x nginx rps, <= 1.5x nginx p99 on every case; RSS below the limit): met"
else
	echo "goals (>= 0.9x nginx rps, <= 1.5x nginx p99 on every case; RSS below the limit): MISSED"
	exit 1
fi
