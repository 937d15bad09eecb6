"""Team policy for the dbt project, checked on the manifest of a fresh ``dbt parse``.

- every mart has an enforced contract (names and types checked at build time) and every one of
  its columns has a data type and a description: the marts are what BI tools and the ranking read;
- every incremental model has ``on_schema_change: fail`` (PITFALLS.md: incremental + contract);
- every model, seed and snapshot, every documented column and every source table has a
  description;
- every exposure has an owner and a description.

The manifest is parsed into a temporary target (not ``dbt_project/target``, which ``make
manifest`` owns and Cosmos renders from), so the test checks the files as they are now.
"""

from __future__ import annotations

import json

import pytest

from govkpi import config


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    from dbt.cli.main import dbtRunner

    target = tmp_path_factory.mktemp("dbt_target")
    res = dbtRunner().invoke(["parse", "--project-dir", str(config.DBT_PROJECT_DIR),
                              "--profiles-dir", str(config.DBT_PROJECT_DIR),
                              "--target-path", str(target), "--quiet"])
    assert res.success, f"dbt parse failed: {res.exception}"
    return json.loads((target / "manifest.json").read_text())


def _nodes(manifest: dict, resource_type: str) -> list[dict]:
    return sorted((n for n in manifest["nodes"].values()
                   if n["resource_type"] == resource_type and n["package_name"] == "govkpi"),
                  key=lambda n: n["unique_id"])


def _is_mart(node: dict) -> bool:
    return node["fqn"][1:2] == ["marts"]


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def test_the_project_has_marts(manifest):
    marts = [n["name"] for n in _nodes(manifest, "model") if _is_mart(n)]
    assert {"dim_calendar", "fct_dossier_resolution_unit_year"} <= set(marts)


def test_every_mart_has_an_enforced_contract_with_typed_described_columns(manifest):
    problems = []
    for node in filter(_is_mart, _nodes(manifest, "model")):
        name = node["original_file_path"]
        if not node["config"]["contract"]["enforced"]:
            problems.append(f"{name}: no enforced contract (config: contract: enforced: true)")
        if not node["columns"]:
            problems.append(f"{name}: no columns in its YAML")
        for col in node["columns"].values():
            if _blank(col.get("data_type")):
                problems.append(f"{name}: column {col['name']} has no data_type")
            if _blank(col.get("description")):
                problems.append(f"{name}: column {col['name']} has no description")
    assert not problems, "\n".join(problems)


def test_every_mart_is_readable_by_bi_reader(manifest):
    problems = [f"{n['original_file_path']}: grants {n['config'].get('grants')}"
                for n in filter(_is_mart, _nodes(manifest, "model"))
                if "bi_reader" not in n["config"].get("grants", {}).get("select", [])]
    assert not problems, "marts without select for bi_reader:\n" + "\n".join(problems)


def test_every_incremental_model_fails_on_schema_change(manifest):
    problems = [f"{n['original_file_path']}: on_schema_change={n['config']['on_schema_change']}"
                for n in _nodes(manifest, "model")
                if n["config"]["materialized"] == "incremental"
                and n["config"]["on_schema_change"] != "fail"]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("resource_type", ["model", "seed", "snapshot"])
def test_every_model_seed_snapshot_and_column_is_described(manifest, resource_type):
    problems = []
    for node in _nodes(manifest, resource_type):
        name = node["original_file_path"]
        if _blank(node["description"]):
            problems.append(f"{name}: no description")
        if not node["columns"]:
            problems.append(f"{name}: no columns documented in its YAML")
        problems += [f"{name}: column {col['name']} has no description"
                     for col in node["columns"].values() if _blank(col.get("description"))]
    assert not problems, "\n".join(problems)


def test_every_source_table_and_column_is_described(manifest):
    problems = []
    for source in sorted(manifest["sources"].values(), key=lambda s: s["unique_id"]):
        name = f"{source['original_file_path']}: source {source['source_name']}.{source['name']}"
        if _blank(source["description"]):
            problems.append(f"{name}: no description")
        problems += [f"{name}: column {col['name']} has no description"
                     for col in source["columns"].values() if _blank(col.get("description"))]
    assert manifest["sources"], "no sources declared"
    assert not problems, "\n".join(problems)


def test_every_exposure_has_an_owner_and_depends_on_marts(manifest):
    exposures = manifest["exposures"]
    assert {"exposure.govkpi.bi_kpi_dashboards",
            "exposure.govkpi.annual_ranking_report"} <= set(exposures)
    marts = {n["unique_id"] for n in _nodes(manifest, "model") if _is_mart(n)}
    for uid, exposure in exposures.items():
        assert not _blank(exposure["description"]), uid
        assert exposure["owner"].get("name") or exposure["owner"].get("email"), uid
        assert set(exposure["depends_on"]["nodes"]) & marts, f"{uid} depends on no mart"
