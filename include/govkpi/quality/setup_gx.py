"""Create the committed GX project under ``expectations/`` (run once; commit the output).

    python -m govkpi.quality.setup_gx

Needs a warehouse where the marts exist (GX checks that a table asset's table is there). At run
time the pipeline only reads these objects (PITFALLS.md: parallel writers corrupt a context).
"""

from __future__ import annotations

import os
import shutil

from govkpi import config

DATASOURCE = "warehouse"
CONNECTION_STRING = "${GOVKPI_WAREHOUSE_SQLALCHEMY_URL}"  # resolved by GX at run time
MARTS_CHECKPOINT = "marts_gate"


def _fact_expectations(gxe, critical, warning):
    rates = {
        "os1a": "os1a_on_time_rate",
        "os1b": "os1b_on_time_rate",
        "os2": "os2_late_rate",
    }
    exps = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, severity=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="unit_code", severity=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="period_year", severity=critical),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["unit_code", "period_year"],
                                            severity=critical),
    ]
    for kpi, rate in rates.items():
        exps.append(gxe.ExpectColumnValuesToBeBetween(column=rate, min_value=0, max_value=1,
                                                      severity=critical))
        exps.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=f"{kpi}_denominator", column_B=f"{kpi}_numerator", or_equal=True,
            severity=critical))
    # more than half of a unit's finished dossiers late is possible but worth a look
    exps.append(gxe.ExpectColumnValuesToBeBetween(column="os2_late_rate", min_value=0,
                                                  max_value=0.5, severity=warning))
    return exps


def build(project_dir=config.GX_PROJECT_DIR) -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    gx_dir = project_dir / "gx"
    if gx_dir.exists():
        shutil.rmtree(gx_dir)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    # task logs, not terminals: no progress bars, no usage statistics
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.variables.analytics_enabled = False
    context.variables.save()
    source = context.data_sources.add_postgres(DATASOURCE, connection_string=CONNECTION_STRING)
    # a query asset names the schema explicitly (a table asset's schema_name is deprecated and
    # the Postgres datasource has no per-connection schema)
    asset = source.add_query_asset("fct_dossier_resolution_unit_year",
                                   query="select * from marts.fct_dossier_resolution_unit_year")
    batch = asset.add_batch_definition_whole_table("whole_table")
    suite = context.suites.add(gx.ExpectationSuite(name="marts_dossier_resolution_unit_year"))
    for exp in _fact_expectations(gxe, FailureSeverity.CRITICAL, FailureSeverity.WARNING):
        suite.add_expectation(exp)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="marts_dossier_resolution_unit_year", data=batch,
                                suite=suite))
    context.checkpoints.add(gx.Checkpoint(
        name=MARTS_CHECKPOINT, validation_definitions=[validation],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}))


if __name__ == "__main__":
    from govkpi.warehouse import export_environment, resolve_warehouse

    export_environment(resolve_warehouse())
    build()
    print(f"GX project written to {config.GX_PROJECT_DIR / 'gx'}")
