#!/bin/sh
# Creates the role Tandem serves as: `tandem_app` (or $TANDEM_DB_APP_USER), a login with the
# password $TANDEM_DB_APP_PASSWORD and a member of `tandem_runtime`, the group the migrations
# grant data access to. It owns nothing, so it cannot alter the schema or the audit trail.
#
# The postgres image runs this once, when it initialises an empty volume. It is safe to run
# again (it then resets the password), e.g. on a volume created before the role existed:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/10-tandem-runtime-role.sh
set -eu
: "${TANDEM_DB_APP_PASSWORD:?set TANDEM_DB_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
    -v app_user="${TANDEM_DB_APP_USER:-tandem_app}" \
    -v app_password="$TANDEM_DB_APP_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE tandem_runtime NOLOGIN'
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tandem_runtime') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
GRANT tandem_runtime TO :"app_user";
SQL
