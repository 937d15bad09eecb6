"""The demo's province summary (govkpi.report.format_province_summary) on rows built by hand:
rates as percentages to one decimal, the median to one decimal, NULL (zero denominator) as "—",
Vietnamese labels with English underneath, one line per quarter then the year."""

from __future__ import annotations

from decimal import Decimal

from govkpi.report import SUMMARY_COLUMNS, format_province_summary

D = Decimal


def row(received, finished, os1a, os1b, os2, os3, os5a, os6, os7_median):
    values = (received, finished, os1a, os1b, os2, os3, os5a, os6, os7_median)
    return dict(zip((c for c, *_ in SUMMARY_COLUMNS), values, strict=True))


Q1 = row(480, 455, D("0.8725"), D("0.8511"), D("0.1275"), D("0.2500"), D("0.0521"),
         D("0.0104"), D("4.50"))
# A quarter with nothing received, finished or pending: every rate has a zero denominator.
Q2 = row(0, 0, None, None, None, None, None, None, None)
YEAR = row(480, 455, D("0.8725"), D("0.8511"), D("0.1275"), D("0.2500"), D("0.0521"),
           D("0.0104"), D("4.00"))


def test_one_line_per_quarter_then_the_year():
    lines = format_province_summary(2017, [(1, Q1), (2, Q2)], YEAR).splitlines()
    assert lines[0] == ("Toàn tỉnh, giải quyết hồ sơ năm 2017 (province, dossier resolution 2017; "
                        "quy ước của luật: law convention)")
    assert lines[1].split() == ["Kỳ", "(period)", "Tiếp", "nhận", "Đã", "giải", "quyết",
                                "Đúng", "hạn", "Đúng", "hạn", "766", "Trễ", "hạn", "Tồn", "quá",
                                "hạn", "Bổ", "sung", "Từ", "chối", "Ngày", "xử", "lý"]
    assert lines[2].split() == ["received", "finished", "OS-1a", "OS-1b", "OS-2", "OS-3",
                                "OS-5a", "OS-6", "OS-7", "median"]
    assert lines[3].split() == ["Quý", "1", "(Q1)", "480", "455", "87.3%", "85.1%", "12.8%",
                                "25.0%", "5.2%", "1.0%", "4.5"]
    assert lines[4].split() == ["Quý", "2", "(Q2)", "0", "0", "—", "—", "—", "—", "—", "—", "—"]
    assert lines[5].split() == ["Cả", "năm", "(year", "2017)", "480", "455", "87.3%", "85.1%",
                                "12.8%", "25.0%", "5.2%", "1.0%", "4.0"]
    assert lines[6].lstrip().startswith("OS-1a đúng hạn / đã giải quyết")
    # Columns line up: every value ends where its header ends.
    ends = {len(line.rstrip()) for line in lines[1:6]}
    assert len(ends) == 1


def test_no_rows():
    assert format_province_summary(2030, [], None) == "(no province KPI rows for 2030)"
