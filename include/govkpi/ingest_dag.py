"""The shape every source-ingest DAG shares, so the DAG files only say what differs.

One task per endpoint, in load order (later endpoints reference earlier ones), each emitting
the Asset of the raw table it wrote and running in its system's pool (one extract at a time
against a source); daily in Vietnamese time; backfill params; the shared task defaults
(``govkpi.dag_defaults``: retries with exponential backoff, the failure alert); one run at a
time. Imports only ``airflow.sdk`` and the light defaults at parse time.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, Param, chain, dag, task

from govkpi.alerts import run_succeeded
from govkpi.dag_defaults import SOURCE_POOLS, default_args

# a source that is down is usually down for a while: 5, 10 min … (at most an hour) between tries
DEFAULT_ARGS = default_args(retry_delay=dt.timedelta(minutes=5),
                            max_retry_delay=dt.timedelta(hours=1),
                            execution_timeout=dt.timedelta(hours=2))
PARAMS_DOC = """
**Params** — `mode`: `incremental` (default), `backfill` (needs `window_from`) or `full`;
`window_from` / `window_to`: ISO-8601 bounds of a backfill (no offset = +07:00).
"""


def raw_asset(system: str, table: str) -> Asset:
    return Asset(f"govkpi://warehouse/raw_{system}/{table}")


def ingest_dag(system: str, endpoints: tuple[str, ...], *, schedule, doc_md: str):
    """Build (and register) the ``ingest_<system>`` DAG."""

    @dag(
        dag_id=f"ingest_{system}",
        schedule=schedule,
        start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        on_success_callback=run_succeeded,
        params={
            "mode": Param("incremental", enum=["incremental", "backfill", "full"]),
            "window_from": Param(None, type=["null", "string"], format="date-time"),
            "window_to": Param(None, type=["null", "string"], format="date-time"),
        },
        tags=["govkpi", "ingest", system],
        doc_md=doc_md.strip() + "\n" + PARAMS_DOC,
    )
    def ingest():
        def make_task(endpoint: str):
            @task(task_id=f"extract_load_{endpoint}", outlets=[raw_asset(system, endpoint)],
                  pool=SOURCE_POOLS[system].name)
            def extract_load(params=None) -> dict:
                from govkpi.pipeline import ingest_endpoint

                return ingest_endpoint(system, endpoint, params or {})

            return extract_load()

        chain(*(make_task(e) for e in endpoints))

    return ingest()
