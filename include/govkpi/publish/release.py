"""Publish one (year, methodology) of the ranking marts as an immutable release.

A release is the copy of the year-grain rows of the four ranking marts for the methodology's
current content (``ranking_config.current_methodology``), made in one transaction, stamped
with the quality gate's verdict and the freshness of the raw data. The ``published`` tables
refuse UPDATE, DELETE and TRUNCATE (triggers in ``schema.sql``): publishing a year again adds a
release, and ``published.current_ranking_release`` shows the newest one per (year,
methodology). ``bi_reader`` may read everything in ``published`` (ARCHITECTURE.md, "Schemas and
roles").
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from govkpi.errors import GovkpiError
from govkpi.warehouse import Warehouse

log = logging.getLogger(__name__)

SCHEMA_LOCK = "govkpi.publish.ensure_schema"  # advisory lock: concurrent DDL would collide

# published table ← mart it copies; the published table's own columns (after release_id)
# name the mart columns to copy, except the extras below, which come from ranking_config.
RELEASE_TABLES = {
    "ranking_release_unit": "fct_ranking_unit",
    "ranking_release_group_score": "fct_ranking_group_score",
    "ranking_release_indicator": "fct_ranking_indicator_score",
    "ranking_release_tier": "fct_ranking_tier_distribution",
}
EXTRA_COLUMNS = {
    "ranking_release_indicator": {
        "not_measured_reason": (
            "(select c.not_measured_reason from ranking_config.methodology_indicator as c"
            " where c.methodology_name = m.methodology_name"
            " and c.content_sha256 = m.content_sha256 and c.indicator_key = m.indicator_key"
            " and c.unit_group = m.unit_group)"),
    },
    "ranking_release_tier": {
        "min_share": (
            "(select c.min_share from ranking_config.methodology_tier as c"
            " where c.methodology_name = m.methodology_name"
            " and c.content_sha256 = m.content_sha256 and c.tier_key = m.tier_key)"),
    },
}
# columns a mart may have beyond docs/ranking.md: copied when present, NULL otherwise
OPTIONAL_COLUMNS = {
    "ranking_release_indicator": {"indicator_ordinal", "input_convention", "curve_type",
                                  "when_missing", "not_assessed_reason"},
}
PUBLISHED_TABLES = ("ranking_release", *RELEASE_TABLES)


class PublishError(GovkpiError):
    """A release cannot be published; the message says why and what to do."""


def ensure_schema(conn) -> None:
    """Create the ``published`` schema, its append-only tables and the current-release view
    (idempotent), and let ``bi_reader`` read them. Commits on its own transaction block."""
    from govkpi.roles import ensure_bi_reader_role

    ddl = resources.files("govkpi.publish").joinpath("schema.sql").read_text()
    marker = "govkpi.publish schema " + hashlib.sha256(ddl.encode()).hexdigest()[:16]
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK,))
        # applied once per version of schema.sql: re-creating the view and triggers on every
        # publish would take locks that wait for long BI queries
        (applied,) = conn.execute(
            "select obj_description(oid, 'pg_namespace') from pg_namespace"
            " where nspname = 'published'").fetchone() or (None,)
        if applied != marker:
            conn.execute(ddl)
            conn.execute(f"comment on schema published is '{marker}'")
        if ensure_bi_reader_role(conn):
            grant_bi_reader(conn)


def grant_bi_reader(conn) -> None:
    """USAGE on ``published`` and SELECT on each of its tables and views, and default
    privileges for tables created later: as dbt's ``grant_bi_reader_access`` macro does.
    Only missing privileges are granted, so repeated runs write nothing to the catalog."""
    from psycopg import sql

    from govkpi.roles import BI_READER_ROLE

    reader = sql.Identifier(BI_READER_ROLE)
    if not conn.execute("select has_schema_privilege(%s, 'published', 'USAGE')",
                        (BI_READER_ROLE,)).fetchone()[0]:
        conn.execute(sql.SQL("grant usage on schema published to {}").format(reader))
    has_default = conn.execute(
        """
        select exists (
            select from pg_default_acl as d
            cross join lateral aclexplode(d.defaclacl) as acl
            where d.defaclnamespace = 'published'::regnamespace
              and d.defaclrole = current_user::regrole and d.defaclobjtype = 'r'
              and acl.grantee = %s::regrole and acl.privilege_type = 'SELECT')
        """, (BI_READER_ROLE,)).fetchone()[0]
    if not has_default:
        conn.execute(sql.SQL("alter default privileges in schema published grant select on "
                             "tables to {}").format(reader))
    missing = conn.execute(
        """
        select c.relname from pg_class as c
        where c.relnamespace = 'published'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
          and not has_table_privilege(%s, c.oid, 'SELECT')
        order by c.relname
        """, (BI_READER_ROLE,)).fetchall()
    for (name,) in missing:
        conn.execute(sql.SQL("grant select on {} to {}").format(
            sql.Identifier("published", name), reader))


def gate_payload(result: Any) -> dict[str, Any]:
    """The ``gate_result`` of a release from a :class:`govkpi.quality.gate.GateResult`
    (or any object with ``passed``, ``critical`` and ``warnings``)."""
    def lines(failures) -> list[str]:
        return [f.line() if hasattr(f, "line") else str(f) for f in failures]

    payload: dict[str, Any] = {"passed": bool(result.passed), "critical": lines(result.critical),
                               "warnings": lines(result.warnings)}
    for attr in ("checkpoint", "evaluated", "gate_result_id", "data_docs"):
        if getattr(result, attr, None) is not None:
            payload[attr] = getattr(result, attr)
    return payload


def combine_gate_payloads(payloads: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One verdict from several checkpoints' payloads (a release is gated by every stage):
    passed when all passed; their failures and counts together."""
    if not payloads:
        raise PublishError("no gate verdict given: run the quality gate before publishing")
    return {
        "passed": all(bool(p.get("passed")) for p in payloads),
        "checkpoints": [p.get("checkpoint") for p in payloads],
        "evaluated": sum(int(p.get("evaluated") or 0) for p in payloads),
        "critical": [line for p in payloads for line in p.get("critical") or []],
        "warnings": [line for p in payloads for line in p.get("warnings") or []],
        "gate_result_ids": [p["gate_result_id"] for p in payloads if p.get("gate_result_id")],
    }


def _check_gate(gate_result: Mapping[str, Any], year: int, methodology_name: str) -> None:
    if not isinstance(gate_result, Mapping) or not isinstance(gate_result.get("passed"), bool):
        raise PublishError(
            f"gate_result must be a mapping with a boolean 'passed' (got {gate_result!r}): pass "
            "the quality gate's verdict, e.g. gate_payload(run_gate(...))")
    if not gate_result["passed"]:
        critical = gate_result.get("critical") or []
        shown = "; ".join(str(c) for c in critical[:3]) or "no details given"
        more = f" (+{len(critical) - 3} more)" if len(critical) > 3 else ""
        raise PublishError(
            f"quality gate failed for {year} / {methodology_name}: {len(critical)} critical "
            f"failure(s): {shown}{more}; nothing was published — fix the data and run the gate "
            "again")


def _current_methodology(conn, methodology_name: str) -> tuple[str, str, str, str]:
    if conn.execute("select to_regclass('ranking_config.current_methodology')").fetchone()[0] \
            is None:
        raise PublishError(
            "no methodology has been loaded (ranking_config.current_methodology does not exist): "
            "load one with govkpi.ranking.methodology and build the ranking marts first")
    row = conn.execute(
        "select content_sha256, title_vi, title_en, basis from ranking_config.current_methodology"
        " where methodology_name = %s", (methodology_name,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute(
            "select methodology_name from ranking_config.current_methodology order by 1")]
        raise PublishError(
            f"unknown methodology {methodology_name!r}: loaded ones are "
            f"{', '.join(known) or 'none'} (include/govkpi/methodologies/<name>.yaml)")
    return row


def _data_watermark(conn):
    """Newest finished_at of the succeeded raw load batches (NULL when there are none)."""
    if conn.execute("select to_regclass('audit.load_batch')").fetchone()[0] is None:
        return None
    return conn.execute("select max(finished_at) from audit.load_batch"
                        " where status = 'succeeded'").fetchone()[0]


def _columns(conn, schema: str, table: str) -> list[str]:
    return [name for (name,) in conn.execute(
        "select column_name from information_schema.columns"
        " where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table)).fetchall()]


def _copy_columns(conn, table: str, mart: str) -> list[str]:
    """The columns of ``published.<table>`` to copy from its mart (an optional column the mart
    lacks is left out, so NULL; a documented one it lacks is an error)."""
    extras = EXTRA_COLUMNS.get(table, {})
    wanted = [c for c in _columns(conn, "published", table)
              if c != "release_id" and c not in extras]
    have = set(_columns(conn, "marts", mart))
    optional = OPTIONAL_COLUMNS.get(table, set())
    missing = [c for c in wanted if c not in have and c not in optional]
    if missing:
        raise PublishError(
            f"marts.{mart} lacks the column(s) {', '.join(missing)} of docs/ranking.md: rebuild "
            "the ranking models (dbt build --select marts.ranking); nothing was published")
    return [c for c in wanted if c in have]


def _copy_marts(conn, release_id: int, year: int, methodology_name: str, sha: str) -> dict:
    from psycopg import sql

    counts = {}
    for table, mart in RELEASE_TABLES.items():
        copied = _copy_columns(conn, table, mart)
        extras = EXTRA_COLUMNS.get(table, {})
        target = [sql.Identifier(c) for c in ("release_id", *copied, *extras)]
        source = [sql.Placeholder("release_id"),
                  *(sql.SQL("m.{}").format(sql.Identifier(c)) for c in copied),
                  *(sql.SQL(expr) for expr in extras.values())]
        statement = sql.SQL(
            "insert into published.{table} ({target}) select {source} from marts.{mart} as m"
            " where m.methodology_name = %(name)s and m.content_sha256 = %(sha)s"
            " and m.period_grain = 'year' and m.period_year = %(year)s").format(
            table=sql.Identifier(table), target=sql.SQL(", ").join(target),
            source=sql.SQL(", ").join(source), mart=sql.Identifier(mart))
        cur = conn.execute(statement, {"release_id": release_id, "name": methodology_name,
                                       "sha": sha, "year": year})
        counts[table] = cur.rowcount
    return counts


def publish(warehouse: Warehouse, year: int, methodology_name: str,
            gate_result: Mapping[str, Any]) -> int:
    """Publish the ranking of ``year`` under ``methodology_name``; return the new release id.

    Refuses (:class:`PublishError`) when the gate did not pass, when the methodology is
    unknown, or when the marts hold no year rows for it (the ranking models were not built).
    Everything is copied in one transaction: a release is complete or absent.
    """
    _check_gate(gate_result, year, methodology_name)
    with warehouse.connect() as conn:
        ensure_schema(conn)
        with conn.transaction():
            missing = [m for m in RELEASE_TABLES.values()
                       if conn.execute("select to_regclass(%s)", (f"marts.{m}",)).fetchone()[0]
                       is None]
            if missing:
                raise PublishError(
                    f"the ranking marts are not built ({', '.join('marts.' + m for m in missing)}"
                    " missing): run the ranking models (dbt build --select marts.ranking) first")
            sha, title_vi, title_en, basis = _current_methodology(conn, methodology_name)
            (units,) = conn.execute(
                "select count(*) from marts.fct_ranking_unit where methodology_name = %s"
                " and content_sha256 = %s and period_grain = 'year' and period_year = %s",
                (methodology_name, sha, year)).fetchone()
            if not units:
                raise PublishError(
                    f"the ranking marts hold no rows for {year} / {methodology_name} (content "
                    f"{sha[:12]}): build the ranking models for that year and methodology "
                    "first; nothing was published")
            (release_id,) = conn.execute(
                """
                insert into published.ranking_release (year, methodology_name,
                    methodology_sha256, data_watermark, gate_result, methodology_title_vi,
                    methodology_title_en, methodology_basis)
                values (%s, %s, %s, %s, %s::jsonb, %s, %s, %s) returning release_id
                """,
                (year, methodology_name, sha, _data_watermark(conn),
                 json.dumps(dict(gate_result), ensure_ascii=False, default=str),
                 title_vi, title_en, basis or "")).fetchone()
            counts = _copy_marts(conn, release_id, year, methodology_name, sha)
    log.info("published release %s of %s / %s: %s", release_id, year, methodology_name,
             ", ".join(f"{n} {t}" for t, n in counts.items()))
    return release_id


def current_release_id(warehouse: Warehouse, year: int, methodology_name: str) -> int | None:
    """The newest release of (year, methodology), or None."""
    with warehouse.connect() as conn:
        if conn.execute("select to_regclass('published.current_ranking_release')").fetchone()[0] \
                is None:
            return None
        row = conn.execute(
            "select release_id from published.current_ranking_release"
            " where year = %s and methodology_name = %s", (year, methodology_name)).fetchone()
    return row[0] if row else None
