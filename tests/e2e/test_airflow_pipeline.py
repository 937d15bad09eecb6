"""End to end through Airflow: dag.test() of the four ingest DAGs (the three systems of a
simulated province and its self-assessment spreadsheets, each system's extracts in its pool) and
kpi_refresh as of the simulated now (it closes 2017-Q4), the audit counts reconciled with what
the simulator serves, then the GX gate on the mart it built — passing, warning, and blocking."""

from __future__ import annotations

import os
import re

import pytest

from govkpi.simulator import SimulatedProvince, generate_world
from govkpi.simulator.assessments import generate_returns
from tests.helpers import query
from tests.integration._ingest import ENDPOINTS, checksum, latest_loaded, served

pytestmark = pytest.mark.slow
DOSSIERS = 1500
SEED = 5
RETURNS_YEAR = 2017


@pytest.fixture(scope="module")
def pipeline(fresh_warehouse_module, airflow_db, tmp_path_factory):
    from govkpi.airflow_env import run_dag

    wh = fresh_warehouse_module
    world = generate_world(seed=SEED, dossiers=DOSSIERS)
    drop = tmp_path_factory.mktemp("drop")
    with SimulatedProvince(seed=SEED, world=world) as province:
        os.environ.update(province.environment())
        ingest = {d: run_dag(d) for d in ("ingest_onestop", "ingest_eoffice", "ingest_dvc")}
        expected = {ep: served(province, *ep) for ep in ENDPOINTS}
    returns = generate_returns(world, RETURNS_YEAR, drop, SEED, mess_rate=0.05)
    ingest["ingest_assessments"] = run_dag("ingest_assessments", conf={
        "drop_dir": str(drop), "year": RETURNS_YEAR})
    # as of the simulated now (15 January 2018, 08:00 in Vietnam), as an Asset-triggered run
    refresh = run_dag("kpi_refresh", run_after=world.default_as_of)
    return wh, world, ingest, refresh, expected, returns


def test_each_system_s_extracts_ran_in_its_pool(pipeline):
    from airflow.models.pool import Pool

    from govkpi.dag_defaults import SOURCE_POOLS

    _, _, ingest, *_ = pipeline
    pools = {pool.pool: pool.slots for pool in Pool.get_pools()}
    for system, pool in SOURCE_POOLS.items():
        assert pools[pool.name] == pool.slots, pool.name  # created by the setup (airflow_db)
        tis = ingest[f"ingest_{system}"].get_task_instances()
        assert {(ti.pool, ti.state) for ti in tis} == {(pool.name, "success")}, system
    assert {ti.pool for ti in ingest["ingest_assessments"].get_task_instances()} == {
        "default_pool"}


def test_ingest_loaded_every_record_once(pipeline):
    wh, world, *_ = pipeline
    rows = query(wh, "select endpoint, received_count, loaded_count, quarantined_count, status "
                 "from audit.load_batch where source_system = 'onestop' order by batch_id")
    expected = {"donvi": len(world.units_as_of()), "thutuc": len(world.procedures_as_of()),
                "hoso": len(world.dossiers_as_of())}
    assert {r[0]: r[1:] for r in rows} == {
        k: (n, n, 0, "succeeded") for k, n in expected.items()}
    assert query(wh, "select count(distinct dossier_code) from staging.stg_onestop__dossiers") \
        == [(expected["hoso"],)]


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e[0] != "onestop"],
                         ids=lambda e: ".".join(e))
def test_eoffice_and_portal_dags_reconcile_with_the_source(pipeline, endpoint):
    """Through Airflow, after the one-stop: every record the simulator serves as of T is loaded
    once (payments find their dossiers), and the audit batch says so."""
    wh, _, _, _, expected, _ = pipeline
    source = expected[endpoint]
    assert source
    rows = query(wh, "select received_count, loaded_count, quarantined_count, duplicate_count, "
                 "status from audit.load_batch where source_system = %s and endpoint = %s",
                 endpoint)
    assert rows == [(len(source), len(source), 0, 0, "succeeded")]
    loaded = latest_loaded(wh, *endpoint)
    assert loaded.keys() == source.keys()
    assert checksum(loaded.items()) == checksum((k, t) for k, (t, _) in source.items())


def test_each_ingest_task_returned_its_batch_counts(pipeline):
    _, _, ingest, *_ = pipeline
    run = ingest["ingest_dvc"]
    xcoms = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    assert set(xcoms) == {f"extract_load_{e}" for s, e in ENDPOINTS if s == "dvc"}
    for counts in xcoms.values():
        assert counts["received"] == counts["loaded"] + counts["quarantined"] > 0


def test_assessment_returns_loaded_through_airflow(pipeline):
    """The simulator's mess in the spreadsheets is quarantined, the good rows load, and the
    batch reconciles (received = loaded + quarantined)."""
    wh, *_, returns = pipeline
    ((batch, received, loaded, quarantined, status),) = query(
        wh, "select batch_id, received_count, loaded_count, quarantined_count, status "
            "from audit.load_batch where source_system = 'files'")
    assert status == "succeeded"
    assert received == loaded + quarantined
    assert quarantined > 0  # mess on: at least the one unreadable file
    assert query(wh, "select count(*) from raw_files.assessment_returns where batch_id = %s",
                 (batch,)) == [(loaded,)]
    assert query(wh, "select count(*) from audit.quarantine where batch_id = %s",
                 (batch,)) == [(quarantined,)]
    units = query(wh, "select count(distinct payload->>'ma_don_vi') "
                      "from raw_files.assessment_returns")[0][0]
    assert units == len(returns) - 1  # every return but the corrupt one has good rows


def test_kpi_refresh_built_the_fact_for_every_unit_and_year(pipeline):
    wh, world, *_ = pipeline
    units = sum(1 for u in world.units_as_of() if u["CapDonVi"] in (2, 3, 4))
    rows = query(wh, "select period_year, count(*), sum(received_count), sum(finished_count) "
                 "from marts.fct_dossier_resolution_unit_year group by 1 order by 1")
    assert [(y, n) for y, n, *_ in rows] == [(2016, units), (2017, units)]
    received = {y: r for y, _, r, _ in rows}
    by_year = {2016: 0, 2017: 0}
    for d in world.dossiers_as_of():
        by_year[int(d["NgayTiepNhan"][:4])] += 1
    assert received == by_year
    province = query(wh, "select sum(os1a_numerator)::numeric / sum(os1a_denominator) "
                     "from marts.fct_dossier_resolution_unit_year where period_year = 2017")
    assert 0.5 < province[0][0] < 1  # a plausible province on-time rate


def test_kpi_refresh_ran_the_gate_of_each_stage(pipeline):
    wh, _, _, refresh, *_ = pipeline
    states = {ti.task_id: ti.state for ti in refresh.get_task_instances()}
    for stage in ("raw", "staging", "marts"):
        assert states[f"quality_gate_{stage}"] == "success", stage
    rows = query(wh, "select checkpoint, passed, critical_count, run_context ->> 'dag_id' "
                     "from audit.gate_result order by gate_result_id")
    assert sorted(r[0] for r in rows) == ["marts_gate", "raw_gate", "staging_gate"]
    assert all(passed and critical == 0 and dag == "kpi_refresh"
               for _, passed, critical, dag in rows), rows


QUARTER_FACTS = ("fct_dossier_resolution_unit_quarter", "fct_dossier_resolution_province_quarter",
                 "fct_document_processing_unit_quarter", "fct_document_processing_province_quarter",
                 "fct_online_service_unit_quarter", "fct_online_service_province_quarter")


def test_kpi_refresh_closed_the_last_quarter_before_the_simulated_now(pipeline):
    """As of 15 January 2018 the last quarter that had ended is 2017-Q4: the run found it, the
    marts hold it on the same days, and audit.kpi_refresh_quarter records the run with the
    quarter's row counts and province figures."""
    from govkpi.airflow_env import task_result

    wh, world, _, refresh, *_ = pipeline
    quarter = task_result(refresh, "quarter_bounds")
    assert (quarter["label"], quarter["start"], quarter["end"], quarter["source"]) == (
        "2017-Q4", "2017-10-01", "2017-12-31", "run")
    ((dag_id, run_id, label, start, end, source, fact_rows, province),) = query(
        wh, "select dag_id, run_id, quarter_label, quarter_start::text, quarter_end::text, "
            "quarter_source, fact_rows, province from audit.kpi_refresh_quarter")
    assert (dag_id, run_id, label, start, end, source) == (
        "kpi_refresh", refresh.run_id, "2017-Q4", "2017-10-01", "2017-12-31", "run")
    assert set(fact_rows) == set(QUARTER_FACTS)
    for fact in QUARTER_FACTS:
        assert fact_rows[fact] == query(
            wh, f"select count(*) from marts.{fact} where period_start = '2017-10-01' "
                "and period_end = '2017-12-31'")[0][0], fact
    assert all(fact_rows[f] == 1 for f in QUARTER_FACTS if "province" in f), fact_rows
    assert fact_rows["fct_dossier_resolution_unit_quarter"] > 1
    # the simulator's dossiers received in October–December 2017, Vietnamese time
    received = sum(1 for d in world.dossiers_as_of()
                   if d["NgayTiepNhan"][:7] in ("2017-10", "2017-11", "2017-12"))
    assert received > 0
    assert province["received_count"] == received
    assert 0 < province["os1a_on_time_rate"] <= 1
    assert province["document_count"] > 0
    assert task_result(refresh, "close_quarter")["province"] == province


def test_a_quarter_the_marts_lack_is_not_closed(pipeline):
    from govkpi.pipeline import close_kpi_quarter, kpi_refresh_quarter
    from govkpi.quarter_close import QuarterNotInMarts

    wh, *_ = pipeline
    before = query(wh, "select count(*) from audit.kpi_refresh_quarter")
    quarter = kpi_refresh_quarter({"quarter": "2019-Q2"}, None)  # after the simulated now
    with pytest.raises(QuarterNotInMarts) as caught:
        close_kpi_quarter(quarter, {"dag_id": "kpi_refresh", "run_id": "manual__test"})
    message = str(caught.value)
    assert message.startswith("cannot close 2019-Q2 (2019-04-01 – 2019-06-30): ")
    for fact in QUARTER_FACTS:
        if "province" in fact:
            assert f"marts.{fact} has no row for 2019-Q2 (it holds " in message, message
    assert re.search(r"fct_dossier_resolution_province_quarter has no row for 2019-Q2 "
                     r"\(it holds 2016-01-01 … 201[78]-\d\d-01\)", message), message
    assert "give the run a quarter the data covers (param quarter)" in message
    assert query(wh, "select count(*) from audit.kpi_refresh_quarter") == before


def test_gate_passes_warns_and_blocks(pipeline):
    from govkpi.pipeline import run_stage_gate

    wh, *_ = pipeline
    clean = run_stage_gate("marts")
    assert clean.passed, clean.summary()
    assert clean.critical == [], clean.summary()
    assert {f.check for f in clean.warnings} <= {"kpi_late_share_high"}
    late_before = sum(f.bad_rows for f in clean.warnings)

    with wh.connect() as conn:  # WARNING only: a late rate above 50 % is reported, not blocked
        conn.execute("update marts.fct_dossier_resolution_unit_year set os2_late_rate = 0.8 "
                     "where (unit_code, period_year) = (select unit_code, period_year from "
                     "marts.fct_dossier_resolution_unit_year where os2_late_rate <= 0.5 "
                     "order by 1, 2 limit 1)")
    warned = run_stage_gate("marts")
    assert warned.passed, warned.summary()
    assert warned.critical == []
    assert [(f.check, f.asset) for f in warned.warnings] == [
        ("kpi_late_share_high", "fct_dossier_resolution_unit_year")]
    assert warned.warnings[0].bad_rows == late_before + 1

    with wh.connect() as conn:  # CRITICAL: a rate above 1 and a numerator above its denominator
        conn.execute("update marts.fct_dossier_resolution_unit_year set os1a_on_time_rate = 1.5 "
                     "where period_year = 2017 and os1a_denominator > 0 and unit_code = "
                     "(select min(unit_code) from marts.fct_dossier_resolution_unit_year "
                     "where os1a_denominator > 0)")
        conn.execute("update marts.fct_dossier_resolution_unit_year "
                     "set os2_numerator = os2_denominator + 1 where period_year = 2016")
    blocked = run_stage_gate("marts")
    assert not blocked.passed
    causes = {f.check: f for f in blocked.critical
              if f.asset == "fct_dossier_resolution_unit_year"}
    assert {"kpi_rates_between_0_and_1", "kpi_numerator_within_denominator",
            "kpi_units_sum_to_province"} <= set(causes), blocked.summary()
    rate = causes["kpi_rates_between_0_and_1"]
    assert rate.bad_rows == 1
    assert float(rate.sample[0]["os1a_on_time_rate"]) == 1.5
    assert causes["kpi_numerator_within_denominator"].bad_rows == query(
        wh, "select count(*) from marts.fct_dossier_resolution_unit_year "
            "where period_year = 2016")[0][0]
    assert "BLOCKED" in blocked.summary()
    assert query(wh, "select passed, critical_count >= 3 from audit.gate_result "
                     "order by gate_result_id desc limit 1") == [(False, True)]
