"""Crafted units, dossiers and self-assessment returns → dbt ranking models → hand-computed scores.

Two methodologies are written to ``ranking_config`` by the real loader
(``govkpi.ranking.methodology.load`` + ``write_to_warehouse``) from files in a temporary folder:
``crafted_ranking`` (years; departments need a return, districts do not) and
``crafted_quarterly`` (quarters, districts only). An earlier content of ``crafted_ranking`` is
loaded first: only the current content may be scored. Raw rows are inserted straight into the
landing tables (no simulator, no extractor): units, one procedure, dossiers received in March
2017 (DVC-2 = online / received in the period), return files and their item rows for 2016 and
2017 (including a superseded file, a rejected one and a unit that sent none).

docs/ranking.md, applied by hand (R = the input; points rounded to 4 decimals):

crafted_ranking, departments (max 66; 3.2 is never measured → achievable 60, or 54 when DVC-2
has no dossier either):
  1.1 HT-01 linear ×10 · 1.2 UD-01 cap 0.5 ×4 · 1.3 UD-02 cap 0.8 ×5 · 1.4 AT-04 cap 0.9 ×9 ·
  2.1 NL-01 step [[1, 2], [3, 4]] · 2.2 AT-05 piecewise [[0, 0], [0.5, 0.4], [1, 1]] ×10 ·
  2.3 HT-03 boolean 3 · 2.4 CS-03 inverse_linear best 0 worst 10 ×5 ·
  3.1 DVC-2 step [[0.2, 3], [0.5, 6]] (missing → not measured) · 3.2 not measured 6 ·
  3.3 DV-02 boolean 2 (missing → full) · 3.4 HT-05 boolean 2 (missing → zero).
  Districts: 1.1, and 5.1 DVC-2 cap 0.5 ×10 with when_missing not_assessed (max 20).

2017 (DVC-2: D1 3/5, D2 1/4, D3 1/2, D5 0/1, H1 1/4; D4, D6, H2 have no dossier):
  D1  10 + 4 + 5 + 9 + 4 + 10 + 3 + 5 + 6 + 2 + 2                       = 60 / 60 = 1.0   tốt
  D2  10 + 4 (50 %) + 5 (80 %) + 9 + 2 (1 staff) + 6 (dinh_ky = 2/3 →
      0.4 + 0.6 × 1/3 = 0.6) + 3 + 4 ((10 − 2)/10) + 3 (0.25) + 2 (DV-02
      unanswered: full) + 0 (HT-05 unanswered: zero)                     = 48 / 60 = 0.8   tốt
  D3  10 + 1.6 (20 %/50 %) + 3.75 (60 %/80 %) + 7.65 (76.5 %/90 %) + 4 +
      10 + 3 + 0 (10 days) + 6 (0.5 = the threshold) + 2 + 0             = 48 / 60 = 0.8   tốt
  D6  10 + 4 + 5 + 9 + 4 + 6 + 0 + 0 + (3.1 not measured) + 0 + 0        = 38 / 54 = 0.7037 khá
  D4  5 + 4 + 2.5 + 4.5 + 0 (no staff: below the first step) + 2.6667
      (thu_cong = 1/3 → 0.4 × 2/3) + 3 + 5 + 2 + 2                       = 30.6667 / 54
                                                                          = 0.5679 trung bình
  D5  1 (10 %) + 0 + unanswered items 0 … + 0 (DVC-2 = 0 < 0.2) + 2 (full) = 3 / 60 = 0.05 yếu
  D7  no return (not_submitted), D8 return rejected: not assessed. D9 was dissolved in 2016.
  Ranks: D1 1, D2 2, D3 2, D6 4, D4 5, D5 6 (ties share a rank).
  H1  0 (HT-01 unanswered, zero) + 5 (0.25 / 0.5 × 10) = 5 / 20 = 0.25 yếu, rank 1.
  H2  no dossier: DVC-2 missing with when_missing not_assessed → not assessed.
2016 (no dossier that year: DVC-2 not measured for departments; only HT-01 answered; DV-02
  full): D4 12, D2 11, D7 9, D9 8, D1 7, D3 5, D5 2 (/ 54) → ranks 1 … 7; D8 not submitted.
  Districts: DVC-2 missing → both not assessed.
crafted_quarterly, 2017 Q1: H1 DVC-2 linear ×10 → 2.5 / 10; H2 nothing measured → not assessed.
"""

from __future__ import annotations

import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from govkpi.load.raw import ensure_schema
from tests.helpers import dbt, query

D = Decimal

UNITS = [
    ("P", "UBND tỉnh", 1, None, "2015-01-01", None),
    ("D1", "Sở Một", 2, "P", "2015-01-01", None),
    ("D2", "Sở Hai", 2, "P", "2015-01-01", None),
    ("D3", "Sở Ba", 2, "P", "2015-01-01", None),
    ("D4", "Sở Bốn", 2, "P", "2015-01-01", None),
    ("D5", "Sở Năm", 2, "P", "2015-01-01", None),
    ("D6", "Sở Sáu (thành lập 2017)", 2, "P", "2017-01-01", None),
    ("D7", "Sở Bảy", 2, "P", "2015-01-01", None),
    ("D8", "Sở Tám", 2, "P", "2015-01-01", None),
    ("D9", "Sở Chín (giải thể 2016)", 2, "P", "2015-01-01", "2016-06-30"),
    ("H1", "UBND huyện Một", 3, "P", "2015-01-01", None),
    ("H2", "UBND huyện Hai", 3, "P", "2015-01-01", None),
    ("X1", "UBND xã Một", 4, "H1", "2015-01-01", None),
]
DOSSIERS = {"D1": (5, 3), "D2": (4, 1), "D3": (2, 1), "D5": (1, 0), "H1": (4, 1)}  # (all, online)

# (year, unit) → (status, sha256, {item: value}); a unit absent here sent nothing that year.
RETURNS = {
    (2016, "D1"): ("loaded", "a1", {"HT-01": 50.0}),
    (2016, "D2"): ("loaded", "a2", {"HT-01": 90.0}),
    (2016, "D3"): ("loaded", "a3", {"HT-01": 30.0}),
    (2016, "D4"): ("loaded", "a4", {"HT-01": 100.0}),
    (2016, "D5"): ("loaded", "a5", {"HT-01": 0.0}),
    (2016, "D7"): ("loaded", "a7", {"HT-01": 70.0}),
    (2016, "D9"): ("loaded", "a9", {"HT-01": 60.0}),
    (2016, "D8"): ("not_submitted", None, {}),
    (2017, "D1"): ("loaded", "b1", {
        "HT-01": 100.0, "UD-01": 60.0, "UD-02": 90.0, "AT-04": 90.0, "NL-01": 3,
        "AT-05": "tu_dong_ngoai_vi", "HT-03": True, "CS-03": 0, "DV-02": True, "HT-05": True}),
    (2017, "D2"): ("loaded_with_errors", "b2", {
        "HT-01": 100.0, "UD-01": 50.0, "UD-02": 80.0, "AT-04": 90.0, "NL-01": 1,
        "AT-05": "dinh_ky", "HT-03": True, "CS-03": 2}),
    (2017, "D3"): ("loaded", "b3", {
        "HT-01": 100.0, "UD-01": 20.0, "UD-02": 60.0, "AT-04": 76.5, "NL-01": 5,
        "AT-05": "tu_dong_ngoai_vi", "HT-03": True, "CS-03": 10, "DV-02": True, "HT-05": False}),
    (2017, "D4"): ("loaded", "b4", {
        "HT-01": 50.0, "UD-01": 50.0, "UD-02": 40.0, "AT-04": 45.0, "NL-01": 0,
        "AT-05": "thu_cong", "HT-03": True, "CS-03": 0, "DV-02": True, "HT-05": True}),
    (2017, "D5"): ("loaded_with_errors", "b5", {"HT-01": 10.0, "UD-01": 0.0}),
    (2017, "D6"): ("loaded", "b6", {
        "HT-01": 100.0, "UD-01": 50.0, "UD-02": 80.0, "AT-04": 90.0, "NL-01": 3,
        "AT-05": "dinh_ky", "HT-03": False, "CS-03": 10, "DV-02": False, "HT-05": False}),
    (2017, "D7"): ("not_submitted", None, {}),
    (2017, "D8"): ("rejected", "b8", {}),
    (2017, "H2"): ("loaded", "c2", {"HT-01": 80.0}),
}
# D1 corrected its 2017 return: the first file (HT-01 = 10 %) must not count.
SUPERSEDED = ((2017, "D1"), ("loaded", "b1-old", {"HT-01": 10.0}))

TIERS = """\
tiers:
  - {key: tot, label_vi: Tốt, label_en: Good, min_share: 0.80}
  - {key: kha, label_vi: Khá, label_en: Fair, min_share: 0.60}
  - {key: trung_binh, label_vi: Trung bình, label_en: Average, min_share: 0.40}
  - {key: yeu, label_vi: Yếu, label_en: Weak, min_share: 0.0}
"""


def crafted_ranking(first_max: int = 10) -> str:
    def ind(key, max_points, source, curve=None, *, groups="departments", missing=None):
        line = (f'      - {{key: "{key}", label_vi: "Chỉ tiêu {key}", label_en: "Indicator {key}",'
                f" unit_groups: [{groups}], max_points: {max_points}, input: {source}")
        line += f", curve: {curve}" if curve else ""
        line += f", when_missing: {missing}" if missing else ""
        return line + "}\n"

    def group(key, number, label_vi, label_en):
        return (f"  - key: {key}\n    number: {number}\n    label_vi: {label_vi}\n"
                f"    label_en: {label_en}\n    indicators:\n")

    return (
        "version: 1\nname: crafted_ranking\ntitle_vi: Phương pháp thử\n"
        "title_en: Crafted test methodology\nbasis: test_ranking_scores_crafted.py\n"
        "periods: [year]\nunit_groups:\n"
        "  - {key: departments, label_vi: 'Sở, ban, ngành', label_en: Departments,"
        " requires_assessment: true}\n"
        "  - {key: districts, label_vi: UBND cấp huyện, label_en: Districts,"
        " requires_assessment: false}\n"
        + TIERS + "groups:\n"
        + group("infrastructure", 1, "Hạ tầng", "Infrastructure")
        + ind("1.1", first_max, "{item: HT-01}", "{type: linear}",
              groups="departments, districts")
        + ind("1.2", 4, "{item: UD-01}", "{type: cap, at: 0.5}")
        + ind("1.3", 5, "{item: UD-02}", "{type: cap, at: 0.8}")
        + ind("1.4", 9, "{item: AT-04}", "{type: cap, at: 0.9}")
        + group("practice", 2, "Thực hành", "Practice")
        + ind("2.1", 4, "{item: NL-01}", "{type: step, steps: [[1, 2], [3, 4]]}")
        + ind("2.2", 10, "{item: AT-05}", "{type: piecewise, points: [[0, 0], [0.5, 0.4], [1, 1]]}")
        + ind("2.3", 3, "{item: HT-03}", "{type: boolean}")
        + ind("2.4", 5, "{item: CS-03}", "{type: inverse_linear, best: 0, worst: 10}")
        + group("online", 3, "Trực tuyến", "Online")
        + ind("3.1", 6, "{kpi: DVC-2}", "{type: step, steps: [[0.2, 3], [0.5, 6]]}")
        + ind("3.2", 6, "{not_measured: no feedback system}")
        + ind("3.3", 2, "{item: DV-02}", "{type: boolean}", missing="full")
        + ind("3.4", 2, "{item: HT-05}", "{type: boolean}", missing="zero")
        + group("district_online", 5, "Huyện trực tuyến", "District online")
        + ind("5.1", 10, "{kpi: DVC-2}", "{type: cap, at: 0.5}", groups="districts",
              missing="not_assessed")
    )


CRAFTED_QUARTERLY = (
    "version: 1\nname: crafted_quarterly\ntitle_vi: Thử theo quý\ntitle_en: Quarterly test\n"
    "periods: [quarter]\nunit_groups:\n"
    "  - {key: districts, label_vi: UBND cấp huyện, label_en: Districts,"
    " requires_assessment: false}\n"
    "tiers:\n  - {key: all, label_vi: Tất cả, label_en: All, min_share: 0}\n"
    "groups:\n  - key: online\n    number: 1\n    label_vi: Trực tuyến\n    label_en: Online\n"
    "    indicators:\n"
    '      - {key: "1", label_vi: Hồ sơ trực tuyến, label_en: Online dossiers, max_points: 10,'
    " input: {kpi: DVC-2}, curve: {type: linear}}\n"
)


def _load_methodologies(wh, folder: Path) -> None:
    from govkpi.ranking.methodology import load, write_to_warehouse

    path = folder / "crafted_ranking.yaml"
    path.write_text(crafted_ranking(first_max=20), encoding="utf-8")  # superseded below
    assert write_to_warehouse(wh, load(path))
    time.sleep(0.01)  # loaded_at orders the contents of a name
    path.write_text(crafted_ranking(), encoding="utf-8")
    assert write_to_warehouse(wh, load(path))
    quarterly = folder / "crafted_quarterly.yaml"
    quarterly.write_text(CRAFTED_QUARTERLY, encoding="utf-8")
    assert write_to_warehouse(wh, load(quarterly))


def _land_raw_rows(wh) -> None:
    from psycopg.types.json import Jsonb

    with wh.connect() as conn:
        ensure_schema(conn)
        batch = conn.execute(
            "insert into audit.load_batch (source_system, endpoint, status)"
            " values ('test', 'crafted', 'succeeded') returning batch_id").fetchone()[0]
        seen = "2015-01-01T00:00:00+07:00"
        for code, name, level, parent, start, end in UNITS:
            payload = {"MaDonVi": code, "TenDonVi": name, "CapDonVi": level, "MaDonViCha": parent,
                       "HieuLucTu": start, "HieuLucDen": end, "NgayCapNhat": seen}
            conn.execute("insert into raw_onestop.donvi (record_key, source_updated_at, payload,"
                         " batch_id) values (%s, %s, %s, %s)", (code, seen, Jsonb(payload), batch))
        conn.execute(
            "insert into raw_onestop.thutuc (record_key, source_updated_at, payload, batch_id)"
            " values ('T1', %s, %s, %s)",
            (seen, Jsonb({"MaTTHC": "T1", "TenTTHC": "Thủ tục một", "ThoiHanGiaiQuyet": 5,
                          "DonViThoiHan": "ngay_lam_viec", "CoPhiLePhi": False,
                          "TraKetQuaGiay": True, "DoiTuong": "ca_hai"}), batch))
        for unit, (count, online) in DOSSIERS.items():
            for n in range(count):
                received = f"2017-03-{n + 6:02d}T09:00:00+07:00"
                code = f"{unit}-{n}"
                payload = {"MaHoSo": code, "MaTTHC": "T1", "MaDonVi": unit,
                           "KenhThucHien": 2 if n < online else 1, "NgayTiepNhan": received,
                           "TrangThaiHoSo": 1, "PhiLePhi": 0, "PhieuXinLoi": [],
                           "QuaTrinhXuLy": [{"ThoiDiem": received, "TrangThai": 1,
                                             "GhiChu": "Tiếp nhận"}]}
                conn.execute("insert into raw_onestop.hoso (record_key, source_updated_at,"
                             " payload, batch_id) values (%s, %s, %s, %s)",
                             (code, received, Jsonb(payload), batch))
        for (year, unit), (status, sha, items) in [SUPERSEDED, *RETURNS.items()]:
            first_seen = f"{year + 1}-01-{15 if sha != 'b1-old' else 10}T08:00:00+07:00"
            conn.execute(
                "insert into raw_files.assessment_files (batch_id, path, unit_code, year, format,"
                " sha256, first_seen_at, status, rows_loaded, reason)"
                " values (%s, %s, %s, %s, 'xlsx', %s, %s, %s, %s, %s)",
                (batch, f"{year}/{unit}.xlsx" if sha else None, unit, year, sha, first_seen,
                 status, len(items), "wrong_header" if status == "rejected" else None))
            for row, (item, value) in enumerate(items.items(), 2):
                conn.execute(
                    "insert into raw_files.assessment_returns (record_key, source_updated_at,"
                    " payload, batch_id) values (%s, %s, %s, %s)",
                    (f"{year}/{unit}/{item}", first_seen,
                     Jsonb({"ma_don_vi": unit, "nam": year, "ma_tieu_chi": item,
                            "gia_tri": value, "minh_chung": None, "file": f"{year}/{unit}.xlsx",
                            "sheet": "tu_danh_gia", "row": row, "file_sha256": sha}), batch))


@pytest.fixture(scope="module")
def ranked(fresh_warehouse_module, tmp_path_factory):
    wh = fresh_warehouse_module
    _land_raw_rows(wh)
    with wh.connect() as conn:  # the Python side runs it before dbt (docs/ranking.md)
        conn.execute(resources.files("govkpi.ranking").joinpath("schema.sql").read_text())
    _load_methodologies(wh, tmp_path_factory.mktemp("methodologies"))
    started = time.monotonic()
    # Upstream (KPI facts, units, staging) without their tests, then the ranking models with
    # their data and unit tests.
    dbt("build", "--select", "+int_ranking_inputs", "+dim_unit", "--exclude", "tag:ranking",
        "--exclude-resource-type", "test", "unit_test")
    dbt("build", "--select", "tag:ranking", "stg_files__assessment_returns",
        "stg_files__assessment_file_status", "--indirect-selection", "cautious")
    print(f"dbt build of the crafted ranking: {time.monotonic() - started:.1f}s")
    return wh


def units(wh, methodology: str, grain: str = "year") -> dict[tuple, tuple]:
    rows = query(wh, """
        select period_year, period_quarter, unit_group, unit_code, is_assessed,
               not_assessed_reason, total_points, max_points, achievable_max_points, score_share,
               tier_key, rank_in_group, ranked_units_in_group, previous_rank, rank_change
        from marts.fct_ranking_unit
        where methodology_name = %s and period_grain = %s""", (methodology, grain))
    return {(r[0], r[1], r[2], r[3]) if grain == "quarter" else (r[0], r[3]): r[4:]
            for r in rows}


def test_only_current_content_is_scored(ranked):
    contents = query(ranked, """
        select methodology_name, count(distinct content_sha256)
        from marts.fct_ranking_unit group by methodology_name order by 1""")
    assert contents == [("crafted_quarterly", 1), ("crafted_ranking", 1)]
    current = query(ranked, "select content_sha256 from ranking_config.current_methodology"
                            " where methodology_name = 'crafted_ranking'")[0][0]
    assert {r[0] for r in query(ranked, "select distinct content_sha256 from"
                                        " marts.fct_ranking_indicator_score where"
                                        " methodology_name = 'crafted_ranking'")} == {current}


def test_units_are_those_that_existed_in_the_period(ranked):
    listed = query(ranked, """
        select period_year, unit_group, string_agg(unit_code, ' ' order by unit_code)
        from marts.fct_ranking_unit where methodology_name = 'crafted_ranking'
        group by 1, 2 order by 1, 2""")
    assert listed == [
        (2016, "departments", "D1 D2 D3 D4 D5 D7 D8 D9"),  # D6 created 2017
        (2016, "districts", "H1 H2"),
        (2017, "departments", "D1 D2 D3 D4 D5 D6 D7 D8"),  # D9 dissolved 2016
        (2017, "districts", "H1 H2"),
    ]


def test_every_curve_type_and_missing_rule(ranked):
    rows = query(ranked, """
        select unit_code, indicator_key, input_value, points, status
        from marts.fct_ranking_indicator_score
        where methodology_name = 'crafted_ranking' and period_year = 2017
            and unit_code in ('D2', 'D3', 'D4', 'D5')""")
    got = {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}
    expected = {
        # linear, the three caps, a step, a piecewise between knots, boolean, inverse_linear
        ("D2", "1.1"): (D("1"), D("10"), "scored"),
        ("D2", "1.2"): (D("0.5"), D("4"), "scored"),  # cap 0.5 reached exactly
        ("D3", "1.2"): (D("0.2"), D("1.6"), "scored"),
        ("D3", "1.3"): (D("0.6"), D("3.75"), "scored"),
        ("D3", "1.4"): (D("0.765"), D("7.65"), "scored"),
        ("D2", "2.1"): (D("1"), D("2"), "scored"),  # first step exactly
        ("D4", "2.1"): (D("0"), D("0"), "scored"),  # below the first step
        ("D3", "2.1"): (D("5"), D("4"), "scored"),  # above the last
        ("D2", "2.2"): (D("0.666667"), D("6"), "scored"),  # enum dinh_ky: position 2 of 4
        ("D4", "2.2"): (D("0.333333"), D("2.6667"), "scored"),
        ("D3", "2.2"): (D("1"), D("10"), "scored"),
        ("D2", "2.3"): (D("1"), D("3"), "scored"),
        ("D2", "2.4"): (D("2"), D("4"), "scored"),  # (10 − 2) / (10 − 0) × 5
        ("D3", "2.4"): (D("10"), D("0"), "scored"),
        ("D2", "3.1"): (D("0.25"), D("3"), "scored"),  # DVC-2 1/4: first step
        ("D3", "3.1"): (D("0.5"), D("6"), "scored"),
        ("D5", "3.1"): (D("0"), D("0"), "scored"),  # 0 online of 1: measured, 0 points
        ("D4", "3.1"): (None, None, "not_measured"),  # no dossier: zero denominator
        ("D2", "3.2"): (None, None, "not_measured"),
        ("D2", "3.3"): (None, D("2"), "missing_full"),
        ("D2", "3.4"): (None, D("0"), "missing_zero"),
        ("D5", "1.3"): (None, D("0"), "missing_zero"),  # items default to zero
    }
    assert {key: got[key] for key in expected} == expected


def test_totals_tiers_ranks_and_previous_ranks(ranked):
    got = units(ranked, "crafted_ranking")
    nodata = "no self-assessment return"
    # (is_assessed, reason, total, max, achievable, share, tier, rank, ranked, previous, change)
    expected = {
        (2017, "D1"): (True, None, D(60), D(66), D(60), D(1), "tot", 1, 6, 5, 4),
        (2017, "D2"): (True, None, D(48), D(66), D(60), D("0.8"), "tot", 2, 6, 2, 0),
        (2017, "D3"): (True, None, D(48), D(66), D(60), D("0.8"), "tot", 2, 6, 6, 4),
        (2017, "D6"): (True, None, D(38), D(66), D(54), D("0.703704"), "kha", 4, 6, None, None),
        (2017, "D4"): (True, None, D("30.6667"), D(66), D(54), D("0.567902"), "trung_binh", 5,
                       6, 1, -4),
        (2017, "D5"): (True, None, D(3), D(66), D(60), D("0.05"), "yeu", 6, 6, 7, 1),
        (2017, "D7"): (False, f"{nodata} (not_submitted)", None, D(66), None, None, None, None,
                       6, 3, None),
        (2017, "D8"): (False, f"{nodata} (rejected)", None, D(66), None, None, None, None, 6,
                       None, None),
        (2017, "H1"): (True, None, D(5), D(20), D(20), D("0.25"), "yeu", 1, 1, None, None),
        (2017, "H2"): (False, "no value for indicator 5.1 (DVC-2)", None, D(20), None, None,
                       None, None, 1, None, None),
        (2016, "D4"): (True, None, D(12), D(66), D(54), D("0.222222"), "yeu", 1, 7, None, None),
        (2016, "D2"): (True, None, D(11), D(66), D(54), D("0.203704"), "yeu", 2, 7, None, None),
        (2016, "D7"): (True, None, D(9), D(66), D(54), D("0.166667"), "yeu", 3, 7, None, None),
        (2016, "D9"): (True, None, D(8), D(66), D(54), D("0.148148"), "yeu", 4, 7, None, None),
        (2016, "D1"): (True, None, D(7), D(66), D(54), D("0.129630"), "yeu", 5, 7, None, None),
        (2016, "D3"): (True, None, D(5), D(66), D(54), D("0.092593"), "yeu", 6, 7, None, None),
        (2016, "D5"): (True, None, D(2), D(66), D(54), D("0.037037"), "yeu", 7, 7, None, None),
        (2016, "D8"): (False, f"{nodata} (not_submitted)", None, D(66), None, None, None, None,
                       7, None, None),
        (2016, "H1"): (False, "no value for indicator 5.1 (DVC-2)", None, D(20), None, None,
                       None, None, 0, None, None),
        (2016, "H2"): (False, "no value for indicator 5.1 (DVC-2)", None, D(20), None, None,
                       None, None, 0, None, None),
    }
    assert got == expected


def test_not_assessed_units_score_nothing(ranked):
    statuses = query(ranked, """
        select unit_code, string_agg(distinct status, ' ' order by status), count(points)
        from marts.fct_ranking_indicator_score
        where methodology_name = 'crafted_ranking' and period_year = 2017
            and unit_code in ('D7', 'D8', 'H2')
        group by unit_code order by unit_code""")
    assert statuses == [("D7", "not_assessed not_measured", 0),
                        ("D8", "not_assessed not_measured", 0),
                        ("H2", "not_assessed", 0)]


def test_group_subtotals(ranked):
    rows = query(ranked, """
        select group_key, points, max_points, achievable_max_points
        from marts.fct_ranking_group_score
        where methodology_name = 'crafted_ranking' and period_year = 2017 and unit_code = 'D4'
        order by group_number""")
    assert rows == [("infrastructure", D(16), D(28), D(28)),
                    ("practice", D("10.6667"), D(22), D(22)),
                    ("online", D(4), D(16), D(4))]  # 3.1 and 3.2 not measured


def test_tier_distribution(ranked):
    rows = query(ranked, """
        select period_year, unit_group, tier_key, unit_count, assessed_unit_count, unit_share
        from marts.fct_ranking_tier_distribution
        where methodology_name = 'crafted_ranking' order by 1, 2, tier_ordinal""")
    assert rows == [
        (2016, "departments", "tot", 0, 7, D(0)),
        (2016, "departments", "kha", 0, 7, D(0)),
        (2016, "departments", "trung_binh", 0, 7, D(0)),
        (2016, "departments", "yeu", 7, 7, D(1)),
        (2016, "districts", "tot", 0, 0, None),
        (2016, "districts", "kha", 0, 0, None),
        (2016, "districts", "trung_binh", 0, 0, None),
        (2016, "districts", "yeu", 0, 0, None),
        (2017, "departments", "tot", 3, 6, D("0.5")),
        (2017, "departments", "kha", 1, 6, D("0.1667")),
        (2017, "departments", "trung_binh", 1, 6, D("0.1667")),
        (2017, "departments", "yeu", 1, 6, D("0.1667")),
        (2017, "districts", "tot", 0, 1, D(0)),
        (2017, "districts", "kha", 0, 1, D(0)),
        (2017, "districts", "trung_binh", 0, 1, D(0)),
        (2017, "districts", "yeu", 1, 1, D(1)),
    ]


def test_any_methodology_and_grain(ranked):
    got = units(ranked, "crafted_quarterly", "quarter")
    assert got == {
        (2017, 1, "districts", "H1"): (True, None, D("2.5"), D(10), D(10), D("0.25"), "all", 1,
                                       1, None, None),
        (2017, 1, "districts", "H2"): (False, "no indicator measured (achievable maximum 0)",
                                       None, D(10), None, None, None, None, 1, None, None),
    }


def test_inputs_of_a_unit(ranked):
    rows = query(ranked, """
        select input_kind, input_code, input_convention, input_value, input_numerator,
               input_denominator
        from intermediate.int_ranking_inputs
        where unit_code = 'D1' and period_grain = 'year' and period_year = 2017
            and input_code in ('HT-01', 'AT-05', 'DVC-2', 'OS-6', 'QD766-4.5b', 'QD766-5.4')
        order by 1, 2, 3""")
    assert rows == [
        ("item", "AT-05", "law", D(1), None, None),  # the strongest of 4 values
        ("item", "HT-01", "law", D(1), None, None),  # 100 %: the corrected file, not 10 %
        ("kpi", "DVC-2", "law", D("0.6"), 3, 5),
        ("kpi", "OS-6", "law", D(0), 0, 5),
        ("kpi", "OS-6", "portal", D(0), 0, 5),  # the supplement convention does not change it
        ("kpi", "QD766-4.5b", "law", D(0), 0, 5),
        # 5.4: all five still pending, overdue at 31/12 → overdue rate 1 → 1 − 1 = 0
        ("kpi", "QD766-5.4", "law", D(0), None, None),
    ]
