"""Rebuild the KPI marts with dbt (through Cosmos), gate them with Great Expectations, and close
the quarter."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from cosmos import DbtTaskGroup

from govkpi import cosmos_config
from govkpi.alerts import run_succeeded
from govkpi.gate_tasks import DEFAULT_ARGS, gate_tasks
from govkpi.ingest_dag import raw_asset
from govkpi.pipeline import KPI_GATE_STAGES, RANKING_SELECTOR

RAW_DOSSIERS = raw_asset("onestop", "hoso")
KPI_MARTS = Asset("govkpi://warehouse/marts/fct_dossier_resolution_unit_year")
# 07:30 on the first day of each quarter, after that day's ingests (05:30, 05:45, 06:00) have
# landed the last day of the quarter that just ended
QUARTER_CLOSE = CronTriggerTimetable("30 7 1 1,4,7,10 *", timezone="Asia/Ho_Chi_Minh")

DOC = """
### kpi_refresh
`quarter_bounds` finds the quarter the run closes → `dbt build` of staging → intermediate →
marts, rendered task by task from the dbt manifest (Cosmos, `TestBehavior.BUILD`: unit and data
tests run with each model; incremental models stay incremental), except the ranking models
(`tag:ranking`, built by `annual_ranking`) → the GX gate, one task per stage
(`quality_gate_raw`, `quality_gate_staging`, `quality_gate_marts`; docs/quality.md): a
CRITICAL failure fails the run, and the failure alert (log, plus webhook or e-mail when
configured) names the failing checks with sample bad rows; every gate run is stored in
`audit.gate_result` → `close_quarter` checks that the province-quarter KPI facts (dossiers,
documents, online services) hold the quarter, cut on the same local days, and records the
quarter's row counts and headline figures in `audit.kpi_refresh_quarter` (one row per run).

**Schedule** — when `raw_onestop.hoso` is updated by `ingest_onestop`, and at 07:30
Asia/Ho_Chi_Minh on 1 January, April, July and October (after that day's ingests).
**Which quarter** — the last one that had ended, in Vietnam, at the run's logical date (else
its run_after): the run of 07:30 on 1 April closes Q1 (1 January – 31 March); a run at 23:30
on 31 March is still inside Q1 and closes the previous Q4 (`govkpi.periods`).
**Params** — `quarter`: the quarter to close instead, e.g. `2017-Q1` (a backfill: trigger with
it, not with an old logical date; a run dated before the DAG's start date gets no tasks).
"""


@dag(
    dag_id="kpi_refresh",
    schedule=AssetOrTimeSchedule(timetable=QUARTER_CLOSE, assets=[RAW_DOSSIERS]),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_success_callback=run_succeeded,
    params={
        "quarter": Param(None, type=["null", "string"], pattern=r"^\d{4}-Q[1-4]$",
                         description="quarter to close, e.g. 2017-Q1; empty: the last quarter "
                                     "ended before the run's date, in Vietnam"),
    },
    tags=["govkpi", "dbt", "kpi", "gate"],
    doc_md=DOC,
)
def kpi_refresh():
    @task
    def quarter_bounds(params=None, dag_run=None) -> dict:
        from govkpi.pipeline import kpi_refresh_quarter

        return kpi_refresh_quarter(params or {}, dag_run.logical_date or dag_run.run_after)

    dbt_build = DbtTaskGroup(
        group_id="dbt_build",
        project_config=cosmos_config.project_config,
        profile_config=cosmos_config.profile_config(),
        execution_config=cosmos_config.execution_config,
        # the ranking models are annual_ranking's (scored once a year, after the returns); "+":
        # and their tests (Cosmos still renders a test of a ranking model and dim_unit, but
        # the exclude it forwards to dbt leaves it nothing to run)
        render_config=cosmos_config.render_config(exclude=(f"{RANKING_SELECTOR}+",)),
        operator_args=cosmos_config.operator_args,
    )

    @task
    def close_quarter(quarter: dict, dag_run=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from govkpi.pipeline import close_kpi_quarter
        from govkpi.quarter_close import QuarterNotInMarts

        run = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id,
               "run_type": str(getattr(dag_run.run_type, "value", dag_run.run_type))}
        try:
            return close_kpi_quarter(quarter, run)
        except QuarterNotInMarts as exc:  # the same marts fail again: no retry
            raise AirflowFailException(str(exc)) from exc

    quarter = quarter_bounds()
    gates = gate_tasks(KPI_GATE_STAGES, outlets={"marts": [KPI_MARTS]})
    quarter >> dbt_build >> gates
    gates >> close_quarter(quarter)


kpi_refresh()
