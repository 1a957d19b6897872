#!/usr/bin/env bash
# PostgreSQL for the Blog's tests: installs Debian's postgresql package if needed, starts the newest cluster, and
# creates a fresh role and database on every run. Progress goes to stderr; stdout is one line for the caller to eval:
#
#   eval "$(bash .ci/postgres.sh)"    # exports BLOG_TEST_POSTGRES (an Npgsql connection string)
#
# The server listens on 127.0.0.1 only (Debian's default listen_addresses is localhost). Safe to run again.
set -euo pipefail

ROLE=${BLOG_TEST_PG_ROLE:-blog_test}
DATABASE=${BLOG_TEST_PG_DATABASE:-blog_test}

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing postgresql (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main"' | grep -q .; then
    log "creating cluster $VERSION/main"
    pg_createcluster "$VERSION" main >&2
fi

PORT=$(pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }')
if ! pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $4 }' | grep -q online; then
    log "starting cluster $VERSION/main on port $PORT"
    # pg_ctlcluster waits until the server accepts connections (pg_ctl -w).
    pg_ctlcluster "$VERSION" main start >&2
fi

pg_isready -q -h 127.0.0.1 -p "$PORT" -t 60 || { log "server on 127.0.0.1:$PORT not ready after 60 s"; exit 1; }

# One password per machine, kept with the cluster: a second run (another checkout's tests, say) must not change the
# password under a run that is using it.
PASSWORD_FILE=/var/lib/postgresql/.blog_test_password
if [ ! -s "$PASSWORD_FILE" ]; then
    openssl rand -hex 16 > "$PASSWORD_FILE"
    chmod 600 "$PASSWORD_FILE"
fi
PASSWORD=$(cat "$PASSWORD_FILE")
log "creating role $ROLE and a fresh database $DATABASE"
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres \
    -v role="$ROLE" -v database="$DATABASE" -v password="$PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'database') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role') \gexec
SQL

CONNECTION="Host=127.0.0.1;Port=$PORT;Username=$ROLE;Password=$PASSWORD;Database=$DATABASE"
log "ready: PostgreSQL $VERSION on 127.0.0.1:$PORT, database $DATABASE"
printf 'export BLOG_TEST_POSTGRES=%q\n' "$CONNECTION"
