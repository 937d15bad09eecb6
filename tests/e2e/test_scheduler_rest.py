"""annual_ranking through a real Airflow: ``api-server``, ``scheduler`` (LocalExecutor) and
``dag-processor`` as subprocesses on a PostgreSQL metadata DB of their own, the run triggered
through the REST API v2 as an operator's script would, the release checked in the warehouse.

The other DAG tests use ``dag.test()``, which runs every task inside the test process. This one
checks what only the deployed shape does: the dag-processor serializes the DAG files, the
scheduler queues the tasks, each task runs in a worker process that talks to the api-server's
execution API, and the warehouse connection reaches Cosmos' dbt profile through the services'
environment. A small province keeps it to a few minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest

from govkpi import airflow_local
from tests.helpers import dbt, query
from tests.integration._ingest import ingest_small_province

# the services, the ingest and the run share one budget above pytest's default 900 s per test
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
SEED = 11
DOSSIERS = 1500
YEARS = (2016, 2017)
DAG_ID = "annual_ranking"
CONF = {"year": 2017, "methodology": "binh_dinh_2017"}
RUN_TIMEOUT_SECONDS = 900


@pytest.fixture(scope="module")
def metadata_db(server):
    """A PostgreSQL database for Airflow's metadata, dropped afterwards."""
    from psycopg import sql

    db = server.with_database(f"govkpi_af_{os.getpid()}")
    db.drop_database()
    with server.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(db.dbname)))
    yield db
    db.drop_database()


@pytest.fixture(scope="module")
def services(fresh_warehouse_module, metadata_db, tmp_path_factory):
    """The three services, started (not yet waited for: they boot while the province loads)
    with the environment of the module's warehouse; always stopped afterwards."""
    home = tmp_path_factory.mktemp("airflow-services")
    reports = tmp_path_factory.mktemp("reports")
    env = {**os.environ,
           **airflow_local.services_environment(home, metadata=metadata_db,
                                                port=airflow_local.free_port()),
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # diagnosable logs if the run fails
           "GOVKPI_REPORTS_DIR": str(reports)}
    started = time.monotonic()
    airflow_local.migrate_metadata(env)
    print(f"airflow db migrate: {time.monotonic() - started:.0f}s")
    password = airflow_local.admin_password(home)
    running = airflow_local.AirflowServices(env)
    try:
        running.start()
        yield running, password, reports
    finally:
        running.stop()


@pytest.fixture(scope="module")
def province_marts(services, fresh_warehouse_module, tmp_path_factory):
    """Raw data and returns of a small province with its KPI marts built (what the ingest DAGs
    and kpi_refresh leave behind; those run through Airflow in test_airflow_pipeline.py)."""
    wh = fresh_warehouse_module
    started = time.monotonic()
    ingest_small_province(wh, SEED, DOSSIERS, YEARS, tmp_path_factory.mktemp("drop"))
    dbt("build", "--exclude", "tag:ranking", "--exclude-resource-type", "test", "unit_test")
    print(f"province loaded and KPI marts built: {time.monotonic() - started:.0f}s")
    return wh


def due_logical_date(dag: dict) -> dt.datetime:
    """The logical date to trigger with: the slot the timetable is due to fill, if it is past.

    Unpausing a DAG whose last cron slot has passed makes the scheduler create that scheduled
    run (here 15 January, ranking the previous year: no data) and, with max_active_runs=1, ours
    would queue behind it. A run that already has the slot's logical date makes the scheduler
    skip it and move on to the next slot; a logical date before the DAG's start_date would
    create no task instances at all."""
    now = dt.datetime.now(dt.UTC)
    due = dag.get("next_dagrun_logical_date")
    if due:
        moment = dt.datetime.fromisoformat(due.replace("Z", "+00:00"))
        if moment <= now:
            return moment
    return now


def timeline(instances: dict[str, dict]) -> str:
    """One line per task: seconds queued after the first task was queued, then seconds run."""
    def when(value):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    queued = [when(ti.get("queued_when")) for ti in instances.values() if ti.get("queued_when")]
    first = min(queued) if queued else None
    lines = []
    for task_id, ti in sorted(instances.items(), key=lambda i: i[1].get("start_date") or ""):
        start, end, q = when(ti.get("start_date")), when(ti.get("end_date")), when(
            ti.get("queued_when"))
        lines.append(f"  {task_id}: {ti['state']}, queued +{(q - first).total_seconds():.0f}s, "
                     f"ran {(end - start).total_seconds():.0f}s" if start and end and q and first
                     else f"  {task_id}: {ti['state']}")
    return "tasks:\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def scheduled_run(services, province_marts):
    running, password, reports = services
    started = time.monotonic()
    health = running.wait_healthy(timeout=300)
    print(f"services healthy after a further {time.monotonic() - started:.0f}s: {health}")
    with airflow_local.AirflowApi(running.base_url, airflow_local.ADMIN_USER, password) as api:
        dag = api.wait_for_dag(DAG_ID, timeout=180, services=running)
        assert dag["is_paused"] is True  # new DAGs are paused until someone unpauses them
        run_id = f"e2e_rest_{os.getpid()}"
        # trigger first, then unpause: see due_logical_date()
        run = api.trigger(DAG_ID, CONF, logical_date=due_logical_date(dag), run_id=run_id)
        assert api.set_paused(DAG_ID, False)["is_paused"] is False
        started = time.monotonic()
        run = api.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT_SECONDS, services=running)
        print(f"run {run_id}: {run['state']} after {time.monotonic() - started:.0f}s")
        instances = api.task_instances(DAG_ID, run_id)
        states = {t: ti["state"] for t, ti in instances.items()}
        print(timeline(instances))
        runs = api.request("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        report = None
        if run["state"] == "success":
            report = api.request("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/"
                                        "render_report/xcomEntries/return_value")["value"]
            report = json.loads(report) if isinstance(report, str) else report
    diagnosis = ""
    if run["state"] != "success":
        failed = [t for t, s in states.items() if s not in ("success", "skipped")]
        diagnosis = "\n".join([
            f"run {run_id} ended {run['state']!r} (timeout {RUN_TIMEOUT_SECONDS}s)",
            "task states: " + ", ".join(f"{t}={s}" for t, s in sorted(states.items())),
            running.task_log_tails(DAG_ID, run_id, failed),
            running.log_tails(60)])
        print(diagnosis)
    return {"run": run, "states": states, "runs": runs, "report": report,
            "reports_dir": reports, "diagnosis": diagnosis}


def test_the_run_triggered_through_the_rest_api_succeeds(scheduled_run):
    run, states = scheduled_run["run"], scheduled_run["states"]
    assert run["state"] == "success", scheduled_run["diagnosis"]
    assert run["run_type"] == "manual"
    assert run["conf"] == CONF
    # the scheduler made no run of its own beside the triggered one
    assert [r["dag_run_id"] for r in scheduled_run["runs"]] == [run["dag_run_id"]]
    assert states.pop("report_last_good_release") == "skipped"  # runs only when a gate fails
    assert set(states.values()) == {"success"}, states
    assert {"load_methodology", "quality_gate_ranking", "publish_release",
            "render_report"} <= set(states)
    # Cosmos rendered the ranking models as tasks, each run by dbt in a worker process
    assert any(t.startswith("dbt_ranking.fct_ranking_unit") for t in states), sorted(states)


def test_the_release_is_published_in_the_warehouse(scheduled_run, province_marts):
    assert scheduled_run["run"]["state"] == "success", scheduled_run["diagnosis"]
    wh = province_marts
    ((release_id, gate),) = query(
        wh, "select release_id, gate_result from published.current_ranking_release "
            "where year = %s and methodology_name = %s", (CONF["year"], CONF["methodology"]))
    assert gate["passed"] is True
    assert gate["checkpoints"] == ["raw_gate", "staging_gate", "marts_gate", "ranking_gate"]
    units = query(wh, "select unit_group, count(*), count(rank_in_group) from "
                      "published.ranking_release_unit where release_id = %s group by 1 "
                      "order by 1", (release_id,))
    assert [g for g, *_ in units] == ["departments", "districts"]
    assert all(ranked > 0 for _, _, ranked in units), units
    in_mart = query(wh, "select count(*) from marts.fct_ranking_unit where period_grain = "
                        "'year' and period_year = %s", (CONF["year"],))[0][0]
    assert sum(n for _, n, _ in units) == in_mart
    # the report task's return value, read back through the REST API, names the files written
    report = scheduled_run["report"]
    assert report["release_id"] == release_id
    assert os.path.dirname(report["html"]) == str(scheduled_run["reports_dir"])
    assert os.path.getsize(report["html"]) > 0
