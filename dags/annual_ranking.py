"""The annual ranking: methodology → ranking models (Cosmos) → GX gate → release → report."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import CronTriggerTimetable, Param, dag, task
from cosmos import DbtTaskGroup

from govkpi import cosmos_config
from govkpi.pipeline import DEFAULT_METHODOLOGY, RANKING_SELECTOR, methodology_names

DOC = """
### annual_ranking
Ranks the province's departments and districts for a year under a methodology
(docs/ranking.md): `load_methodology` validates the shipped file
`include/govkpi/methodologies/<methodology>.yaml` and stores it in `ranking_config` →
`dbt_ranking` builds the ranking models (`tag:ranking`, rendered by Cosmos; every year in the
data is scored, so the previous year's ranks are there) on the KPI marts that `kpi_refresh`
keeps current → `quality_gate_ranking` runs the GX gate (a CRITICAL failure fails the run:
nothing is published) → `publish_release` copies the year into the append-only `published`
schema with the gate's verdict → `render_report` writes HTML, XLSX and CSV under `reports/`
(the paths are its return value).

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
    default_args={
        "owner": "govkpi-data-eng",
        "retries": 1,
        "retry_delay": dt.timedelta(minutes=2),
        "execution_timeout": dt.timedelta(hours=1),
    },
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

    @task
    def quality_gate_ranking() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from govkpi.errors import GateFailed
        from govkpi.pipeline import ranking_gate

        try:
            return ranking_gate()
        except GateFailed as exc:  # the same data fails again: no retry
            raise AirflowFailException(str(exc)) from exc

    @task
    def publish_release(request: dict, gate: dict) -> int:
        from govkpi.pipeline import publish_ranking

        return publish_ranking(request["year"], request["methodology"], gate)

    @task
    def render_report(request: dict, release_id: int) -> dict:
        from govkpi.pipeline import render_ranking_report

        return render_ranking_report(request["year"], request["methodology"], release_id)

    request = load_methodology()
    gate = quality_gate_ranking()
    request >> dbt_ranking >> gate
    render_report(request, publish_release(request, gate))


annual_ranking()
