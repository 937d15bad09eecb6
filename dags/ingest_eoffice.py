"""Daily incremental ingest of the e-office document system into ``raw_eoffice``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, CronTriggerTimetable, Param, chain, dag, task

SYSTEM = "eoffice"
ENDPOINTS = ("documents",)  # load order (govkpi.sources.systems.SYSTEMS)
RAW_ASSETS = {name: Asset(f"govkpi://warehouse/raw_{SYSTEM}/{name}") for name in ENDPOINTS}

DOC = """
### ingest_eoffice
Pulls the official documents (`documents`) changed since the last watermark from the e-office
system (SOURCES.md §2: API key, cursor paging, `dd/MM/yyyy HH:mm:ss` local times), hashes
personal fields and COPYs them into `raw_eoffice.documents` as one audited batch
(`audit.load_batch`). Emits one Asset per raw table.

**Schedule** — daily 05:45 Asia/Ho_Chi_Minh, after `ingest_onestop` (05:30): a document's
`ma_don_vi` is checked against the one-stop units already loaded, so units must land first.

**Params** — `mode`: `incremental` (default), `backfill` (needs `window_from`) or `full`;
`window_from` / `window_to`: ISO-8601 bounds of a backfill (no offset = +07:00).
**Needs** — `GOVKPI_EOFFICE_URL`, `GOVKPI_EOFFICE_API_KEY`, `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""


@dag(
    dag_id="ingest_eoffice",
    schedule=CronTriggerTimetable("45 5 * * *", timezone="Asia/Ho_Chi_Minh"),
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
    tags=["govkpi", "ingest", "eoffice"],
    doc_md=DOC,
)
def ingest_eoffice():
    def make_task(endpoint: str):
        @task(task_id=f"extract_load_{endpoint}", outlets=[RAW_ASSETS[endpoint]])
        def extract_load(params=None) -> dict:
            from govkpi.pipeline import ingest_endpoint

            return ingest_endpoint(SYSTEM, endpoint, params or {})

        return extract_load()

    chain(*(make_task(e) for e in ENDPOINTS))


ingest_eoffice()
