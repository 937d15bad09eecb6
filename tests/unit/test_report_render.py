"""Rendering the ranking report without a database: number formats, texts, the HTML, XLSX and
CSV of a small release built by hand (govkpi.publish.report)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal

import pytest

from govkpi.publish.report import (
    ReportData,
    ReportError,
    format_change,
    format_input,
    format_number,
    format_percent,
    format_timestamp,
    movement_svg,
    natural_key,
    render_html,
    report_tables,
    summary_text,
    tier_chart_svg,
    translate_reason,
    write_csv,
    write_xlsx,
)

D = Decimal
KEY = {"methodology_name": "demo", "content_sha256": "ab" * 32, "period_grain": "year",
       "period_start": dt.date(2017, 1, 1), "period_year": 2017, "period_quarter": None,
       "period_month": None}


@pytest.mark.parametrize(("value", "vi", "en"), [
    (D("1234.5"), "1.234,5", "1,234.5"),
    (D("100.000"), "100", "100"),
    (D("62.5"), "62,5", "62.5"),
    (D("33.335"), "33,34", "33.34"),  # half up on the exact decimal
    (0.125, "0,13", "0.13"),
    (D("-0.001"), "0", "0"),
    (None, "—", "—"),
])
def test_format_number(value, vi, en):
    assert format_number(value, "vi") == vi
    assert format_number(value, "en") == en


@pytest.mark.parametrize(("share", "vi", "en"), [
    (D("0.625"), "62,5 %", "62.5%"),
    (D("0.55"), "55,0 %", "55.0%"),
    (D("0.62549"), "62,5 %", "62.5%"),
    (D("0.62550"), "62,6 %", "62.6%"),
    (D("1"), "100,0 %", "100.0%"),
    (D("0"), "0,0 %", "0.0%"),
    (None, "—", "—"),
])
def test_format_percent(share, vi, en):
    assert format_percent(share, "vi") == vi
    assert format_percent(share, "en") == en


def test_format_change():
    assert format_change(2, 5, "vi") == ("▲ 2", "up", "tăng 2 bậc")
    assert format_change(-1, 3, "en") == ("▼ 1", "down", "down 1")
    assert format_change(0, 1, "vi") == ("=", "same", "không đổi")
    assert format_change(None, None, "vi") == ("—", "none", "chưa có")


def test_format_timestamp_in_vietnam_time():
    utc = dt.datetime(2018, 1, 15, 1, 30, tzinfo=dt.UTC)
    assert format_timestamp(utc, "vi") == "15/01/2018 08:30 (giờ Việt Nam)"
    assert format_timestamp(utc, "en") == "2018-01-15 08:30 (UTC+7)"
    assert format_timestamp(None, "vi") is None


def test_translate_reason():
    reason = "no self-assessment return (not_submitted)"
    assert translate_reason(reason, "vi") == "không có báo cáo tự đánh giá (không nộp)"
    assert translate_reason("no self-assessment return (rejected)", "vi") == (
        "không có báo cáo tự đánh giá (bị trả lại)")
    assert translate_reason(reason, "en") == reason
    assert translate_reason("no self-assessment return (rejected); no value for indicator 4.2 "
                            "(DVC-4)", "vi") == ("không có báo cáo tự đánh giá (bị trả lại); "
                                                 "không có số liệu cho chỉ tiêu 4.2 (DVC-4)")
    assert translate_reason("no indicator measured (achievable maximum 0)", "vi") == (
        "không đo được chỉ tiêu nào (điểm tối đa có thể đạt bằng 0)")
    assert translate_reason("missing input 4.2", "vi") == "missing input 4.2"  # kept as is
    assert translate_reason(None, "vi") == ""


@pytest.mark.parametrize(("row", "vi", "en"), [
    ({"input_kind": "kpi", "input_code": "DVC-2", "input_value": D("0.625"),
      "input_numerator": D(100), "input_denominator": D(160), "status": "scored"},
     "100/160 (62,5 %)", "100/160 (62.5%)"),
    ({"input_kind": "kpi", "input_code": "OS-7", "input_value": D("3.25"),
      "input_numerator": None, "input_denominator": None, "status": "scored"},
     "3,3 ngày làm việc", "3.3 working days"),
    ({"input_kind": "kpi", "input_code": "QD766-3.3", "input_value": D("0.8"),
      "input_numerator": None, "input_denominator": None, "status": "scored"},
     "80,0 %", "80.0%"),
    ({"input_kind": "item", "input_code": "HT-09", "input_value": D("12"),
      "input_numerator": None, "input_denominator": None, "status": "scored"}, "12", "12"),
    ({"input_kind": "not_measured", "input_code": None, "input_value": None,
      "input_numerator": None, "input_denominator": None, "status": "not_measured"}, "—", "—"),
])
def test_format_input(row, vi, en):
    assert format_input(row, "vi") == vi
    assert format_input(row, "en") == en


def test_natural_key_orders_indicators():
    assert sorted(["4.10", "4.2", "4.1", "10.1", "3.3a"], key=natural_key) == [
        "3.3a", "4.1", "4.2", "4.10", "10.1"]


def _unit(code, name, points, achievable, rank, previous, tier=None, reason=None):
    tiers = {"tot": (1, "Tốt", "Good"), "kha": (2, "Khá", "Fair")}
    ordinal, label_vi, label_en = tiers.get(tier, (None, None, None))
    return {**KEY, "release_id": 7, "unit_code": code, "unit_name": name,
            "unit_group": "districts", "unit_group_label_vi": "UBND cấp huyện",
            "unit_group_label_en": "District-level people's committees",
            "is_assessed": points is not None, "not_assessed_reason": reason,
            "total_points": points, "max_points": D(160), "achievable_max_points": achievable,
            "score_share": None if points is None else points / achievable, "tier_key": tier,
            "tier_label_vi": label_vi, "tier_label_en": label_en, "tier_ordinal": ordinal,
            "rank_in_group": rank, "ranked_units_in_group": 2, "previous_rank": previous,
            "rank_change": None if previous is None or rank is None else previous - rank}


def _indicator(code, key, label, points, max_points, status, value=None, reason=None):
    return {**KEY, "release_id": 7, "unit_code": code, "unit_name": code,
            "unit_group": "districts", "group_key": "online", "group_number": 4,
            "group_label_vi": "Dịch vụ công trực tuyến", "group_label_en": "Online services",
            "indicator_key": key, "indicator_label_vi": label, "indicator_label_en": label,
            "input_kind": "kpi", "input_code": "DVC-2", "input_value": value,
            "input_numerator": None, "input_denominator": None, "max_points": max_points,
            "points": points, "status": status, "not_measured_reason": reason}


@pytest.fixture
def data() -> ReportData:
    units = [
        _unit("QN", "Thành phố Quy Nhơn", D(100), D(160), 1, 3, "kha"),
        _unit("X<1>", "Huyện <b>Thử</b> & Co", D(20), D(40), 2, None, "kha"),
        _unit("VT", "Huyện Vĩnh Thạnh", None, None, None, 1,
              reason="no self-assessment return (rejected)"),
    ]
    groups = [{**KEY, "release_id": 7, "unit_code": u["unit_code"],
               "unit_name": u["unit_name"], "unit_group": "districts", "group_key": "online",
               "group_number": 4, "group_label_vi": "Dịch vụ công trực tuyến",
               "group_label_en": "Online services", "points": u["total_points"],
               "max_points": D(160), "achievable_max_points": u["achievable_max_points"]}
              for u in units]
    indicators = [
        _indicator("QN", "4.1", "Dịch vụ mức độ 3, 4", D(20), D(40), "scored", D("0.5")),
        _indicator("QN", "4.10", "Hồ sơ quá hạn", D(0), D(0), "missing_zero"),
        _indicator("QN", "4.2", "Hồ sơ được giải quyết", D(80), D(120), "scored", D("0.667")),
        _indicator("X<1>", "4.1", "Dịch vụ mức độ 3, 4", D(20), D(40), "scored", D("0.5")),
        _indicator("X<1>", "4.2", "Hồ sơ được giải quyết", None, D(120), "not_measured",
                   reason="chưa có số liệu"),
    ]
    tiers = [{**KEY, "release_id": 7, "unit_group": "districts", "tier_key": key,
              "tier_label_vi": vi, "tier_label_en": en, "tier_ordinal": n, "unit_count": c,
              "assessed_unit_count": 2, "unit_share": D(c) / 2, "min_share": m}
             for key, vi, en, n, c, m in (("tot", "Tốt", "Good", 1, 0, D("0.8")),
                                          ("kha", "Khá", "Fair", 2, 2, D("0.6")))]
    release = {"release_id": 7, "year": 2017, "methodology_name": "demo",
               "methodology_sha256": "ab" * 32,
               "data_watermark": dt.datetime(2018, 1, 15, 1, 30, tzinfo=dt.UTC),
               "gate_result": {"passed": True, "critical": [],
                               "warnings": [{"line": "[WARNING] something on share"}]},
               "created_at": dt.datetime(2018, 2, 1, 2, 0, tzinfo=dt.UTC),
               "methodology_title_vi": "Xếp hạng thử", "methodology_title_en": "Trial ranking",
               "methodology_basis": "QĐ 1/QĐ-UBND"}
    return ReportData(release, units, groups, indicators, tiers)


def test_html_vi(data):
    page = render_html(data, "vi")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in page
    assert "<title>Xếp hạng thử — năm 2017</title>" in page
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "Huyện &lt;b&gt;Thử&lt;/b&gt; &amp; Co" in page  # escaped, in tables and charts
    assert "<b>Thử</b>" not in page
    assert "62,5 %" in page
    assert "50,0 %" in page
    assert "▲ 2" in page  # Quy Nhơn: 3rd → 1st
    assert "Chưa đánh giá" in page
    assert "không có báo cáo tự đánh giá (bị trả lại)" in page
    assert "không đo được: chưa có số liệu" in page
    assert "thiếu dữ liệu: 0 điểm" in page
    assert "Dữ liệu cập nhật đến</dt><dd>15/01/2018 08:30 (giờ Việt Nam)" in page
    assert "sha256 <code>abababababab</code>" in page
    assert "[WARNING] something on share" in page
    keys = [page.index(f'<span class="ind-key">{k}</span>') for k in ("4.1", "4.2", "4.10")]
    assert keys == sorted(keys)  # natural order: 4.10 after 4.2


def test_html_en(data):
    page = render_html(data, "en")
    assert "<title>Trial ranking — 2017</title>" in page
    assert "62.5%" in page
    assert "62,5" not in page
    assert "Not assessed" in page
    assert "no self-assessment return (rejected)" in page
    assert "Data loaded up to</dt><dd>2018-01-15 08:30 (UTC+7)" in page


def test_unknown_language_is_refused(data):
    with pytest.raises(ReportError, match="choose vi or en"):
        render_html(data, "fr")


def test_charts(data):
    tiers = tier_chart_svg(data, "districts", "vi")
    assert tiers.startswith('<svg class="chart" role="img"')
    assert "2 (100,0 %)" in tiers
    assert "0 (0,0 %)" in tiers
    assert "Chưa đánh giá" in tiers  # Vĩnh Thạnh, listed below the bars
    movement = movement_svg(data, "districts", "en")
    assert movement.count("<circle") == 3  # Quy Nhơn: previous + current; the new unit: current
    assert "▲ 2" in movement
    assert "none" in movement
    assert "Vĩnh Thạnh" not in movement  # not ranked: not on the rank axis


def test_no_previous_year_at_all(data):
    for unit in data.units:
        unit["previous_rank"] = unit["rank_change"] = None
    page = render_html(data, "vi")
    assert not re.search(r"[▲▼] \d", page)


def test_tables_have_one_value_per_column(data):
    for table in report_tables(data, "vi"):
        assert table.rows, table.name
        assert {len(r) for r in table.rows} == {len(table.columns)}, table.name


def test_xlsx(data, tmp_path):
    from openpyxl import load_workbook

    path = write_xlsx(data, tmp_path / "r.xlsx", "en")
    wb = load_workbook(path)
    assert wb.sheetnames == ["ranking", "criteria", "tiers", "release"]
    ws = wb["ranking"]
    assert ws["H1"].value == "Share"
    assert ws["H2"].value == 0.625
    assert ws["H2"].number_format == "0.0%"
    assert [c.value for c in ws[2]][:5] == ["District-level people's committees", 1, "QN",
                                            "Thành phố Quy Nhơn", 100]
    release = dict(wb["release"].iter_rows(min_row=2, values_only=True))
    assert release["Release"] == 7
    assert release["sha256"] == "ab" * 32


def test_csv(data, tmp_path):
    paths = write_csv(data, tmp_path, "r", "vi")
    assert {p.name for p in paths.values()} == {"r_ranking.csv", "r_criteria.csv",
                                                "r_tiers.csv"}
    assert paths["ranking"].read_bytes()[:3] == b"\xef\xbb\xbf"
    with paths["ranking"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][:9] == ["UBND cấp huyện", "1", "QN", "Thành phố Quy Nhơn", "100", "160",
                           "160", "62.5", "Khá"]
    assert rows[3][1] == ""
    assert rows[3][8] == "Chưa đánh giá"


def test_terminal_summary_vi(data):
    """What `govkpi rank` and `govkpi demo` print: per unit group, rank, unit, points over the
    achievable maximum, share and tier, the not-assessed last with the reason, tier counts."""
    lines = summary_text(data, "vi").splitlines()
    assert lines[0] == "Kết quả xếp hạng năm 2017 — demo (Bản công bố số 7)"
    assert lines[2] == "UBND cấp huyện: 2/3 đơn vị được đánh giá"
    assert lines[3].split() == ["Hạng", "Đơn", "vị", "Điểm/Tối", "đa", "Tỷ", "lệ", "Xếp", "loại"]
    assert lines[4].split() == ["1", "Thành", "phố", "Quy", "Nhơn", "100/160", "62,5", "%",
                                "Khá"]
    assert lines[5].split()[-4:] == ["20/40", "50,0", "%", "Khá"]
    assert " ".join(lines[6].split()) == (
        "— Huyện Vĩnh Thạnh Chưa đánh giá: không có báo cáo tự đánh giá (bị trả lại)")
    assert lines[7] == "  Tốt: 0/2 (0,0 %) · Khá: 2/2 (100,0 %)"
    assert len(lines) == 8


def test_terminal_summary_en_aligns_columns(data):
    lines = summary_text(data, "en").splitlines()
    assert lines[0] == "Ranking results for 2017 — demo (Release 7)"
    header, first, second = lines[3:6]
    for column in ("Points/Max", "Share"):  # right-aligned: the values end where it ends
        end = header.index(column) + len(column)
        assert first[:end].endswith(("100/160", "62.5%")[column == "Share"])
        assert second[:end].endswith(("20/40", "50.0%")[column == "Share"])
    assert lines[-1] == "  Good: 0/2 (0.0%) · Fair: 2/2 (100.0%)"
