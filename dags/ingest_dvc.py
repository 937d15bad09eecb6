"""Incremental ingest of the online public-service portal (DVC) into ``raw_dvc`` (Airflow DAG)."""

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

from govkpi.ingest_dag import ingest_dag, raw_asset

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

**Needs** — `GOVKPI_DVC_URL`, `GOVKPI_DVC_USERNAME`, `GOVKPI_DVC_PASSWORD`, `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""

ingest_dag(
    "dvc", ("services", "submissions", "payments", "ratings"),
    schedule=AssetOrTimeSchedule(  # after the one-stop dossiers land, or at 06:00 anyway
        timetable=CronTriggerTimetable("0 6 * * *", timezone="Asia/Ho_Chi_Minh"),
        assets=[raw_asset("onestop", "hoso")],
    ),
    doc_md=DOC,
)
