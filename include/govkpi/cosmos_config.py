"""Cosmos configuration shared by every DAG that runs dbt (one place, file-relative defaults).

The DAG is rendered from ``dbt_project/target/manifest.json`` (built by ``make`` with
``dbt parse``), so parsing a DAG file costs milliseconds and needs no database. dbt runs in the
worker process (``dbtRunner``) with a profile that Cosmos derives from the Airflow connection
``govkpi_warehouse`` (``AIRFLOW_CONN_GOVKPI_WAREHOUSE``, set from ``GOVKPI_WAREHOUSE_URL``).
"""

from __future__ import annotations

import gc
import os

from cosmos import (
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import (
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
    TestIndirectSelection,
)
from cosmos.profiles import PostgresUserPasswordProfileMapping

from govkpi import config

os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")

project_config = ProjectConfig(
    dbt_project_path=config.DBT_PROJECT_DIR,
    manifest_path=config.DBT_MANIFEST,
    project_name="govkpi",
    install_dbt_deps=False,  # no packages: the dbt hub is out of reach (PITFALLS.md)
)
# ProjectConfig wraps the manifest in an ObjectStoragePath (for remote manifests); opening one
# loads every Airflow plugin for the hook-lineage collector, Cosmos' own FastAPI plugin
# included: ~0.9 s of each DAG file's parse. The manifest is a local file: read it as one.
project_config.manifest_path = config.DBT_MANIFEST

def profile_config() -> ProfileConfig:
    """The dbt profile from the warehouse connection, built for each DAG parse: Cosmos' mapping
    keeps the connection it first read (``_conn``), so one shared instance would point every
    later DAG of the process (dag.test of another DAG, another warehouse) at the first one's
    database."""
    return ProfileConfig(
        profile_name="govkpi",
        target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=config.AIRFLOW_WAREHOUSE_CONN_ID,
            profile_args={"schema": "public"},
        ),
    )

execution_config = ExecutionConfig(
    execution_mode=ExecutionMode.LOCAL,
    invocation_mode=InvocationMode.DBT_RUNNER,
    # a model's task runs only the tests of that model; a test that reads several models
    # (relationships) gets a task of its own after all of them (should_detach_... below)
    test_indirect_selection=TestIndirectSelection.CAUTIOUS,
)


def freeze_heap(context) -> None:
    """Before a dbt task: move every object alive now into the collector's permanent
    generation. Cosmos ends each dbt invocation with a full ``gc.collect()``; unfrozen, it walks
    the whole heap (Airflow, dbt, the DAG and, under ``dag.test``, every earlier task's
    leftovers): ~0.5 s per task of ``make demo``. Frozen, it walks only what the invocation
    made. The garbage of the previous invocation is already collected when this runs."""
    gc.freeze()


# What every dbt task gets besides its node:
# - ``--no-write-json``: a per-node build needs neither target/manifest.json nor run_results
#   nor graph.gpickle; writing them (the whole project's manifest, each time) was ~0.8 s of
#   every task. The partial-parse file Cosmos caches is written regardless. (OpenLineage
#   facets, read from those files, are off: nothing here consumes them.)
# - the heap freeze above.
operator_args = {
    "dbt_cmd_global_flags": ["--no-write-json"],
    "pre_execute": freeze_heap,
}


def render_config(*selectors: str, exclude: tuple[str, ...] = ()) -> RenderConfig:
    """Render from the manifest; unit and data tests run before/with each model (BUILD).

    ``selectors`` and ``exclude`` are dbt selection strings (``tag:ranking``,
    ``path:models/marts``); no selector renders the whole project.
    """
    return RenderConfig(
        # no Airflow asset per dbt node (an OpenLineage URI, which Airflow 3 warns about):
        # nothing is scheduled on them; kpi_refresh emits its own KPI_MARTS asset after the
        # gate. (RenderConfig's flag wins over an ``emit_datasets`` in operator_args.)
        emit_datasets=False,
        load_method=LoadMode.DBT_MANIFEST,
        test_behavior=TestBehavior.BUILD,
        should_detach_multiple_parents_tests=True,
        select=list(selectors),
        # exposures document who reads the marts (BI, the ranking report): nothing to run
        exclude=["resource_type:exposure", *exclude],
    )
