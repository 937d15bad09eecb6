"""The annual ranking: methodology → ranking models (Cosmos) → GX gate → release → report."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, dag, task
from cosmos import DbtTaskGroup

from govkpi import cosmos_config
from govkpi.alerts import run_succeeded
from govkpi.gate_tasks import DEFAULT_ARGS, gate_tasks
from govkpi.pipeline import (
    DEFAULT_METHODOLOGY,
    RANKING_GATE_STAGES,
    RANKING_SELECTOR,
    methodology_names,
)

DOC = """
### annual_ranking
Ranks the province's departments and districts for a year under a methodology
(docs/ranking.md): `load_methodology` validates the shipped file
`include/govkpi/methodologies/<methodology>.yaml` and stores it in `ranking_config` →
`dbt_ranking` builds the ranking models (`tag:ranking`, rendered by Cosmos; every year in the
data is scored, so the previous year's ranks are there) on the KPI marts that `kpi_refresh`
keeps current → `quality_gate_raw`, `_staging`, `_marts` and `_ranking` run the GX gate of each
stage (docs/quality.md) → `publish_release` copies the year into the append-only `published`
schema with the gates' verdict → `render_report` writes HTML, XLSX and CSV under `reports/`
(the paths are its return value).

A CRITICAL gate failure fails the run: nothing is published, the previous release stays
current, the failure alert (log, plus webhook or e-mail when configured) names the failing
checks with sample bad rows, and `report_last_good_release` re-renders the current release's
report with the blocked run's causes (every gate run is stored in `audit.gate_result`).

Runs on 15 January at 06:00 Asia/Ho_Chi_Minh (the self-assessment returns are due that day),
and on demand. **Params** — `year`: the year to rank (default: the year before the run's logical
date, in Vietnam); `methodology`: the methodology file's name (default `binh_dinh_2017`).
"""


@dag(
    dag_id="annual_ranking",
    schedule=CronTriggerTimetable("0 6 15 1 *", timezone="Asia/Ho_Chi_Minh"),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_success_callback=run_succeeded,
    params={
        "year": Param(None, type=["null", "integer"], minimum=2000, maximum=2100,
                      description="year to rank; empty: the year before the logical date"),
        "methodology": Param(DEFAULT_METHODOLOGY, type="string", enum=methodology_names(),
                             description="methodology file under include/govkpi/methodologies"),
    },
    tags=["govkpi", "dbt", "ranking", "gate", "publish"],
    doc_md=DOC,
)
def annual_ranking():
    @task
    def load_methodology(params=None, dag_run=None) -> dict:
        from govkpi.pipeline import load_ranking_methodology, ranking_request

        moment = dag_run.logical_date or dag_run.run_after
        request = ranking_request(params or {}, moment)
        return {**request, **load_ranking_methodology(request["methodology"])}

    dbt_ranking = DbtTaskGroup(
        group_id="dbt_ranking",
        project_config=cosmos_config.project_config,
        profile_config=cosmos_config.profile_config(),
        execution_config=cosmos_config.execution_config,
        # the ranking models only: the KPI marts they read are kpi_refresh's
        render_config=cosmos_config.render_config(RANKING_SELECTOR),
        operator_args=cosmos_config.operator_args,
    )

    gates = gate_tasks(RANKING_GATE_STAGES, blocked_note="nothing was published")

    @task
    def publish_release(request: dict, gate: list[dict]) -> int:
        from govkpi.pipeline import publish_ranking

        return publish_ranking(request["year"], request["methodology"], gate)

    @task
    def render_report(request: dict, release_id: int) -> dict:
        from govkpi.pipeline import render_ranking_report

        return render_ranking_report(request["year"], request["methodology"], release_id)

    @task(trigger_rule="one_failed")
    def report_last_good_release(request: dict) -> dict | None:
        from govkpi.pipeline import report_blocked_run

        return report_blocked_run(request["year"], request["methodology"])

    request = load_methodology()
    request >> dbt_ranking >> gates
    render_report(request, publish_release(request, gates))
    gates >> report_last_good_release(request)


annual_ranking()
