"""The ranking report rendered from a published release (crafted ranking marts, see
tests/integration/test_publish_release.py): HTML, XLSX and CSV show the same numbers; the HTML
is self-contained and renders in a headless browser without console errors."""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from govkpi.publish.release import publish
from govkpi.publish.report import ReportError, render_report, report_cli
from tests.integration.test_publish_release import (
    METHODOLOGY,
    PASSED,
    SHA,
    TITLE_EN,
    TITLE_VI,
    YEAR,
    build_crafted_ranking_marts,
)

UNIT_NAMES = ["Sở Tài chính", "Sở Thông tin và Truyền thông", "Sở Tài nguyên và Môi trường",
              "Sở Giao thông vận tải", "Sở Nội vụ", "Thành phố Quy Nhơn", "Thị xã An Nhơn",
              "Huyện Vân Canh"]
# (unit, rank, points, max, share vi, tier vi, previous rank, change) as the ranking table reads
RANKING_VI = {
    "departments": [
        ["1", "Sở Tài chính", "850", "1.000", "85,0 %", "Tốt", "2", "▲ 1"],
        ["2", "Sở Thông tin và Truyền thông", "820", "1.000", "82,0 %", "Tốt", "1", "▼ 1"],
        ["2", "Sở Tài nguyên và Môi trường", "820", "1.000", "82,0 %", "Tốt", "11", "▲ 9"],
        ["4", "Sở Giao thông vận tải", "625", "1.000", "62,5 %", "Khá", "3", "▼ 1"],
        ["—", "Sở Nội vụ", "không có báo cáo tự đánh giá (không nộp)", "Chưa đánh giá", "5",
         "—"],
    ],
    "districts": [
        ["1", "Thành phố Quy Nhơn", "810", "1.000", "81,0 %", "Tốt", "1", "="],
        ["2", "Thị xã An Nhơn", "430", "880", "48,9 %", "Trung bình", "—", "—"],
        ["3", "Huyện Vân Canh", "300", "1.000", "30,0 %", "Yếu", "2", "▼ 1"],
    ],
}
RANKING_EN_DEPARTMENTS_4 = ["4", "Sở Giao thông vận tải", "625", "1,000", "62.5%", "Fair", "3",
                            "▼ 1"]


@pytest.fixture(scope="module")
def released(fresh_warehouse_module):
    """Crafted marts, published twice: (warehouse, first release, current release)."""
    wh = fresh_warehouse_module
    build_crafted_ranking_marts(wh)
    first = publish(wh, YEAR, METHODOLOGY, PASSED)
    current = publish(wh, YEAR, METHODOLOGY, PASSED)
    return wh, first, current


@pytest.fixture(scope="module")
def report_vi(released, tmp_path_factory):
    wh, _, _ = released
    return render_report(wh, YEAR, METHODOLOGY, tmp_path_factory.mktemp("vi"), lang="vi")


@pytest.fixture(scope="module")
def report_en(released, tmp_path_factory):
    wh, _, _ = released
    return render_report(wh, YEAR, METHODOLOGY, tmp_path_factory.mktemp("en"), lang="en")


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def ranking_rows(page: str, unit_group: str) -> list[list[str]]:
    """The body rows of the ranking table of ``unit_group``, as cell texts."""
    section = re.search(rf'<section id="ranking-{unit_group}">(.*?)</section>', page, re.S)
    assert section, unit_group
    body = re.search(r"<tbody>(.*?)</tbody>", section[1], re.S)[1]
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_report_files(report_vi, released):
    _, _, current = released
    assert report_vi.html.name == f"ranking_{METHODOLOGY}_{YEAR}_release{current}_vi.html"
    assert sorted(report_vi.csv) == ["criteria", "ranking", "tiers"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in report_vi.all())


def test_html_is_self_contained(report_vi, report_en):
    for paths in (report_vi, report_en):
        page = paths.html.read_text(encoding="utf-8")
        assert "http://" not in page
        assert "https://" not in page
        assert "<script" not in page.lower()
        # nothing is loaded from elsewhere; the one link out (the gate's Data Docs, when built
        # on this machine) is a local file opened only when clicked
        assert not re.search(r'(?:src|href)\s*=\s*"(?!#|file://)', page), "no linked resource"
        assert "<svg" in page


def test_html_vi_ranking_tables(report_vi):
    page = report_vi.html.read_text(encoding="utf-8")
    assert f"<title>{TITLE_VI} — năm {YEAR}</title>" in page
    for group, rows in RANKING_VI.items():
        assert ranking_rows(page, group) == rows
    for term in ("Xếp hạng", "Sở, ban, ngành", "UBND cấp huyện", "Phân bố xếp loại",
                 "Biến động thứ hạng", "Chi tiết điểm theo tiêu chí"):
        assert term in page, term


def test_html_vi_tiers_breakdown_and_freshness(report_vi, released):
    _, _, current = released
    page = _text(report_vi.html.read_text(encoding="utf-8"))
    # summary and tier chart: the seed's "11/20 = 55 %" form
    assert "4/5 đơn vị được đánh giá" in page
    assert "Tốt: 3/4 (75,0 %)" in page
    assert "3 (75,0 %)" in page  # the tier bar's label
    assert "Chưa đánh giá 1 đơn vị" in page
    # Quy Nhơn's online-service criterion: 100 of 160 points, its indicators and 5.2
    assert "4. Dịch vụ công trực tuyến mức độ 3, 4 100 160" in page
    assert "4.2 Tỷ lệ hồ sơ trực tuyến được giải quyết 133/200 (66,7 %) 80 120" in page
    assert "không đo được: hệ thống tiếp nhận phản ánh chưa kết nối" in page
    # An Nhơn has no 4.2 input: its online-service group is out of 40 achievable points
    assert "4. Dịch vụ công trực tuyến mức độ 3, 4 20 160 tối đa có thể đạt 40 " in page
    # freshness and gate
    assert "Dữ liệu cập nhật đến 15/01/2018 08:30 (giờ Việt Nam)" in page
    assert f"Bản công bố số {current}" in page
    assert SHA[:12] in page
    assert SHA[:13] not in page
    assert "Đạt (0 lỗi nghiêm trọng, 1 cảnh báo)" in page
    assert "expect_column_values_to_be_between on os7_median_working_days" in page


def test_html_en(report_en):
    page = report_en.html.read_text(encoding="utf-8")
    assert f"<title>{TITLE_EN} — {YEAR}</title>" in page
    assert ranking_rows(page, "departments")[3] == RANKING_EN_DEPARTMENTS_4
    text = _text(page)
    for term in ("62.5%", "Departments and agencies", "Not assessed",
                 "no self-assessment return (not_submitted)", "Good", "Fair", "Average", "Weak",
                 "not measured", "Data loaded up to 2018-01-15 08:30 (UTC+7)", "Passed"):
        assert term in text, term
    assert "62,5" not in text


def test_xlsx_has_the_same_numbers(report_vi):
    from openpyxl import load_workbook

    wb = load_workbook(report_vi.xlsx, read_only=True)
    assert wb.sheetnames[:3] == ["ranking", "criteria", "tiers"]
    ranking = list(wb["ranking"].iter_rows(values_only=True))
    assert ranking[0][:9] == ("Khối", "Hạng", "Mã đơn vị", "Đơn vị", "Điểm", "Tối đa",
                              "Tối đa có thể đạt", "Tỷ lệ", "Xếp loại")
    by_unit = {r[2]: r for r in ranking[1:]}
    assert len(by_unit) == 8
    sgtvt = by_unit["SGTVT"]
    assert sgtvt[:11] == ("Sở, ban, ngành", 4, "SGTVT", "Sở Giao thông vận tải", 625, 1050,
                          1000, 0.625, "Khá", 3, -1)
    assert by_unit["SNV"][1] is None
    assert by_unit["SNV"][8] == "Chưa đánh giá"
    assert by_unit["SNV"][11] == "không có báo cáo tự đánh giá (không nộp)"
    assert round(by_unit["AN"][7] * 100, 1) == 48.9  # the HTML's 48,9 %
    criteria = list(wb["criteria"].iter_rows(values_only=True))
    qn_online = [r for r in criteria if r[1] == "QN" and r[4] == "4"]
    assert [(r[10], r[11], r[12]) for r in qn_online] == [(100, 160, 160)]
    (qn_52,) = [r for r in criteria if r[1] == "QN" and r[4] == "5.2"]
    assert qn_52[10] is None
    assert qn_52[13].startswith("không đo được")
    tiers = list(wb["tiers"].iter_rows(values_only=True))
    assert ("Sở, ban, ngành", 1, "Tốt", 0.8, 3, 4, 0.75) in tiers
    assert ("UBND cấp huyện", 4, "Yếu", 0, 1, 3, pytest.approx(1 / 3)) in tiers


def test_csv_has_the_same_numbers(report_vi, report_en):
    raw = report_vi.csv["ranking"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the diacritics
    with report_vi.csv["ranking"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:8] == ["Khối", "Hạng", "Mã đơn vị", "Đơn vị", "Điểm", "Tối đa",
                           "Tối đa có thể đạt", "Tỷ lệ (%)"]
    by_unit = {r[2]: r for r in rows[1:]}
    assert by_unit["SGTVT"][:11] == ["Sở, ban, ngành", "4", "SGTVT", "Sở Giao thông vận tải",
                                     "625", "1050", "1000", "62.5", "Khá", "3", "-1"]
    assert by_unit["AN"][7] == "48.9"
    with report_vi.csv["tiers"].open(encoding="utf-8-sig", newline="") as fh:
        tiers = list(csv.reader(fh))
    assert ["Sở, ban, ngành", "1", "Tốt", "80.0", "3", "4", "75.0"] in tiers
    with report_en.csv["criteria"].open(encoding="utf-8-sig", newline="") as fh:
        criteria = list(csv.DictReader(fh))
    (qn_online,) = [r for r in criteria if r["Unit code"] == "QN" and r["No."] == "4"]
    assert (qn_online["Points"], qn_online["Max"]) == ("100", "160")


def test_an_older_release_by_id(released, tmp_path):
    wh, first, current = released
    paths = render_report(wh, YEAR, METHODOLOGY, tmp_path, release_id=first)
    assert f"_release{first}_" in paths.html.name
    assert f"Bản công bố số {first}" in _text(paths.html.read_text(encoding="utf-8"))
    with pytest.raises(ReportError, match=f"release {current} is 2017 / binh_dinh_2017, not "
                                          "2016 / binh_dinh_2017"):
        render_report(wh, YEAR - 1, METHODOLOGY, tmp_path, release_id=current)


def test_report_cli(released, tmp_path, capsys):
    assert report_cli(["--year", str(YEAR), "--methodology", METHODOLOGY, "--lang", "en",
                       "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 5
    assert all(Path(p).is_file() and Path(p).parent == tmp_path for p in printed)
    assert printed[0].endswith("_en.html")


def test_report_cli_without_a_release(released, tmp_path, capsys):
    assert report_cli(["--year", "2016", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no published release for 2016 / binh_dinh_2017: run `govkpi "
                          "rank --year 2016 --methodology binh_dinh_2017`")
    assert list(tmp_path.iterdir()) == []


def test_report_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        report_cli(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--year", "--methodology", "--lang {vi,en}", "--out", "--release-id"):
        assert option in out, option


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y "
                                             "chromium): the browser check is skipped")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_html_renders_in_headless_chromium(report_vi, report_en, tmp_path, lang):
    """Offline, no console message (a script error, a blocked or missing resource would log
    one); the DOM after rendering still has the title and the ranking."""
    paths = {"vi": report_vi, "en": report_en}[lang]
    shot = tmp_path / "report.png"
    base = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
            "--v=0", f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run",
            "--proxy-server=127.0.0.1:9", "--window-size=1200,2400"]
    dom = subprocess.run([*base, "--dump-dom", paths.html.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert "Failed to load resource" not in dom.stderr
    assert "Sở Giao thông vận tải" in dom.stdout
    assert ("62,5 %" if lang == "vi" else "62.5%") in dom.stdout
    if lang == "vi":  # the page paints (a blank page would be a few kB)
        subprocess.run([*base, f"--screenshot={shot}", paths.html.as_uri()],
                       capture_output=True, timeout=120, check=True)
        assert shot.stat().st_size > 50_000
