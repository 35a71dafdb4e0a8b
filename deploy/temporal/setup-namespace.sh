#!/bin/sh
# Registers SkyDeploy's Temporal namespace and its custom search attributes.
# Runs in the temporalio/admin-tools image as the one-shot `temporal-setup` service of
# temporal-compose.yml once the server is healthy; safe to run again (it only adds what is
# missing, and fails if an attribute exists with another type).
# By hand against any Temporal server:
#   TEMPORAL_ADDRESS=host:7233 NAMESPACE=default sh deploy/temporal/setup-namespace.sh
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=720h}"
# Name=Type pairs; every one SkyDeploy's workflows set and its API filters on.
: "${SEARCH_ATTRIBUTES:=SkyDeployProject=Keyword SkyDeployRepository=Keyword SkyDeployBranch=Keyword SkyDeployCommit=Keyword SkyDeployStatus=Keyword SkyDeployFramework=Keyword SkyDeployTrigger=Keyword}"

# The Temporal CLI prefers an IP address: some resolvers return an IPv6 address first that
# the server does not listen on.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
if [ -n "$ip" ]; then
	TEMPORAL_ADDRESS="$ip:$port"
fi
export TEMPORAL_ADDRESS

echo "Waiting for Temporal at $TEMPORAL_ADDRESS..."
i=0
until temporal operator cluster health 2>/dev/null | grep -q SERVING; do
	i=$((i + 1))
	if [ "$i" -ge 90 ]; then
		echo "Temporal did not become healthy" >&2
		exit 1
	fi
	sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
	echo "Namespace $NAMESPACE exists."
else
	echo "Creating namespace $NAMESPACE (retention $NAMESPACE_RETENTION)..."
	temporal operator namespace create --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION" \
		--description "SkyDeploy deployments"
fi

# A new namespace takes a moment to reach every service's cache.
i=0
until existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null); do
	i=$((i + 1))
	if [ "$i" -ge 30 ]; then
		echo "Cannot list search attributes of $NAMESPACE" >&2
		exit 1
	fi
	sleep 2
done

for pair in $SEARCH_ATTRIBUTES; do
	name=${pair%%=*}
	type=${pair#*=}
	if printf '%s\n' "$existing" | grep -Eq "(^|[[:space:]])$name([[:space:]]|$)"; then
		echo "Search attribute $name exists."
		continue
	fi
	echo "Creating search attribute $name ($type)..."
	temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
done
echo "Namespace $NAMESPACE is ready for SkyDeploy."
