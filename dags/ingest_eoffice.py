"""Daily incremental ingest of the e-office document system into ``raw_eoffice`` (Airflow DAG)."""

from airflow.sdk import CronTriggerTimetable

from govkpi.ingest_dag import ingest_dag

DOC = """
### ingest_eoffice
Pulls the official documents (`documents`) changed since the last watermark from the e-office
system (SOURCES.md §2: API key, cursor paging, `dd/MM/yyyy HH:mm:ss` local times), hashes
personal fields and COPYs them into `raw_eoffice.documents` as one audited batch
(`audit.load_batch`). Emits one Asset per raw table.

**Schedule** — daily 05:45 Asia/Ho_Chi_Minh, after `ingest_onestop` (05:30): a document's
`ma_don_vi` is checked against the one-stop units already loaded, so units must land first.
**Needs** — `GOVKPI_EOFFICE_URL`, `GOVKPI_EOFFICE_API_KEY`, `GOVKPI_PII_KEY`,
`GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""

ingest_dag("eoffice", ("documents",),
           schedule=CronTriggerTimetable("45 5 * * *", timezone="Asia/Ho_Chi_Minh"), doc_md=DOC)
