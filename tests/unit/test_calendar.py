"""Working days and due dates, cases written down from the rules first (DOMAIN.md §3)."""

import datetime as dt

import pytest

from govkpi import calendar
from govkpi.calendar import VN_TZ, legal_due_date


def at(y, m, d, hh=9, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def test_committed_seed_is_what_the_holidays_package_generates():
    assert calendar.EXCEPTIONS_SEED.read_text(encoding="utf-8") == calendar.render_exceptions_seed()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2017, 1, 2), False),  # New Year on a Sunday → compensatory Monday
        (dt.date(2017, 1, 31), False),  # Tết 2017
        (dt.date(2017, 5, 2), False),  # 30/4 on a Sunday → Tuesday 2 May off
        (dt.date(2017, 9, 4), False),  # 2/9 on a Saturday → Monday off
        (dt.date(2017, 9, 5), True),
        (dt.date(2017, 4, 29), False),  # an ordinary Saturday
        (dt.date(2026, 2, 20), False),  # Tết 2026 (14–22 Feb off, weekends included)
        (dt.date(2026, 2, 23), True),
        (dt.date(2026, 8, 22), True),  # a Saturday worked to bridge 31 Aug
        (dt.date(2026, 8, 31), False),
    ],
)
def test_working_days(day, working):
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize(
    ("received", "amount", "unit", "due"),
    [
        # Fri 10:00, 3 working days; Mon 1 May and Tue 2 May 2017 are days off → Fri 5 May
        (at(2017, 4, 28, 10), 3, "ngay_lam_viec", dt.date(2017, 5, 5)),
        # Fri 15:30: counts from the next working day (Wed 3 May) → +1 → Thu 4 May
        (at(2017, 4, 28, 15, 30), 1, "ngay_lam_viec", dt.date(2017, 5, 4)),
        # exactly 15:00 is already "after 15:00"
        (at(2017, 3, 14, 15, 0), 1, "ngay_lam_viec", dt.date(2017, 3, 16)),
        (at(2017, 3, 14, 14, 59), 1, "ngay_lam_viec", dt.date(2017, 3, 15)),
        # Saturday: counts from Monday
        (at(2017, 3, 18, 9), 2, "ngay_lam_viec", dt.date(2017, 3, 22)),
        # hours: 16 h = 2 working days of 8 h; 4 h rounds up to one
        (at(2017, 3, 14, 9), 16, "gio", dt.date(2017, 3, 16)),
        (at(2017, 3, 14, 9), 4, "gio", dt.date(2017, 3, 15)),
        # calendar days: Tue 14 + 4 = Sat 18 → next working day Mon 20
        (at(2017, 3, 14, 9), 4, "ngay", dt.date(2017, 3, 20)),
        # across Tết 2017 (26 Jan – 1 Feb off): Wed 25 Jan + 2 → Thu 2, Fri 3 Feb
        (at(2017, 1, 25, 9), 2, "ngay_lam_viec", dt.date(2017, 2, 3)),
        # an instant in UTC is judged in Vietnamese time: 08:30Z = 15:30 +07:00
        (dt.datetime(2017, 3, 14, 8, 30, tzinfo=dt.UTC), 1, "ngay_lam_viec",
         dt.date(2017, 3, 16)),
    ],
)
def test_legal_due_date(received, amount, unit, due):
    assert legal_due_date(received, amount, unit) == due


def test_unknown_unit_and_out_of_range_are_clear_errors():
    with pytest.raises(ValueError, match="unknown processing-time unit 'tuan'"):
        legal_due_date(at(2017, 3, 14), 1, "tuan")
    with pytest.raises(ValueError, match="outside the working-day calendar"):
        calendar.is_working_day(dt.date(2040, 1, 2))
