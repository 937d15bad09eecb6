"""The gate's check catalogue and its committed GX project, without a warehouse
(docs/quality.md): what each stage checks, and that the setup script regenerates the committed
JSON byte for byte."""

from __future__ import annotations

import json

import pytest

from govkpi import config
from govkpi.quality.checks import CRITICAL, STAGES, WARNING, Check, catalogue
from govkpi.quality.gate import Failure, GateResult, gate_settings


@pytest.fixture(scope="module")
def stages():
    return catalogue()


def _checks(stages, stage):
    return {(a.asset, c.name): c for a in stages[stage] for c in a.checks}


def test_every_stage_has_its_checkpoint_and_named_checks(stages):
    assert tuple(stages) == STAGES
    for stage, assets in stages.items():
        assert assets, stage
        for asset in assets:
            names = [c.name for c in asset.checks]
            assert len(names) == len(set(names)), asset.asset
            for check in asset.checks:
                assert check.severity in (CRITICAL, WARNING)
                assert len(check.description) > 20, check.name


def test_raw_checks_cover_every_source_table_and_the_feeds(stages):
    from govkpi.sources.systems import SYSTEMS

    checks = _checks(stages, "raw")
    tables = {f"raw_{s.name}_{e}" for s in SYSTEMS.values() for e in s.endpoints}
    tables.add("raw_files_assessment_returns")
    for table in tables:
        assert (table, "raw_key_unique_in_batch") in checks
        assert (table, "raw_required_fields_present") in checks
    feeds = {name: c.severity for (asset, name), c in checks.items()
             if asset == "raw_load_batches"}
    assert feeds == {"raw_feed_fresh": CRITICAL, "raw_feed_volume_drop": CRITICAL,
                     "raw_feed_volume_spike": WARNING, "raw_feed_last_attempt_failed": WARNING}
    # the required fields are the source contract's (the record structs), e.g. the dossier's
    hoso = checks[("raw_onestop_hoso", "raw_required_fields_present")].query
    for field in ("MaHoSo", "MaTTHC", "MaDonVi", "NgayTiepNhan", "TrangThaiHoSo"):
        assert f"'{field}'" in hoso


def test_staging_rules_read_each_view_once_and_take_codes_from_dbt(stages):
    checks = _checks(stages, "staging")
    assert sorted(checks) == [("stg_dvc__submissions", "submission_records_valid"),
                              ("stg_eoffice__documents", "document_records_valid"),
                              ("stg_onestop__dossiers", "dossier_records_valid")]
    dossiers = checks[("stg_onestop__dossiers", "dossier_records_valid")].query
    for rule in ("due_before_received", "ended_before_received", "future_timestamp",
                 "out_of_range", "unknown_unit", "unknown_procedure", "code_not_accepted"):
        assert f"'{rule}'" in dossiers
    assert dossiers.count("{batch}") == 1
    assert "r.status_code not in (1, 2, 3, 4, 5, 6, 7, 8)" in dossiers
    assert "r.channel_code not in (1, 2, 3)" in dossiers
    submissions = checks[("stg_dvc__submissions", "submission_records_valid")].query
    assert "r.status not in ('draft', 'submitted', 'accepted', 'rejected', 'withdrawn')" in \
        submissions


def test_every_kpi_rate_of_every_fact_is_checked(stages):
    import re

    from govkpi.quality.checks import _models

    models = _models()
    checked = {a.asset: a for a in stages["marts"]}
    facts = {n for n in models if re.fullmatch(r"fct_(dossier_resolution|document_processing|"
                                               r"online_service)_\w+", n)}
    assert set(checked) == facts
    for name in facts:
        rates = [c for c in models[name].columns if re.search(r"_(rate|share)(_portal)?$", c)]
        query = next(c for c in checked[name].checks if c.name == "kpi_rates_between_0_and_1")
        for rate in rates:
            assert f"{rate} not between 0 and 1" in query.query, (name, rate)
        names = {c.name for c in checked[name].checks}
        if "_unit_" in name:
            assert {"kpi_units_sum_to_province", "kpi_every_unit_present"} <= names, name


def test_a_query_must_alias_the_batch_exactly_when_it_joins():
    with pytest.raises(ValueError, match="joins writes"):
        Check("x", CRITICAL, "a description long enough", "select * from {batch} as b")
    with pytest.raises(ValueError, match="joins writes"):
        Check("x", CRITICAL, "a description long enough",
              "select * from {batch} join t on true")
    with pytest.raises(ValueError, match="no '%'"):
        Check("x", CRITICAL, "a description long enough", "select * from {batch} where a like '%'")


def test_settings_default_and_come_from_the_environment(monkeypatch):
    for env in ("GOVKPI_GATE_MAX_AGE_HOURS", "GOVKPI_GATE_VOLUME_SHARE",
                "GOVKPI_GATE_VOLUME_MIN_ROWS"):
        monkeypatch.delenv(env, raising=False)
    assert gate_settings() == {"max_age_hours": 48, "volume_share": 0.5, "volume_min_rows": 100}
    monkeypatch.setenv("GOVKPI_GATE_VOLUME_SHARE", "0.3")
    assert gate_settings()["volume_share"] == 0.3
    monkeypatch.setenv("GOVKPI_GATE_MAX_AGE_HOURS", "two days")
    with pytest.raises(ValueError, match="GOVKPI_GATE_MAX_AGE_HOURS='two days' is not a number"):
        gate_settings()


def test_the_summary_names_the_check_the_asset_and_sample_rows():
    bad = Failure("kpi_rates_between_0_and_1", CRITICAL, "fct_dossier_resolution_unit_year",
                  "fct_dossier_resolution_unit_year: a rate outside [0, 1]", 1,
                  [{"unit_code": "000.00.01.H08", "period_start": "2017-01-01",
                    "os1a_on_time_rate": "1.5000"}])
    broken = Failure("kpi_key_unique", CRITICAL, "fct_online_service_unit_year",
                     "the check could not run: relation does not exist", None)
    late = Failure("kpi_late_share_high", WARNING, "fct_dossier_resolution_unit_year",
                   "more than half late", 3)
    result = GateResult("marts_gate", False, 79, [bad, broken, late])
    text = result.summary()
    assert text.splitlines()[0] == ("gate marts_gate: BLOCKED — 79 checks, 2 critical and "
                                    "1 warning failures")
    assert ("[CRITICAL] kpi_rates_between_0_and_1 on fct_dossier_resolution_unit_year, 1 bad "
            "row: fct_dossier_resolution_unit_year: a rate outside [0, 1]; e.g. "
            '[{"unit_code": "000.00.01.H08", "period_start": "2017-01-01", '
            '"os1a_on_time_rate": "1.5000"}]') in text
    assert ("[CRITICAL] kpi_key_unique on fct_online_service_unit_year: the check could not "
            "run: relation does not exist") in text
    assert "[WARNING] kpi_late_share_high on fct_dossier_resolution_unit_year, 3 bad rows" in text


def test_the_setup_script_regenerates_the_committed_project(tmp_path):
    from govkpi.quality import setup_gx

    setup_gx.build(project_dir=tmp_path)
    committed = config.GX_PROJECT_DIR / "gx"

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and "uncommitted" not in p.parts}

    assert files(tmp_path / "gx") == files(committed)
    checkpoints = sorted(p.stem for p in (committed / "checkpoints").glob("*.json"))
    assert checkpoints == ["marts_gate", "ranking_gate", "raw_gate", "staging_gate"]
    ranking = json.loads((committed / "checkpoints" / "ranking_gate.json").read_text())
    assert ranking["result_format"] == {"result_format": "COMPLETE"}
    assert ranking["actions"] == []  # Data Docs are built apart (build_data_docs)
