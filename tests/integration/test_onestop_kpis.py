"""Hand-built dossiers → real simulator over HTTP → extract/load → dbt build → exact KPIs.

Every expected value below is worked out by hand from DOMAIN.md §3 (see the comment on each
dossier), not read back from the code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, OneStopWorld
from tests.helpers import dbt, query

UNITS = [
    {"MaDonVi": "P", "TenDonVi": "UBND tỉnh", "CapDonVi": 1},
    {"MaDonVi": "D1", "TenDonVi": "Sở Một", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "D2", "TenDonVi": "Sở Hai (không có hồ sơ)", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P"},
]
PROCEDURES = [
    {"MaTTHC": "T3", "TenTTHC": "3 ngày làm việc", "ThoiHanGiaiQuyet": 3},
    {"MaTTHC": "T1", "TenTTHC": "1 ngày làm việc", "ThoiHanGiaiQuyet": 1},
    {"MaTTHC": "TC", "TenTTHC": "4 ngày (lịch)", "ThoiHanGiaiQuyet": 4, "DonViThoiHan": "ngay"},
    {"MaTTHC": "TH", "TenTTHC": "16 giờ", "ThoiHanGiaiQuyet": 16, "DonViThoiHan": "gio"},
]


def dossier(code, unit, proc, received, ended=None, status=None, due=None, **extra):
    rec = {"MaHoSo": code, "MaDonVi": unit, "MaTTHC": proc, "NgayTiepNhan": received,
           "TrangThaiHoSo": status or (5 if ended else 2),
           "ChuHoSo": f"Nguyễn Văn {code}", "SoGiayTo": "052090001234",
           "SoDienThoai": "0905123456", "DiaChi": "12 Trần Hưng Đạo, Quy Nhơn", **extra}
    if ended:
        rec["NgayKetThucXuLy"] = ended
    if due:
        rec["NgayHenTra"] = due
    return rec


DOSSIERS = [
    # A1 Fri 28/4 10:00 + 3 wd; 1/5 and 2/5/2017 are days off → due Fri 5/5; ends 5/5 16:00: on time
    dossier("A1", "D1", "T3", "2017-04-28T10:00:00", "2017-05-05T16:00:00"),
    # A2 same due, ends Mon 8/5: late
    dossier("A2", "D1", "T3", "2017-04-28T10:00:00", "2017-05-08T09:00:00"),
    # A3 received 15:30 → counts from Wed 3/5 → due Thu 4/5; ends 4/5: on time. The vendor's own
    # due (3/5, ignoring the 15:00 rule) is not what the warehouse uses.
    dossier("A3", "D1", "T1", "2017-04-28T15:30:00", "2017-05-04T10:00:00",
            due="2017-05-03T17:00:00"),
    # A4 Saturday 18/3 → counts from Mon 20/3 → due Tue 21/3; ends 21/3 17:30: on time
    dossier("A4", "D1", "T1", "2017-03-18T09:00:00", "2017-03-21T17:30:00"),
    # A5 Wed 27/12 + 3 wd: 28, 29/12, (1/1/2018 off), 2/1/2018 → pending within deadline at 31/12
    dossier("A5", "D1", "T3", "2017-12-27T09:00:00"),
    # A6 Wed 20/12 + 1 wd → due 21/12; still open at 31/12: overdue
    dossier("A6", "D1", "T1", "2017-12-20T09:00:00", status=3),
    # A7 Thu 29/12/2016 + 3 wd: 30/12, (2/1/2017 off), 3/1, 4/1 → due 4/1/2017; ends 4/1/2017.
    #   2016: pending within deadline; 2017: finished on time
    dossier("A7", "D1", "T3", "2016-12-29T09:00:00", "2017-01-04T11:00:00"),
    # A8 Thu 1/6 + 1 wd → due 2/6; refused on Mon 5/6: a refusal ends processing, late
    dossier("A8", "D1", "T1", "2017-06-01T09:00:00", "2017-06-05T09:00:00", status=7),
    # A9 Tue 14/3 + 4 calendar days = Sat 18/3 → next working day Mon 20/3; ends 20/3: on time
    dossier("A9", "D1", "TC", "2017-03-14T09:00:00", "2017-03-20T08:00:00"),
    # A10 Wed 1/11 + 3 wd → Mon 6/11; ends Tue 7/11: late
    dossier("A10", "D1", "T3", "2017-11-01T09:00:00", "2017-11-07T10:00:00", status=4),
    # B1 16 hours = 2 wd: Tue 14/3 → Thu 16/3; ends 16/3: on time
    dossier("B1", "H1", "TH", "2017-03-14T09:00:00", "2017-03-16T15:00:00"),
    # B2 Fri 1/9 + 1 wd: 2/9 (Sat), 4/9 (compensatory Monday) off → Tue 5/9; ends 5/9: on time
    dossier("B2", "H1", "T1", "2017-09-01T09:00:00", "2017-09-05T16:00:00"),
]

COLUMNS = ("received_count, finished_count, finished_on_time_count, finished_late_count,"
           " pending_at_end_count, pending_within_deadline_count, overdue_count,"
           " os1a_numerator, os1a_denominator, os1a_on_time_rate,"
           " os1b_numerator, os1b_denominator, os1b_on_time_rate,"
           " os2_numerator, os2_denominator, os2_late_rate")
D = Decimal
EXPECTED = {
    # received, finished, on time, late, pending, within, overdue, OS-1a n/d/r, OS-1b, OS-2
    ("D1", 2017): (9, 8, 5, 3, 2, 1, 1, 5, 8, D("0.6250"), 6, 10, D("0.6000"), 3, 8, D("0.3750")),
    ("D1", 2016): (1, 0, 0, 0, 1, 1, 0, 0, 0, None, 1, 1, D("1.0000"), 0, 0, None),
    ("H1", 2017): (2, 2, 2, 0, 0, 0, 0, 2, 2, D("1.0000"), 2, 2, D("1.0000"), 0, 2, D("0.0000")),
    ("H1", 2016): (0, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, 0, None, 0, 0, None),
    ("D2", 2017): (0, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, 0, None, 0, 0, None),
    ("D2", 2016): (0, 0, 0, 0, 0, 0, 0, 0, 0, None, 0, 0, None, 0, 0, None),
}


@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    warehouse = fresh_warehouse_module
    world = OneStopWorld(UNITS, PROCEDURES, DOSSIERS)
    with OneStopServer(world) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=5)
        first = extract_onestop(warehouse, settings, mode="full")
        dbt("build")
        snapshot = query(warehouse, f"select unit_code, period_year, {COLUMNS} from "
                         "marts.fct_dossier_resolution_unit_year order by 1, 2")
        second = extract_onestop(warehouse, settings, mode="full")
        dbt("build")
    return warehouse, first, second, snapshot


def test_exact_kpis_per_unit_and_year(built):
    wh, *_ = built
    rows = query(wh, f"select unit_code, period_year, {COLUMNS} from "
                 "marts.fct_dossier_resolution_unit_year")
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    assert got == EXPECTED


def test_deadline_classification_per_dossier(built):
    wh, *_ = built
    rows = query(wh, "select dossier_code, period_year, due_date, deadline_class from "
                 "intermediate.int_dossiers_classified_by_deadline")
    got = {(c, y): (d, k) for c, y, d, k in rows}
    assert got[("A1", 2017)] == (dt.date(2017, 5, 5), "on_time")
    assert got[("A3", 2017)] == (dt.date(2017, 5, 4), "on_time")
    assert got[("A5", 2017)] == (dt.date(2018, 1, 2), "pending_within_deadline")
    assert got[("A6", 2017)] == (dt.date(2017, 12, 21), "overdue")
    assert got[("A7", 2016)] == (dt.date(2017, 1, 4), "pending_within_deadline")
    assert got[("A7", 2017)][1] == "on_time"
    assert got[("B2", 2017)] == (dt.date(2017, 9, 5), "on_time")
    assert len(got) == len(DOSSIERS) + 1  # A7 spans two years


def test_batches_reconcile(built):
    wh, first, second, _ = built
    for result in (*first, *second):
        assert result.received == result.loaded + result.quarantined
        assert result.quarantined == 0
    assert [r.loaded for r in first] == [len(UNITS), len(PROCEDURES), len(DOSSIERS)]
    rows = query(wh, "select endpoint, received_count, loaded_count, quarantined_count, status "
                 "from audit.load_batch order by batch_id")
    assert rows[:3] == [("donvi", 4, 4, 0, "succeeded"), ("thutuc", 4, 4, 0, "succeeded"),
                        ("hoso", 12, 12, 0, "succeeded")]


def test_ingesting_the_same_window_twice_changes_nothing_downstream(built):
    wh, _, _, snapshot = built
    assert query(wh, "select count(*) from raw_onestop.hoso") == [(2 * len(DOSSIERS),)]
    assert query(wh, "select count(*), count(distinct dossier_code) from "
                 "staging.stg_onestop__dossiers") == [(len(DOSSIERS), len(DOSSIERS))]
    after = query(wh, f"select unit_code, period_year, {COLUMNS} from "
                  "marts.fct_dossier_resolution_unit_year order by 1, 2")
    assert after == snapshot
