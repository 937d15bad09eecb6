"""Hand-built units and procedures → real one-stop simulator over HTTP → extract/load → dbt
snapshot and build → exact dimensions (issue 5): unit history (SCD2), the successor crosswalk,
dim_procedure and dim_date.

The simulator serves every unit as of its clock (its latest version with NgayCapNhat at or
before it). The first extraction runs on 2019-06-30, the second on 2026-01-15; between them the
world changes: a department is renamed, a commune merges into another twice (2020, 2025) and two
districts are succeeded by a new unit on 2025-07-01 (DOMAIN §1, the 2025 reorganisation).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, OneStopWorld
from tests.helpers import dbt, query

VN = dt.timezone(dt.timedelta(hours=7))
FIRST_EXTRACTION = dt.datetime(2019, 6, 30, 18, 0, tzinfo=VN)
SECOND_EXTRACTION = dt.datetime(2026, 1, 15, 18, 0, tzinfo=VN)
RENAMED_AT = dt.datetime(2020, 5, 1, 8, 0, tzinfo=VN)
REORGANISED_AT = dt.datetime(2025, 7, 1, 8, 0, tzinfo=VN)
CURRENT_VERSION_ENDS = dt.datetime(9999, 12, 31, 0, 0, tzinfo=VN)

OLD_NAME, NEW_NAME = "Sở Văn hóa và Thể thao", "Sở Văn hóa, Thể thao và Du lịch"
# Every version of every unit; a record without NgayCapNhat is served from 2015-01-01 08:00.
UNITS = [
    {"MaDonVi": "P", "TenDonVi": "UBND tỉnh", "CapDonVi": 1},
    {"MaDonVi": "D1", "TenDonVi": OLD_NAME, "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "D1", "TenDonVi": NEW_NAME, "CapDonVi": 2, "MaDonViCha": "P",
     "NgayCapNhat": RENAMED_AT},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P"},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P",
     "HieuLucDen": "2025-06-30", "MaDonViKeThua": "N", "NgayCapNhat": REORGANISED_AT},
    {"MaDonVi": "H2", "TenDonVi": "UBND huyện Hai", "CapDonVi": 3, "MaDonViCha": "P"},
    {"MaDonVi": "H2", "TenDonVi": "UBND huyện Hai", "CapDonVi": 3, "MaDonViCha": "P",
     "HieuLucDen": "2025-06-30", "MaDonViKeThua": "N", "NgayCapNhat": REORGANISED_AT},
    {"MaDonVi": "N", "TenDonVi": "UBND Một Hai", "CapDonVi": 3, "MaDonViCha": "P",
     "HieuLucTu": "2025-07-01", "NgayCapNhat": REORGANISED_AT},
    # a commune chain C1 → C2 (2020) → C3 (2025)
    {"MaDonVi": "C1", "TenDonVi": "UBND xã Một", "CapDonVi": 4, "MaDonViCha": "H1"},
    {"MaDonVi": "C1", "TenDonVi": "UBND xã Một", "CapDonVi": 4, "MaDonViCha": "H1",
     "HieuLucDen": "2019-12-31", "MaDonViKeThua": "C2", "NgayCapNhat": "2020-01-01T08:00:00"},
    {"MaDonVi": "C2", "TenDonVi": "UBND xã Hai", "CapDonVi": 4, "MaDonViCha": "H1"},
    {"MaDonVi": "C2", "TenDonVi": "UBND xã Hai", "CapDonVi": 4, "MaDonViCha": "H1",
     "HieuLucDen": "2025-06-30", "MaDonViKeThua": "C3", "NgayCapNhat": REORGANISED_AT},
    {"MaDonVi": "C3", "TenDonVi": "UBND xã Ba", "CapDonVi": 4, "MaDonViCha": "P",
     "HieuLucTu": "2025-07-01", "NgayCapNhat": REORGANISED_AT},
]
PROCEDURES = [
    {"MaTTHC": "1.000001", "TenTTHC": "Cấp phiếu lý lịch tư pháp", "LinhVuc": "Lý lịch tư pháp",
     "CapThucHien": "tinh", "ThoiHanGiaiQuyet": 10, "CoPhiLePhi": True,
     "DoiTuong": "cong_dan"},
    {"MaTTHC": "1.000002", "TenTTHC": "Chứng thực bản sao", "CapThucHien": "xa",
     "ThoiHanGiaiQuyet": 16, "DonViThoiHan": "gio", "DoiTuong": "ca_hai"},
    {"MaTTHC": "1.000003", "TenTTHC": "Cấp giấy phép", "CapThucHien": "huyen",
     "ThoiHanGiaiQuyet": 15, "DonViThoiHan": "ngay", "DoiTuong": "to_chuc"},
]
DIMENSIONS = ("+snap_onestop__units", "+dim_unit", "+dim_unit_crosswalk", "+dim_procedure",
              "+dim_date")


def build_dimensions() -> None:
    # only this nodes (and what they need): tests whose every parent is selected
    dbt("build", "--select", *DIMENSIONS, "--indirect-selection", "cautious")


def crosswalk(wh) -> dict[str, tuple]:
    rows = query(wh, "select unit_code, current_unit_code, successor_steps, is_unit_active,"
                 " is_current_unit_active, has_successor_cycle from marts.dim_unit_crosswalk")
    return {r[0]: tuple(r[1:]) for r in rows}


def unit_versions(wh) -> list[tuple]:
    return query(wh, "select unit_code, version_number, unit_name, effective_to,"
                 " successor_unit_code, valid_from, valid_to, is_current from marts.dim_unit"
                 " order by unit_code, version_number")


@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    wh = fresh_warehouse_module
    world = OneStopWorld(UNITS, PROCEDURES)
    with OneStopServer(world, as_of=FIRST_EXTRACTION) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=4)
        extract_onestop(wh, settings)
        build_dimensions()
        first = {"versions": unit_versions(wh), "crosswalk": crosswalk(wh)}
        srv.set_as_of(SECOND_EXTRACTION)
        extract_onestop(wh, settings)  # incremental: only the units changed since the first
        build_dimensions()
    second = unit_versions(wh)
    build_dimensions()  # nothing new extracted: the snapshot must not add a version
    return wh, first, second


def test_first_snapshot_has_one_version_per_unit_served_then(built):
    _, first, _ = built
    assert [(code, n, name) for code, n, name, *_ in first["versions"]] == [
        ("C1", 1, "UBND xã Một"), ("C2", 1, "UBND xã Hai"), ("D1", 1, OLD_NAME),
        ("H1", 1, "UBND huyện Một"), ("H2", 1, "UBND huyện Hai"), ("P", 1, "UBND tỉnh")]
    assert all(is_current for *_, is_current in first["versions"])
    # nothing has a successor yet in mid-2019: every unit maps to itself
    assert {code: row[:2] for code, row in first["crosswalk"].items()} == {
        code: (code, 0) for code in ("C1", "C2", "D1", "H1", "H2", "P")}


def test_renamed_unit_has_two_versions_with_the_right_validity(built):
    wh, *_ = built
    rows = query(wh, "select version_number, unit_name, unit_level_label_en,"
                 " unit_level_label_vi, effective_from, valid_from, valid_to, is_current"
                 " from marts.dim_unit where unit_code = 'D1' order by version_number")
    start = dt.datetime(2015, 1, 1, tzinfo=VN)  # the first version stands from HieuLucTu on
    assert rows == [
        (1, OLD_NAME, "department", "sở-ban-ngành", dt.date(2015, 1, 1), start, RENAMED_AT,
         False),
        (2, NEW_NAME, "department", "sở-ban-ngành", dt.date(2015, 1, 1), RENAMED_AT,
         CURRENT_VERSION_ENDS, True),
    ]
    # an as-of join finds the name the unit had on a day
    names = query(wh, "select d, u.unit_name from (values (date '2017-03-14'),"
                  " (date '2024-03-14')) as days (d) join marts.dim_unit as u on u.unit_code = 'D1'"
                  " and d::timestamp at time zone 'Asia/Ho_Chi_Minh' >= u.valid_from"
                  " and d::timestamp at time zone 'Asia/Ho_Chi_Minh' < u.valid_to order by d")
    assert names == [(dt.date(2017, 3, 14), OLD_NAME), (dt.date(2024, 3, 14), NEW_NAME)]


def test_reorganised_units_get_a_second_version_with_end_and_successor(built):
    _, _, second = built
    got = {(code, n): (end, successor, valid_from, valid_to, current)
           for code, n, _, end, successor, valid_from, valid_to, current in second}
    end = dt.date(2025, 6, 30)
    for district in ("H1", "H2"):
        assert got[(district, 1)] == (None, None, dt.datetime(2015, 1, 1, tzinfo=VN),
                                      REORGANISED_AT, False)
        assert got[(district, 2)] == (end, "N", REORGANISED_AT, CURRENT_VERSION_ENDS, True)
    # a unit first seen in the second snapshot starts at its own first day
    assert got[("N", 1)] == (None, None, dt.datetime(2025, 7, 1, tzinfo=VN),
                             CURRENT_VERSION_ENDS, True)
    assert sorted(got) == [("C1", 1), ("C1", 2), ("C2", 1), ("C2", 2), ("C3", 1), ("D1", 1),
                           ("D1", 2), ("H1", 1), ("H1", 2), ("H2", 1), ("H2", 2), ("N", 1),
                           ("P", 1)]


def test_rebuilding_without_new_data_adds_no_version(built):
    wh, _, second = built
    assert unit_versions(wh) == second


def test_crosswalk_maps_merged_districts_and_chains_to_todays_unit(built):
    wh, *_ = built
    # code: (today's unit, chain length, unit exists, today's unit exists, cycle)
    assert crosswalk(wh) == {
        "H1": ("N", 1, False, True, False),
        "H2": ("N", 1, False, True, False),
        "N": ("N", 0, True, True, False),
        "C1": ("C3", 2, False, True, False),
        "C2": ("C3", 1, False, True, False),
        "C3": ("C3", 0, True, True, False),
        "D1": ("D1", 0, True, True, False),
        "P": ("P", 0, True, True, False),
    }
    assert query(wh, "select current_unit_name from marts.dim_unit_crosswalk"
                 " where unit_code = 'H1'") == [("UBND Một Hai",)]


def test_dim_date_spans_2016_to_2030_with_labels(built):
    wh, *_ = built
    assert query(wh, "select count(*), min(calendar_date), max(calendar_date)"
                 " from marts.dim_date") == [(5479, dt.date(2016, 1, 1), dt.date(2030, 12, 31))]
    row = query(wh, "select is_working_day, year_number, quarter_number, month_number, iso_week,"
                " month_start, quarter_start, year_start, month_key, quarter_key, year_key,"
                " month_label_vi, quarter_label_vi, year_label_vi, day_name_vi,"
                " month_label_en, quarter_label_en, day_name_en"
                " from marts.dim_date where calendar_date = '2017-03-14'")
    assert row == [(True, 2017, 1, 3, 11, dt.date(2017, 3, 1), dt.date(2017, 1, 1),
                    dt.date(2017, 1, 1), "2017-03", "2017-Q1", "2017", "Tháng 3/2017",
                    "Quý 1/2017", "Năm 2017", "Thứ Ba", "March 2017", "Q1 2017", "Tuesday")]
    # 1 May and the compensatory 2 May 2017 are days off: the status is dim_calendar's
    assert query(wh, "select calendar_date, is_working_day from marts.dim_date"
                 " where calendar_date between '2017-04-30' and '2017-05-03'"
                 " order by 1") == [(dt.date(2017, 4, 30), False), (dt.date(2017, 5, 1), False),
                                    (dt.date(2017, 5, 2), False), (dt.date(2017, 5, 3), True)]
    assert query(wh, "select count(*) from marts.dim_date as d join marts.dim_calendar as c"
                 " using (calendar_date) where d.is_working_day <> c.is_working_day") == [(0,)]


def test_dim_procedure_translates_processing_time_units(built):
    wh, *_ = built
    rows = query(wh, "select procedure_code, implementing_level, processing_time_amount,"
                 " processing_time_unit_code, processing_time_unit, allowed_working_days,"
                 " allowed_calendar_days, has_fee, applicant_type from marts.dim_procedure"
                 " order by procedure_code")
    assert rows == [
        ("1.000001", "province", Decimal("10.00"), "ngay_lam_viec", "working days", 10, None,
         True, "citizens"),
        ("1.000002", "commune", Decimal("16.00"), "gio", "hours", 2, None, False,
         "citizens and organisations"),
        ("1.000003", "district", Decimal("15.00"), "ngay", "calendar days", None, 15, False,
         "organisations"),
    ]
