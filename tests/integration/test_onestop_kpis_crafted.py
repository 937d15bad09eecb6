"""Crafted one-stop dossiers → real simulator over HTTP → extract/load → dbt build → exact KPIs.

32 dossiers written down by hand. The comment on each works out, from DOMAIN.md §3 and the 2017
calendar, its due date under both supplement conventions, its class at the end of processing and
at every month end it was pending, its processing time in working days and its apology letters —
before looking at what the SQL produces. The 2017 days off used: Sun 1/1 → Mon 2/1
(compensatory), Tết Thu 26/1 – Wed 1/2, Giỗ Tổ Thu 6/4, Sun 30/4 → Tue 2/5 (compensatory), Mon 1/5,
Sat 2/9 → Mon 4/9 (compensatory); and Mon 1/1/2018.

Conventions (DOMAIN §3): *law* — the clock restarts when the complete dossier arrives (the full
processing time counts again from that arrival, 15:00 rule included); *portal* — the due date moves
by the working days between each request and the arrival of the complete dossier, and more than
one request counts as late. A dossier waiting for the citizen at a period end is pending within
deadline (the clock stands still); one that ends during that wait is not late under the law.
Processing time (OS-7) = ordinal of the finish day − ordinal of the effective start day in working
days (law: the effective arrival of the complete dossier; portal: the effective receipt, minus the
supplement waits); withdrawals are left out of OS-7.

The per-dossier facts below are the hand work; ``expected_kpis`` only counts them into periods with
the §4 formulas, and a few rows (D1 2017, the province 2017, D1 March/December) are also written out
as literal numbers worked by hand.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import pytest

from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, OneStopWorld
from tests.helpers import dbt, query

D = Decimal
UNITS = [
    {"MaDonVi": "P", "TenDonVi": "UBND tỉnh", "CapDonVi": 1},
    {"MaDonVi": "D1", "TenDonVi": "Sở Một", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "D2", "TenDonVi": "Sở Hai (không có hồ sơ)", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P"},
    # A commune merged into X2 at mid-year.
    {"MaDonVi": "X1", "TenDonVi": "UBND xã Một", "CapDonVi": 4, "MaDonViCha": "H1",
     "HieuLucDen": "2017-06-30", "MaDonViKeThua": "X2"},
    {"MaDonVi": "X2", "TenDonVi": "UBND xã Hai", "CapDonVi": 4, "MaDonViCha": "H1",
     "HieuLucTu": "2017-07-01"},
]
PROCEDURES = [
    {"MaTTHC": "T1", "TenTTHC": "1 ngày làm việc", "ThoiHanGiaiQuyet": 1},
    {"MaTTHC": "T3", "TenTTHC": "3 ngày làm việc", "ThoiHanGiaiQuyet": 3},
    {"MaTTHC": "T5", "TenTTHC": "5 ngày làm việc", "ThoiHanGiaiQuyet": 5},
    {"MaTTHC": "T10", "TenTTHC": "10 ngày làm việc", "ThoiHanGiaiQuyet": 10},
    {"MaTTHC": "TC", "TenTTHC": "4 ngày (lịch)", "ThoiHanGiaiQuyet": 4, "DonViThoiHan": "ngay"},
    {"MaTTHC": "TH", "TenTTHC": "16 giờ", "ThoiHanGiaiQuyet": 16, "DonViThoiHan": "gio"},
]
PROCESSED, REFUSED, WITHDRAWN = 4, 7, 8
OT, LATE, WITHIN, OVERDUE = "on_time", "late", "pending_within_deadline", "overdue"


class Case(NamedTuple):
    """A dossier and what the rules say about it (worked by hand)."""

    code: str
    unit: str
    proc: str
    received: str  # local time
    end: str | None = None  # local time of the end of processing
    status: int = PROCESSED
    supplements: tuple[tuple[str, str | None], ...] = ()  # (requested, complete dossier received)
    letters: tuple[str, ...] = ()  # apology letters: NgayLap (local)
    due: str | None = None  # law due date (final)
    due_portal: str | None = None  # portal due date (final), when it differs
    final: tuple[str, str] | None = None  # (law, portal) class when finished
    pending: tuple[tuple[str, str, str], ...] = ()  # (month end, law class, portal class)
    days: tuple[int, int] | None = None  # OS-7 working days (law, portal); None = not counted
    # has a letter dated at least a day before the due date (law, portal)
    timely: tuple[bool, bool] = (False, False)


CASES = [
    # ---- D1, a department ----------------------------------------------------------------------
    # Fri 28/4 10:00, 3 wd: 29–30/4 weekend, 1/5 and 2/5 off → 3/5, 4/5, 5/5: due Fri 5/5.
    # Pending at 30/4 (≤ 5/5): within. Finished on the due day, 16:00: on time. 3 working days.
    Case("D1-01", "D1", "T3", "2017-04-28T10:00", "2017-05-05T16:00", due="2017-05-05",
         final=(OT, OT), pending=(("2017-04-30", WITHIN, WITHIN),), days=(3, 3)),
    # Same due 5/5; finished Mon 8/5: late (4 wd). Letter made Wed 3/5 < 5/5: timely.
    Case("D1-02", "D1", "T3", "2017-04-28T10:00", "2017-05-08T09:00", letters=("2017-05-03T10:00",),
         due="2017-05-05", final=(LATE, LATE), pending=(("2017-04-30", WITHIN, WITHIN),),
         days=(4, 4), timely=(True, True)),
    # Fri 28/4 15:30 (after 15:00) counts from the next working day, Wed 3/5; 1 wd → due Thu 4/5.
    # Finished 4/5: on time; 1 working day (3/5 → 4/5).
    Case("D1-03", "D1", "T1", "2017-04-28T15:30", "2017-05-04T10:00", due="2017-05-04",
         final=(OT, OT), pending=(("2017-04-30", WITHIN, WITHIN),), days=(1, 1)),
    # Saturday 18/3 counts from Mon 20/3 → due Tue 21/3; finished 21/3 17:30: on time; 1 wd.
    Case("D1-04", "D1", "T1", "2017-03-18T09:00", "2017-03-21T17:30", due="2017-03-21",
         final=(OT, OT), days=(1, 1)),
    # Wed 5/4, 3 wd: Thu 6/4 Giỗ Tổ off → 7/4, 10/4, 11/4: due Tue 11/4. Finished Wed 12/4: late,
    # 4 wd. Letter made on the due day 11/4: not a day before → not timely.
    Case("D1-05", "D1", "T3", "2017-04-05T09:00", "2017-04-12T10:00", letters=("2017-04-11T09:00",),
         due="2017-04-11", final=(LATE, LATE), days=(4, 4)),
    # Tue 24/1 14:00, 5 wd: 25/1, (Tết 26/1–1/2), 2/2, 3/2, 6/2, 7/2: due Tue 7/2. Pending at 31/1:
    # within. Finished Mon 6/2: on time; 4 wd (25/1, 2/2, 3/2, 6/2).
    Case("D1-06", "D1", "T5", "2017-01-24T14:00", "2017-02-06T10:00", due="2017-02-07",
         final=(OT, OT), pending=(("2017-01-31", WITHIN, WITHIN),), days=(4, 4)),
    # Thu 29/12/2016, 3 wd: 30/12, (2/1 off), 3/1, 4/1: due Wed 4/1/2017. Pending at the end of
    # December 2016 / Q4 / 2016: within. Finished 4/1/2017: on time; 3 wd.
    Case("D1-07", "D1", "T3", "2016-12-29T09:00", "2017-01-04T11:00", due="2017-01-04",
         final=(OT, OT), pending=(("2016-12-31", WITHIN, WITHIN),), days=(3, 3)),
    # Supplement once. Mon 6/3, 10 wd → legal due Mon 20/3. Request Wed 8/3, complete dossier Wed
    # 15/3 10:00. Law: 10 wd from 15/3 → 16, 17, 20–24, 27, 28, 29: due Wed 29/3. Portal: the wait
    # 8/3 → 15/3 is 5 wd (9, 10, 13, 14, 15) → 20/3 + 5 wd = Mon 27/3. Finished Tue 28/3: law on
    # time, portal late. Days: law 16/3…28/3 = 9; portal 6/3…28/3 = 16 − 5 = 11. Letter Fri 24/3
    # < 27/3: timely under the portal (the law does not see it late).
    Case("D1-08", "D1", "T10", "2017-03-06T09:00", "2017-03-28T10:00",
         supplements=(("2017-03-08T10:00", "2017-03-15T10:00"),), letters=("2017-03-24T09:00",),
         due="2017-03-29", due_portal="2017-03-27", final=(OT, LATE), days=(9, 11),
         timely=(True, True)),
    # Supplement twice. Mon 10/7, 10 wd → legal due Mon 24/7. Requests Tue 11/7 → Thu 13/7 (2 wd)
    # and Fri 14/7 → Tue 18/7 (2 wd: 17, 18). Law: 10 wd from 18/7 → 19, 20, 21, 24–28, 31/7, 1/8:
    # due Tue 1/8. Portal: 24/7 + 4 wd = Fri 28/7, but two requests count as late. Finished Fri
    # 28/7: law on time, portal late. Days: law 19/7…28/7 = 8; portal 10/7…28/7 = 14 − 4 = 10.
    Case("D1-09", "D1", "T10", "2017-07-10T09:00", "2017-07-28T10:00",
         supplements=(("2017-07-11T09:00", "2017-07-13T09:00"),
                      ("2017-07-14T09:00", "2017-07-18T09:00")),
         due="2017-08-01", due_portal="2017-07-28", final=(OT, LATE), days=(8, 10)),
    # Supplement once, waiting at a month end. Mon 23/10, 5 wd → legal due Mon 30/10. Request Wed
    # 25/10, complete dossier Thu 2/11. At 31/10 it waits for the citizen: within (both), although
    # the legal due date has passed. Law: 5 wd from 2/11 → 3, 6, 7, 8, 9: due Thu 9/11. Portal:
    # wait 25/10 → 2/11 = 6 wd (26, 27, 30, 31, 1, 2) → 30/10 + 6 = Tue 7/11. Finished Wed 8/11:
    # law on time, portal late. Days: law 3/11…8/11 = 4; portal 23/10…8/11 = 12 − 6 = 6. Letter
    # Mon 6/11 < 7/11: timely (portal).
    Case("D1-10", "D1", "T5", "2017-10-23T09:00", "2017-11-08T10:00",
         supplements=(("2017-10-25T09:00", "2017-11-02T09:00"),), letters=("2017-11-06T09:00",),
         due="2017-11-09", due_portal="2017-11-07", final=(OT, LATE),
         pending=(("2017-10-31", WITHIN, WITHIN),), days=(4, 6), timely=(True, True)),
    # Withdrawn while waiting for the supplement. Mon 5/6, 3 wd → legal due Thu 8/6. Request Tue
    # 6/6, withdrawn Tue 20/6. Law: the clock stood still → not late. Portal: the wait 6/6 → 20/6
    # (10 wd) moves the due date to Thu 22/6 → on time. A withdrawal: not in OS-7.
    Case("D1-11", "D1", "T3", "2017-06-05T09:00", "2017-06-20T10:00", status=WITHDRAWN,
         supplements=(("2017-06-06T09:00", None),), due="2017-06-08", due_portal="2017-06-22",
         final=(OT, OT)),
    # Refused late. Thu 1/6, 1 wd → due Fri 2/6; refused Mon 5/6: late; 2 wd (2/6, 5/6).
    Case("D1-12", "D1", "T1", "2017-06-01T09:00", "2017-06-05T09:00", status=REFUSED,
         due="2017-06-02", final=(LATE, LATE), days=(2, 2)),
    # Refused on time. Thu 7/9, 3 wd: 8/9, 11/9, 12/9 → due Tue 12/9; refused Fri 8/9; 1 wd.
    Case("D1-13", "D1", "T3", "2017-09-07T09:00", "2017-09-08T10:00", status=REFUSED,
         due="2017-09-12", final=(OT, OT), days=(1, 1)),
    # Pending, overdue at the year end: Wed 20/12, 1 wd → due Thu 21/12.
    Case("D1-14", "D1", "T1", "2017-12-20T09:00", due="2017-12-21",
         pending=(("2017-12-31", OVERDUE, OVERDUE),)),
    # Pending within deadline at the year end: Wed 27/12, 3 wd: 28, 29/12, (1/1/2018 off), 2/1/2018.
    Case("D1-15", "D1", "T3", "2017-12-27T09:00", due="2018-01-02",
         pending=(("2017-12-31", WITHIN, WITHIN),)),
    # Pending at the quarter end. Wed 29/3, 5 wd: 30, 31/3, 3, 4, 5/4 → due Wed 5/4; at 31/3 within.
    # Finished Tue 4/4: on time; 4 wd (30, 31/3, 3, 4/4).
    Case("D1-16", "D1", "T5", "2017-03-29T09:00", "2017-04-04T10:00", due="2017-04-05",
         final=(OT, OT), pending=(("2017-03-31", WITHIN, WITHIN),), days=(4, 4)),
    # Overdue at the end of June / Q2, finished late in July. Wed 28/6, 1 wd → due Thu 29/6;
    # finished Mon 3/7: late; 3 wd (29/6, 30/6, 3/7). Two letters (28/6 timely, 30/6): rescheduled
    # more than once.
    Case("D1-17", "D1", "T1", "2017-06-28T09:00", "2017-07-03T10:00",
         letters=("2017-06-28T11:00", "2017-06-30T11:00"), due="2017-06-29", final=(LATE, LATE),
         pending=(("2017-06-30", OVERDUE, OVERDUE),), days=(3, 3), timely=(True, True)),
    # Supplement once, still pending. Mon 27/11, 3 wd → legal due Thu 30/11. Request Tue 28/11,
    # complete dossier Mon 4/12. At 30/11 it waits: within. Law: 3 wd from 4/12 → 5, 6, 7: due
    # Thu 7/12; portal: wait 28/11 → 4/12 = 4 wd (29, 30, 1, 4) → 30/11 + 4 = Wed 6/12. At 31/12
    # overdue under both.
    Case("D1-18", "D1", "T3", "2017-11-27T09:00",
         supplements=(("2017-11-28T09:00", "2017-12-04T09:00"),), due="2017-12-07",
         due_portal="2017-12-06",
         pending=(("2017-11-30", WITHIN, WITHIN), ("2017-12-31", OVERDUE, OVERDUE))),
    # Supplement twice, still pending. Mon 11/12, 10 wd → legal due Mon 25/12. Requests 12/12 →
    # 13/12 (1 wd) and 14/12 → Mon 18/12 (2 wd). Law: 10 wd from 18/12 → 19–22, 25–29, (1/1 off),
    # 2/1/2018: within at 31/12. Portal: 25/12 + 3 = Thu 28/12, and two requests → overdue.
    Case("D1-19", "D1", "T10", "2017-12-11T09:00",
         supplements=(("2017-12-12T09:00", "2017-12-13T09:00"),
                      ("2017-12-14T09:00", "2017-12-18T09:00")),
         due="2018-01-02", due_portal="2017-12-28", pending=(("2017-12-31", WITHIN, OVERDUE),)),
    # ---- H1, a district ------------------------------------------------------------------------
    # 16 hours = 2 wd: Tue 14/3 → 15, 16/3: due Thu 16/3; finished 16/3 15:00: on time; 2 wd.
    Case("H1-01", "H1", "TH", "2017-03-14T09:00", "2017-03-16T15:00", due="2017-03-16",
         final=(OT, OT), days=(2, 2)),
    # Fri 1/9, 1 wd: Sat 2/9 (holiday), Sun 3/9, Mon 4/9 (compensatory) → due Tue 5/9; finished
    # 5/9: on time; 1 wd.
    Case("H1-02", "H1", "T1", "2017-09-01T09:00", "2017-09-05T16:00", due="2017-09-05",
         final=(OT, OT), days=(1, 1)),
    # 4 calendar days: Tue 14/3 + 4 = Sat 18/3 → next working day Mon 20/3; finished 20/3: on
    # time; 4 wd (15, 16, 17, 20).
    Case("H1-03", "H1", "TC", "2017-03-14T09:00", "2017-03-20T08:00", due="2017-03-20",
         final=(OT, OT), days=(4, 4)),
    # 4 calendar days across Tết: Mon 23/1 + 4 = Fri 27/1 (Tết) → next working day Thu 2/2.
    # Pending at 31/1: within. Finished Fri 3/2: late; 4 wd (24, 25/1, 2, 3/2). Letter Wed 25/1
    # < 2/2: timely.
    Case("H1-04", "H1", "TC", "2017-01-23T09:00", "2017-02-03T10:00", letters=("2017-01-25T09:00",),
         due="2017-02-02", final=(LATE, LATE), pending=(("2017-01-31", WITHIN, WITHIN),),
         days=(4, 4), timely=(True, True)),
    # Hours after 15:00 before a holiday: Wed 5/4 15:30 → Thu 6/4 off → counts from Fri 7/4;
    # 2 wd → 10/4, 11/4: due Tue 11/4; finished 11/4: on time; 2 wd.
    Case("H1-05", "H1", "TH", "2017-04-05T15:30", "2017-04-11T10:00", due="2017-04-11",
         final=(OT, OT), days=(2, 2)),
    # Fri 30/6 at 15:00 sharp counts from Mon 3/7; 1 wd → due Tue 4/7. At 30/6 within. Finished Wed
    # 5/7: late, no letter; 2 wd (4/7, 5/7).
    Case("H1-06", "H1", "T1", "2017-06-30T15:00", "2017-07-05T10:00", due="2017-07-04",
         final=(LATE, LATE), pending=(("2017-06-30", WITHIN, WITHIN),), days=(2, 2)),
    # Supplement returned after 15:00. Mon 13/11, 3 wd → legal due Thu 16/11. Request Tue 14/11,
    # complete dossier Wed 15/11 16:00 → the law's clock restarts Thu 16/11: 17, 20, 21 → due Tue
    # 21/11. Portal: wait 14/11 → 15/11 = 1 wd → Fri 17/11. Finished Mon 20/11: law on time,
    # portal late. Days: law 16/11…20/11 = 2; portal 13/11…20/11 = 5 − 1 = 4.
    Case("H1-07", "H1", "T3", "2017-11-13T09:00", "2017-11-20T10:00",
         supplements=(("2017-11-14T09:00", "2017-11-15T16:00"),), due="2017-11-21",
         due_portal="2017-11-17", final=(OT, LATE), days=(2, 4)),
    # ---- X1, a commune that ends on 30/6/2017 (successor X2) -------------------------------------
    # Mon 13/2, 1 wd → due Tue 14/2; finished 14/2: on time; 1 wd.
    Case("X1-01", "X1", "T1", "2017-02-13T09:00", "2017-02-14T10:00", due="2017-02-14",
         final=(OT, OT), days=(1, 1)),
    # Same due 14/2; finished Wed 15/2: late; 2 wd. Letter 15/2 (after the due date): not timely.
    Case("X1-02", "X1", "T1", "2017-02-13T09:00", "2017-02-15T10:00", letters=("2017-02-15T08:00",),
         due="2017-02-14", final=(LATE, LATE), days=(2, 2)),
    # Thu 29/6, 3 wd: 30/6, 3/7, 4/7 → due Tue 4/7. At 30/6 within. Finished Mon 3/7 — after the
    # commune ended: it still counts for X1 in July and Q3 (a unit is reported while it has
    # dossiers). On time; 2 wd.
    Case("X1-03", "X1", "T3", "2017-06-29T09:00", "2017-07-03T10:00", due="2017-07-04",
         final=(OT, OT), pending=(("2017-06-30", WITHIN, WITHIN),), days=(2, 2)),
    # Fri 23/6, 1 wd → due Mon 26/6; finished 26/6: on time; 1 wd.
    Case("X1-04", "X1", "T1", "2017-06-23T09:00", "2017-06-26T10:00", due="2017-06-26",
         final=(OT, OT), days=(1, 1)),
    # ---- X2, the successor commune from 1/7/2017 -------------------------------------------------
    # Mon 3/7, 1 wd → due Tue 4/7; finished 4/7: on time; 1 wd.
    Case("X2-01", "X2", "T1", "2017-07-03T09:00", "2017-07-04T10:00", due="2017-07-04",
         final=(OT, OT), days=(1, 1)),
    # Thu 31/8, 3 wd: 1/9, (2–4/9 off), 5/9, 6/9 → due Wed 6/9. At 31/8 within. Finished Thu 7/9:
    # late; 4 wd (1, 5, 6, 7/9). Letter Fri 1/9 < 6/9: timely.
    Case("X2-02", "X2", "T3", "2017-08-31T09:00", "2017-09-07T10:00", letters=("2017-09-01T09:00",),
         due="2017-09-06", final=(LATE, LATE), pending=(("2017-08-31", WITHIN, WITHIN),),
         days=(4, 4), timely=(True, True)),
]
LAST_DATA_DAY = dt.date(2017, 12, 27)  # latest receipt or finish in the data: the horizon


def _t(local: str) -> str:
    return f"{local}:00+07:00"


def to_record(c: Case) -> dict:
    """The dossier as the vendor's API serves it (QuaTrinhXuLy as the simulator writes it)."""
    received = dt.datetime.fromisoformat(c.received)
    steps: list[tuple[str, int | None, str]] = [
        (c.received, 1, "Tiếp nhận hồ sơ"),
        ((received + dt.timedelta(minutes=5)).isoformat(timespec="minutes"), 2, "Chuyển xử lý"),
    ]
    for requested, supplied in c.supplements:
        steps.append((requested, 3, "Yêu cầu bổ sung, hoàn thiện hồ sơ"))
        if supplied:
            steps.append((supplied, 2, "Nhận hồ sơ bổ sung"))
    steps += [(made, None, "Lập phiếu xin lỗi và hẹn lại ngày trả kết quả") for made in c.letters]
    if c.end:
        notes = {PROCESSED: "Hoàn thành xử lý", REFUSED: "Từ chối giải quyết",
                 WITHDRAWN: "Người nộp rút hồ sơ"}
        steps.append((c.end, c.status, notes[c.status]))
    steps.sort(key=lambda s: s[0])
    events, status = [], 1
    for at, st, note in steps:
        status = status if st is None else st  # a letter leaves the status as it was
        events.append({"ThoiDiem": _t(at), "TrangThai": status, "GhiChu": note})
    rec = {"MaHoSo": c.code, "MaDonVi": c.unit, "MaTTHC": c.proc, "NgayTiepNhan": _t(c.received),
           "TrangThaiHoSo": events[-1]["TrangThai"], "QuaTrinhXuLy": events,
           "PhieuXinLoi": [{"NgayLap": _t(m), "NgayHenMoi": _t(c.end or m)} for m in c.letters],
           "SoLanHenLai": len(c.letters), "ChuHoSo": f"Nguyễn Văn {c.code}",
           "SoGiayTo": "052090001234", "SoDienThoai": "0905123456", "DiaChi": "Quy Nhơn"}
    if c.end:
        rec["NgayKetThucXuLy"] = _t(c.end)
    return rec


# ---- the §4 formulas over the hand-worked facts -------------------------------------------------

GRAINS = {"month": 1, "quarter": 3, "year": 12}


def period_of(day: dt.date, grain: str) -> dt.date:
    months = GRAINS[grain]
    return dt.date(day.year, (day.month - 1) // months * months + 1, 1)


def period_end(start: dt.date, grain: str) -> dt.date:
    m = start.month - 1 + GRAINS[grain]
    return dt.date(start.year + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def periods_between(first: dt.date, last: dt.date, grain: str) -> list[dt.date]:
    out, p = [], period_of(first, grain)
    while p <= last:
        out.append(p)
        p = period_end(p, grain) + dt.timedelta(days=1)
    return out


def rate(num: int, den: int) -> Decimal | None:
    return None if den == 0 else (D(num) / D(den)).quantize(D("0.0001"), ROUND_HALF_UP)


def percentile(values: list[int], q: float) -> Decimal | None:
    """PostgreSQL percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    xs = sorted(values)
    pos = D(str(q)) * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return (xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)).quantize(D("0.01"), ROUND_HALF_UP)


def mean(values: list[int]) -> Decimal | None:
    return (D(sum(values)) / len(values)).quantize(D("0.01"), ROUND_HALF_UP) if values else None


def kpis(rows: list[dict]) -> dict:
    """Every KPI column of the facts from (dossier, period) rows."""
    out = {}
    fin = [r for r in rows if r["finished_in"]]
    pend = [r for r in rows if r["law"] in (WITHIN, OVERDUE)]
    rec = [r for r in rows if r["received_in"]]
    for sfx, cls, timely, days in (("", "law", "timely_law", "days_law"),
                                   ("_portal", "portal", "timely_portal", "days_portal")):
        on_time = sum(r[cls] == OT for r in fin)
        late = sum(r[cls] == LATE for r in fin)
        within = sum(r[cls] == WITHIN for r in pend)
        overdue = sum(r[cls] == OVERDUE for r in pend)
        late_timely = sum(r[cls] == LATE and r[timely] for r in fin)
        worked = [r[days] for r in fin if r[days] is not None]
        out |= {
            f"os1a_numerator{sfx}": on_time, f"os1a_denominator{sfx}": len(fin),
            f"os1a_on_time_rate{sfx}": rate(on_time, len(fin)),
            f"os1b_numerator{sfx}": on_time + within,
            f"os1b_denominator{sfx}": len(fin) + len(pend),
            f"os1b_on_time_rate{sfx}": rate(on_time + within, len(fin) + len(pend)),
            f"os2_numerator{sfx}": late, f"os2_denominator{sfx}": len(fin),
            f"os2_late_rate{sfx}": rate(late, len(fin)),
            f"os3_numerator{sfx}": overdue, f"os3_denominator{sfx}": len(pend),
            f"os3_overdue_rate{sfx}": rate(overdue, len(pend)),
            f"os4_numerator{sfx}": late_timely, f"os4_denominator{sfx}": late,
            f"os4_apology_compliance_rate{sfx}": rate(late_timely, late),
            f"os7_numerator{sfx}": sum(worked), f"os7_denominator{sfx}": len(worked),
            f"os7_mean_working_days{sfx}": mean(worked),
            f"os7_median_working_days{sfx}": percentile(worked, 0.5),
            f"os7_p90_working_days{sfx}": percentile(worked, 0.9),
        }
    some = sum(r["requests"] >= 1 for r in rec)
    many = sum(r["requests"] > 1 for r in rec)
    refused = sum(r["refused"] for r in rec)
    out |= {
        "received_count": len(rec), "finished_count": len(fin), "pending_at_end_count": len(pend),
        "os5a_numerator": some, "os5a_denominator": len(rec),
        "os5a_supplement_rate": rate(some, len(rec)),
        "os5b_numerator": many, "os5b_denominator": len(rec),
        "os5b_repeat_supplement_rate": rate(many, len(rec)),
        "os6_numerator": refused, "os6_denominator": len(rec),
        "os6_refusal_rate": rate(refused, len(rec)),
    }
    return out


KPI_COLUMNS = tuple(kpis([]))


def dossier_periods(grain: str) -> list[dict]:
    """(dossier, period) rows: the hand-worked class at the period end."""
    out = []
    for c in CASES:
        received = dt.date.fromisoformat(c.received[:10])
        end = dt.date.fromisoformat(c.end[:10]) if c.end else None
        pending = {dt.date.fromisoformat(e): (law, portal) for e, law, portal in c.pending}
        for start in periods_between(received, end or LAST_DATA_DAY, grain):
            last = period_end(start, grain)
            if end and end <= last:
                law, portal = c.final
            else:
                law, portal = pending[last]  # KeyError = a period end not worked out by hand
            out.append({
                "unit": c.unit, "proc": c.proc, "grain": grain, "start": start,
                "received_in": period_of(received, grain) == start,
                "finished_in": end is not None and period_of(end, grain) == start,
                "law": law, "portal": portal, "requests": len(c.supplements),
                "refused": c.status == REFUSED and end is not None,
                "timely_law": c.timely[0], "timely_portal": c.timely[1],
                "days_law": c.days[0] if c.days else None,
                "days_portal": c.days[1] if c.days else None,
            })
    return out


def expected_kpis(grain: str, key: str) -> dict:
    """KPIs per (unit | procedure | None = province, period start) for the periods in the data."""
    rows = dossier_periods(grain)
    # periods from the first to the last one with a receipt
    received = [r["start"] for r in rows if r["received_in"]]
    periods = sorted({r["start"] for r in rows if min(received) <= r["start"] <= max(received)})
    rows = [r for r in rows if r["start"] in periods]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r[key] if key else None, r["start"])].append(r)
    keys = set(groups)
    if key == "unit":  # every ranked unit that existed in the period gets a row
        for u in UNITS:
            if u["CapDonVi"] == 1:
                continue
            valid_from = dt.date.fromisoformat(u.get("HieuLucTu", "2015-01-01"))
            valid_to = dt.date.fromisoformat(u.get("HieuLucDen", "9999-12-31"))
            keys |= {(u["MaDonVi"], p) for p in periods
                     if valid_from <= period_end(p, grain) and valid_to >= p}
    if key is None:
        keys |= {(None, p) for p in periods}
    return {k: kpis(groups.get(k, [])) for k in keys}


# ---- the build --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    warehouse = fresh_warehouse_module
    world = OneStopWorld(UNITS, PROCEDURES, [to_record(c) for c in CASES])
    with OneStopServer(world) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=7)
        extract_onestop(warehouse, settings, mode="full")
    # Only the one-stop KPI lineage (and tests whose parents are all in it).
    facts = ("unit_month", "unit_quarter", "unit_year", "procedure_year", "province_month",
             "province_quarter", "province_year")
    dbt("build", "--indirect-selection", "buildable", "--select",
        *(f"+fct_dossier_resolution_{f}" for f in facts))
    return warehouse


def fetch(wh, model: str, keys: tuple[str, ...]) -> dict:
    cols = ", ".join(KPI_COLUMNS)
    rows = query(wh, f"select {', '.join(keys)}, {cols} from marts.{model}")
    n = len(keys)
    return {tuple(r[:n]): dict(zip(KPI_COLUMNS, r[n:], strict=True)) for r in rows}


def test_due_dates_and_final_classes_per_dossier(built):
    rows = query(built, "select dossier_code, due_date, due_date_portal, supplement_request_count,"
                 " is_late, is_late_portal, processing_working_days,"
                 " processing_working_days_portal, has_timely_apology_letter,"
                 " has_timely_apology_letter_portal"
                 " from intermediate.int_dossiers_with_deadlines_and_outcomes")
    got = {r[0]: r[1:] for r in rows}
    assert set(got) == {c.code for c in CASES}
    for c in CASES:
        due = dt.date.fromisoformat(c.due)
        due_portal = dt.date.fromisoformat(c.due_portal or c.due)
        late = None if c.final is None else (c.final[0] == LATE, c.final[1] == LATE)
        days = c.days or (None, None)
        if c.status == WITHDRAWN:  # the portal's working days are computed; OS-7 leaves them out
            days = (None, got[c.code][6])
        want = (due, due_portal, len(c.supplements), *(late or (None, None)), *days,
                *(c.timely if c.letters else (False, False)))
        assert got[c.code] == want, c.code


@pytest.mark.parametrize(("model", "grain", "key", "columns"), [
    ("fct_dossier_resolution_unit_month", "month", "unit", ("unit_code", "period_start")),
    ("fct_dossier_resolution_unit_quarter", "quarter", "unit", ("unit_code", "period_start")),
    ("fct_dossier_resolution_unit_year", "year", "unit", ("unit_code", "period_start")),
    ("fct_dossier_resolution_procedure_year", "year", "proc", ("procedure_code", "period_start")),
    ("fct_dossier_resolution_province_month", "month", None, ("period_start",)),
    ("fct_dossier_resolution_province_quarter", "quarter", None, ("period_start",)),
    ("fct_dossier_resolution_province_year", "year", None, ("period_start",)),
])
def test_every_kpi_at_every_grain(built, model, grain, key, columns):
    got = fetch(built, model, columns)
    if key is None:
        got = {(None, *k): v for k, v in got.items()}
    want = expected_kpis(grain, key)
    assert set(got) == set(want)
    for k in sorted(want, key=str):
        assert got[k] == want[k], (model, k)


# Literal rows worked out by hand (a check on the counting helper above).
D1_2017 = {
    "received_count": 18, "finished_count": 15, "pending_at_end_count": 4,
    # law: on time 01 03 04 06 07 08 09 10 11 13 16; late 02 05 12 17; within 15 19; overdue 14 18
    "os1a_numerator": 11, "os1a_denominator": 15, "os1a_on_time_rate": D("0.7333"),
    "os1b_numerator": 13, "os1b_denominator": 19, "os1b_on_time_rate": D("0.6842"),
    "os2_numerator": 4, "os2_denominator": 15, "os2_late_rate": D("0.2667"),
    "os3_numerator": 2, "os3_denominator": 4, "os3_overdue_rate": D("0.5000"),
    # late with a letter before the due date: 02 and 17 (05's letter is on the due day)
    "os4_numerator": 2, "os4_denominator": 4, "os4_apology_compliance_rate": D("0.5000"),
    # portal: 08 09 10 become late; 19 overdue (two requests)
    "os1a_numerator_portal": 8, "os1a_on_time_rate_portal": D("0.5333"),
    "os1b_numerator_portal": 9, "os1b_on_time_rate_portal": D("0.4737"),
    "os2_numerator_portal": 7, "os2_late_rate_portal": D("0.4667"),
    "os3_numerator_portal": 3, "os3_overdue_rate_portal": D("0.7500"),
    "os4_numerator_portal": 4, "os4_denominator_portal": 7,
    "os4_apology_compliance_rate_portal": D("0.5714"),
    # supplements: 08 09 10 11 18 19 (≥ 1), 09 19 (> 1); refused 12 13
    "os5a_numerator": 6, "os5a_supplement_rate": D("0.3333"),
    "os5b_numerator": 2, "os5b_repeat_supplement_rate": D("0.1111"),
    "os6_numerator": 2, "os6_refusal_rate": D("0.1111"),
    # law days 1 1 1 2 3 3 3 4 4 4 4 4 8 9: sum 51 / 14; median (3+4)/2; p90 at rank 11.7:
    # 4 + 0.7 × 4
    "os7_numerator": 51, "os7_denominator": 14, "os7_mean_working_days": D("3.64"),
    "os7_median_working_days": D("3.50"), "os7_p90_working_days": D("6.80"),
    # portal days 1 1 1 2 3 3 3 4 4 4 4 6 10 11: sum 57; p90 6 + 0.7 × 4
    "os7_numerator_portal": 57, "os7_denominator_portal": 14,
    "os7_mean_working_days_portal": D("4.07"), "os7_median_working_days_portal": D("3.50"),
    "os7_p90_working_days_portal": D("8.80"),
}


def test_literal_department_year(built):
    got = fetch(built, "fct_dossier_resolution_unit_year", ("unit_code", "period_year"))
    row = got[("D1", 2017)]
    assert {k: row[k] for k in D1_2017} == D1_2017
    # more literal rows: D2 never had a dossier → zeros and NULL rates
    assert got[("D2", 2017)]["os1a_on_time_rate"] is None
    assert got[("D2", 2017)]["os7_mean_working_days"] is None
    assert got[("D2", 2017)]["os1b_denominator"] == 0
    # X2 starts on 1/7/2017: no 2016 row; X1 ends on 30/6/2017: a 2017 row
    assert ("X2", 2016) not in got
    assert ("X1", 2017) in got


def test_literal_months(built):
    got = fetch(built, "fct_dossier_resolution_unit_month",
                ("unit_code", "period_year", "period_month"))
    # D1 March 2017: received 04 08 16; finished 04 (on time) and 08 (law on time, portal late);
    # 16 pending within deadline at 31/3.
    march = got[("D1", 2017, 3)]
    counts = ("received_count", "finished_count", "pending_at_end_count")
    assert tuple(march[c] for c in counts) == (3, 2, 1)
    assert march["os1a_on_time_rate"] == D("1.0000")
    assert march["os1a_on_time_rate_portal"] == D("0.5000")
    assert (march["os1b_numerator"], march["os1b_numerator_portal"]) == (3, 2)
    assert march["os1b_denominator"] == 3
    assert march["os3_overdue_rate"] == D("0.0000")
    # portal OS-4: 08 late with a letter 24/3 < 27/3
    assert (march["os4_numerator_portal"], march["os4_denominator_portal"]) == (1, 1)
    assert march["os4_apology_compliance_rate"] is None  # nothing late under the law
    # D1 December 2017: received 14 15 19; nothing finished; pending 14 15 18 19.
    dec = got[("D1", 2017, 12)]
    assert tuple(dec[c] for c in counts) == (3, 0, 4)
    assert dec["os1a_on_time_rate"] is None
    assert dec["os2_late_rate"] is None
    assert dec["os7_mean_working_days"] is None
    assert (dec["os3_numerator"], dec["os3_numerator_portal"]) == (2, 3)
    assert (dec["os1b_on_time_rate"], dec["os1b_on_time_rate_portal"]) == (D("0.5000"), D("0.2500"))
    # D1 October: 10 waits for the citizen at 31/10 → within, though its legal due date (30/10)
    # has passed
    assert got[("D1", 2017, 10)]["os1b_on_time_rate"] == D("1.0000")
    assert got[("D1", 2017, 10)]["os1b_on_time_rate_portal"] == D("1.0000")
    # X1 has a July row (its carried-over dossier 03) but no August row; X2 has no June row
    assert got[("X1", 2017, 7)]["finished_count"] == 1
    assert ("X1", 2017, 8) not in got
    assert ("X2", 2017, 6) not in got


def test_province_equals_sum_of_units(built):
    for grain, keys in (("month", "period_year, period_month"),
                        ("quarter", "period_year, period_quarter"), ("year", "period_year")):
        sums = ", ".join(f"sum({c})" for c in KPI_COLUMNS
                         if c.endswith(("_count", "_numerator", "_denominator"))
                         or "_numerator_" in c or "_denominator_" in c)
        cols = ", ".join(c for c in KPI_COLUMNS
                         if c.endswith(("_count", "_numerator", "_denominator"))
                         or "_numerator_" in c or "_denominator_" in c)
        units = query(built, f"select {keys}, {sums} from marts.fct_dossier_resolution_unit_{grain}"
                      f" group by {keys} order by {keys}")
        province = query(built, f"select {keys}, {cols} from "
                         f"marts.fct_dossier_resolution_province_{grain} order by {keys}")
        assert units == province, grain
    # the province's 2017 on-time rate, by hand: finished 15 (D1) + 7 (H1) + 4 (X1) + 2 (X2) = 28;
    # law on time 11 + 5 + 3 + 1 = 20 → 0.7143
    year = fetch(built, "fct_dossier_resolution_province_year", ("period_year",))
    assert (year[(2017,)]["os1a_numerator"], year[(2017,)]["os1a_denominator"]) == (20, 28)
    assert year[(2017,)]["os1a_on_time_rate"] == D("0.7143")
