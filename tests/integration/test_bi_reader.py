"""The BI role: after a dbt build, a member of ``bi_reader`` reads marts and published only.

Roles are cluster-wide and outlive this test's database: ``bi_reader`` may already exist (the
fixtures' ``ensure_database`` creates it if not), and only the grants of this database count.
The test logs in as a LOGIN role of its own that is a member of ``bi_reader``, as a BI tool
does, and drops it afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import replace

import pytest

from govkpi import roles
from govkpi.load.raw import ensure_schema
from tests.helpers import dbt, query

PASSWORD = "bi-reader-test-password"  # trust auth ignores it; a password server checks it

READABLE = ["marts.fct_dossier_resolution_unit_year", "marts.dim_calendar"]
REFUSED = [
    "raw_onestop.hoso",
    "raw_onestop.donvi",
    "staging.stg_onestop__dossiers",
    "intermediate.int_dossiers_classified_by_deadline",
    "audit.load_batch",
    "audit.quarantine",
    "reference.vn_calendar_exceptions",
    "reference.calendar_corrections",
    "snapshots.unit_history",
]


def _drop_role(wh, name: str) -> None:
    from psycopg import sql

    with wh.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with wh.connect() as conn:
        ensure_schema(conn)
        # a snapshot table stands in for dbt snapshots (none exist yet): refused like the rest
        conn.execute("create schema if not exists snapshots")
        conn.execute("create table snapshots.unit_history (unit_code text)")
    dbt("build")
    return wh


@pytest.fixture(scope="module")
def reader(built):
    """Connection facts of a fresh LOGIN role that is a member of bi_reader."""
    name = f"govkpi_test_bi_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with built.connect(autocommit=True) as conn:
        roles.create_bi_login(conn, name, PASSWORD)
    yield replace(built, user=name, password=PASSWORD)
    _drop_role(built, name)


def _as(wh, statement: str):
    with wh.connect(autocommit=True) as conn:
        return conn.execute(statement).fetchall()


def test_bi_reader_is_a_group_role_the_login_belongs_to(built, reader):
    (row,) = query(built, "select rolcanlogin from pg_roles where rolname = 'bi_reader'")
    assert row == (False,)
    assert _as(reader, "select pg_has_role(current_user, 'bi_reader', 'usage')") == [(True,)]


@pytest.mark.parametrize("table", READABLE)
def test_reads_the_marts(built, reader, table):
    assert _as(reader, f"select count(*) from {table}") == query(
        built, f"select count(*) from {table}")


def test_reads_the_calendar_values(reader):
    # 2016-01-01 … 2030-12-31; 30 April 2017 is a Sunday
    assert _as(reader, "select count(*) from marts.dim_calendar") == [(5479,)]
    assert _as(reader, "select is_working_day from marts.dim_calendar "
                       "where calendar_date = date '2017-04-30'") == [(False,)]


@pytest.mark.parametrize("table", REFUSED)
def test_everything_else_is_refused(reader, table):
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        _as(reader, f"select * from {table} limit 1")


@pytest.mark.parametrize("schema", ["marts", "published", "staging", "public"])
def test_cannot_create_tables(reader, schema):
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(reader, f"create table {schema}.bi_scratch (x int)")


def test_cannot_change_a_mart(reader):
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _as(reader, "delete from marts.dim_calendar")


def test_tables_created_later_in_marts_and_published_are_readable(built, reader):
    """Default privileges: what the publisher (or a later dbt model) creates is readable at once."""
    with built.connect() as conn:
        conn.execute("create table published.release_test (release_id int)")
        conn.execute("insert into published.release_test values (1)")
        conn.execute("create table marts.later_test (x int)")
    assert _as(reader, "select release_id from published.release_test") == [(1,)]
    assert _as(reader, "select count(*) from marts.later_test") == [(0,)]


def test_a_second_build_keeps_the_grants(built, reader):
    dbt("build", "--select", "dim_calendar")
    assert _as(reader, "select count(*) from marts.dim_calendar") == [(5479,)]


def test_ensure_role_is_idempotent(built):
    with built.connect(autocommit=True) as conn:
        assert roles.ensure_bi_reader_role(conn)
        assert roles.ensure_bi_reader_role(conn)
    built.ensure_database()  # the warehouse set-up path, with the role already there


def test_missing_role_without_createrole_warns(built, monkeypatch, caplog):
    """A user who may not create roles gets a warning saying what to ask for, not an error."""
    missing = f"govkpi_test_missing_{uuid.uuid4().hex[:6]}"
    plain = f"govkpi_test_plain_{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr(roles, "BI_READER_ROLE", missing)
    with built.connect(autocommit=True) as conn:
        conn.execute(f"create role {plain} login nocreaterole password '{PASSWORD}'")
    try:
        with (replace(built, user=plain, password=PASSWORD).connect() as conn,
              caplog.at_level(logging.WARNING, logger="govkpi.roles")):
            assert roles.ensure_bi_reader_role(conn) is False
        assert f"`create role {missing} nologin;`" in caplog.text
        assert "CREATEROLE" in caplog.text
        assert query(built, "select 1 from pg_roles where rolname = %s", (missing,)) == []
    finally:
        _drop_role(built, plain)


def test_missing_role_is_created_when_allowed(built, monkeypatch):
    missing = f"govkpi_test_created_{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr(roles, "BI_READER_ROLE", missing)
    try:
        with built.connect() as conn:  # inside a transaction: a savepoint, then commit
            assert roles.ensure_bi_reader_role(conn) is True
        assert query(built, "select rolcanlogin from pg_roles where rolname = %s",
                     (missing,)) == [(False,)]
    finally:
        _drop_role(built, missing)
