"""The shape every source-ingest DAG shares, so the DAG files only say what differs.

One task per endpoint, in load order (later endpoints reference earlier ones), each emitting
the Asset of the raw table it wrote; daily in Vietnamese time; backfill params; retries with
exponential backoff; one run at a time. Imports only ``airflow.sdk`` at parse time.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, Param, chain, dag, task

DEFAULT_ARGS = {
    "owner": "govkpi-data-eng",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "execution_timeout": dt.timedelta(hours=2),
}
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
            @task(task_id=f"extract_load_{endpoint}", outlets=[raw_asset(system, endpoint)])
            def extract_load(params=None) -> dict:
                from govkpi.pipeline import ingest_endpoint

                return ingest_endpoint(system, endpoint, params or {})

            return extract_load()

        chain(*(make_task(e) for e in endpoints))

    return ingest()
