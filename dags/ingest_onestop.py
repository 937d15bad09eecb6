"""Daily incremental ingest of the one-stop dossier system into ``raw_onestop``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

SYSTEM = "onestop"
ENDPOINTS = ("donvi", "thutuc", "hoso")  # load order: dossiers reference units and procedures
RAW_ASSETS = {name: Asset(f"govkpi://warehouse/raw_{SYSTEM}/{name}") for name in ENDPOINTS}

DOC = """
### ingest_onestop
Pulls units (`donvi`), procedures (`thutuc`) and dossiers (`hoso`) that changed since the last
watermark from the one-stop system (SOURCES.md §1), hashes personal fields and COPYs them into
`raw_onestop.*`, one audited batch per endpoint (`audit.load_batch`). Emits one Asset per raw
table; `kpi_refresh` runs when they update. Runs at 05:30 (Asia/Ho_Chi_Minh), before
`ingest_eoffice` (05:45) and `ingest_dvc` (06:00), whose records reference its units and dossiers.

**Params** — `mode`: `incremental` (default), `backfill` (needs `window_from`) or `full`;
`window_from` / `window_to`: ISO-8601 bounds of a backfill (no offset = +07:00).
**Needs** — `GOVKPI_ONESTOP_URL` (+ client id/secret), `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""


@dag(
    dag_id="ingest_onestop",
    schedule=CronTriggerTimetable("30 5 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "govkpi-data-eng",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "execution_timeout": dt.timedelta(hours=2),
    },
    params={
        "mode": Param("incremental", enum=["incremental", "backfill", "full"]),
        "window_from": Param(None, type=["null", "string"], format="date-time"),
        "window_to": Param(None, type=["null", "string"], format="date-time"),
    },
    tags=["govkpi", "ingest", "onestop"],
    doc_md=DOC,
)
def ingest_onestop():
    def make_task(endpoint: str):
        @task(task_id=f"extract_load_{endpoint}", outlets=[RAW_ASSETS[endpoint]])
        def extract_load(params=None) -> dict:
            from govkpi.pipeline import ingest_endpoint

            return ingest_endpoint(SYSTEM, endpoint, params or {})

        return extract_load()

    units, procedures, dossiers = (make_task(e) for e in ENDPOINTS)
    units >> procedures >> dossiers  # dossiers reference units and procedures


ingest_onestop()
