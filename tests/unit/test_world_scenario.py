"""The one-stop world built from the binh_dinh scenario: unit history served as of a moment,
dossiers only at units that exist on their receipt day, ~2,000 procedures, and 2016–2026
trends (volume, online share, Tết)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter

import pytest

from govkpi.calendar import is_working_day
from govkpi.simulator.world import (
    VN_OFFSET,
    OneStopWorld,
    dossiers_per_year,
    generate_world,
    iter_dossiers,
    tet_break,
)

VN = VN_OFFSET
YEARS = range(2016, 2027)


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, 0, tzinfo=VN)


@pytest.fixture(scope="module")
def decade() -> OneStopWorld:
    return generate_world(seed=2017, dossiers=30_000, years=YEARS)


@pytest.fixture(scope="module")
def reform() -> OneStopWorld:
    return generate_world(seed=4, dossiers=6_000, years=(2024, 2025, 2026))


def valid_on(unit, day: dt.date) -> bool:
    return unit.valid_from <= day and (unit.valid_to is None or day <= unit.valid_to)


def test_units_as_of_serve_one_record_per_code_in_the_version_of_the_moment(decade):
    for moment in (at(2017, 6, 1), at(2019, 6, 1), at(2021, 1, 1), at(2024, 12, 31),
                   at(2025, 8, 1)):
        records = decade.units_as_of(moment)
        assert len({r["MaDonVi"] for r in records}) == len(records)
        assert all(r["NgayCapNhat"] <= moment.isoformat() for r in records)

    def hoai_nhon(moment):
        return next(r["TenDonVi"] for r in decade.units_as_of(moment)
                    if r["TenDonVi"].endswith("Hoài Nhơn"))

    assert hoai_nhon(at(2019, 6, 1)) == "UBND huyện Hoài Nhơn"
    assert hoai_nhon(at(2021, 1, 1)) == "UBND thị xã Hoài Nhơn"

    before = {r["MaDonVi"]: r for r in decade.units_as_of(at(2024, 12, 31))}
    after = {r["MaDonVi"]: r for r in decade.units_as_of(at(2025, 8, 1))}
    assert Counter(r["CapDonVi"] for r in before.values()) == {1: 1, 2: 21, 3: 11, 4: 159}
    # ended units are still served, with their end and successor; the new communes appear
    assert Counter(r["CapDonVi"] for r in after.values()) == {1: 1, 2: 21, 3: 11, 4: 159 + 56}
    commune = next(r for r in before.values() if r["CapDonVi"] == 4)
    assert commune["HieuLucDen"] is None
    assert commune["MaDonViKeThua"] is None
    ended = after[commune["MaDonVi"]]
    assert ended["HieuLucDen"] == "2025-06-30"
    successor = after[ended["MaDonViKeThua"]]
    assert successor["CapDonVi"] == 4
    assert successor["HieuLucTu"] == "2025-07-01"
    assert successor["MaDonVi"] not in before
    assert all(r["HieuLucDen"] == "2025-06-30" for r in after.values() if r["CapDonVi"] == 3)
    # the world's units: each code once, in its latest version
    assert len(decade.units) == len({u.code for u in decade.units}) == len(after)
    assert len(decade.unit_history) > len(decade.units)


def test_units_valid_on_a_day_follow_the_reorganisation(decade):
    def levels(day):
        return Counter(u.level for u in decade.units_valid_on(day))

    assert levels(dt.date(2017, 6, 30)) == {1: 1, 2: 21, 3: 11, 4: 159}
    assert levels(dt.date(2025, 3, 1)) == {1: 1, 2: 15, 3: 11, 4: 159}
    assert levels(dt.date(2025, 7, 1)) == {1: 1, 2: 15, 4: 56}


def test_no_dossier_at_a_unit_that_does_not_exist_on_its_receipt_day(reform):
    units = {u.code: u for u in reform.units}
    for d in reform.dossiers:
        assert valid_on(units[d.unit_code], d.received_at.date()), d.code
    assert {d.received_at.year for d in reform.dossiers} == {2024, 2025, 2026}


def test_district_level_dossiers_go_to_the_new_communes_from_july_2025(reform):
    units = {u.code: u for u in reform.units}
    procedures = {p.code: p for p in reform.procedures}
    reform_day = dt.date(2025, 7, 1)
    district_level = [d for d in reform.dossiers if procedures[d.procedure_code].level == "huyen"]
    before = [d for d in district_level if d.received_at.date() < reform_day]
    after = [d for d in district_level if d.received_at.date() >= reform_day]
    assert before
    assert after
    assert {units[d.unit_code].level for d in before} == {3}
    assert {units[d.unit_code].level for d in after} == {4}
    assert all(units[d.unit_code].valid_from == reform_day for d in after)
    # provincial procedures of a merged department go to its successor
    merged = {u.code for u in reform.units if u.level == 2 and u.valid_to is not None}
    assert len(merged) == 6
    assert not [d for d in reform.dossiers
                if d.unit_code in merged and d.received_at.date() >= dt.date(2025, 3, 1)]
    # communes receive most dossiers in the two-level government
    levels_2026 = Counter(units[d.unit_code].level for d in reform.dossiers
                          if d.received_at.year == 2026)
    assert levels_2026[4] > levels_2026[2]


def test_about_two_thousand_procedures_with_unique_national_codes(decade):
    procs = decade.procedures_as_of(at(2016, 1, 1))
    assert len(procs) == 2000
    assert len({p["MaTTHC"] for p in procs}) == len(procs)
    assert len({p["TenTTHC"] for p in procs}) == len(procs)
    assert all(re.match(r"^[12]\.00\d{4}$", p["MaTTHC"]) for p in procs)
    levels = Counter(p["CapThucHien"] for p in procs)
    assert levels == {"tinh": 1500, "huyen": 300, "xa": 200}
    units = Counter(p["DonViThoiHan"] for p in procs)
    assert units["ngay_lam_viec"] > 0.8 * len(procs)
    assert units["gio"] > 50
    assert units["ngay"] > 50
    assert all(1 <= p["ThoiHanGiaiQuyet"] <= 30 for p in procs
               if p["DonViThoiHan"] == "ngay_lam_viec")
    assert 0.4 < sum(not p["CoPhiLePhi"] for p in procs) / len(procs) < 0.7
    assert {p["DoiTuong"] for p in procs} == {"cong_dan", "to_chuc", "ca_hai"}
    # heavy-tailed popularity: a few hundred procedures carry most dossiers
    used = Counter(d.procedure_code for d in decade.dossiers)
    top = sum(n for _, n in used.most_common(300))
    assert top / len(decade.dossiers) > 0.8
    assert len(used) > 1000


def test_volume_and_online_share_rise_year_over_year(decade):
    per_year = Counter(d.received_at.year for d in decade.dossiers)
    assert per_year == dossiers_per_year(30_000, YEARS)
    online = Counter(d.received_at.year for d in decade.dossiers if d.channel == 2)
    shares = [online[y] / per_year[y] for y in YEARS]
    assert all(a < b for a, b in itertools.pairwise(shares)), shares
    assert shares[0] < 0.08
    assert shares[-1] > 0.7
    counts = [per_year[y] for y in YEARS]
    assert all(1.05 < b / a < 1.11 for a, b in itertools.pairwise(counts))


def test_tet_dip_and_the_rush_before(decade):
    for year in (2017, 2020, 2024, 2026):
        first, last = tet_break(year)
        assert first.month in (1, 2)
        assert (last - first).days >= 4
        per_day = Counter(d.received_at.date() for d in decade.dossiers
                          if d.received_at.year == year)
        working = [day for day in (dt.date(year, 1, 1) + dt.timedelta(days=i)
                                   for i in range(365)) if is_working_day(day)]
        average = sum(per_day[d] for d in working) / len(working)
        week_after = [d for d in working if last < d <= last + dt.timedelta(days=7)]
        weeks_before = [d for d in working if first - dt.timedelta(days=14) <= d < first]
        dip = sum(per_day[d] for d in week_after) / len(week_after)
        rush = sum(per_day[d] for d in weeks_before) / len(weeks_before)
        assert dip < 0.7 * average, (year, dip, average)
        assert rush > 1.1 * average, (year, rush, average)
        # nobody at the desk during the break itself: only online dossiers
        inside = [d for d in decade.dossiers if first <= d.received_at.date() <= last]
        assert all(d.channel == 2 for d in inside)


def test_weekday_pattern(decade):
    weekdays = Counter(d.received_at.weekday() for d in decade.dossiers
                       if d.channel == 1 and is_working_day(d.received_at.date()))
    assert weekdays[0] > weekdays[4]  # Monday busier than Friday


def test_deterministic_and_each_year_from_its_own_stream():
    a = generate_world(seed=9, dossiers=1200, years=(2024, 2025))
    assert a == generate_world(seed=9, dossiers=1200, years=(2024, 2025))
    assert a != generate_world(seed=10, dossiers=1200, years=(2024, 2025))
    counts = dossiers_per_year(1200, (2024, 2025))
    assert sum(counts.values()) == 1200
    # a year does not depend on the others: 2025 alone equals 2025 inside the pair
    alone = list(iter_dossiers(9, {2025: counts[2025]}))
    assert alone == [d for d in a.dossiers if d.received_at.year == 2025]
    # the iterator yields year by year, in receipt order within a year
    stream = iter_dossiers(9, {2024: 5, 2025: 5})
    first = next(stream)
    assert first.received_at.year == 2024
    years = [first.received_at.year] + [d.received_at.year for d in stream]
    assert years == sorted(years)
