"""Daily incremental ingest of the online public-service portal (DVC) into ``raw_dvc``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    chain,
    dag,
    task,
)

SYSTEM = "dvc"
ENDPOINTS = ("services", "submissions", "payments", "ratings")  # load order (SYSTEMS)
RAW_ASSETS = {name: Asset(f"govkpi://warehouse/raw_{SYSTEM}/{name}") for name in ENDPOINTS}
ONESTOP_DOSSIERS = Asset("govkpi://warehouse/raw_onestop/hoso")  # what payments reference

DOC = """
### ingest_dvc
Pulls services, online submissions, fee payments and satisfaction ratings changed since the
last watermark from the public-service portal (SOURCES.md §3: Basic auth, page numbers, epoch
milliseconds), hashes personal fields and COPYs them into `raw_dvc.*`, one audited batch per
endpoint (`audit.load_batch`), in load order. Emits one Asset per raw table.

**Schedule** — whenever `ingest_onestop` has landed new dossiers (the `raw_onestop/hoso`
Asset), and in any case daily at 06:00 Asia/Ho_Chi_Minh: a payment names the one-stop dossier
it pays for, and the loader quarantines a payment whose dossier is not in `raw_onestop.hoso`
yet ("unknown dossier_code … not among the records of onestop.hoso"). Running on the Asset
keeps that order even when the one-stop ingest is late. A payment for a dossier received in
the minutes between the two extractions can still be quarantined: re-run with
`mode=backfill` over that window once the dossier has landed.

**Params** — `mode`: `incremental` (default), `backfill` (needs `window_from`) or `full`;
`window_from` / `window_to`: ISO-8601 bounds of a backfill (no offset = +07:00).
**Needs** — `GOVKPI_DVC_URL`, `GOVKPI_DVC_USERNAME`, `GOVKPI_DVC_PASSWORD`, `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""


@dag(
    dag_id="ingest_dvc",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="Asia/Ho_Chi_Minh"),
        assets=[ONESTOP_DOSSIERS],
    ),
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
    tags=["govkpi", "ingest", "dvc"],
    doc_md=DOC,
)
def ingest_dvc():
    def make_task(endpoint: str):
        @task(task_id=f"extract_load_{endpoint}", outlets=[RAW_ASSETS[endpoint]])
        def extract_load(params=None) -> dict:
            from govkpi.pipeline import ingest_endpoint

            return ingest_endpoint(SYSTEM, endpoint, params or {})

        return extract_load()

    chain(*(make_task(e) for e in ENDPOINTS))


ingest_dvc()
