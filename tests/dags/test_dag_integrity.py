"""Team policy as tests: every DAG file imports, is cheap to parse and is properly described."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest

from govkpi import config

DAG_FILES = sorted(p.name for p in config.DAGS_DIR.glob("*.py"))
PARSE_BUDGET_SECONDS = 2.0
INGEST_DAGS = {"ingest_onestop": "onestop", "ingest_eoffice": "eoffice", "ingest_dvc": "dvc"}
EXPECTED_DAGS = {*INGEST_DAGS, "ingest_assessments", "kpi_refresh", "annual_ranking"}
RANKING_MODELS = ("int_qd766_indicators", "int_ranking_inputs", "fct_ranking_indicator_score",
                  "fct_ranking_group_score", "fct_ranking_unit", "fct_ranking_tier_distribution")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(config.DAGS_DIR))


def test_dag_files_exist():
    # one file per DAG, named after it: run_dag() and dag.test() load dags/<dag_id>.py
    assert {f"{d}.py" for d in EXPECTED_DAGS} <= set(DAG_FILES)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) >= EXPECTED_DAGS


def test_each_file_parses_within_budget(dagbag):
    stats = {os.path.basename(s.file): s.duration.total_seconds() for s in dagbag.dagbag_stats}
    assert set(stats) == set(DAG_FILES)
    slow = {f: t for f, t in stats.items() if t >= PARSE_BUDGET_SECONDS}
    assert not slow, f"DAG files over the {PARSE_BUDGET_SECONDS}s parse budget: {slow}"


def test_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.owner not in ("", "airflow"), f"{dag_id}: set an owner"
        assert "govkpi" in dag.tags, f"{dag_id}: tag it govkpi"
        assert len(dag.doc_md or "") > 80, f"{dag_id}: describe it in doc_md"
        assert dag.max_active_runs == 1, f"{dag_id}: one run at a time"
        assert dag.catchup is False, f"{dag_id}: no implicit catch-up"
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag_id}.{t.task_id}: needs retries"
            assert t.execution_timeout is not None, f"{dag_id}.{t.task_id}: needs a timeout"


def test_kpi_refresh_renders_dbt_models_then_the_gate(dagbag):
    dag = dagbag.dags["kpi_refresh"]
    ids = set(dag.task_ids)
    assert any("fct_dossier_resolution_unit_year" in t for t in ids)
    assert any("int_dossiers_classified_by_deadline" in t for t in ids)
    for stage in ("raw", "staging", "marts"):
        gate = dag.get_task(f"quality_gate_{stage}")
        upstream = gate.get_flat_relative_ids(upstream=True)
        assert any("fct_dossier_resolution_unit_year" in t for t in upstream), stage
        assert gate.downstream_task_ids == set(), stage
    assert "quality_gate_ranking" not in dag.task_ids  # annual_ranking's


def test_kpi_refresh_leaves_the_ranking_to_annual_ranking(dagbag):
    dag = dagbag.dags["kpi_refresh"]
    built = {t.removeprefix("dbt_build.").removesuffix("_model_build") for t in dag.task_ids}
    assert not built & set(RANKING_MODELS)
    # Cosmos still renders a test of a ranking model and dim_unit (one parent is in the
    # render); the exclude it forwards to dbt selects it away, so the task runs nothing
    for task in dag.tasks:
        if "fct_ranking" in task.task_id:
            assert task.task_id.endswith("_test"), task.task_id
            assert "tag:ranking+" in task.exclude.split(), task.task_id


def test_annual_ranking_wiring(dagbag):
    dag = dagbag.dags["annual_ranking"]
    dbt_tasks = {t for t in dag.task_ids if t.startswith("dbt_ranking.")}
    models = {t.removeprefix("dbt_ranking.").removesuffix("_model_build") for t in dbt_tasks
              if t.endswith("_model_build")}
    assert models == set(RANKING_MODELS)  # the ranking models only: the KPI marts are kpi_refresh's
    gates = {f"quality_gate_{s}" for s in ("raw", "staging", "marts", "ranking")}
    assert set(dag.task_ids) - dbt_tasks == {"load_methodology", *gates, "publish_release",
                                             "render_report", "report_last_good_release"}
    first = dag.get_task("dbt_ranking.int_qd766_indicators_model_build")
    assert first.upstream_task_ids == {"load_methodology"}
    for name in gates:  # every stage is checked after the ranking models are built
        gate = dag.get_task(name)
        assert "dbt_ranking.fct_ranking_tier_distribution_model_build" in gate.upstream_task_ids
        assert dbt_tasks >= gate.upstream_task_ids
    assert dag.get_task("publish_release").upstream_task_ids == {"load_methodology", *gates}
    assert "publish_release" in dag.get_task("render_report").upstream_task_ids
    blocked = dag.get_task("report_last_good_release")
    assert blocked.trigger_rule == "one_failed"
    assert blocked.upstream_task_ids == {"load_methodology", *gates}


def test_every_task_alerts_on_failure(dagbag):
    from govkpi.alerts import task_failure_alert

    for dag in dagbag.dags.values():
        if dag.dag_id not in ("kpi_refresh", "annual_ranking"):
            continue
        for t in dag.tasks:
            callbacks = t.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert task_failure_alert in callbacks, f"{dag.dag_id}.{t.task_id}"


def test_annual_ranking_runs_on_15_january_in_vietnam_with_params(dagbag):
    from govkpi.pipeline import methodology_names

    dag = dagbag.dags["annual_ranking"]
    assert dag.timetable.expression == "0 6 15 1 *"
    assert str(dag.timetable.timezone) == "Asia/Ho_Chi_Minh"
    assert dict(dag.params) == {"year": None, "methodology": "binh_dinh_2017"}
    assert dag.params.get_param("methodology").schema["enum"] == methodology_names()
    assert {"binh_dinh_2017", "qd766"} <= set(methodology_names())


def test_ranking_request_defaults_and_checks():
    import datetime as dt

    from govkpi.errors import ConfigError
    from govkpi.pipeline import ranking_request

    # the scheduled run of 15 January 2018, 06:00 in Vietnam = 14 January 23:00 UTC: 2017
    scheduled = dt.datetime(2018, 1, 14, 23, 0, tzinfo=dt.UTC)
    assert ranking_request({}, scheduled) == {"year": 2017, "methodology": "binh_dinh_2017"}
    # 31 December 2017, 18:00 UTC is already 1 January 2018 in Vietnam
    assert ranking_request({"year": None}, dt.datetime(2017, 12, 31, 18, tzinfo=dt.UTC)) == {
        "year": 2017, "methodology": "binh_dinh_2017"}
    assert ranking_request({"year": 2016, "methodology": "qd766"}, scheduled) == {
        "year": 2016, "methodology": "qd766"}
    with pytest.raises(ConfigError, match=r"unknown methodology 'nope': choose one of .*qd766"):
        ranking_request({"methodology": "nope"}, scheduled)


@pytest.mark.parametrize("dag_id", sorted(INGEST_DAGS))
def test_ingest_has_one_task_per_endpoint_in_load_order(dagbag, dag_id):
    from govkpi.sources.systems import SYSTEMS

    dag = dagbag.dags[dag_id]
    endpoints = list(SYSTEMS[INGEST_DAGS[dag_id]].endpoints)  # the one place for load order
    task_ids = [f"extract_load_{e}" for e in endpoints]
    assert sorted(dag.task_ids) == sorted(task_ids)
    for before, after in itertools.pairwise(task_ids):
        assert dag.get_task(after).upstream_task_ids == {before}, (before, after)


@pytest.mark.parametrize("dag_id", sorted(INGEST_DAGS))
def test_ingest_emits_one_asset_per_raw_table(dagbag, dag_id):
    from govkpi.sources.systems import SYSTEMS

    system = INGEST_DAGS[dag_id]
    dag = dagbag.dags[dag_id]
    for endpoint in SYSTEMS[system].endpoints:
        task = dag.get_task(f"extract_load_{endpoint}")
        assert [o.uri for o in task.outlets] == [
            f"govkpi://warehouse/raw_{system}/{endpoint}"]


@pytest.mark.parametrize("dag_id", sorted(INGEST_DAGS))
def test_ingest_takes_backfill_params(dagbag, dag_id):
    params = dagbag.dags[dag_id].params
    assert dict(params) == {"mode": "incremental", "window_from": None, "window_to": None}
    assert params.get_param("mode").schema["enum"] == ["incremental", "backfill", "full"]


def _daily_local_minute(dag) -> int:
    timetable = getattr(dag.timetable, "timetable", dag.timetable)  # AssetOrTimeSchedule
    assert str(timetable.timezone) == "Asia/Ho_Chi_Minh", dag.dag_id
    minute, hour, *rest = timetable.expression.split()
    assert rest == ["*", "*", "*"], f"{dag.dag_id}: not daily ({timetable.expression})"
    return int(hour) * 60 + int(minute)


def test_ingests_run_daily_in_vietnam_and_after_the_one_stop(dagbag):
    """The portal's payments and the e-office documents reference one-stop dossiers and units:
    the loader quarantines references it has not seen, so one-stop must land first."""
    at = {d: _daily_local_minute(dagbag.dags[d]) for d in (*INGEST_DAGS, "ingest_assessments")}
    assert at["ingest_onestop"] < at["ingest_eoffice"] < at["ingest_dvc"]
    assert at["ingest_dvc"] - at["ingest_onestop"] >= 30


def test_portal_ingest_also_runs_when_the_one_stop_dossiers_land(dagbag):
    condition = dagbag.dags["ingest_dvc"].timetable.asset_condition
    assert [a.uri for a in condition.objects] == ["govkpi://warehouse/raw_onestop/hoso"]


def test_assessments_check_the_drop_folder_then_load(dagbag):
    dag = dagbag.dags["ingest_assessments"]
    assert dict(dag.params) == {"year": None, "drop_dir": None}
    load = dag.get_task("load_assessment_returns")
    assert [o.uri for o in load.outlets] == ["govkpi://warehouse/raw_files/assessment_returns"]
    assert load.upstream_task_ids == {"returns_in_drop_folder"}
    assert dag.get_task("returns_in_drop_folder").outlets == []


def test_kpi_refresh_runs_on_the_raw_dossiers(dagbag):
    dag = dagbag.dags["kpi_refresh"]
    assert {a.uri for a in dag.timetable.asset_condition.objects} == {
        "govkpi://warehouse/raw_onestop/hoso"}


def test_the_drop_folder_check(tmp_path, monkeypatch):
    from govkpi.pipeline import drop_folder, waiting_returns

    monkeypatch.setenv("GOVKPI_DROP_DIR", str(tmp_path))
    assert drop_folder({}) == tmp_path
    assert drop_folder({"drop_dir": "/elsewhere"}).as_posix() == "/elsewhere"
    assert waiting_returns({}) == []
    (tmp_path / "2017").mkdir()
    (tmp_path / "2017" / "notes.txt").write_text("not a return")
    (tmp_path / "2017" / "30001.XLSX").write_bytes(b"")
    (tmp_path / "2017" / "~$30001.xlsx").write_bytes(b"")  # Excel's lock file
    (tmp_path / "2016").mkdir()
    (tmp_path / "2016" / "30001.csv").write_text("")
    assert [p.rsplit("/", 2)[-2:] for p in waiting_returns({})] == [
        ["2016", "30001.csv"], ["2017", "30001.XLSX"]]
    assert len(waiting_returns({"year": 2017})) == 1
    assert waiting_returns({"year": 2015}) == []


@pytest.mark.parametrize("dag_file", DAG_FILES)
def test_no_database_or_network_at_import(dag_file, tmp_path):
    """Importing a DAG file with an unreachable warehouse and no sources must still work."""
    env = {**os.environ, "GOVKPI_WAREHOUSE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "GOVKPI_ONESTOP_URL": "http://127.0.0.1:1", "GOVKPI_EOFFICE_URL": "http://127.0.0.1:1",
           "GOVKPI_DVC_URL": "http://127.0.0.1:1", "GOVKPI_DROP_DIR": str(tmp_path / "none")}
    code = ("import runpy, sys; sys.modules.pop('govkpi.warehouse', None);"
            f"runpy.run_path({str(config.DAGS_DIR / dag_file)!r});"
            "assert 'psycopg' not in sys.modules, 'psycopg imported at parse time'")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
