"""A project-local Airflow for the demo, the tests and ``make airflow`` (no Docker needed).

Sets the environment *before* Airflow is imported: AIRFLOW_HOME in ``.local/airflow``, the
repo's ``dags/`` as DAGS_FOLDER (``dag.test()`` needs the file there, PITFALLS.md), no examples,
a SQLite metadata DB, Cosmos telemetry off, and the warehouse connection from the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from govkpi import config


def airflow_environment(home: Path | None = None) -> dict[str, str]:
    home = home or config.LOCAL_DIR / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL",
                                                          "WARNING"),
        "GX_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def prepare_airflow(home: Path | None = None, *, quiet: bool = True) -> dict[str, str]:
    """Export the environment, migrate the metadata DB (fast when already migrated) and create
    the pools the DAGs use."""
    if "airflow" in sys.modules:
        raise RuntimeError("prepare_airflow() must run before airflow is imported")
    env = airflow_environment(home)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    marker = Path(env["AIRFLOW_HOME"]) / ".migrated"
    stamp = _airflow_version()
    if not marker.exists() or marker.read_text() != stamp:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                       env=os.environ.copy(), capture_output=quiet)
        marker.write_text(stamp)
    ensure_pools()
    return env


def ensure_pools() -> list[str]:
    """Create (or update) the source-system pools of :data:`govkpi.dag_defaults.SOURCE_POOLS`
    in the metadata DB of the environment's Airflow; their names. The extract tasks run in
    them, and the scheduler never queues a task whose pool does not exist."""
    from airflow.models.pool import Pool

    from govkpi.dag_defaults import SOURCE_POOLS

    for pool in SOURCE_POOLS.values():
        Pool.create_or_update_pool(name=pool.name, slots=pool.slots,
                                   description=pool.description, include_deferred=False)
    return [pool.name for pool in SOURCE_POOLS.values()]


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow-core")


def run_dag(dag_id: str, *, conf: dict | None = None, logical_date=None, run_after=None):
    """``dag.test()`` of a repo DAG; raise if the run did not succeed. ``run_after`` (default:
    now) is the moment the run is for when it has no logical date, as for an Asset-triggered
    run; a logical date before the DAG's start_date would create no task at all."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    bag = DagBag(dag_folder=str(config.DAGS_DIR / f"{dag_id}.py"))
    if bag.import_errors:
        raise RuntimeError(f"DAG file errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    run = dag.test(run_conf=conf, logical_date=logical_date, run_after=run_after)
    if not run.get_task_instances():  # Airflow "succeeds" a run it gave no task
        raise RuntimeError(f"DAG {dag_id}: the run {run.run_id} has no task instances (a "
                           "logical date before the DAG's start_date?)")
    if run.state != DagRunState.SUCCESS:
        failed = [ti.task_id for ti in run.get_task_instances() if ti.state == "failed"]
        raise RuntimeError(f"DAG {dag_id} ended {run.state}; failed tasks: {failed}")
    return run


def task_result(run, task_id: str):
    """The return value (XCom) of ``task_id`` in a finished ``dag.test()`` run."""
    for ti in run.get_task_instances():
        if ti.task_id == task_id:
            return ti.xcom_pull(task_ids=task_id)
    raise KeyError(f"run {run.run_id} has no task {task_id}")
