"""Methodologies into the warehouse (docs/ranking.md, "Warehouse tables"): the rows each table
gets, loading the same content twice changes nothing, and a changed file becomes current."""

from __future__ import annotations

from decimal import Decimal

from govkpi.ranking.methodology import by_name, load, write_to_warehouse
from tests.helpers import query

TABLES = ("methodology", "methodology_unit_group", "methodology_tier", "methodology_indicator")


def counts(wh, name: str) -> dict[str, int]:
    return {table: query(wh, f"select count(*) from ranking_config.{table}"
                             " where methodology_name = %s", (name,))[0][0]
            for table in TABLES}


def current(wh) -> dict[str, str]:
    return dict(query(wh, "select methodology_name, content_sha256"
                          " from ranking_config.current_methodology"))


def test_write_the_shipped_methodologies(fresh_warehouse):
    wh = fresh_warehouse
    qd766, binh_dinh = by_name("qd766"), by_name("binh_dinh_2017")
    assert write_to_warehouse(wh, qd766) is True
    assert write_to_warehouse(wh, binh_dinh) is True

    # qd766: 22 indicators × 2 unit groups; binh_dinh_2017: 30 for both groups + 2 district-only
    # (1.6, 2.7) + 2 department-only (4.3, 4.4)
    assert counts(wh, "qd766") == {"methodology": 1, "methodology_unit_group": 2,
                                   "methodology_tier": 4, "methodology_indicator": 44}
    assert counts(wh, "binh_dinh_2017") == {"methodology": 1, "methodology_unit_group": 2,
                                            "methodology_tier": 4, "methodology_indicator": 64}
    assert query(wh, "select version, periods, content->>'name', position('766' in title_en) > 0"
                     " from ranking_config.methodology where methodology_name = 'qd766'") == [
        (1, ["year", "quarter", "month"], "qd766", True)]
    assert query(wh, "select unit_group, unit_level, requires_assessment, ordinal"
                     " from ranking_config.methodology_unit_group"
                     " where methodology_name = 'binh_dinh_2017' order by ordinal") == [
        ("departments", 2, True, 1), ("districts", 3, True, 2)]
    assert query(wh, "select tier_key, label_vi, min_share, ordinal"
                     " from ranking_config.methodology_tier"
                     " where methodology_name = 'qd766' order by ordinal") == [
        ("tot", "Tốt", Decimal("0.8"), 1), ("kha", "Khá", Decimal("0.6"), 2),
        ("trung_binh", "Trung bình", Decimal("0.4"), 3), ("yeu", "Yếu", Decimal("0.0"), 4)]

    # the point tables, as the dbt models will sum them
    assert query(wh, "select unit_group, group_number, sum(max_points)"
                     " from ranking_config.methodology_indicator"
                     " where methodology_name = 'binh_dinh_2017'"
                     " group by 1, 2 order by 1, 2") == [
        ("departments", n, Decimal(p)) for n, p in
        zip(range(1, 8), (120, 200, 120, 200, 120, 100, 140), strict=True)] + [
        ("districts", n, Decimal(p)) for n, p in
        zip(range(1, 8), (140, 220, 120, 160, 120, 100, 140), strict=True)]
    assert query(wh, "select unit_group, sum(max_points),"
                     " sum(max_points) filter (where input_kind = 'not_measured')"
                     " from ranking_config.methodology_indicator"
                     " where methodology_name = 'qd766' group by 1 order by 1") == [
        ("departments", Decimal(100), Decimal(30)), ("districts", Decimal(100), Decimal(30))]

    rows = query(wh, "select indicator_key, input_kind, input_code, input_convention,"
                     " not_measured_reason is not null, curve_type, curve_params, when_missing,"
                     " ordinal from ranking_config.methodology_indicator"
                     " where methodology_name = 'qd766' and unit_group = 'districts'"
                     " and indicator_key in ('1.1', '2.1', '3.3', '5.4') order by ordinal")
    assert rows == [
        ("1.1", "not_measured", None, "law", True, "none", {}, "not_measured", 1),
        ("2.1", "kpi", "OS-1b", "portal", False, "linear", {}, "not_measured", 5),
        ("3.3", "kpi", "QD766-3.3", "law", False, "cap", {"at": 0.5}, "not_measured", 9),
        ("5.4", "kpi", "QD766-5.4", "law", False, "cap", {"at": 0.9}, "zero", 22)]
    assert query(wh, "select unit_group, input_kind, input_code, curve_params, when_missing"
                     " from ranking_config.methodology_indicator"
                     " where methodology_name = 'binh_dinh_2017' and indicator_key = '4.2'"
                     " order by unit_group") == [
        (group, "kpi", "DVC-4", {"steps": [[0.01, 20], [0.03, 40], [0.05, 60], [0.10, 80],
                                           [0.20, 100], [0.30, 120]]}, "zero")
        for group in ("departments", "districts")]
    assert query(wh, "select unit_group from ranking_config.methodology_indicator"
                     " where methodology_name = 'binh_dinh_2017' and indicator_key = '1.6'") == [
        ("districts",)]

    # the same content again: nothing happens
    loaded_at = query(wh, "select methodology_name, loaded_at from ranking_config.methodology")
    assert write_to_warehouse(wh, qd766) is False
    assert write_to_warehouse(wh, by_name("qd766")) is False
    assert counts(wh, "qd766")["methodology_indicator"] == 44
    assert query(wh, "select methodology_name, loaded_at from ranking_config.methodology") \
        == loaded_at
    assert current(wh) == {"qd766": qd766.content_sha256,
                           "binh_dinh_2017": binh_dinh.content_sha256}


def test_a_changed_file_becomes_current(fresh_warehouse, tmp_path):
    wh = fresh_warehouse
    shipped = by_name("qd766")
    assert write_to_warehouse(wh, shipped) is True

    changed_path = tmp_path / "qd766.yaml"
    text = shipped.source_file.read_text(encoding="utf-8")
    old = "        curve: {type: linear}  # one source says cap 0.8"
    assert text.count(old) == 1
    changed_path.write_text(text.replace(old, "        curve: {type: cap, at: 0.8}  # now"),
                            encoding="utf-8")
    changed = load(changed_path)
    assert changed.content_sha256 != shipped.content_sha256
    assert write_to_warehouse(wh, changed) is True

    assert current(wh) == {"qd766": changed.content_sha256}
    assert counts(wh, "qd766") == {"methodology": 2, "methodology_unit_group": 4,
                                   "methodology_tier": 8, "methodology_indicator": 88}
    assert query(wh, "select i.curve_type, i.curve_params, m.source_file"
                     " from ranking_config.current_methodology m"
                     " join ranking_config.methodology_indicator i using (methodology_name,"
                     " content_sha256)"
                     " where i.indicator_key = '4.2' and i.unit_group = 'departments'") == [
        ("cap", {"at": 0.8}, str(changed_path))]
    content = query(wh, "select content from ranking_config.current_methodology")[0][0]
    assert content["groups"][4]["indicators"][1]["curve"] == {"type": "cap", "at": 0.8}

    # reverting the file makes the shipped content current again, without a second copy
    assert write_to_warehouse(wh, shipped) is True
    assert current(wh) == {"qd766": shipped.content_sha256}
    assert counts(wh, "qd766")["methodology"] == 2
    assert write_to_warehouse(wh, shipped) is False
