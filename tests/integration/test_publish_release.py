"""Publishing a ranking release: crafted ranking marts → publish() → the append-only
``published`` schema (docs/ranking.md, "Publication").

The ranking marts are built by dbt elsewhere; so that these tests do not depend on the models,
:func:`build_crafted_ranking_marts` creates ``marts.fct_ranking_*`` with the documented columns
(docs/ranking.md, "Models") and a handful of rows written by hand, plus the methodology in
``ranking_config`` (the real DDL, include/govkpi/ranking/schema.sql). It is the one place to
swap for the real models later (load a methodology, ``dbt build --select marts.ranking``);
``tests/integration/test_report.py`` uses it too.

The crafted 2017 ranking of methodology ``binh_dinh_2017`` (max 1050 points, of which 1000
achievable: indicator 5.2 is not measured; An Nhơn also lacks 4.2, so its achievable max is 880):

| group | unit | points | share | tier | rank | previous |
|---|---|---|---|---|---|---|
| departments | Sở Tài chính | 850 | 85 % | tốt | 1 | 2 (▲1) |
| departments | Sở Thông tin và Truyền thông | 820 | 82 % | tốt | 2 | 1 (▼1) |
| departments | Sở Tài nguyên và Môi trường | 820 | 82 % | tốt | 2 (tie) | 11 (▲9) |
| departments | Sở Giao thông vận tải | 625 | 62.5 % | khá | 4 | 3 (▼1) |
| departments | Sở Nội vụ | — | — | not assessed (no return) | — | 5 |
| districts | Thành phố Quy Nhơn | 810 (group 4: 100/160 = 62.5 %) | 81 % | tốt | 1 | 1 (=) |
| districts | Thị xã An Nhơn | 430 / 880 | 48.9 % | trung bình | 2 | — |
| districts | Huyện Vân Canh | 300 | 30 % | yếu | 3 | 2 (▼1) |

Rows that must NOT be published with the 2017 release: the same units in 2016, a quarter-grain
row of 2017, and 2017 rows of an older content (sha) of the methodology.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

import govkpi
from govkpi import roles
from govkpi.publish.release import PUBLISHED_TABLES, PublishError, gate_payload, publish

METHODOLOGY = "binh_dinh_2017"
SHA = hashlib.sha256(b"crafted binh_dinh_2017 v2").hexdigest()
OLD_SHA = hashlib.sha256(b"crafted binh_dinh_2017 v1").hexdigest()
YEAR = 2017
TITLE_VI = "Xếp hạng mức độ ứng dụng công nghệ thông tin của các cơ quan nhà nước tỉnh Bình Định"
TITLE_EN = "Ranking of IT application by the state agencies of Bình Định province"
PASSED = {"passed": True, "critical": [],
          "warnings": ["[WARNING] expect_column_values_to_be_between on os7_median_working_days"]}
WATERMARK = dt.datetime(2018, 1, 15, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))

UNIT_GROUPS = {  # key: (unit level, label vi, label en, requires_assessment)
    "departments": (2, "Sở, ban, ngành", "Departments and agencies", True),
    "districts": (3, "UBND cấp huyện", "District-level people's committees", True),
}
TIERS = [  # key, vi, en, min_share (strongest first)
    ("tot", "Tốt", "Good", Decimal("0.80")),
    ("kha", "Khá", "Fair", Decimal("0.60")),
    ("trung_binh", "Trung bình", "Average", Decimal("0.40")),
    ("yeu", "Yếu", "Weak", Decimal("0")),
]
GROUPS = {  # key: (number, label vi, label en)
    "infrastructure": (1, "Hạ tầng kỹ thuật", "IT infrastructure"),
    "online_services": (4, "Dịch vụ công trực tuyến mức độ 3, 4",
                        "Online public services at level 3 and 4"),
    "security": (5, "An toàn thông tin", "Information security"),
}
NOT_MEASURED_REASON = "hệ thống tiếp nhận phản ánh chưa kết nối (no feedback system)"
INDICATORS = [  # key, group, label vi, label en, input kind, input code, max points
    ("1.1", "infrastructure", "Tỷ lệ máy tính trên cán bộ", "Computers per official",
     "item", "HT-01", 200),
    ("1.2", "infrastructure", "Kết nối mạng diện rộng", "Wide-area network", "item", "HT-02", 140),
    ("4.1", "online_services", "Tỷ lệ dịch vụ mức độ 3, 4", "Share of services at level 3-4",
     "kpi", "DVC-1", 40),
    ("4.2", "online_services", "Tỷ lệ hồ sơ trực tuyến được giải quyết",
     "Share of online dossiers resolved", "kpi", "DVC-2", 120),
    ("5.1", "security", "Phương án bảo đảm an toàn thông tin", "Security plan", "item",
     "ATTT-01", 500),
    ("5.2", "security", "Phản ánh về an toàn thông tin", "Security incident reports",
     "not_measured", None, 50),
]
# unit: (code, name, group, points per indicator 1.1 1.2 4.1 4.2 5.1 — None = not measured,
#        rank, previous rank, not-assessed reason)
UNITS_2017 = [
    ("STC", "Sở Tài chính", "departments", (190, 130, 40, 100, 390), 1, 2, None),
    ("STTTT", "Sở Thông tin và Truyền thông", "departments", (180, 140, 40, 80, 380), 2, 1, None),
    ("STNMT", "Sở Tài nguyên và Môi trường", "departments", (170, 130, 40, 100, 380), 2, 11,
     None),
    ("SGTVT", "Sở Giao thông vận tải", "departments", (150, 100, 20, 55, 300), 4, 3, None),
    ("SNV", "Sở Nội vụ", "departments", None, None, 5,
     "no self-assessment return (not_submitted)"),
    ("QN", "Thành phố Quy Nhơn", "districts", (200, 120, 20, 80, 390), 1, 1, None),
    ("AN", "Thị xã An Nhơn", "districts", (160, 100, 20, None, 150), 2, None, None),
    ("VC", "Huyện Vân Canh", "districts", (100, 60, 20, 20, 100), 3, 2, None),
]
UNITS_2016 = [
    ("STC", "Sở Tài chính", "departments", (180, 120, 40, 90, 370), 1, None, None),
    ("QN", "Thành phố Quy Nhơn", "districts", (190, 110, 20, 60, 380), 1, None, None),
]
EXPECTED_2017 = {"ranking_release_unit": 8, "ranking_release_group_score": 24,
                 "ranking_release_indicator": 48, "ranking_release_tier": 8}

KEY_COLUMNS = """
    methodology_name text not null, content_sha256 text not null, period_grain text not null,
    period_start date not null, period_year integer not null, period_quarter integer,
    period_month integer"""
RANKING_MARTS_DDL = f"""
create schema if not exists marts;
create table marts.fct_ranking_indicator_score ({KEY_COLUMNS},
    unit_code text, unit_name text, unit_group text, group_key text, group_number integer,
    group_label_vi text, group_label_en text, indicator_key text, indicator_label_vi text,
    indicator_label_en text, input_kind text, input_code text, input_value numeric,
    input_numerator numeric, input_denominator numeric, max_points numeric, points numeric,
    status text);
create table marts.fct_ranking_group_score ({KEY_COLUMNS},
    unit_code text, unit_name text, unit_group text, group_key text, group_number integer,
    group_label_vi text, group_label_en text, points numeric, max_points numeric,
    achievable_max_points numeric);
create table marts.fct_ranking_unit ({KEY_COLUMNS},
    unit_code text, unit_name text, unit_group text, unit_group_label_vi text,
    unit_group_label_en text, is_assessed boolean, not_assessed_reason text,
    total_points numeric, max_points numeric, achievable_max_points numeric,
    score_share numeric, tier_key text, tier_label_vi text, tier_label_en text,
    tier_ordinal integer, rank_in_group bigint, ranked_units_in_group bigint,
    previous_rank bigint, rank_change bigint);
create table marts.fct_ranking_tier_distribution ({KEY_COLUMNS},
    unit_group text, tier_key text, tier_label_vi text, tier_label_en text,
    tier_ordinal integer, unit_count bigint, assessed_unit_count bigint, unit_share numeric);
"""


def _tier(share: Decimal) -> tuple[int, tuple]:
    for ordinal, tier in enumerate(TIERS, start=1):
        if share >= tier[3]:
            return ordinal, tier
    raise AssertionError(share)


def _insert(conn, table: str, row: dict) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values()))


def _write_units(conn, sha: str, year: int, units, grain: str = "year",
                 quarter: int | None = None) -> None:
    """Indicator, group, unit and tier rows of ``units`` (sums, shares, tiers derived here;
    ranks as written in the table)."""
    start = dt.date(year, 1 + 3 * ((quarter or 1) - 1), 1)
    key = {"methodology_name": METHODOLOGY, "content_sha256": sha, "period_grain": grain,
           "period_start": start, "period_year": year, "period_quarter": quarter,
           "period_month": None}
    ranked = {g: sum(1 for u in units if u[2] == g and u[3] is not None) for g in UNIT_GROUPS}
    tier_counts: dict[tuple[str, str], int] = {}
    for code, name, group, points, rank, previous, reason in units:
        unit = {**key, "unit_code": code, "unit_name": name, "unit_group": group}
        scored = dict(zip([i[0] for i in INDICATORS if i[4] != "not_measured"], points or (),
                          strict=False))
        group_totals: dict[str, list] = {g: [None if points is None else Decimal(0), 0, 0]
                                         for g in GROUPS}
        for ind_key, grp, label_vi, label_en, kind, code_in, max_points in INDICATORS:
            value = numerator = denominator = pts = None
            if points is None:
                status = "not_assessed"
            elif kind == "not_measured" or scored.get(ind_key) is None:
                status = "not_measured"
            else:
                status = "scored"
                pts = Decimal(scored[ind_key])
                value = (pts / max_points).quantize(Decimal("0.0001"))
                if kind == "kpi":
                    numerator, denominator = value * 200, Decimal(200)
            number, glabel_vi, glabel_en = GROUPS[grp]
            _insert(conn, "marts.fct_ranking_indicator_score", {
                **unit, "group_key": grp, "group_number": number, "group_label_vi": glabel_vi,
                "group_label_en": glabel_en, "indicator_key": ind_key,
                "indicator_label_vi": label_vi, "indicator_label_en": label_en,
                "input_kind": kind, "input_code": code_in, "input_value": value,
                "input_numerator": numerator, "input_denominator": denominator,
                "max_points": max_points, "points": pts, "status": status})
            totals = group_totals[grp]
            totals[1] += max_points
            if status == "scored":
                totals[0] += pts
                totals[2] += max_points
        for grp, (pts, max_points, achievable) in group_totals.items():
            number, glabel_vi, glabel_en = GROUPS[grp]
            _insert(conn, "marts.fct_ranking_group_score", {
                **unit, "group_key": grp, "group_number": number, "group_label_vi": glabel_vi,
                "group_label_en": glabel_en, "points": pts, "max_points": max_points,
                "achievable_max_points": achievable if points is not None else None})
        _level, label_vi, label_en, _ = UNIT_GROUPS[group]
        row = {**unit, "unit_group_label_vi": label_vi, "unit_group_label_en": label_en,
               "is_assessed": points is not None, "not_assessed_reason": reason,
               "max_points": sum(i[6] for i in INDICATORS),
               "ranked_units_in_group": ranked[group], "previous_rank": previous}
        if points is not None:
            total = sum(g[0] for g in group_totals.values())
            achievable = sum(g[2] for g in group_totals.values())
            share = total / achievable
            ordinal, (tier_key, tier_vi, tier_en, _) = _tier(share)
            tier_counts[(group, tier_key)] = tier_counts.get((group, tier_key), 0) + 1
            row |= {"total_points": total, "achievable_max_points": achievable,
                    "score_share": share, "tier_key": tier_key, "tier_label_vi": tier_vi,
                    "tier_label_en": tier_en, "tier_ordinal": ordinal, "rank_in_group": rank,
                    "rank_change": None if previous is None else previous - rank}
        _insert(conn, "marts.fct_ranking_unit", row)
    for group in UNIT_GROUPS:
        for ordinal, (tier_key, tier_vi, tier_en, _) in enumerate(TIERS, start=1):
            count = tier_counts.get((group, tier_key), 0)
            _insert(conn, "marts.fct_ranking_tier_distribution", {
                **key, "unit_group": group, "tier_key": tier_key, "tier_label_vi": tier_vi,
                "tier_label_en": tier_en, "tier_ordinal": ordinal, "unit_count": count,
                "assessed_unit_count": ranked[group],
                "unit_share": Decimal(count) / ranked[group] if ranked[group] else None})


def _write_methodology(conn, sha: str, loaded_at: dt.datetime) -> None:
    _insert(conn, "ranking_config.methodology", {
        "methodology_name": METHODOLOGY, "content_sha256": sha, "version": 1,
        "title_vi": TITLE_VI, "title_en": TITLE_EN,
        "basis": "QĐ 4158/QĐ-UBND (18/11/2015), tái dựng (reconstruction)",
        "periods": ["year"], "source_file": f"{METHODOLOGY}.yaml",
        "content": json.dumps({"name": METHODOLOGY}), "loaded_at": loaded_at})
    for ordinal, (group, (level, label_vi, label_en, requires)) in enumerate(
            UNIT_GROUPS.items(), start=1):
        _insert(conn, "ranking_config.methodology_unit_group", {
            "methodology_name": METHODOLOGY, "content_sha256": sha, "unit_group": group,
            "unit_level": level, "label_vi": label_vi, "label_en": label_en,
            "requires_assessment": requires, "ordinal": ordinal})
        for i, (key, grp, label_vi_i, label_en_i, kind, code, max_points) in enumerate(
                INDICATORS, start=1):
            number, glabel_vi, glabel_en = GROUPS[grp]
            _insert(conn, "ranking_config.methodology_indicator", {
                "methodology_name": METHODOLOGY, "content_sha256": sha, "group_key": grp,
                "group_number": number, "group_label_vi": glabel_vi, "group_label_en": glabel_en,
                "indicator_key": key, "indicator_label_vi": label_vi_i,
                "indicator_label_en": label_en_i, "unit_group": group, "max_points": max_points,
                "input_kind": kind, "input_code": code,
                "not_measured_reason": NOT_MEASURED_REASON if kind == "not_measured" else None,
                "curve_type": "none" if kind == "not_measured" else "linear",
                "when_missing": "not_measured" if kind == "kpi" else "zero", "ordinal": i})
    for ordinal, (key, label_vi, label_en, min_share) in enumerate(TIERS, start=1):
        _insert(conn, "ranking_config.methodology_tier", {
            "methodology_name": METHODOLOGY, "content_sha256": sha, "tier_key": key,
            "label_vi": label_vi, "label_en": label_en, "min_share": min_share,
            "ordinal": ordinal})


def build_crafted_ranking_marts(wh) -> None:
    """Stand-in for the dbt ranking models: the methodology in ``ranking_config`` (an older
    and the current content) and ``marts.fct_ranking_*`` with the rows of the module
    docstring. Also an audit batch history for the data watermark."""
    from govkpi.load.raw import ensure_schema as ensure_raw_schema

    ranking_ddl = Path(govkpi.__file__).parent / "ranking" / "schema.sql"
    with wh.connect() as conn:
        conn.execute(ranking_ddl.read_text())
        _write_methodology(conn, OLD_SHA, dt.datetime(2018, 1, 1, tzinfo=dt.UTC))
        _write_methodology(conn, SHA, dt.datetime(2018, 1, 10, tzinfo=dt.UTC))
        conn.execute(RANKING_MARTS_DDL)
        _write_units(conn, SHA, YEAR, UNITS_2017)
        _write_units(conn, SHA, YEAR - 1, UNITS_2016)
        _write_units(conn, SHA, YEAR, UNITS_2016, grain="quarter", quarter=4)
        _write_units(conn, OLD_SHA, YEAR, UNITS_2016)
        ensure_raw_schema(conn)
        for status, finished in (("succeeded", WATERMARK - dt.timedelta(days=3)),
                                 ("succeeded", WATERMARK),
                                 ("failed", WATERMARK + dt.timedelta(days=1))):
            conn.execute("insert into audit.load_batch (source_system, endpoint, status,"
                         " finished_at) values ('onestop', 'hoso', %s, %s)", (status, finished))


@pytest.fixture(scope="module")
def crafted_ranking_marts(fresh_warehouse_module):
    """A database of this module's own holding the crafted ranking marts."""
    build_crafted_ranking_marts(fresh_warehouse_module)
    return fresh_warehouse_module


def _one(wh, statement: str, params=()):
    with wh.connect() as conn:
        return conn.execute(statement, params).fetchall()


def _current(wh) -> int | None:
    rows = _one(wh, "select release_id from published.current_ranking_release"
                    " where year = %s and methodology_name = %s", (YEAR, METHODOLOGY))
    return rows[0][0] if rows else None


def test_publish_copies_the_year_rows_of_the_current_content(crafted_ranking_marts):
    wh = crafted_ranking_marts
    release = publish(wh, YEAR, METHODOLOGY, PASSED)
    (row,) = _one(wh, "select year, methodology_name, methodology_sha256, data_watermark,"
                      " gate_result, methodology_title_vi from published.ranking_release"
                      " where release_id = %s", (release,))
    assert row == (YEAR, METHODOLOGY, SHA, WATERMARK, PASSED, TITLE_VI)
    for table, count in EXPECTED_2017.items():
        assert _one(wh, f"select count(*), min(period_year), max(period_year),"
                        f" min(content_sha256), max(content_sha256),"
                        f" bool_and(period_grain = 'year') from published.{table}"
                        f" where release_id = %s", (release,)) == [
            (count, YEAR, YEAR, SHA, SHA, True)], table
    assert _one(wh, "select unit_code, total_points, achievable_max_points, score_share,"
                    " tier_key, rank_in_group, previous_rank, rank_change"
                    " from published.ranking_release_unit where release_id = %s"
                    " and unit_code in ('SGTVT', 'SNV') order by unit_code", (release,)) == [
        ("SGTVT", 625, 1000, Decimal("0.625"), "kha", 4, 3, -1),
        ("SNV", None, None, None, None, None, 5, None)]
    assert _one(wh, "select points, max_points, achievable_max_points"
                    " from published.ranking_release_group_score where release_id = %s"
                    " and unit_code = 'QN' and group_key = 'online_services'", (release,)) == [
        (100, 160, 160)]
    # the not-measured reason and the tier thresholds come along from ranking_config
    assert _one(wh, "select status, points, not_measured_reason"
                    " from published.ranking_release_indicator where release_id = %s"
                    " and unit_code = 'QN' and indicator_key = '5.2'", (release,)) == [
        ("not_measured", None, NOT_MEASURED_REASON)]
    assert _one(wh, "select tier_key, unit_count, assessed_unit_count, unit_share, min_share"
                    " from published.ranking_release_tier where release_id = %s"
                    " and unit_group = 'departments' order by tier_ordinal", (release,)) == [
        ("tot", 3, 4, Decimal("0.75"), Decimal("0.80")), ("kha", 1, 4, Decimal("0.25"),
                                                          Decimal("0.60")),
        ("trung_binh", 0, 4, 0, Decimal("0.40")), ("yeu", 0, 4, 0, 0)]
    assert _current(wh) == release


def test_publishing_again_adds_a_release_and_keeps_the_old(crafted_ranking_marts):
    wh = crafted_ranking_marts
    first = publish(wh, YEAR, METHODOLOGY, PASSED)
    second = publish(wh, YEAR, METHODOLOGY, {**PASSED, "warnings": []})
    assert second > first
    assert _current(wh) == second
    for release in (first, second):
        assert _one(wh, "select count(*) from published.ranking_release_unit"
                        " where release_id = %s", (release,)) == [(8,)]
    (count,) = _one(wh, "select count(*) from published.current_ranking_release"
                        " where year = %s and methodology_name = %s", (YEAR, METHODOLOGY))
    assert count == (1,)


def test_publish_takes_an_object_gate_result_through_gate_payload(crafted_ranking_marts):
    from govkpi.quality.gate import Failure, GateResult

    result = GateResult("ranking_gate", True, 12, [
        Failure("kpi_late_share_high", "warning", "fct_x", "more than half late", 2)])
    release = publish(crafted_ranking_marts, YEAR, METHODOLOGY, gate_payload(result))
    (gate,) = _one(crafted_ranking_marts, "select gate_result from published.ranking_release"
                                          " where release_id = %s", (release,))[0]
    assert gate == {"passed": True, "critical": [], "checkpoint": "ranking_gate",
                    "evaluated": 12,
                    "warnings": ["[WARNING] kpi_late_share_high on fct_x, 2 bad rows: more than "
                                 "half late"]}


def test_a_failed_gate_refuses_and_leaves_the_current_release(crafted_ranking_marts):
    wh = crafted_ranking_marts
    before = publish(wh, YEAR, METHODOLOGY, PASSED)
    (releases,) = _one(wh, "select count(*) from published.ranking_release")
    failed = {"passed": False, "critical": ["[CRITICAL] expect_column_values_to_not_be_null "
                                            "on unit_code, 3 bad rows"], "warnings": []}
    with pytest.raises(PublishError, match="quality gate failed for 2017 / binh_dinh_2017: 1 "
                                           r"critical failure\(s\): \[CRITICAL\] expect_column"):
        publish(wh, YEAR, METHODOLOGY, failed)
    assert _current(wh) == before
    assert _one(wh, "select count(*) from published.ranking_release") == [releases]


@pytest.mark.parametrize(("year", "methodology", "message"), [
    (2019, METHODOLOGY, "the ranking marts hold no rows for 2019 / binh_dinh_2017"),
    (YEAR, "qd766", "unknown methodology 'qd766': loaded ones are binh_dinh_2017"),
])
def test_nothing_to_publish_is_refused(crafted_ranking_marts, year, methodology, message):
    wh = crafted_ranking_marts
    (releases,) = _one(wh, "select count(*) from published.ranking_release")
    with pytest.raises(PublishError, match=message):
        publish(wh, year, methodology, PASSED)
    assert _one(wh, "select count(*) from published.ranking_release") == [releases]


def test_optional_mart_columns_are_copied_when_present(crafted_ranking_marts):
    """Columns the model has beyond docs/ranking.md (the indicator's ordinal ...) come along;
    without them (the fixture's marts) they are NULL."""
    wh = crafted_ranking_marts
    without = publish(wh, YEAR, METHODOLOGY, PASSED)
    with wh.connect() as conn:
        conn.execute("alter table marts.fct_ranking_indicator_score"
                     " add column indicator_ordinal integer")
        conn.execute("update marts.fct_ranking_indicator_score"
                     " set indicator_ordinal = 7 where indicator_key = '4.2'")
    try:
        with_ordinal = publish(wh, YEAR, METHODOLOGY, PASSED)
    finally:
        with wh.connect() as conn:
            conn.execute("alter table marts.fct_ranking_indicator_score"
                         " drop column indicator_ordinal")
    sql = ("select count(indicator_ordinal), max(indicator_ordinal)"
           " from published.ranking_release_indicator where release_id = %s")
    assert _one(wh, sql, (without,)) == [(0, None)]
    assert _one(wh, sql, (with_ordinal,)) == [(8, 7)]


def test_a_mart_without_a_documented_column_is_refused(crafted_ranking_marts):
    wh = crafted_ranking_marts
    (releases,) = _one(wh, "select count(*) from published.ranking_release")
    with wh.connect() as conn:
        conn.execute("alter table marts.fct_ranking_unit rename column score_share to share")
    try:
        with pytest.raises(PublishError, match="marts.fct_ranking_unit lacks the column"
                                               r"\(s\) score_share of docs/ranking.md"):
            publish(wh, YEAR, METHODOLOGY, PASSED)
    finally:
        with wh.connect() as conn:
            conn.execute("alter table marts.fct_ranking_unit rename column share to score_share")
    assert _one(wh, "select count(*) from published.ranking_release") == [releases]


def test_a_gate_result_without_a_verdict_is_refused(crafted_ranking_marts):
    with pytest.raises(PublishError, match="boolean 'passed'"):
        publish(crafted_ranking_marts, YEAR, METHODOLOGY, {"critical": []})


@pytest.mark.parametrize("table", PUBLISHED_TABLES)
@pytest.mark.parametrize("statement", [
    "update published.{table} set methodology_name = methodology_name",
    "delete from published.{table}",
    "truncate published.{table} cascade",
    "truncate published.{table}",
])
def test_published_tables_are_append_only(crafted_ranking_marts, table, statement):
    import psycopg

    wh = crafted_ranking_marts
    if _current(wh) is None:
        publish(wh, YEAR, METHODOLOGY, PASSED)
    (before,) = _one(wh, f"select count(*) from published.{table}")
    assert before[0] > 0
    sql = statement.format(table=table)
    if table == "ranking_release" and sql == f"truncate published.{table}":
        # without CASCADE, PostgreSQL refuses first for the foreign keys: refused all the same
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="foreign key"):
            _one(wh, sql)
    else:
        with pytest.raises(psycopg.errors.RestrictViolation,
                           match="published releases are append-only: publish a new release "
                                 "instead"):
            _one(wh, sql)
    assert _one(wh, f"select count(*) from published.{table}") == [before]


def test_schema_is_applied_once_per_version(crafted_ranking_marts):
    from govkpi.publish.release import ensure_schema

    wh = crafted_ranking_marts
    with wh.connect() as conn:
        ensure_schema(conn)
        (comment,) = conn.execute("select obj_description('published'::regnamespace,"
                                  " 'pg_namespace')").fetchone()
        ensure_schema(conn)  # nothing to do: no DDL, no grants
    assert comment.startswith("govkpi.publish schema ")


def test_bi_reader_can_select_the_published_tables(crafted_ranking_marts):
    from psycopg import sql

    wh = crafted_ranking_marts
    if _current(wh) is None:
        publish(wh, YEAR, METHODOLOGY, PASSED)
    name = f"govkpi_test_pub_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with wh.connect(autocommit=True) as conn:
        roles.create_bi_login(conn, name, "bi-reader-test-password")
    reader = replace(wh, user=name, password="bi-reader-test-password")
    try:
        for table in (*PUBLISHED_TABLES, "current_ranking_release"):
            assert _one(reader, f"select count(*) from published.{table}") == _one(
                wh, f"select count(*) from published.{table}")
        import psycopg

        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _one(reader, "insert into published.ranking_release (year, methodology_name,"
                         " methodology_sha256, gate_result, methodology_title_vi,"
                         " methodology_title_en) select year, methodology_name,"
                         " methodology_sha256, gate_result, methodology_title_vi,"
                         " methodology_title_en from published.ranking_release limit 1")
    finally:
        with wh.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
