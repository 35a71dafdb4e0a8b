#!/bin/sh
# Renders SkyDeploy's nginx configuration into a directory:
#   OUT/nginx.conf     from deploy/nginx.conf (a complete nginx.conf; paths relative to -p)
#   OUT/skydeploy.conf from deploy/nginx-skydeploy.conf (the http-level part; this is the one
#                      file to install as /etc/nginx/conf.d/skydeploy.conf with a system nginx)
#
# Usage: deploy/render-nginx.sh OUT_DIR
# Settings come from the environment (defaults in brackets):
#   API_HOST          dashboard/API host                    [deploy.example.com]
#   SITES_DOMAIN      sites' base domain (SKYDEPLOY_BASE_DOMAIN) [sites.example.com]
#   GATEWAY_UPSTREAM  gateway address                       [127.0.0.1:3001]
#   SERVE_UPSTREAM    request handler address               [127.0.0.1:3002]
#   LISTEN_HTTP       listen for plain HTTP                 [80]
#   LISTEN_HTTPS      listen for HTTPS                      [443]
#   CERT, KEY         API host certificate and key          [/etc/letsencrypt/live/API_HOST/{fullchain,privkey}.pem]
#   SITES_CERT, SITES_KEY  wildcard certificate and key     [CERT, KEY]
# It also creates OUT/logs and OUT/temp, which nginx.conf expects under its prefix.
set -eu

if [ $# -ne 1 ]; then
	sed -n '2,18p' "$0" >&2
	exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)

API_HOST=${API_HOST:-deploy.example.com}
SITES_DOMAIN=${SITES_DOMAIN:-sites.example.com}
GATEWAY_UPSTREAM=${GATEWAY_UPSTREAM:-127.0.0.1:3001}
SERVE_UPSTREAM=${SERVE_UPSTREAM:-127.0.0.1:3002}
LISTEN_HTTP=${LISTEN_HTTP:-80}
LISTEN_HTTPS=${LISTEN_HTTPS:-443}
CERT=${CERT:-/etc/letsencrypt/live/$API_HOST/fullchain.pem}
KEY=${KEY:-/etc/letsencrypt/live/$API_HOST/privkey.pem}
SITES_CERT=${SITES_CERT:-$CERT}
SITES_KEY=${SITES_KEY:-$KEY}

check() { # name value pattern
	if ! printf '%s' "$2" | grep -Eq "^($3)\$"; then
		echo "render-nginx.sh: $1=$2 is not valid" >&2
		exit 2
	fi
}
host_re='[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*'
check API_HOST "$API_HOST" "$host_re"
check SITES_DOMAIN "$SITES_DOMAIN" "$host_re"
check GATEWAY_UPSTREAM "$GATEWAY_UPSTREAM" '[A-Za-z0-9.:_-]+|\[[0-9A-Fa-f:]+\]:[0-9]+|unix:/[^ ;]+'
check SERVE_UPSTREAM "$SERVE_UPSTREAM" '[A-Za-z0-9.:_-]+|\[[0-9A-Fa-f:]+\]:[0-9]+|unix:/[^ ;]+'
check LISTEN_HTTP "$LISTEN_HTTP" '([0-9.]+:|\[[0-9A-Fa-f:]+\]:)?[0-9]+'
check LISTEN_HTTPS "$LISTEN_HTTPS" '([0-9.]+:|\[[0-9A-Fa-f:]+\]:)?[0-9]+'
for v in CERT KEY SITES_CERT SITES_KEY; do
	eval "val=\$$v"
	check "$v" "$val" '/[^ ;|&\\]+'
done

https_port=${LISTEN_HTTPS##*:}
suffix=""
if [ "$https_port" != 443 ]; then
	suffix=":$https_port"
fi
sites_regex=$(printf '%s' "$SITES_DOMAIN" | sed 's/\./\\\\./g')

mkdir -p "$out/logs" "$out/temp"
render() {
	sed -e "/^[[:space:]]*#/!s|__API_HOST__|$API_HOST|g" \
		-e "/^[[:space:]]*#/!s|__SITES_DOMAIN_REGEX__|$sites_regex|g" \
		-e "/^[[:space:]]*#/!s|__SITES_DOMAIN__|$SITES_DOMAIN|g" \
		-e "/^[[:space:]]*#/!s|__GATEWAY_UPSTREAM__|$GATEWAY_UPSTREAM|g" \
		-e "/^[[:space:]]*#/!s|__SERVE_UPSTREAM__|$SERVE_UPSTREAM|g" \
		-e "/^[[:space:]]*#/!s|__LISTEN_HTTPS__|$LISTEN_HTTPS|g" \
		-e "/^[[:space:]]*#/!s|__LISTEN_HTTP__|$LISTEN_HTTP|g" \
		-e "/^[[:space:]]*#/!s|__HTTPS_PORT_SUFFIX__|$suffix|g" \
		-e "/^[[:space:]]*#/!s|__SITES_CERT__|$SITES_CERT|g" \
		-e "/^[[:space:]]*#/!s|__SITES_KEY__|$SITES_KEY|g" \
		-e "/^[[:space:]]*#/!s|__CERT__|$CERT|g" \
		-e "/^[[:space:]]*#/!s|__KEY__|$KEY|g" \
		"$1" >"$2.tmp"
	if grep -n '__[A-Z_]*__' "$2.tmp" | grep -v '^[0-9]*: *#' >&2; then
		echo "render-nginx.sh: placeholders left in $2" >&2
		exit 1
	fi
	mv "$2.tmp" "$2"
}
render "$here/nginx.conf" "$out/nginx.conf"
render "$here/nginx-skydeploy.conf" "$out/skydeploy.conf"
echo "rendered $out/nginx.conf and $out/skydeploy.conf"
