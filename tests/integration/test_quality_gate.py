"""The quality gate blocks publication on broken data and names the cause (docs/quality.md).

One small province is built once — the three systems extracted, the self-assessment returns
loaded, every dbt model built, methodology ``binh_dinh_2017`` loaded — the gate passes on it and
2017 is published (release 1). That database is the template: each case below copies it, breaks
one thing on purpose the way government data breaks, and runs ``govkpi rank --skip-build`` (the
gate of every stage, then publish): the command exits 1 naming the failed check, nothing is
published, release 1 stays current, and the run is in ``audit.gate_result`` with sample bad
rows. A WARNING-only case publishes, the warning recorded with the release.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from tests.helpers import dbt, query
from tests.integration._ingest import ingest_small_province

pytestmark = pytest.mark.slow
SEED, DOSSIERS, YEARS = 13, 1200, (2016, 2017)
METHODOLOGY = "binh_dinh_2017"
RANK = ["rank", "--year", "2017", "--methodology", METHODOLOGY, "--skip-build"]


def _terminate(wh, dbname: str) -> None:
    """Close the connections GX's engine pool keeps, so the database can be a template."""
    with wh.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where datname = %s and pid <> pg_backend_pid()", (dbname,))


@pytest.fixture(scope="module")
def template(fresh_warehouse_module, tmp_path_factory):
    """The built and published province: (warehouse, id of release 1)."""
    from govkpi.pipeline import load_ranking_methodology, publish_ranking, ranking_gate

    wh = fresh_warehouse_module
    ingest_small_province(wh, SEED, DOSSIERS, YEARS, tmp_path_factory.mktemp("drop"))
    load_ranking_methodology(METHODOLOGY)
    dbt("build", "--exclude-resource-type", "test", "unit_test")
    gate = ranking_gate()
    assert gate["passed"], gate
    assert gate["critical"] == [], gate
    release = publish_ranking(2017, METHODOLOGY, gate)
    _terminate(wh, wh.dbname)
    return wh, release


@pytest.fixture
def copy(template, monkeypatch, tmp_path):
    """A copy of the template database, exported as the warehouse of this test."""
    from govkpi.warehouse import export_environment

    wh, release = template
    clone = wh.with_database(f"{wh.dbname}_c{uuid.uuid4().hex[:6]}")
    _terminate(wh, wh.dbname)
    with wh.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute(f'create database "{clone.dbname}" template "{wh.dbname}"')
    for key in clone.environment():
        monkeypatch.setenv(key, clone.environment()[key])
    export_environment(clone)
    monkeypatch.setenv("GOVKPI_REPORTS_DIR", str(tmp_path / "reports"))
    yield clone, release
    _terminate(clone, clone.dbname)
    clone.drop_database()


def _blocked(wh, release: int, capsys) -> tuple[str, list[dict]]:
    """Run the gate and publish; assert it was refused and release 1 is still current; return
    the error text and the failures of the blocked gate runs (audit.gate_result)."""
    from govkpi.cli import main

    before = query(wh, "select count(*) from published.ranking_release")
    assert main(RANK) == 1
    err = capsys.readouterr().err
    assert "BLOCKED" in err, err
    assert "nothing was published" in err, err
    assert query(wh, "select count(*) from published.ranking_release") == before
    assert query(wh, "select release_id from published.current_ranking_release "
                     "where year = 2017 and methodology_name = %s", (METHODOLOGY,)) == [(release,)]
    failures = [f for (fs,) in query(wh, "select failures from audit.gate_result where not "
                                         "passed and finished_at > now() - interval '1 hour'")
                for f in fs if f["severity"] == "critical"]
    return err, failures


def _cause(failures: list[dict], check: str, asset: str) -> dict:
    found = [f for f in failures if f["check"] == check and f["asset"] == asset]
    assert found, f"{check} on {asset} not among {[(f['check'], f['asset']) for f in failures]}"
    return found[0]


def _execute(wh, *statements: str) -> None:
    with wh.connect() as conn:
        for statement in statements:
            conn.execute(statement)


def test_the_clean_province_passes_every_stage(template):
    wh, release = template
    rows = query(wh, "select checkpoint, passed, critical_count, evaluated from "
                     "audit.gate_result order by gate_result_id")
    assert [r[0] for r in rows] == ["raw_gate", "staging_gate", "marts_gate", "ranking_gate"]
    assert all(passed and critical == 0 and evaluated > 0 for _, passed, critical, evaluated
               in rows), rows
    (gate,) = query(wh, "select gate_result from published.ranking_release "
                        "where release_id = %s", (release,))[0]
    assert gate["passed"] is True
    assert gate["checkpoints"] == ["raw_gate", "staging_gate", "marts_gate", "ranking_gate"]


def test_duplicate_keys_in_a_batch(copy, capsys):
    wh, release = copy
    _execute(wh, "insert into raw_onestop.hoso (record_key, source_updated_at, payload, "
                 "batch_id) select record_key, source_updated_at, payload, batch_id "
                 "from raw_onestop.hoso order by record_key limit 2")
    err, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "raw_key_unique_in_batch", "raw_onestop_hoso")
    assert cause["bad_rows"] == 2
    assert {row["copies"] for row in cause["sample"]} == {2}
    assert "raw_key_unique_in_batch on raw_onestop_hoso, 2 bad rows" in err


def test_a_rate_above_one(copy, capsys):
    wh, release = copy
    (unit,) = query(wh, "select min(unit_code) from marts.fct_dossier_resolution_unit_year "
                        "where os1a_denominator > 0")[0]
    _execute(wh, "update marts.fct_dossier_resolution_unit_year set os1a_on_time_rate = 1.5 "
                 f"where unit_code = '{unit}' and period_year = 2017")
    _err, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "kpi_rates_between_0_and_1", "fct_dossier_resolution_unit_year")
    assert cause["bad_rows"] == 1
    assert cause["sample"][0]["unit_code"] == unit
    assert float(cause["sample"][0]["os1a_on_time_rate"]) == 1.5


def test_a_missing_unit(copy, capsys):
    wh, release = copy
    (unit,) = query(wh, "select min(unit_code) from marts.fct_document_processing_unit_year")[0]
    _execute(wh, "delete from marts.fct_document_processing_unit_year "
                 f"where unit_code = '{unit}' and period_year = 2017")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "kpi_every_unit_present", "fct_document_processing_unit_year")
    assert cause["sample"] == [{"unit_code": unit, "period_start": "2017-01-01"}]
    # the province total no longer equals the sum of the units either
    _cause(failures, "kpi_units_sum_to_province", "fct_document_processing_unit_year")


def test_a_stale_source(copy, capsys):
    wh, release = copy
    _execute(wh, "update audit.load_batch set finished_at = now() - interval '5 days', "
                 "started_at = now() - interval '5 days' where source_system = 'eoffice'")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "raw_feed_fresh", "raw_load_batches")
    assert [(r["source_system"], r["endpoint"]) for r in cause["sample"]] == [
        ("eoffice", "documents")]
    assert float(cause["sample"][0]["max_age_hours"]) == 48


def test_a_volume_drop(copy, capsys):
    """The one-stop feed's next full load brings 3 dossiers where the last brought all."""
    wh, release = copy
    _execute(wh, "insert into audit.load_batch (source_system, endpoint, status, finished_at, "
                 "received_count, loaded_count) values ('onestop', 'hoso', 'succeeded', now(), "
                 "3, 3)")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "raw_feed_volume_drop", "raw_load_batches")
    (row,) = cause["sample"]
    assert (row["endpoint"], row["load_kind"], row["received_count"]) == ("hoso", "full", 3)
    assert row["previous_received_count"] > 1000


def test_due_before_received(copy, capsys):
    """The newest version of a dossier says it was due the day before it was received."""
    wh, release = copy
    (code,) = query(wh, "select min(dossier_code) from staging.stg_onestop__dossiers")[0]
    _execute(wh, f"""
        insert into raw_onestop.hoso (record_key, source_updated_at, payload, batch_id)
        select record_key, source_updated_at + interval '1 second',
               jsonb_set(payload, '{{NgayHenTra}}',
                         to_jsonb(((payload ->> 'NgayTiepNhan')::timestamptz
                                   - interval '1 day')::text)),
               batch_id
        from raw_onestop.hoso where record_key = '{code}'
        order by source_updated_at desc limit 1
    """)
    # staged (the staged dossiers are a table; the version went into an old batch, below the
    # incremental cursor, hence a rebuild)
    dbt("run", "--select", "stg_onestop__dossiers", "--full-refresh")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "dossier_records_valid", "stg_onestop__dossiers")
    assert [(r["dossier_code"], r["problems"]) for r in cause["sample"]] == [
        (code, "due_before_received")]


def test_a_tier_that_contradicts_the_score(copy, capsys):
    wh, release = copy
    (unit,) = query(wh, "select unit_code from marts.fct_ranking_unit where period_year = 2017 "
                        "and period_grain = 'year' and tier_key = 'tot' order by 1 limit 1")[0]
    _execute(wh, "update marts.fct_ranking_unit set tier_key = 'yeu' where period_year = 2017 "
                 f"and period_grain = 'year' and unit_code = '{unit}'")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "ranking_tier_matches_share", "fct_ranking_unit")
    assert [(r["unit_code"], r["tier_key"], r["expected_tier"]) for r in cause["sample"]] == [
        (unit, "yeu", "tot")]


def test_a_score_above_its_maximum(copy, capsys):
    """A unit's total above its maximum (a criterion's own points cannot be: the mart's
    contract refuses them, so the gate checks the totals the contract does not cover)."""
    wh, release = copy
    (unit,) = query(wh, "select min(unit_code) from marts.fct_ranking_unit where "
                        "period_year = 2017 and period_grain = 'year' and is_assessed")[0]
    _execute(wh, "update marts.fct_ranking_unit set total_points = max_points + 10 "
                 f"where period_year = 2017 and period_grain = 'year' and unit_code = '{unit}'")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "ranking_total_within_max", "fct_ranking_unit")
    assert [r["unit_code"] for r in cause["sample"]] == [unit]
    assert float(cause["sample"][0]["total_points"]) == float(
        cause["sample"][0]["max_points"]) + 10


def test_a_check_that_cannot_run_blocks(copy, capsys):
    """A mart that is missing is not a pass: the check could not run, which is CRITICAL."""
    wh, release = copy
    _execute(wh, "drop table marts.fct_online_service_province_year cascade")
    _, failures = _blocked(wh, release, capsys)
    cause = _cause(failures, "kpi_key_unique", "fct_online_service_province_year")
    assert cause["bad_rows"] is None
    assert cause["description"].startswith("the check could not run")


def test_a_warning_alone_publishes_and_is_recorded(copy, capsys):
    """A feed that suddenly sends twice its previous volume is reported, not blocked."""
    from govkpi.cli import main

    wh, release = copy
    (received,) = query(wh, "select received_count from audit.load_batch where source_system ="
                            " 'onestop' and endpoint = 'hoso' and status = 'succeeded'")[0]
    _execute(wh, "insert into audit.load_batch (source_system, endpoint, status, finished_at, "
                 "received_count, loaded_count) values ('onestop', 'hoso', 'succeeded', now(), "
                 f"{received * 2}, {received * 2})")
    assert main(RANK) == 0, capsys.readouterr().err
    ((new, gate),) = query(wh, "select release_id, gate_result from "
                               "published.current_ranking_release where year = 2017")
    assert new != release
    assert gate["passed"] is True
    assert gate["critical"] == []
    assert any("raw_feed_volume_spike on raw_load_batches" in w for w in gate["warnings"]), gate
    (warned,) = query(wh, "select warning_count from audit.gate_result where checkpoint = "
                          "'raw_gate' order by gate_result_id desc limit 1")[0]
    assert warned == 1


def test_settings_come_from_the_environment(copy, capsys, monkeypatch):
    """A looser freshness threshold lets a 5-day-old feed through; a bad value is refused."""
    from govkpi.quality.gate import gate_settings

    wh, _ = copy
    _execute(wh, "update audit.load_batch set finished_at = now() - interval '5 days' "
                 "where source_system = 'eoffice'")
    monkeypatch.setenv("GOVKPI_GATE_MAX_AGE_HOURS", "168")
    from govkpi.pipeline import run_stage_gate

    assert run_stage_gate("raw").passed
    assert query(wh, "select value from audit.gate_setting where name = 'max_age_hours'") == [
        (168,)]
    monkeypatch.setenv("GOVKPI_GATE_VOLUME_SHARE", "half")
    with pytest.raises(ValueError, match="GOVKPI_GATE_VOLUME_SHARE='half' is not a number"):
        gate_settings()


def test_the_report_of_the_last_good_release_shows_the_blocked_run(copy, capsys):
    from govkpi.pipeline import report_blocked_run

    wh, release = copy
    _execute(wh, "update marts.fct_ranking_unit set rank_in_group = rank_in_group + 1 "
                 "where period_year = 2017 and period_grain = 'year' and is_assessed")
    _blocked(wh, release, capsys)
    paths = report_blocked_run(2017, METHODOLOGY)
    assert paths["release_id"] == release
    html = Path(paths["html"]).read_text(encoding="utf-8")
    assert "Các lần kiểm tra sau bản công bố này bị chặn" in html
    assert "ranking_gate chặn công bố" in html
    assert "ranking_rank_matches_share — fct_ranking_unit" in html
    assert dt.date.today().strftime("%Y") in html
