"""Self-assessment returns (XLSX/CSV spreadsheets from each unit) into ``raw_files``."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from govkpi.alerts import run_succeeded
from govkpi.dag_defaults import default_args

RETURNS_ASSET = Asset("govkpi://warehouse/raw_files/assessment_returns")

DOC = """
### ingest_assessments
Units send their yearly self-assessment returns as spreadsheets; an operator drops them into
the drop folder as `<drop>/<year>/<unit code>.xlsx|csv`. This DAG checks that folder every day at
07:00 Asia/Ho_Chi_Minh (and runs on demand): when it holds no return files the run is skipped,
otherwise every file is read, checked against the methodology's item list (types, ranges, unit
code, year) and loaded into `raw_files.assessment_returns`; a bad row goes to `audit.quarantine`
naming file, row, column and reason, and the good rows of the same file still load. Re-loading a
file that has not changed changes nothing. Emits the Asset of the raw table.

**Params** — `year`: load only `<drop>/<year>/` (default: every year folder);
`drop_dir`: the drop folder (default `GOVKPI_DROP_DIR`, else `.local/drop`).
**Needs** — `GOVKPI_PII_KEY`, `GOVKPI_WAREHOUSE_URL` (or the local/embedded default).
"""


@dag(
    dag_id="ingest_assessments",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Asia/Ho_Chi_Minh"),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retry_delay=dt.timedelta(minutes=5)),
    on_success_callback=run_succeeded,
    params={
        "year": Param(None, type=["null", "integer"], minimum=2000, maximum=2100),
        "drop_dir": Param(None, type=["null", "string"]),
    },
    tags=["govkpi", "ingest", "assessments", "spreadsheets"],
    doc_md=DOC,
)
def ingest_assessments():
    @task.short_circuit
    def returns_in_drop_folder(params=None) -> bool:
        from govkpi.pipeline import waiting_returns

        return bool(waiting_returns(params or {}))

    @task(outlets=[RETURNS_ASSET])
    def load_assessment_returns(params=None) -> dict:
        from govkpi.pipeline import ingest_assessment_returns

        return ingest_assessment_returns(params or {})

    returns_in_drop_folder() >> load_assessment_returns()


ingest_assessments()
