"""The ranking report of one published release: HTML (self-contained), XLSX and CSV.

Reads only the ``published`` tables (the current release of a year and methodology unless a
release id is given), never the marts: a report is reproducible from its release forever.
The HTML has inline CSS and inline SVG charts, no script and no external reference, so it opens
offline and prints; it is in Vietnamese (official terms, decimal comma) or English.

Loading (:func:`load_report_data`) is separate from rendering (:func:`write_html`,
:func:`write_xlsx`, :func:`write_csv`), so the rendering is tested without a database.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from govkpi import config
from govkpi.calendar import VN_TZ
from govkpi.errors import GovkpiError
from govkpi.ranking import DEFAULT_METHODOLOGY

LANGS = ("vi", "en")
DEFAULT_OUT_DIR = config.PROJECT_ROOT / "reports"  # git-ignored; GOVKPI_REPORTS_DIR overrides
UNIT_GROUP_ORDER = ("departments", "districts")  # report order; others follow by name
# tier colours by ordinal (1 = strongest): green, blue, amber, red; grey beyond
TIER_COLOURS = {1: "#2e7d32", 2: "#1565c0", 3: "#e08a00", 4: "#c62828"}
OTHER_COLOUR = "#757575"
UP_COLOUR, DOWN_COLOUR, SAME_COLOUR = "#2e7d32", "#c62828", "#757575"

Row = Mapping[str, Any]


class ReportError(GovkpiError):
    """No release to report, or a release that does not match what was asked."""


# --- texts ----------------------------------------------------------------------------------
TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "{title} — năm {year}",
        "subtitle": "Kết quả xếp hạng năm {year}",
        "basis": "Căn cứ",
        "summary": "Tóm tắt",
        "summary_line": "{assessed}/{total} đơn vị được đánh giá",
        "summary_tier": "{tier}: {count}/{assessed} ({share})",
        "ranking": "Xếp hạng",
        "rank": "Hạng",
        "unit": "Đơn vị",
        "points": "Điểm",
        "max": "Tối đa",
        "share": "Tỷ lệ",
        "tier": "Xếp loại",
        "previous_rank": "Hạng năm trước",
        "change": "Thay đổi",
        "not_assessed": "Chưa đánh giá",
        "no_previous": "chưa có",
        "unchanged": "không đổi",
        "moved_up": "tăng {n} bậc",
        "moved_down": "giảm {n} bậc",
        "tier_distribution": "Phân bố xếp loại",
        "tier_note": "Tỷ lệ tính trên số đơn vị được đánh giá của khối.",
        "units": "đơn vị",
        "movement": "Biến động thứ hạng so với năm trước",
        "movement_legend": "○ hạng năm trước → ● hạng năm {year}; bên trái là hạng cao hơn",
        "movement_none": "Không có đơn vị nào được xếp hạng.",
        "movement_not_ranked": "Không xếp hạng năm nay: {names}.",
        "breakdown": "Chi tiết điểm theo tiêu chí",
        "criterion": "Tiêu chí",
        "criterion_no": "Mục",
        "tier_no": "Thứ tự",
        "value": "Giá trị",
        "note": "Ghi chú",
        "achievable": "tối đa có thể đạt {n}",
        "working_days": "ngày làm việc",
        "status_scored": "",
        "status_missing_zero": "thiếu dữ liệu: 0 điểm",
        "status_missing_full": "không có dữ liệu: tính đủ điểm",
        "status_not_measured": "không đo được",
        "status_not_assessed": "chưa đánh giá",
        "freshness": "Nguồn dữ liệu và bản công bố",
        "watermark": "Dữ liệu cập nhật đến",
        "watermark_none": "không rõ (chưa có lô nạp dữ liệu thành công)",
        "release": "Bản công bố số",
        "created": "Lập lúc",
        "methodology": "Phương pháp",
        "gate": "Kiểm tra chất lượng dữ liệu",
        "passed": "Đạt",
        "failed": "Không đạt",
        "gate_counts": "{critical} lỗi nghiêm trọng, {warnings} cảnh báo",
        "warnings": "Cảnh báo",
        "critical": "Lỗi nghiêm trọng",
        "blocked_runs": ("Các lần kiểm tra sau bản công bố này bị chặn "
                         "(bản này vẫn là bản hiện hành)"),
        "blocked_run": "{when}: {checkpoint} chặn công bố",
        "data_docs": "Chi tiết kiểm tra (Data Docs)",
        "footnote": ("Tỷ lệ = điểm / điểm tối đa có thể đạt (không tính chỉ tiêu không đo được). "
                     "Đơn vị bằng điểm có cùng hạng (1, 2, 2, 4). ▲ tăng hạng, ▼ giảm hạng so "
                     "với năm trước."),
        "time_suffix": " (giờ Việt Nam)",
        "level_group": "nhóm tiêu chí",
        "level_indicator": "chỉ tiêu",
        "unit_code": "Mã đơn vị",
        "unit_group": "Khối",
        "level": "Cấp",
        "input_code": "Nguồn số liệu",
        "numerator": "Tử số",
        "denominator": "Mẫu số",
        "achievable_max": "Tối đa có thể đạt",
        "status": "Trạng thái",
        "min_share": "Ngưỡng tỷ lệ",
        "unit_count": "Số đơn vị",
        "assessed_count": "Số đơn vị được đánh giá",
        "unit_share": "Tỷ lệ đơn vị",
        "reason": "Lý do chưa đánh giá",
        "field": "Mục",
        "field_value": "Nội dung",
        "year": "Năm",
        "methodology_title": "Tên phương pháp",
    },
    "en": {
        "title": "{title} — {year}",
        "subtitle": "Ranking results for {year}",
        "basis": "Basis",
        "summary": "Summary",
        "summary_line": "{assessed}/{total} units assessed",
        "summary_tier": "{tier}: {count}/{assessed} ({share})",
        "ranking": "Ranking",
        "rank": "Rank",
        "unit": "Unit",
        "points": "Points",
        "max": "Max",
        "share": "Share",
        "tier": "Tier",
        "previous_rank": "Previous rank",
        "change": "Change",
        "not_assessed": "Not assessed",
        "no_previous": "none",
        "unchanged": "unchanged",
        "moved_up": "up {n}",
        "moved_down": "down {n}",
        "tier_distribution": "Tier distribution",
        "tier_note": "Shares are of the group's assessed units.",
        "units": "units",
        "movement": "Rank movement since the previous year",
        "movement_legend": "○ previous rank → ● {year} rank; further left is a better rank",
        "movement_none": "No unit was ranked.",
        "movement_not_ranked": "Not ranked this year: {names}.",
        "breakdown": "Points by criterion",
        "criterion": "Criterion",
        "criterion_no": "No.",
        "tier_no": "Order",
        "value": "Value",
        "note": "Note",
        "achievable": "achievable max {n}",
        "working_days": "working days",
        "status_scored": "",
        "status_missing_zero": "missing data: 0 points",
        "status_missing_full": "no data: full points",
        "status_not_measured": "not measured",
        "status_not_assessed": "not assessed",
        "freshness": "Data and release",
        "watermark": "Data loaded up to",
        "watermark_none": "unknown (no successful load batch)",
        "release": "Release",
        "created": "Created at",
        "methodology": "Methodology",
        "gate": "Data-quality gate",
        "passed": "Passed",
        "failed": "Failed",
        "gate_counts": "{critical} critical failures, {warnings} warnings",
        "warnings": "Warnings",
        "critical": "Critical failures",
        "blocked_runs": "Gate runs after this release that blocked publication (this release "
                        "stays current)",
        "blocked_run": "{when}: {checkpoint} blocked publication",
        "data_docs": "Check details (Data Docs)",
        "footnote": ("Share = points / achievable maximum (indicators not measured are "
                     "excluded). Equal scores share a rank (1, 2, 2, 4). ▲ moved up, ▼ moved "
                     "down since the previous year."),
        "time_suffix": " (UTC+7)",
        "level_group": "criteria group",
        "level_indicator": "indicator",
        "unit_code": "Unit code",
        "unit_group": "Unit group",
        "level": "Level",
        "input_code": "Input",
        "numerator": "Numerator",
        "denominator": "Denominator",
        "achievable_max": "Achievable max",
        "status": "Status",
        "min_share": "Threshold share",
        "unit_count": "Units",
        "assessed_count": "Assessed units",
        "unit_share": "Unit share",
        "reason": "Not-assessed reason",
        "field": "Field",
        "field_value": "Value",
        "year": "Year",
        "methodology_title": "Methodology title",
    },
}

# the reasons fct_ranking_indicator_score writes (English, joined by "; "), in Vietnamese
_REASONS_VI = (
    (re.compile(r"^no self-assessment return \((?P<status>[\w-]+)\)$"),
     "không có báo cáo tự đánh giá ({status})"),
    (re.compile(r"^no value for indicator (?P<key>\S+) \((?P<code>[^)]*)\)$"),
     "không có số liệu cho chỉ tiêu {key} ({code})"),
    (re.compile(r"^no indicator measured \(achievable maximum 0\)$"),
     "không đo được chỉ tiêu nào (điểm tối đa có thể đạt bằng 0)"),
)
_RETURN_STATUS_VI = {"not_submitted": "không nộp", "rejected": "bị trả lại"}


def translate_reason(reason: str | None, lang: str) -> str:
    """The not-assessed reason of the marts (English) in the report's language; a reason it
    does not know is shown as written."""
    if not reason:
        return ""
    if lang != "vi":
        return reason
    parts = []
    for part in reason.split("; "):
        for pattern, text in _REASONS_VI:
            m = pattern.match(part.strip())
            if m:
                fields = m.groupdict()
                if "status" in fields:
                    fields["status"] = _RETURN_STATUS_VI.get(fields["status"], fields["status"])
                part = text.format(**fields)
                break
        parts.append(part)
    return "; ".join(parts)


# --- number formatting ----------------------------------------------------------------------
def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def format_number(value, lang: str, places: int = 2) -> str:
    """Half-up to ``places`` decimals, trailing zeros dropped; vi: 1.234,5 — en: 1,234.5."""
    if value is None:
        return "—"
    d = _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)  # no "-0"
    text = f"{d:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def format_percent(share, lang: str, places: int = 1) -> str:
    """A share in [0, 1] as a percentage: vi "62,5 %", en "62.5%" (one decimal kept)."""
    if share is None:
        return "—"
    d = (_decimal(share) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(d) if d == 0 else d:f}"
    return f"{text.replace('.', ',')} %" if lang == "vi" else f"{text}%"


def percent_value(share, places: int = 1) -> Decimal | None:
    """The percentage the report shows, as a number (CSV)."""
    if share is None:
        return None
    return (_decimal(share) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_timestamp(value: dt.datetime | None, lang: str) -> str | None:
    if value is None:
        return None
    local = value.astimezone(VN_TZ) if value.tzinfo else value
    text = local.strftime("%d/%m/%Y %H:%M") if lang == "vi" else local.strftime("%Y-%m-%d %H:%M")
    return text + TEXTS[lang]["time_suffix"]


def format_change(rank_change, previous_rank, lang: str) -> tuple[str, str, str]:
    """(symbol text, css class, spoken title) of a rank change (positive = moved up)."""
    t = TEXTS[lang]
    if rank_change is None:
        return ("—", "none", t["no_previous"] if previous_rank is None else "")
    n = int(rank_change)
    if n > 0:
        return (f"▲ {n}", "up", t["moved_up"].format(n=n))
    if n < 0:
        return (f"▼ {-n}", "down", t["moved_down"].format(n=-n))
    return ("=", "same", t["unchanged"])


def format_input(row: Row, lang: str) -> str:
    """An indicator's measured input as the report shows it."""
    value = row.get("input_value")
    if row.get("status") == "not_measured" or value is None:
        return "—"
    code = row.get("input_code") or ""
    num, den = row.get("input_numerator"), row.get("input_denominator")
    if code.startswith("OS-7"):  # OS-7 is a median of working days, not a rate
        return f"{format_number(value, lang, 1)} {TEXTS[lang]['working_days']}"
    if num is not None and den is not None:
        return (f"{format_number(num, lang, 0)}/{format_number(den, lang, 0)} "
                f"({format_percent(value, lang)})")
    if row.get("input_kind") == "kpi" and 0 <= _decimal(value) <= 1:
        return format_percent(value, lang)
    return format_number(value, lang, 2)


def status_text(row: Row, lang: str) -> str:
    t = TEXTS[lang]
    status = row.get("status") or "scored"
    text = t.get(f"status_{status}", status)
    if status == "not_measured" and row.get("not_measured_reason"):
        text = f"{text}: {row['not_measured_reason']}"
    return text


def natural_key(text: str) -> tuple:
    """"4.10" after "4.9"."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\s]", text))


def tier_colour(ordinal) -> str:
    return TIER_COLOURS.get(int(ordinal), OTHER_COLOUR) if ordinal is not None else OTHER_COLOUR


# --- the data of a release ------------------------------------------------------------------
@dataclass
class ReportData:
    """One release: its header row and the rows of its four tables (column names as in the
    ``published`` tables)."""

    release: dict[str, Any]
    units: list[dict[str, Any]]
    group_scores: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    # failed gate runs recorded after this release (audit.gate_result): why no newer release
    blocked_runs: list[dict[str, Any]] = field(default_factory=list)
    data_docs: str | None = None  # the gate's Data Docs index, when built on this machine

    def unit_groups(self) -> list[str]:
        seen = {u["unit_group"] for u in self.units} | {t["unit_group"] for t in self.tiers}
        return sorted(seen, key=lambda g: (UNIT_GROUP_ORDER.index(g)
                                           if g in UNIT_GROUP_ORDER else len(UNIT_GROUP_ORDER), g))

    def units_of(self, unit_group: str) -> list[dict[str, Any]]:
        return sorted((u for u in self.units if u["unit_group"] == unit_group),
                      key=lambda u: (not u["is_assessed"], u["rank_in_group"] or 0,
                                     u["unit_name"]))

    def tiers_of(self, unit_group: str) -> list[dict[str, Any]]:
        return sorted((t for t in self.tiers if t["unit_group"] == unit_group),
                      key=lambda t: t["tier_ordinal"])

    def group_label(self, unit_group: str, lang: str) -> str:
        for u in self.units:
            if u["unit_group"] == unit_group:
                return u[f"unit_group_label_{lang}"]
        return unit_group

    def criteria_of(self, unit_code: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(criteria-group subtotal, its indicators) of a unit, in report order."""
        groups = sorted((g for g in self.group_scores if g["unit_code"] == unit_code),
                        key=lambda g: (g["group_number"], g["group_key"]))
        out = []
        for g in groups:
            leaves = sorted((i for i in self.indicators if i["unit_code"] == unit_code
                             and i["group_key"] == g["group_key"]),
                            key=lambda i: (i.get("indicator_ordinal") is None,
                                           i.get("indicator_ordinal") or 0,
                                           natural_key(i["indicator_key"])))
            out.append((g, leaves))
        return out


def _fetch(conn, statement: str, params=()) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(statement, params).fetchall()


def no_release_message(year: int, methodology_name: str) -> str:
    return (f"no published release for {year} / {methodology_name}: run `govkpi rank --year "
            f"{year} --methodology {methodology_name}` (ranking models, gate, publish) first")


def load_report_data(warehouse, year: int, methodology_name: str,
                     release_id: int | None = None) -> ReportData:
    """The rows of a release: ``release_id``, or the current release of (year, methodology)."""
    with warehouse.connect() as conn:
        if conn.execute("select to_regclass('published.ranking_release')").fetchone()[0] is None:
            raise ReportError(no_release_message(year, methodology_name))
        if release_id is None:
            releases = _fetch(conn, "select * from published.current_ranking_release"
                                    " where year = %s and methodology_name = %s",
                              (year, methodology_name))
            if not releases:
                raise ReportError(no_release_message(year, methodology_name))
        else:
            releases = _fetch(conn, "select * from published.ranking_release"
                                    " where release_id = %s", (release_id,))
            if not releases:
                raise ReportError(f"release {release_id} does not exist: omit --release-id for "
                                  f"the current release of {year} / {methodology_name}")
            found = releases[0]
            if (found["year"], found["methodology_name"]) != (year, methodology_name):
                raise ReportError(
                    f"release {release_id} is {found['year']} / {found['methodology_name']}, "
                    f"not {year} / {methodology_name}")
        release = releases[0]
        rid = release["release_id"]

        def rows(table: str) -> list[dict[str, Any]]:
            return _fetch(conn, f"select * from published.{table} where release_id = %s", (rid,))

        blocked = []
        if conn.execute("select to_regclass('audit.gate_result')").fetchone()[0] is not None:
            blocked = _fetch(conn, "select checkpoint, finished_at, failures, data_docs_path"
                                   " from audit.gate_result where not passed and finished_at >"
                                   " %s order by finished_at desc limit %s",
                             (release["created_at"], BLOCKED_RUNS_SHOWN))
        return ReportData(release=release, units=rows("ranking_release_unit"),
                          group_scores=rows("ranking_release_group_score"),
                          indicators=rows("ranking_release_indicator"),
                          tiers=rows("ranking_release_tier"), blocked_runs=blocked,
                          data_docs=data_docs_index())


BLOCKED_RUNS_SHOWN = 10


def data_docs_index() -> str | None:
    """The ``file://`` address of the gate's Data Docs, when built on this machine."""
    from govkpi.quality.gate import data_docs_index as index

    path = index()
    return Path(path).as_uri() if path else None


# --- SVG charts -----------------------------------------------------------------------------
def _esc(text) -> str:
    from html import escape

    return escape(str(text), quote=True)


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (f'<svg class="chart" role="img" aria-label="{_esc(label)}" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
            f"<title>{_esc(label)}</title>{''.join(body)}</svg>")


def tier_chart_svg(data: ReportData, unit_group: str, lang: str) -> str:
    """Horizontal bars, one per tier: the count and the share of the assessed units."""
    t = TEXTS[lang]
    tiers = data.tiers_of(unit_group)
    not_assessed = sum(1 for u in data.units_of(unit_group) if not u["is_assessed"])
    label_w, bar_w, row_h, top = 112, 230, 30, 6
    width = label_w + bar_w + 120
    rows = len(tiers) + (1 if not_assessed else 0)
    height = top + rows * row_h + 6
    body = []
    for i, tier in enumerate(tiers):
        y = top + i * row_h
        share = _decimal(tier["unit_share"] or 0)
        w = float(share) * bar_w
        colour = tier_colour(tier["tier_ordinal"])
        body.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" font-size="13">'
                    f"{_esc(tier[f'tier_label_{lang}'])}</text>")
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="20" '
                    'fill="#eef0f2" rx="2"/>')
        if tier["unit_count"]:
            body.append(f'<rect x="{label_w}" y="{y + 5}" width="{max(w, 2):.1f}" height="20" '
                        f'fill="{colour}" rx="2"/>')
        body.append(f'<text x="{label_w + bar_w + 8}" y="{y + 19}" font-size="13">'
                    f"{tier['unit_count']} ({_esc(format_percent(tier['unit_share'], lang))})"
                    "</text>")
    if not_assessed:
        y = top + len(tiers) * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" font-size="13" '
                    f'fill="{OTHER_COLOUR}">{_esc(t["not_assessed"])}</text>')
        body.append(f'<text x="{label_w}" y="{y + 19}" font-size="13" fill="{OTHER_COLOUR}">'
                    f"{not_assessed} {_esc(t['units'])}</text>")
    label = f"{t['tier_distribution']}: {data.group_label(unit_group, lang)}"
    return _svg(width, height, label, body)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def movement_svg(data: ReportData, unit_group: str, lang: str) -> str:
    """One row per ranked unit (by current rank): a hollow dot at last year's rank, an arrow to
    this year's (green up, red down); the rank axis runs from 1 (best, left) rightwards."""
    t = TEXTS[lang]
    units = [u for u in data.units_of(unit_group) if u["rank_in_group"] is not None]
    if not units:
        return ""
    name_w, plot_w, right_w, row_h, top = 250, 380, 70, 22, 28
    width = name_w + plot_w + right_w
    height = top + len(units) * row_h + 10
    worst = max([int(u["rank_in_group"]) for u in units]
                + [int(u["previous_rank"]) for u in units if u["previous_rank"] is not None]
                + [int(units[0]["ranked_units_in_group"] or 1)])

    def x(rank) -> float:
        if worst <= 1:
            return name_w + plot_w / 2
        return name_w + 12 + (int(rank) - 1) / (worst - 1) * (plot_w - 24)

    ticks = sorted({1, worst, *(r for r in range(5, worst, 5) if worst - r >= 2)})
    body = [f'<text x="{name_w - 8}" y="14" text-anchor="end" font-size="11" '
            f'fill="{OTHER_COLOUR}">{_esc(t["rank"])}</text>']
    for tick in ticks:
        body.append(f'<line x1="{x(tick):.1f}" y1="20" x2="{x(tick):.1f}" y2="{height - 8}" '
                    'stroke="#e3e6ea" stroke-width="1"/>')
        body.append(f'<text x="{x(tick):.1f}" y="14" text-anchor="middle" font-size="11" '
                    f'fill="{OTHER_COLOUR}">{tick}</text>')
    for i, u in enumerate(units):
        y = top + i * row_h + row_h / 2
        cur, prev = int(u["rank_in_group"]), u["previous_rank"]
        text, css, _ = format_change(u["rank_change"], prev, lang)
        colour = {"up": UP_COLOUR, "down": DOWN_COLOUR}.get(css, SAME_COLOUR)
        body.append(f'<text x="{name_w - 8}" y="{y + 4}" text-anchor="end" font-size="12">'
                    f"{cur}. {_esc(_truncate(u['unit_name'], 36))}</text>")
        if prev is not None and int(prev) != cur:
            x0, x1 = x(prev), x(cur)
            direction = 1 if x1 > x0 else -1
            tip = x1 - direction * 6  # stop short of the current dot
            body.append(f'<line x1="{x0:.1f}" y1="{y}" x2="{tip:.1f}" y2="{y}" '
                        f'stroke="{colour}" stroke-width="2"/>')
            body.append(f'<polygon points="{tip:.1f},{y - 4} {tip + direction * 6:.1f},{y} '
                        f'{tip:.1f},{y + 4}" fill="{colour}"/>')
            body.append(f'<circle cx="{x0:.1f}" cy="{y}" r="4" fill="#fff" stroke="{colour}" '
                        'stroke-width="1.5"/>')
        body.append(f'<circle cx="{x(cur):.1f}" cy="{y}" r="4.5" fill="{colour}"/>')
        note = text if u["rank_change"] is not None else t["no_previous"]
        body.append(f'<text x="{name_w + plot_w + 8}" y="{y + 4}" font-size="12" '
                    f'fill="{colour}">{_esc(note)}</text>')
    label = f"{t['movement']}: {data.group_label(unit_group, lang)}"
    return _svg(width, height, label, body)


# --- the HTML -------------------------------------------------------------------------------
def _criteria_view(data: ReportData, unit_code: str, lang: str) -> list[dict[str, Any]]:
    t = TEXTS[lang]
    out = []
    for g, leaves in data.criteria_of(unit_code):
        achievable = g["achievable_max_points"]
        note = ""
        if achievable is not None and g["max_points"] is not None and \
                _decimal(achievable) != _decimal(g["max_points"]):
            note = t["achievable"].format(n=format_number(achievable, lang))
        out.append({
            "number": g["group_number"], "label": g[f"group_label_{lang}"],
            "points": format_number(g["points"], lang), "max": format_number(g["max_points"], lang),
            "note": note,
            "indicators": [{
                "key": i["indicator_key"], "label": i[f"indicator_label_{lang}"],
                "value": format_input(i, lang), "points": format_number(i["points"], lang),
                "max": format_number(i["max_points"], lang), "note": status_text(i, lang),
                "status": i["status"],
            } for i in leaves],
        })
    return out


def _unit_view(data: ReportData, u: Row, lang: str) -> dict[str, Any]:
    change, css, spoken = format_change(u["rank_change"], u["previous_rank"], lang)
    return {
        "code": u["unit_code"], "name": u["unit_name"], "assessed": u["is_assessed"],
        "rank": u["rank_in_group"] if u["rank_in_group"] is not None else "—",
        "points": format_number(u["total_points"], lang),
        "max": format_number(u["achievable_max_points"], lang),
        "share": format_percent(u["score_share"], lang),
        "tier": u[f"tier_label_{lang}"] if u["is_assessed"] else TEXTS[lang]["not_assessed"],
        "tier_colour": tier_colour(u["tier_ordinal"]) if u["is_assessed"] else OTHER_COLOUR,
        "reason": translate_reason(u["not_assessed_reason"], lang),
        "previous_rank": u["previous_rank"] if u["previous_rank"] is not None else "—",
        "change": change, "change_class": css, "change_title": spoken,
        "criteria": _criteria_view(data, u["unit_code"], lang),
    }


def _group_view(data: ReportData, unit_group: str, lang: str) -> dict[str, Any]:
    t = TEXTS[lang]
    units = data.units_of(unit_group)
    assessed = sum(1 for u in units if u["is_assessed"])
    tiers = [t["summary_tier"].format(tier=tier[f"tier_label_{lang}"], count=tier["unit_count"],
                                      assessed=tier["assessed_unit_count"],
                                      share=format_percent(tier["unit_share"], lang))
             for tier in data.tiers_of(unit_group)]
    unranked = [u["unit_name"] for u in units if u["rank_in_group"] is None]
    return {
        "key": unit_group, "label": data.group_label(unit_group, lang),
        "summary": t["summary_line"].format(assessed=assessed, total=len(units)),
        "summary_tiers": tiers,
        "units": [_unit_view(data, u, lang) for u in units],
        "tier_svg": tier_chart_svg(data, unit_group, lang),
        "movement_svg": movement_svg(data, unit_group, lang),
        "unranked": t["movement_not_ranked"].format(names=", ".join(unranked)) if unranked else "",
    }


def _gate_lines(items) -> list[str]:
    out = []
    for item in items or []:
        if isinstance(item, Mapping):
            out.append(str(item.get("line") or item.get("message") or
                           ", ".join(f"{k}: {v}" for k, v in item.items())))
        else:
            out.append(str(item))
    return out


def _failure_line(failure: Mapping[str, Any]) -> str:
    """One failing check of audit.gate_result, as the report lists it."""
    count = failure.get("bad_rows")
    rows = "" if count is None else f" ({count})"
    return f"{failure.get('check')} — {failure.get('asset')}{rows}: {failure.get('description')}"


def html_context(data: ReportData, lang: str) -> dict[str, Any]:
    t = TEXTS[lang]
    r = data.release
    gate = r["gate_result"] or {}
    critical, warnings = _gate_lines(gate.get("critical")), _gate_lines(gate.get("warnings"))
    title = r[f"methodology_title_{lang}"] or r["methodology_name"]
    return {
        "lang": lang, "t": t,
        "title": t["title"].format(title=title, year=r["year"]),
        "subtitle": t["subtitle"].format(year=r["year"]),
        "basis": r.get("methodology_basis") or "",
        "release": {
            "id": r["release_id"], "methodology_name": r["methodology_name"],
            "sha": (r["methodology_sha256"] or "")[:12],
            "watermark": format_timestamp(r["data_watermark"], lang) or t["watermark_none"],
            "created": format_timestamp(r["created_at"], lang),
        },
        "gate": {"passed": bool(gate.get("passed")), "critical": critical, "warnings": warnings,
                 "counts": t["gate_counts"].format(critical=len(critical),
                                                   warnings=len(warnings)),
                 "data_docs": data.data_docs,
                 "blocked": [
                     {"title": t["blocked_run"].format(
                         when=format_timestamp(b["finished_at"], lang), checkpoint=b["checkpoint"]),
                      "causes": [_failure_line(f) for f in b["failures"] or []
                                 if f.get("severity") == "critical"][:5]}
                     for b in data.blocked_runs]},
        "groups": [_group_view(data, g, lang) for g in data.unit_groups()],
        "movement_legend": t["movement_legend"].format(year=r["year"]),
    }


def render_html(data: ReportData, lang: str = "vi") -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    _check_lang(lang)
    env = Environment(loader=PackageLoader("govkpi.publish", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    from markupsafe import Markup

    context = html_context(data, lang)
    for group in context["groups"]:  # built by this module with every text escaped
        group["tier_svg"] = Markup(group["tier_svg"])
        group["movement_svg"] = Markup(group["movement_svg"])
    return env.get_template("report.html.j2").render(**context)


# --- tables (XLSX and CSV share them) -------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str  # the text key of its header
    kind: str  # text | int | points | share


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)


def _num(value):
    return None if value is None else _decimal(value)


def report_tables(data: ReportData, lang: str) -> list[Table]:
    """The ranking, criteria and tiers tables, with the numbers the HTML shows."""
    t = TEXTS[lang]
    ranking = Table("ranking", [Column(k, kind) for k, kind in (
        ("unit_group", "text"), ("rank", "int"), ("unit_code", "text"), ("unit", "text"),
        ("points", "points"), ("max", "points"), ("achievable_max", "points"),
        ("share", "share"), ("tier", "text"), ("previous_rank", "int"), ("change", "int"),
        ("reason", "text"))])
    criteria = Table("criteria", [Column(k, kind) for k, kind in (
        ("unit_group", "text"), ("unit_code", "text"), ("unit", "text"), ("level", "text"),
        ("criterion_no", "text"), ("criterion", "text"), ("input_code", "text"),
        ("value", "points"), ("numerator", "points"), ("denominator", "points"),
        ("points", "points"), ("max", "points"), ("achievable_max", "points"),
        ("status", "text"))])
    tiers = Table("tiers", [Column(k, kind) for k, kind in (
        ("unit_group", "text"), ("tier_no", "int"), ("tier", "text"), ("min_share", "share"),
        ("unit_count", "int"), ("assessed_count", "int"), ("unit_share", "share"))])
    for group in data.unit_groups():
        label = data.group_label(group, lang)
        for u in data.units_of(group):
            ranking.rows.append([
                label, u["rank_in_group"], u["unit_code"], u["unit_name"],
                _num(u["total_points"]), _num(u["max_points"]),
                _num(u["achievable_max_points"]), _num(u["score_share"]),
                u[f"tier_label_{lang}"] if u["is_assessed"] else t["not_assessed"],
                u["previous_rank"], u["rank_change"],
                translate_reason(u["not_assessed_reason"], lang)])
            for g, leaves in data.criteria_of(u["unit_code"]):
                criteria.rows.append([
                    label, u["unit_code"], u["unit_name"], t["level_group"],
                    str(g["group_number"]), g[f"group_label_{lang}"], None, None, None, None,
                    _num(g["points"]), _num(g["max_points"]), _num(g["achievable_max_points"]),
                    ""])
                for i in leaves:
                    measured = i["status"] != "not_measured"
                    criteria.rows.append([
                        label, u["unit_code"], u["unit_name"], t["level_indicator"],
                        i["indicator_key"], i[f"indicator_label_{lang}"], i["input_code"],
                        _num(i["input_value"]) if measured else None,
                        _num(i["input_numerator"]), _num(i["input_denominator"]),
                        _num(i["points"]), _num(i["max_points"]), None, status_text(i, lang)])
        for tier in data.tiers_of(group):
            tiers.rows.append([label, tier["tier_ordinal"], tier[f"tier_label_{lang}"],
                               _num(tier.get("min_share")), tier["unit_count"],
                               tier["assessed_unit_count"], _num(tier["unit_share"])])
    return [ranking, criteria, tiers]


def _header(column: Column, lang: str) -> str:
    return TEXTS[lang][column.key]


def _release_rows(data: ReportData, lang: str) -> list[tuple[str, Any]]:
    t, r = TEXTS[lang], data.release
    gate = r["gate_result"] or {}
    return [
        (t["release"], r["release_id"]), (t["year"], r["year"]),
        (t["methodology"], r["methodology_name"]),
        (t["methodology_title"], r[f"methodology_title_{lang}"]),
        ("sha256", r["methodology_sha256"]),
        (t["watermark"], format_timestamp(r["data_watermark"], lang) or t["watermark_none"]),
        (t["created"], format_timestamp(r["created_at"], lang)),
        (t["gate"], t["passed"] if gate.get("passed") else t["failed"]),
        *((t["warnings"], w) for w in _gate_lines(gate.get("warnings"))),
    ]


def write_xlsx(data: ReportData, path: Path, lang: str = "vi") -> Path:
    """Sheets ranking, criteria, tiers (+ release): numbers as numbers, shares as fractions
    shown as percentages (0.625 → 62.5%)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for table in report_tables(data, lang):
        ws = wb.create_sheet(table.name)
        ws.append([_header(c, lang) for c in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            ws.append(row)
        for idx, column in enumerate(table.columns, start=1):
            letter = get_column_letter(idx)
            if column.kind == "share":
                for cell in ws[letter][1:]:
                    cell.number_format = "0.0%"
            width = max([len(str(_header(column, lang)))]
                        + [len(str(r[idx - 1])) for r in table.rows if r[idx - 1] is not None])
            ws.column_dimensions[letter].width = min(max(width + 2, 6), 60)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    ws = wb.create_sheet("release")
    ws.append([TEXTS[lang]["field"], TEXTS[lang]["field_value"]])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for key, value in _release_rows(data, lang):
        ws.append([key, value])
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 70
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "share":
        return f"{percent_value(value)}"
    if kind == "points":
        d = _decimal(value)
        text = f"{d:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def write_csv(data: ReportData, out_dir: Path, stem: str, lang: str = "vi") -> dict[str, Path]:
    """One UTF-8 (with BOM, for Excel) CSV per table; shares as percentages (62.5), a dot as
    the decimal mark whatever the language, so that tools read the numbers back."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in report_tables(data, lang):
        path = out_dir / f"{stem}_{table.name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([_header(c, lang) + (" (%)" if c.kind == "share" else "")
                             for c in table.columns])
            for row in table.rows:
                writer.writerow([_csv_value(v, c.kind)
                                 for v, c in zip(row, table.columns, strict=True)])
        paths[table.name] = path
    return paths


# --- the terminal summary (govkpi rank, govkpi demo) ---------------------------------------
SUMMARY_NAME_WIDTH = 38


def summary_text(data: ReportData, lang: str = "vi") -> str:
    """A release as plain text, per unit group: rank, unit, points / achievable maximum, share,
    tier (not-assessed units last, with the reason), then the tier counts ("Tốt: 11/20
    (55,0 %)")."""
    t, r = TEXTS[lang], data.release
    lines = [f"{t['subtitle'].format(year=r['year'])} — {r['methodology_name']} "
             f"({t['release']} {r['release_id']})"]
    for unit_group in data.unit_groups():
        units = data.units_of(unit_group)
        assessed = sum(1 for u in units if u["is_assessed"])
        lines += ["", f"{data.group_label(unit_group, lang)}: "
                      f"{t['summary_line'].format(assessed=assessed, total=len(units))}"]
        width = min(SUMMARY_NAME_WIDTH, max((len(u["unit_name"]) for u in units), default=10))
        head = f"{t['points']}/{t['max']}"
        lines.append(f"  {t['rank']:>4}  {t['unit']:<{width}}  {head:>15}  {t['share']:>8}  "
                     f"{t['tier']}")
        for u in units:
            name = _truncate(u["unit_name"], width)
            if not u["is_assessed"]:
                reason = translate_reason(u["not_assessed_reason"], lang)
                lines.append(f"  {'—':>4}  {name:<{width}}  {t['not_assessed']}: {reason}")
                continue
            points = (f"{format_number(u['total_points'], lang)}/"
                      f"{format_number(u['achievable_max_points'], lang)}")
            rank = u["rank_in_group"] if u["rank_in_group"] is not None else "—"
            lines.append(f"  {rank:>4}  {name:<{width}}  {points:>15}  "
                         f"{format_percent(u['score_share'], lang):>8}  "
                         f"{u[f'tier_label_{lang}']}")
        tiers = [t["summary_tier"].format(
            tier=tier[f"tier_label_{lang}"], count=tier["unit_count"],
            assessed=tier["assessed_unit_count"], share=format_percent(tier["unit_share"], lang))
            for tier in data.tiers_of(unit_group)]
        if tiers:
            lines.append("  " + " · ".join(tiers))
    return "\n".join(lines)


def ranking_summary(warehouse, year: int, methodology_name: str,
                    release_id: int | None = None, lang: str = "vi") -> str:
    """:func:`summary_text` of a release (the current one of the year unless ``release_id``)."""
    _check_lang(lang)
    return summary_text(load_report_data(warehouse, year, methodology_name, release_id), lang)


# --- the entry points -----------------------------------------------------------------------
@dataclass(frozen=True)
class ReportPaths:
    html: Path
    xlsx: Path
    csv: dict[str, Path]

    def all(self) -> list[Path]:
        return [self.html, self.xlsx, *self.csv.values()]


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ReportError(f"unknown report language {lang!r}: choose vi or en")


def report_stem(data: ReportData, lang: str) -> str:
    r = data.release
    return f"ranking_{r['methodology_name']}_{r['year']}_release{r['release_id']}_{lang}"


def render_report(warehouse, year: int, methodology_name: str, out_dir: Path | str,
                  lang: str = "vi", release_id: int | None = None) -> ReportPaths:
    """Write the HTML, XLSX and CSV report of a release into ``out_dir``; return the paths.

    The release is ``release_id``, or the current release of (year, methodology); raises
    :class:`ReportError` when there is none.
    """
    _check_lang(lang)
    data = load_report_data(warehouse, year, methodology_name, release_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report_stem(data, lang)
    html_path = out / f"{stem}.html"
    html_path.write_text(render_html(data, lang), encoding="utf-8")
    xlsx_path = write_xlsx(data, out / f"{stem}.xlsx", lang)
    csv_paths = write_csv(data, out, stem, lang)
    return ReportPaths(html=html_path, xlsx=xlsx_path, csv=csv_paths)


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--year", type=int, required=True, help="ranking year, e.g. 2017")
    parser.add_argument("--methodology", default=DEFAULT_METHODOLOGY,
                        help=f"methodology name (default {DEFAULT_METHODOLOGY}; see "
                             "include/govkpi/methodologies/)")
    parser.add_argument("--lang", choices=LANGS, default="vi",
                        help="report language: vi (Vietnamese, default) or en")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default ${config.REPORTS_DIR_ENV}, else "
                             f"{DEFAULT_OUT_DIR})")
    parser.add_argument("--release-id", type=int, default=None,
                        help="report this release instead of the current one of the year")
    return parser


REPORT_DESCRIPTION = (
    "Render the ranking report of a published release (the current release of the year and "
    "methodology unless --release-id is given): a self-contained HTML page (opens offline, "
    "prints), an XLSX workbook (sheets ranking, criteria, tiers) and one CSV per table. Reads "
    "only the published tables.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add ``report`` to the ``govkpi`` sub-commands (``args.func`` runs it)."""
    p = sub.add_parser("report", help="render the ranking report (HTML, XLSX, CSV) of a release",
                       description=REPORT_DESCRIPTION)
    add_report_arguments(p)
    p.set_defaults(func=run_report_command)
    return p


def run_report_command(args: argparse.Namespace) -> int:
    """Resolve the warehouse, render, print the paths (raises GovkpiError on a problem)."""
    from govkpi.warehouse import resolve_warehouse

    wh = resolve_warehouse()
    paths = render_report(wh, args.year, args.methodology, args.out or config.reports_dir(),
                          lang=args.lang,
                          release_id=args.release_id)
    for path in paths.all():
        print(path)
    return 0


def report_cli(argv: Sequence[str] | None = None) -> int:
    """``govkpi report`` as a function: 0 on success, 2 with one ``error:`` line otherwise."""
    parser = add_report_arguments(argparse.ArgumentParser(
        prog="govkpi report", description=REPORT_DESCRIPTION))
    args = parser.parse_args(argv)
    try:
        return run_report_command(args)
    except GovkpiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(report_cli())
