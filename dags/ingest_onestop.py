"""Daily incremental ingest of the one-stop dossier system into ``raw_onestop`` (Airflow DAG)."""

from airflow.sdk import CronTriggerTimetable

from govkpi.ingest_dag import ingest_dag

DOC = """
### ingest_onestop
Pulls units (`donvi`), procedures (`thutuc`) and dossiers (`hoso`) that changed since the last
watermark from the one-stop system (SOURCES.md §1), hashes personal fields and COPYs them into
`raw_onestop.*`, one audited batch per endpoint (`audit.load_batch`), in that order: dossiers
reference units and procedures. Emits one Asset per raw table; `kpi_refresh` and `ingest_dvc`
run when the dossiers land.

**Schedule** — daily 05:30 Asia/Ho_Chi_Minh.
**Needs** — `GOVKPI_ONESTOP_URL` (+ client id/secret), `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""

ingest_dag("onestop", ("donvi", "thutuc", "hoso"),
           schedule=CronTriggerTimetable("30 5 * * *", timezone="Asia/Ho_Chi_Minh"), doc_md=DOC)
