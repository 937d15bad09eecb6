"""The incremental one-stop and e-office chains equal a full refresh of the same data.

A simulated province is loaded in two steps (as of the end of Q3 2017, then incrementally as of
the end of Q4 2017: one more quarter); ``dbt build`` runs after each load, the second one
incrementally. Every one-stop and e-office fact and every incremental model is then saved and
compared, row for row (EXCEPT ALL both ways), with a ``dbt build --full-refresh`` of the same
final data. The data holds a dossier that changed state between the loads (pending, then
finished), one re-extracted unchanged (a new raw version with the same record), one not
re-extracted at all; and two documents given a new version by hand before the incremental build:
one whose arrival time was withdrawn (it no longer counts: its month loses it) and one back-dated
to January (it leaves its month for a month nothing else changed in).
"""

from __future__ import annotations

import datetime as dt

import pytest

from govkpi.calendar import VN_TZ
from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from tests.helpers import dbt, query
from tests.integration._ingest import settings

FIRST = dt.datetime(2017, 9, 30, 23, 59, 59, tzinfo=VN_TZ)
SECOND = dt.datetime(2017, 12, 31, 23, 59, 59, tzinfo=VN_TZ)
INCREMENTAL = [
    "staging.stg_onestop__dossiers",
    "intermediate.int_dossier_supplement_requests",
    "intermediate.int_dossier_due_dates",
    "intermediate.int_dossiers_with_deadlines_and_outcomes",
    "intermediate.int_dossiers_classified_by_period",
    "intermediate.int_dossiers_classified_by_deadline",
    "intermediate.int_dossier_resolution_kpis",
    "staging.stg_eoffice__documents",
    "intermediate.int_documents_classified",
    "intermediate.int_document_kpis",
]
# Where each build's run leaves its own mark (the cursors): not compared.
CURSORS = ("contribution_batch_id", "refreshed_at", "source_batch_id", "units_fingerprint")
FACTS = [
    f"marts.fct_dossier_resolution_{scope}_{grain}"
    for scope, grains in (("unit", ("month", "quarter", "year")),
                          ("province", ("month", "quarter", "year")),
                          ("procedure", ("year",)))
    for grain in grains
]
COMPARED = [*INCREMENTAL, *FACTS]
SELECTION = ["--select", "stg_onestop__dossiers", "int_dossier_supplement_requests+",
             "stg_eoffice__documents+"]
# Withdrawn: an incoming document of the first load loses its arrival time. Back-dated: an
# outgoing one of March is re-issued on 10 January.
CRAFTED_DOCUMENTS = """
    with batch as (
        insert into audit.load_batch (source_system, endpoint, status, received_count,
                                      loaded_count, finished_at)
        values ('eoffice', 'documents', 'succeeded', 2, 2, now())
        returning batch_id
    ),
    picked as (
        (select 'withdrawn' as example, record_key, payload - 'ngay_den' as payload
         from raw_eoffice.documents
         where payload ->> 'huong' = 'den' and payload ->> 'ngay_den' like '%%/05/2017 %%'
         order by record_key limit 1)
        union all
        (select 'back_dated', record_key,
                jsonb_set(payload, '{ngay_ban_hanh}', '"10/01/2017 09:00:00"')
         from raw_eoffice.documents
         where payload ->> 'huong' = 'di' and payload ->> 'ngay_ban_hanh' like '%%/03/2017 %%'
         order by record_key limit 1)
    ),
    inserted as (
        insert into raw_eoffice.documents (record_key, source_updated_at, payload, batch_id)
        select picked.record_key, now(), picked.payload, batch.batch_id
        from picked cross join batch
        returning record_key
    )
    select picked.example, picked.record_key from picked join inserted using (record_key)
    order by 1
"""


def _build_rows_inserted(*args: str) -> dict[str, int]:
    """dbt build; the rows each incremental model inserted (its last statement's count)."""
    from dbt.cli.main import dbtRunner

    from govkpi import config

    res = dbtRunner().invoke(["build", *args, "--project-dir", str(config.DBT_PROJECT_DIR),
                              "--profiles-dir", str(config.DBT_PROJECT_DIR), "--quiet"])
    failed = [f"{r.node.name}: {r.status} {r.message}" for r in res.result or []
              if str(r.status) not in ("success", "pass")]
    assert res.success, f"dbt build {' '.join(args)} failed: {res.exception or ''} {failed}"
    return {r.node.name: r.adapter_response.get("rows_affected", -1) for r in res.result
            if r.node.resource_type == "model" and r.node.config.materialized == "incremental"}


@pytest.fixture(scope="module")
def refreshed(fresh_warehouse_module):
    """(warehouse, rows inserted by the incremental build, dossiers picked as examples)."""
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=45, dossiers=1500, years=(2017,), as_of=FIRST) as province:
        conf = settings(province, page_size=200)
        extract("onestop", wh, conf["onestop"])
        extract("eoffice", wh, conf["eoffice"])
        dbt("build")
        first_batch = query(wh, "select max(batch_id) from raw_onestop.hoso")[0][0]
        province.set_as_of(SECOND)
        extract("onestop", wh, conf["onestop"])
        extract("eoffice", wh, conf["eoffice"])
        # re-read a slice of the first quarter: new raw versions of dossiers that did not change
        extract("onestop", wh, conf["onestop"], ["hoso"], mode="backfill",
                window_from=dt.datetime(2017, 2, 1, tzinfo=VN_TZ),
                window_to=dt.datetime(2017, 2, 8, tzinfo=VN_TZ))
    # examples, from the raw versions
    changed_state = query(wh, """
        select old.record_key
        from raw_onestop.hoso as old
        join raw_onestop.hoso as new
            on new.record_key = old.record_key and new.batch_id > %(b)s
        where old.batch_id <= %(b)s
            and (old.payload ->> 'TrangThaiHoSo')::int not between 4 and 8
            and (new.payload ->> 'TrangThaiHoSo')::int between 4 and 8
        order by 1 limit 1""", {"b": first_batch})
    unchanged = query(wh, """
        select old.record_key
        from raw_onestop.hoso as old
        join raw_onestop.hoso as new
            on new.record_key = old.record_key and new.batch_id > %(b)s
        where old.batch_id <= %(b)s and new.payload = old.payload
            and not exists (select 1 from raw_onestop.hoso as other
                            where other.record_key = old.record_key
                                and other.payload <> old.payload)
        order by 1 limit 1""", {"b": first_batch})
    untouched = query(wh, """
        select record_key from raw_onestop.hoso group by record_key
        having max(batch_id) <= %(b)s order by 1 limit 1""", {"b": first_batch})
    assert changed_state, "no dossier was pending after the first load and finished after"
    assert unchanged, "no dossier was re-extracted unchanged"
    assert untouched, "every dossier was re-extracted"
    examples = {"changed_state": changed_state[0][0], "unchanged": unchanged[0][0],
                "untouched": untouched[0][0], "first_batch": first_batch}
    before = {code: query(wh, "select batch_id, outcome from "
                              "intermediate.int_dossiers_with_deadlines_and_outcomes "
                              "where dossier_code = %s", (code,))
              for code in (examples["changed_state"], examples["untouched"])}
    examples["documents"] = dict(query(wh, CRAFTED_DOCUMENTS))
    assert set(examples["documents"]) == {"withdrawn", "back_dated"}
    months_before = dict(query(wh, "select period_start, document_count from "
                                   "intermediate.int_document_kpis where scope = 'province' "
                                   "and period_grain = 'month'"))
    inserted = _build_rows_inserted(*SELECTION)
    examples["before"] = before
    examples["document_months_before"] = months_before
    with wh.connect() as conn:
        conn.execute("create schema incremental_result")
        for table in COMPARED:
            conn.execute(f"create table incremental_result.{table.split('.')[1]} as "
                         f"select * from {table}")
        conn.commit()
    _build_rows_inserted(*SELECTION, "--full-refresh")
    return wh, inserted, examples


@pytest.mark.parametrize("table", COMPARED)
def test_incremental_build_equals_a_full_refresh(refreshed, table):
    wh, *_ = refreshed
    saved = f"incremental_result.{table.split('.')[1]}"
    total = query(wh, f"select count(*) from {table}")[0][0]
    assert total > 0
    assert query(wh, f"select count(*) from {saved}")[0][0] == total
    schema, name = table.split(".")
    columns = ", ".join(c for (c,) in query(
        wh, "select column_name from information_schema.columns where table_schema = %s"
            " and table_name = %s and column_name <> all(%s) order by ordinal_position",
        (schema, name, list(CURSORS))))
    only_incremental = query(wh, f"select {columns} from {saved} except all "
                                 f"select {columns} from {table}")
    only_full = query(wh, f"select {columns} from {table} except all "
                          f"select {columns} from {saved}")
    assert only_incremental == [], f"{table}: rows only in the incremental build"
    assert only_full == [], f"{table}: rows only in the full refresh"


def test_the_incremental_build_recomputes_only_changed_dossiers(refreshed):
    wh, inserted, _ = refreshed
    dossiers = query(wh, "select count(*) from "
                         "intermediate.int_dossiers_with_deadlines_and_outcomes")[0][0]
    assert set(inserted) == {t.split(".")[1] for t in INCREMENTAL}
    assert 0 < inserted["int_dossiers_with_deadlines_and_outcomes"] < dossiers
    # staged again: the dossiers with a version in the second load, not all of them
    assert 0 < inserted["stg_onestop__dossiers"] < dossiers
    period_rows = query(wh, "select count(*) from "
                            "intermediate.int_dossiers_classified_by_period")[0][0]
    assert 0 < inserted["int_dossiers_classified_by_period"] < period_rows
    # the KPI table recomputes only the periods a changed contribution falls in (here the
    # second half-year; the first half's months keep the first build's rows)
    kpi_rows = query(wh, "select count(*) from intermediate.int_dossier_resolution_kpis")[0][0]
    assert 0 < inserted["int_dossier_resolution_kpis"] < kpi_rows
    recomputed, months = query(wh, """
        select count(distinct period_start) filter (
                   where source_batch_id = (select max(source_batch_id)
                                            from incremental_result.int_dossier_resolution_kpis)),
               count(distinct period_start)
        from incremental_result.int_dossier_resolution_kpis
        where period_grain = 'month'""")[0]
    assert months == 12
    assert 0 < recomputed < months


def test_the_example_dossiers(refreshed):
    wh, _, examples = refreshed
    first_batch = examples["first_batch"]

    def state(code):
        return query(wh, "select batch_id, outcome, finished_at is not null from "
                         "intermediate.int_dossiers_with_deadlines_and_outcomes "
                         "where dossier_code = %s", (code,))[0]

    # pending after the first load, finished after the second: recomputed, now finished
    (old_batch, old_outcome), = examples["before"][examples["changed_state"]]
    batch, outcome, finished = state(examples["changed_state"])
    assert old_outcome is None
    assert outcome is not None
    assert finished
    assert old_batch <= first_batch < batch
    # re-extracted unchanged: recomputed from its new version (same values, see the equality)
    assert state(examples["unchanged"])[0] > first_batch
    # not re-extracted: kept as the first build made it
    assert examples["before"][examples["untouched"]][0][0] == state(examples["untouched"])[0]
    # its yearly row carries the new period end's classification in both builds alike
    rows = query(wh, "select deadline_class from incremental_result."
                     "int_dossiers_classified_by_deadline where dossier_code = %s",
                 (examples["changed_state"],))
    assert rows
    assert all(r[0] in ("on_time", "late") for r in rows)


def test_the_example_documents(refreshed):
    wh, inserted, examples = refreshed
    documents = examples["documents"]

    def classified(document_id):
        return query(wh, "select document_date from incremental_result.int_documents_classified"
                         " where document_id = %s", (document_id,))

    # its arrival time withdrawn: no longer counts (the pre-hook deleted its row)
    assert classified(documents["withdrawn"]) == []
    # back-dated: counts in January now
    assert classified(documents["back_dated"]) == [(dt.date(2017, 1, 10),)]
    # the months recounted: January (a document arrived), March and May (one left each), the
    # months of the second load's documents; not all of them
    recounted = {row[0] for row in query(wh, """
        select period_start from incremental_result.int_document_kpis
        where period_grain = 'month' and scope = 'province'
            and source_batch_id = (select max(source_batch_id)
                                   from incremental_result.int_document_kpis)""")}
    assert {dt.date(2017, m, 1) for m in (1, 3, 5, 12)} <= recounted
    assert len(recounted) < 12
    assert 0 < inserted["int_documents_classified"] < query(
        wh, "select count(*) from intermediate.int_documents_classified")[0][0]
    # the province's March lost a document and January gained one (ranked units only count,
    # so compare the count of every document of the month)
    months = dict(query(wh, "select period_start, document_period_count from "
                            "incremental_result.int_document_kpis where scope = 'province' "
                            "and period_grain = 'month'"))
    assert sum(months.values()) == query(
        wh, "select count(*) from intermediate.int_documents_classified")[0][0]
