"""Terminal summaries for engineers and officials (Vietnamese labels, English in brackets)."""

from __future__ import annotations

from govkpi.warehouse import Warehouse

LEVELS = {2: "Sở, ban, ngành", 3: "UBND cấp huyện", 4: "UBND cấp xã"}


def _pct(value) -> str:
    return "—" if value is None else f"{float(value) * 100:5.1f}%"


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
