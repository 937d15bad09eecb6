"""Rebuild the KPI marts with dbt (through Cosmos) and gate them with Great Expectations."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, dag
from cosmos import DbtTaskGroup

from govkpi import cosmos_config
from govkpi.gate_tasks import DEFAULT_ARGS, gate_tasks
from govkpi.ingest_dag import raw_asset
from govkpi.pipeline import KPI_GATE_STAGES, RANKING_SELECTOR

RAW_DOSSIERS = raw_asset("onestop", "hoso")
KPI_MARTS = Asset("govkpi://warehouse/marts/fct_dossier_resolution_unit_year")

DOC = """
### kpi_refresh
`dbt build` of staging → intermediate → marts, rendered task by task from the dbt manifest
(Cosmos, `TestBehavior.BUILD`: unit and data tests run with each model), except the ranking
models (`tag:ranking`, built by `annual_ranking`), then the GX gate, one task per stage
(`quality_gate_raw`, `quality_gate_staging`, `quality_gate_marts`; docs/quality.md): a
CRITICAL failure fails the run, and the failure alert (log, plus webhook or e-mail when
configured) names the failing checks with sample bad rows; every gate run is stored in
`audit.gate_result`. Runs when `raw_onestop.hoso` is updated by `ingest_onestop`.
"""


@dag(
    dag_id="kpi_refresh",
    schedule=[RAW_DOSSIERS],
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["govkpi", "dbt", "kpi", "gate"],
    doc_md=DOC,
)
def kpi_refresh():
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

    dbt_build >> gate_tasks(KPI_GATE_STAGES, outlets={"marts": [KPI_MARTS]})


kpi_refresh()
