"""Terminal summaries for engineers and officials (Vietnamese labels, English in brackets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from govkpi.warehouse import Warehouse

LEVELS = {2: "Sở, ban, ngành", 3: "UBND cấp huyện", 4: "UBND cấp xã"}

# The province summary's columns: (fact column, Vietnamese label, English label / KPI id, width).
SUMMARY_COLUMNS = (
    ("received_count", "Tiếp nhận", "received", 9),
    ("finished_count", "Đã giải quyết", "finished", 13),
    ("os1a_on_time_rate", "Đúng hạn", "OS-1a", 8),
    ("os1b_on_time_rate", "Đúng hạn 766", "OS-1b", 12),
    ("os2_late_rate", "Trễ hạn", "OS-2", 7),
    ("os3_overdue_rate", "Tồn quá hạn", "OS-3", 11),
    ("os5a_supplement_rate", "Bổ sung", "OS-5a", 7),
    ("os6_refusal_rate", "Từ chối", "OS-6", 7),
    ("os7_median_working_days", "Ngày xử lý", "OS-7 median", 11),
)
PERIOD_WIDTH = 18


def _round(value, places: int) -> Decimal:
    """Half up on the exact decimal (0.8725 → 87.3%; a float would give 87.2%)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _pct(value) -> str:
    return "—" if value is None else f"{_round(Decimal(str(value)) * 100, 1):>5}%"


def _summary_cell(column: str, value) -> str:
    if column.endswith("_count"):
        return str(value)
    if column.endswith("_working_days"):
        return "—" if value is None else str(_round(value, 1))
    return _pct(value)


def format_province_summary(year: int, quarters: Sequence[tuple[int, Mapping[str, Any]]],
                            total: Mapping[str, Any] | None) -> str:
    """The province's one-stop KPIs of ``year``, one line per quarter and one for the year.

    ``quarters`` holds (quarter, row) pairs and ``total`` the year's row, each row a mapping of
    the fact columns in :data:`SUMMARY_COLUMNS` (rates as fractions, NULL as None).
    """
    if not quarters and total is None:
        return f"(no province KPI rows for {year})"
    head = f"{'Kỳ (period)':<{PERIOD_WIDTH}}" + "".join(
        f" {vi:>{w}}" for _, vi, _, w in SUMMARY_COLUMNS)
    sub = f"{'':<{PERIOD_WIDTH}}" + "".join(f" {en:>{w}}" for _, _, en, w in SUMMARY_COLUMNS)
    out = [f"Toàn tỉnh, giải quyết hồ sơ năm {year} (province, dossier resolution {year}; "
           "quy ước của luật: law convention)", head, sub]
    lines = [(f"Quý {q} (Q{q})", row) for q, row in quarters]
    if total is not None:
        lines.append((f"Cả năm (year {year})", total))
    for label, row in lines:
        out.append(f"{label:<{PERIOD_WIDTH}}" + "".join(
            f" {_summary_cell(c, row[c]):>{w}}" for c, _, _, w in SUMMARY_COLUMNS))
    out += ["  OS-1a đúng hạn / đã giải quyết (on time / finished); OS-1b (đúng hạn + trong hạn)"
            " / (đã giải quyết + tồn) (QĐ 766 §2.1)",
            "  OS-3 quá hạn / tồn cuối kỳ (overdue / pending at period end); OS-5a có yêu cầu bổ"
            " sung, OS-6 từ chối / tiếp nhận (/ received)",
            "  OS-7 trung vị ngày làm việc xử lý (median working days to resolve)"]
    return "\n".join(out)


def province_summary(wh: Warehouse, year: int) -> str:
    """The province's one-stop KPIs of ``year`` per quarter and for the year (demo summary)."""
    columns = ", ".join(c for c, *_ in SUMMARY_COLUMNS)
    with wh.connect() as conn:
        quarter_rows = conn.execute(
            f"select period_quarter, {columns} from marts.fct_dossier_resolution_province_quarter"
            " where period_year = %s order by period_quarter",
            (year,),
        ).fetchall()
        year_rows = conn.execute(
            f"select {columns} from marts.fct_dossier_resolution_province_year"
            " where period_year = %s",
            (year,),
        ).fetchall()
    names = [c for c, *_ in SUMMARY_COLUMNS]
    quarters = [(r[0], dict(zip(names, r[1:], strict=True))) for r in quarter_rows]
    total = dict(zip(names, year_rows[0], strict=True)) if year_rows else None
    return format_province_summary(year, quarters, total)


def kpi_table(wh: Warehouse, year: int) -> str:
    """Per-unit dossier-resolution KPIs (OS-1a, OS-1b, OS-2) of ``year``."""
    with wh.connect() as conn:
        rows = conn.execute(
            """
            select u.unit_level, u.unit_name, f.received_count, f.finished_count,
                   f.os1a_on_time_rate, f.os1b_on_time_rate, f.os2_late_rate,
                   f.overdue_count
            from marts.fct_dossier_resolution_unit_year as f
            join staging.stg_onestop__units as u using (unit_code)
            where f.period_year = %s and u.unit_level in (2, 3)
            order by u.unit_level, f.os1a_on_time_rate desc nulls last, u.unit_name
            """,
            (year,),
        ).fetchall()
    if not rows:
        return f"(no KPI rows for {year})"
    head = (f"{'Đơn vị (unit)':<44} {'Tiếp nhận':>9} {'Đã giải quyết':>13} "
            f"{'Đúng hạn':>9} {'Đúng hạn 766':>12} {'Trễ hạn':>8} {'Quá hạn':>8}")
    sub = (f"{'':<44} {'received':>9} {'finished':>13} {'OS-1a':>9} {'OS-1b':>12} "
           f"{'OS-2':>8} {'overdue':>8}")
    out = [f"Kết quả giải quyết hồ sơ năm {year} (dossier resolution, {year})", head, sub]
    level = None
    for lvl, name, received, finished, os1a, os1b, os2, overdue in rows:
        if lvl != level:
            out.append(f"-- {LEVELS.get(lvl, lvl)}")
            level = lvl
        out.append(f"{name[:44]:<44} {received:>9} {finished:>13} {_pct(os1a):>9} "
                   f"{_pct(os1b):>12} {_pct(os2):>8} {overdue:>8}")
    return "\n".join(out)


def load_summary(wh: Warehouse, limit: int | None = None) -> str:
    """Every load batch (or the last ``limit``), oldest first: the counts that must reconcile."""
    with wh.connect() as conn:
        rows = conn.execute(
            """
            select source_system || '.' || endpoint, batch_id, status, received_count,
                   loaded_count, quarantined_count, duplicate_count, seconds
            from audit.load_batch order by batch_id desc limit %s
            """,
            (limit,),
        ).fetchall()
        reasons = conn.execute(
            """
            select source_system || '.' || endpoint, split_part(reason, ':', 1), count(*)
            from audit.quarantine group by 1, 2 order by 1, 3 desc, 2
            """
        ).fetchall()
    width = max([len("nguồn.bảng (table)"), *(len(r[0]) for r in rows)])
    lines = ["Lô nạp dữ liệu (load batches): nhận = đã nạp + cách ly "
             "(received = loaded + quarantined)",
             f"  {'nguồn.bảng (table)':<{width}} {'lô':>5} {'trạng thái':<10} {'nhận':>8} "
             f"{'đã nạp':>8} {'cách ly':>8} {'trùng lặp':>9} {'giây':>6}",
             f"  {'':<{width}} {'batch':>5} {'status':<10} {'received':>8} {'loaded':>8} "
             f"{'quarant.':>8} {'duplicate':>9} {'s':>6}"]
    for name, batch, status, rec, loaded, quar, dup, secs in reversed(rows):
        lines.append(f"  {name:<{width}} {batch:>5} {status:<10} {rec:>8} {loaded:>8} "
                     f"{quar:>8} {dup:>9} {float(secs or 0):>6.1f}")
    if reasons:
        lines.append("Cách ly theo lý do (quarantined, by reason)")
        for name, kind, n in reasons:
            lines.append(f"  {name:<{width}} {n:>6}  {kind}")
    return "\n".join(lines)
