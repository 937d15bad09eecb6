"""The Vietnamese civil-service working-day calendar.

One definition for Python (simulator, CLI); the warehouse reads the same facts from the dbt seed
``vn_calendar_exceptions.csv`` that :func:`write_exceptions_seed` generates from the ``holidays``
package (Labour Code 2019 art. 112 holidays, compensatory days and weekend swaps) plus the hand
corrections in ``calendar_corrections.csv`` (the government's yearly swaps that the package lacks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR_YEARS = range(2016, 2031)
# Decree 61/2018 art. 20 practice: dossiers received after 15:00 count from the next working day.
AFTERNOON_CUTOFF = dt.time(15, 0)

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
EXCEPTIONS_SEED = SEEDS_DIR / "vn_calendar_exceptions.csv"
CORRECTIONS_SEED = SEEDS_DIR / "calendar_corrections.csv"


@cache
def _vn_holidays(years: tuple[int, ...]):
    import holidays

    return holidays.country_holidays("VN", years=years)


def calendar_exceptions(years: Iterable[int] = CALENDAR_YEARS) -> list[tuple[dt.date, bool, str]]:
    """Days whose status differs from the Monday–Friday rule: (date, is_working_day, reason)."""
    import holidays

    vn = _vn_holidays(tuple(years))
    rows: dict[dt.date, tuple[dt.date, bool, str]] = {}
    for day, name in vn.items():
        if day.weekday() < 5:
            rows[day] = (day, False, name)
    for day in sorted(vn.weekend_workdays):
        rows[day] = (day, True, "working weekend (compensates a bridge day off)")
    assert holidays.__version__  # recorded in the seed's source column
    return sorted(rows.values())


def render_exceptions_seed(years: Iterable[int] = CALENDAR_YEARS) -> str:
    """The CSV text of the exceptions seed (deterministic: the regeneration test compares bytes)."""
    import holidays

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["calendar_date", "is_working_day", "reason", "source"])
    for day, working, reason in calendar_exceptions(years):
        source = f"holidays {holidays.__version__}"
        writer.writerow([day.isoformat(), "true" if working else "false", reason, source])
    return out.getvalue()


def write_exceptions_seed(path: Path = EXCEPTIONS_SEED) -> Path:
    path.write_text(render_exceptions_seed(), encoding="utf-8")
    return path


@cache
def _corrections() -> dict[dt.date, bool]:
    if not CORRECTIONS_SEED.exists():
        return {}
    with CORRECTIONS_SEED.open(encoding="utf-8") as fh:
        return {
            dt.date.fromisoformat(r["calendar_date"]): r["is_working_day"].strip().lower() == "true"
            for r in csv.DictReader(fh)
        }


@cache
def _exception_map() -> dict[dt.date, bool]:
    m = {day: working for day, working, _ in calendar_exceptions()}
    m.update(_corrections())
    return m


def is_working_day(day: dt.date) -> bool:
    if not (CALENDAR_YEARS.start <= day.year < CALENDAR_YEARS.stop):
        raise ValueError(f"{day} is outside the working-day calendar {CALENDAR_YEARS.start}–"
                         f"{CALENDAR_YEARS.stop - 1}")
    special = _exception_map().get(day)
    return special if special is not None else day.weekday() < 5


def next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``day`` (n >= 0; n == 0 returns ``day``)."""
    for _ in range(n):
        day = next_working_day(day)
    return day


def effective_receipt_day(received_at: dt.datetime) -> dt.date:
    """The working day from which a dossier's processing time counts.

    A dossier received on a working day before 15:00 counts from that day; one received at or
    after 15:00, or on a day off, counts from the next working day.
    """
    local = received_at.astimezone(VN_TZ)
    day = local.date()
    if is_working_day(day) and local.time() < AFTERNOON_CUTOFF:
        return day
    return next_working_day(day)


def legal_due_date(received_at: dt.datetime, amount: float, unit: str) -> dt.date:
    """Due date of a dossier (DOMAIN.md §3): the last day on which finishing is on time.

    ``unit`` is the one-stop ``DonViThoiHan``: ``ngay_lam_viec`` (working days), ``gio`` (hours,
    counted as working days of 8 hours, rounded up) or ``ngay`` (calendar days, moved to the next
    working day when the last day is a day off).
    """
    start = effective_receipt_day(received_at)
    if unit == "ngay_lam_viec":
        return add_working_days(start, int(amount))
    if unit == "gio":
        return add_working_days(start, max(1, -(-int(amount) // 8)))
    if unit == "ngay":
        day = start + dt.timedelta(days=int(amount))
        return day if is_working_day(day) else next_working_day(day)
    raise ValueError(f"unknown processing-time unit {unit!r} (expected ngay_lam_viec, gio, ngay)")
