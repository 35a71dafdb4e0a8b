#!/bin/sh
# Creates (first run) or upgrades (every later run) Temporal's PostgreSQL schemas.
# Runs in the temporalio/admin-tools image as the one-shot `temporal-schema` service of
# temporal-compose.yml, before the server starts. Every step is idempotent:
#   - `create` fails harmlessly when the database exists (any other failure makes
#     setup-schema below fail too);
#   - `setup-schema -v 0.0` only creates the version tables and never lowers a version that
#     is already higher;
#   - `update-schema` applies only the versioned migrations the database does not have yet,
#     which is how a newer Temporal image upgrades the schema (run this before the new server).
# POSIX sh only: the admin-tools images from 1.30 on are plain Alpine (busybox, no bash/psql).
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD="$POSTGRES_PWD"

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
i=0
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
	i=$((i + 1))
	if [ "$i" -ge 60 ]; then
		echo "PostgreSQL did not come up" >&2
		exit 1
	fi
	sleep 2
done

sqltool() {
	temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for spec in "$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"; do
	db=${spec%%:*}
	dir=${spec#*:}
	echo "Schema of database $db ($dir)..."
	sqltool --db "$db" create 2>/dev/null || echo "database $db exists (or cannot be created; the next step will tell)"
	sqltool --db "$db" setup-schema -v 0.0
	sqltool --db "$db" update-schema -d "$TEMPORAL_SCHEMA_DIR/$dir/versioned"
done
echo "Temporal schemas are up to date."
