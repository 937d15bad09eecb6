"""Closing a reporting quarter after ``kpi_refresh`` has built and gated the marts: check that the
province-quarter KPI facts hold the quarter, cut on the same local days as
:mod:`govkpi.periods`, and record a short summary in ``audit.kpi_refresh_quarter``.

A quarter is in a fact when the fact has a row whose ``period_start`` is the quarter's first day
and whose ``period_end`` is its last: the marts report a period once data falls in it, so a
missing quarter means a source's data for it never landed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from govkpi.errors import GovkpiError
from govkpi.periods import QuarterBounds

log = logging.getLogger(__name__)

SCHEMA_SQL = """
create schema if not exists audit;

-- One row per kpi_refresh run: the quarter it closed, how many KPI rows each quarter fact
-- holds for it, and a few province figures (written again when the task is retried).
create table if not exists audit.kpi_refresh_quarter (
    kpi_refresh_quarter_id bigint generated always as identity primary key,
    dag_id          text        not null,
    run_id          text        not null,
    run_type        text,
    quarter_label   text        not null,
    quarter_start   date        not null,
    quarter_end     date        not null,
    quarter_source  text        not null,  -- run (the run's date) | params (a backfill)
    as_of           timestamptz,           -- the run's logical date or run_after
    fact_rows       jsonb       not null,  -- {fact: rows of the quarter}
    province        jsonb       not null,  -- headline province figures of the quarter
    recorded_at     timestamptz not null default clock_timestamp(),
    unique (dag_id, run_id)
);
create index if not exists kpi_refresh_quarter_label_idx
    on audit.kpi_refresh_quarter (quarter_label, recorded_at desc);
"""

# (unit-quarter fact, province-quarter fact, the province figures the summary keeps)
QUARTER_FACTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("fct_dossier_resolution_unit_quarter", "fct_dossier_resolution_province_quarter",
     ("received_count", "finished_count", "os1a_on_time_rate", "os1b_on_time_rate")),
    ("fct_document_processing_unit_quarter", "fct_document_processing_province_quarter",
     ("document_count", "eo1_signed_rate")),
    ("fct_online_service_unit_quarter", "fct_online_service_province_quarter",
     ("dvc2_online_dossier_rate", "dvc3_online_payment_rate")),
)
MARTS_SCHEMA = "marts"


class QuarterNotInMarts(GovkpiError):
    """A province-quarter KPI fact lacks the quarter being closed."""


@dataclass
class QuarterFacts:
    """What the marts hold for one quarter."""

    bounds: QuarterBounds
    fact_rows: dict[str, int] = field(default_factory=dict)
    province: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _json_number(value: Any) -> Any:
    return float(value) if hasattr(value, "as_tuple") else value  # Decimal → float


def read_quarter_facts(conn, bounds: QuarterBounds) -> QuarterFacts:
    """Row counts of the quarter in every quarter fact, the headline province figures, and
    what is wrong (a fact missing, or the quarter absent or cut on other days)."""
    from psycopg import sql

    out = QuarterFacts(bounds)
    for unit_fact, province_fact, figures in QUARTER_FACTS:
        for fact in (unit_fact, province_fact):
            if conn.execute("select to_regclass(%s)", (f"{MARTS_SCHEMA}.{fact}",)
                            ).fetchone()[0] is None:
                out.problems.append(f"{MARTS_SCHEMA}.{fact} does not exist (dbt has not built it)")
                continue
            table = sql.Identifier(MARTS_SCHEMA, fact)
            out.fact_rows[fact] = conn.execute(
                sql.SQL("select count(*) from {} where period_start = %s").format(table),
                (bounds.start,)).fetchone()[0]
            if fact != province_fact:
                continue
            row = conn.execute(sql.SQL("select period_end, {} from {} where period_start = %s")
                               .format(sql.SQL(", ").join(map(sql.Identifier, figures)), table),
                               (bounds.start,)).fetchone()
            if row is None:
                first, last = conn.execute(sql.SQL(
                    "select min(period_start), max(period_start) from {}").format(table)
                ).fetchone()
                held = f"it holds {first} … {last}" if first else "it is empty"
                out.problems.append(f"{MARTS_SCHEMA}.{fact} has no row for {bounds.label} "
                                    f"({held})")
                continue
            if row[0] != bounds.end:
                out.problems.append(f"{MARTS_SCHEMA}.{fact} ends {bounds.label} on {row[0]}, "
                                    f"not {bounds.end}")
            out.province.update(zip(figures, map(_json_number, row[1:]), strict=True))
    return out


def close_quarter(wh, bounds: QuarterBounds, run: dict[str, Any]) -> dict[str, Any]:
    """Check the quarter is in every province-quarter fact (:class:`QuarterNotInMarts`
    otherwise, naming each problem) and record the summary; return it.

    ``run``: ``dag_id``, ``run_id``, ``run_type``, ``source`` (``run`` | ``params``), ``as_of``.
    """
    with wh.connect() as conn:
        facts = read_quarter_facts(conn, bounds)
        if facts.problems:
            raise QuarterNotInMarts(
                f"cannot close {bounds.label} ({bounds.start} – {bounds.end}): "
                + "; ".join(facts.problems)
                + ". Check that the quarter's ingests ran (audit.load_batch) and kpi_refresh "
                  "built the marts, or give the run a quarter the data covers (param quarter)")
        conn.execute(SCHEMA_SQL)
        (summary_id,) = conn.execute(
            "insert into audit.kpi_refresh_quarter (dag_id, run_id, run_type, quarter_label,"
            " quarter_start, quarter_end, quarter_source, as_of, fact_rows, province)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (dag_id, run_id) do update set run_type = excluded.run_type,"
            " quarter_label = excluded.quarter_label, quarter_start = excluded.quarter_start,"
            " quarter_end = excluded.quarter_end, quarter_source = excluded.quarter_source,"
            " as_of = excluded.as_of, fact_rows = excluded.fact_rows,"
            " province = excluded.province, recorded_at = clock_timestamp()"
            " returning kpi_refresh_quarter_id",
            (run["dag_id"], run["run_id"], run.get("run_type"), bounds.label, bounds.start,
             bounds.end, run.get("source", "run"), _as_of(run.get("as_of")),
             json.dumps(facts.fact_rows), json.dumps(facts.province))).fetchone()
    summary = {"kpi_refresh_quarter_id": summary_id, **bounds.as_dict(),
               "fact_rows": facts.fact_rows, "province": facts.province}
    log.info("closed %s (%s – %s): %s; province %s", bounds.label, bounds.start, bounds.end,
             ", ".join(f"{fact} {n}" for fact, n in facts.fact_rows.items()), facts.province)
    return summary


def _as_of(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
