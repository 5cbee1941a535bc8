#!/usr/bin/env bash
# PostgreSQL first-start script (mounted into /docker-entrypoint-initdb.d/):
# one login role and one database per service, each database owned by its
# role, so that no service can read another's tables.
#
#   SERVICE_DATABASES    space-separated names, e.g. "intake routing ..."
#   SERVICE_DB_PASSWORD  password of those roles
#
# It runs only when the data volume is empty; later changes need SQL by hand
# (docs/deploy.md).
set -euo pipefail

: "${SERVICE_DATABASES:?SERVICE_DATABASES must list the service databases}"
: "${SERVICE_DB_PASSWORD:?SERVICE_DB_PASSWORD must be set}"

for name in ${SERVICE_DATABASES}; do
  echo "motcua: creating role and database '${name}'"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set=name="${name}" --set=password="${SERVICE_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
