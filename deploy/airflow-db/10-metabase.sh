#!/bin/sh
# Metabase's application database (its settings, questions and dashboards) beside Airflow's,
# with a role of its own. The postgres image runs this once, on the first start with an empty
# data volume (docker-compose.yml, service airflow-db); METABASE_DB_PASSWORD comes from .env.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set=mb_password="$METABASE_DB_PASSWORD" <<'SQL'
create role metabase login password :'mb_password';
create database metabase owner metabase;
SQL
