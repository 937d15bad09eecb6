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


def load_summary(wh: Warehouse) -> str:
    with wh.connect() as conn:
        rows = conn.execute(
            """
            select source_system || '.' || endpoint, batch_id, status, received_count,
                   loaded_count, quarantined_count, duplicate_count, seconds
            from audit.load_batch order by batch_id desc limit 3
            """
        ).fetchall()
    lines = ["Lô nạp dữ liệu (load batches): received = loaded + quarantined"]
    for name, batch, status, rec, loaded, quar, dup, secs in reversed(rows):
        lines.append(f"  {name:<16} batch {batch:<4} {status:<9} received {rec:>7}  "
                     f"loaded {loaded:>7}  quarantined {quar:>4}  duplicates {dup:>4}  "
                     f"{secs or 0:.1f}s")
    return "\n".join(lines)
