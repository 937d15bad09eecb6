"""What every govkpi DAG shares: the task defaults (owner, retries with exponential backoff, a
timeout, the failure alert) and one Airflow pool per source system. (DAG level, every DAG logs
its successful runs: ``on_success_callback=govkpi.alerts.run_succeeded``; the failure alert is
per task, where it can name the failing task and its error.)

The DAG files and the DAG factories (``govkpi.ingest_dag``, ``govkpi.gate_tasks``) extend
:func:`default_args` with what differs. Imports only the light alert module at parse time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from govkpi.alerts import task_failure_alert

OWNER = "govkpi-data-eng"

BASE_DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    # Airflow 3.3 reads this as a multiplier: True is 1, a constant delay. 2: the delay doubles
    # with each try (plus Airflow's jitter), never beyond max_retry_delay.
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(hours=1),
    "on_failure_callback": task_failure_alert,
}


def default_args(**overrides: Any) -> dict[str, Any]:
    """:data:`BASE_DEFAULT_ARGS` with ``overrides`` (a new dict each call)."""
    return {**BASE_DEFAULT_ARGS, **overrides}


@dataclass(frozen=True)
class SourcePool:
    """An Airflow pool capping the concurrent extract tasks against one source system."""

    name: str
    slots: int
    description: str


# One extract at a time per system: the vendors answer 429 when pushed (SOURCES.md), and one
# extract already fetches its pages concurrently. A backfill waits for the daily run's task.
# Created by govkpi.airflow_env.ensure_pools (demo, tests); in a deployment:
# `airflow pools set <name> <slots> "<description>"` (README, "Airflow pools").
SOURCE_POOLS: dict[str, SourcePool] = {
    p.name.removesuffix("_api"): p
    for p in (
        SourcePool("onestop_api", 1, "one-stop dossier system API (ingest_onestop)"),
        SourcePool("eoffice_api", 1, "e-office document system API (ingest_eoffice)"),
        SourcePool("dvc_api", 1, "online public-service portal API (ingest_dvc)"),
    )
}
