"""``dbt docs generate`` works on a built warehouse, and its catalog documents every mart.

The build runs with ``--warn-error``: a deprecation or any other warning fails it. Artifacts go
to a temporary target so ``dbt_project/target`` (Cosmos' manifest) is left alone.
"""

from __future__ import annotations

import json

import pytest

from govkpi.load.raw import ensure_schema
from tests.helpers import dbt


@pytest.fixture(scope="module")
def docs(fresh_warehouse_module, tmp_path_factory):
    with fresh_warehouse_module.connect() as conn:
        ensure_schema(conn)  # empty raw tables: the sources exist, the marts build empty
    target = tmp_path_factory.mktemp("dbt_docs_target")
    dbt("build", "--warn-error", "--target-path", str(target))
    dbt("docs", "generate", "--target-path", str(target))
    return (json.loads((target / "manifest.json").read_text()),
            json.loads((target / "catalog.json").read_text()), target)


def _marts(manifest: dict) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items()
            if n["resource_type"] == "model" and n["fqn"][1:2] == ["marts"]}


def test_site_is_written(docs):
    _, catalog, target = docs
    assert (target / "index.html").stat().st_size > 0
    assert not catalog.get("errors")


@pytest.mark.parametrize(("model", "columns"), [
    ("dim_calendar", {"calendar_date": "date", "is_working_day": "boolean", "reason": "text",
                      "source": "text", "working_day_number": "integer"}),
    ("fct_dossier_resolution_unit_year", {"unit_code": "text", "period_year": "integer",
                                          "received_count": "bigint",
                                          "os1a_on_time_rate": "numeric(7,4)"}),
])
def test_catalog_lists_the_marts_with_their_columns(docs, model, columns):
    _, catalog, _ = docs
    entry = catalog["nodes"][f"model.govkpi.{model}"]
    assert entry["metadata"]["schema"] == "marts"
    assert entry["metadata"]["type"] == "BASE TABLE"
    got = {name: col["type"] for name, col in entry["columns"].items()}
    assert got.items() >= columns.items()


def test_every_mart_column_in_the_catalog_is_documented(docs):
    manifest, catalog, _ = docs
    marts = _marts(manifest)
    assert marts
    for uid, node in marts.items():
        in_db = set(catalog["nodes"][uid]["columns"])
        documented = {c for c, col in node["columns"].items() if col.get("description")}
        assert in_db, uid
        assert in_db == documented, uid


def test_exposures_are_in_the_docs(docs):
    manifest, _, _ = docs
    assert manifest["exposures"]["exposure.govkpi.bi_kpi_dashboards"]["depends_on"]["nodes"]
