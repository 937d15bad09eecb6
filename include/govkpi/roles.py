"""Database roles of the warehouse (ARCHITECTURE.md, "Schemas and roles").

``bi_reader`` is a NOLOGIN group role: BI tools (Superset, Metabase) log in as their own LOGIN
roles that are members of it, so each tool has its own password and can be revoked alone.
Roles are cluster-wide, so they are created here, once per server, where the warehouse is
prepared (:meth:`govkpi.warehouse.Warehouse.ensure_database`); the privileges are per database
and are granted by dbt itself: ``+grants`` on the marts (dbt_project.yml) and the ``on-run-end``
macro ``grant_bi_reader_access`` (USAGE on ``marts`` and ``published``, SELECT on everything in
``published``, default privileges for tables created later).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

BI_READER_ROLE = "bi_reader"  # also dbt var bi_reader_role (dbt_project.yml)


def ensure_bi_reader_role(conn) -> bool:
    """Create the NOLOGIN role ``bi_reader`` if it is missing; True when it exists afterwards.

    Idempotent and safe under concurrency. A connected user without CREATEROLE gets a warning
    that says what to ask a DBA for, never an error: the rest of the pipeline still runs (dbt
    stops at its on-run-start check, with the same advice, until the role exists).
    """
    import psycopg
    from psycopg import sql

    if _role_exists(conn, BI_READER_ROLE):
        return True
    try:
        with conn.transaction():  # a savepoint when the caller is inside a transaction
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(BI_READER_ROLE)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        return True  # created meanwhile by another process
    except psycopg.errors.InsufficientPrivilege:
        user = conn.execute("select current_user").fetchone()[0]
        log.warning(
            "role %s does not exist and %s may not create roles (needs CREATEROLE): BI tools "
            "cannot read the marts and dbt builds stop until a DBA runs "
            "`create role %s nologin;` (README.md, BI access)",
            BI_READER_ROLE, user, BI_READER_ROLE)
        return False
    log.info("created role %s (NOLOGIN; BI logins are its members)", BI_READER_ROLE)
    return True


def create_bi_login(conn, name: str, password: str) -> None:
    """Create (or reset the password of) LOGIN role ``name`` as a member of ``bi_reader``.

    What a DBA does for each BI tool; the integration tests use it to connect as a reader.
    """
    from psycopg import sql

    ident = sql.Identifier(name)
    with conn.transaction():
        if _role_exists(conn, name):
            conn.execute(sql.SQL("alter role {} login password {}").format(
                ident, sql.Literal(password)))
        else:
            conn.execute(sql.SQL("create role {} login password {}").format(
                ident, sql.Literal(password)))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(BI_READER_ROLE), ident))


def _role_exists(conn, name: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is not None
