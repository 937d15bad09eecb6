"""Crafted portal records → real simulators → real extractors → dbt build → exact DVC KPIs.

Served by the real simulators: the one-stop dossiers by ``OneStopServer`` (hand-written dicts, as
in test_onestop_kpis_crafted), the portal's services, applications, payments and ratings by
``DvcServer`` from a hand-made ``DvcWorld`` (each record a timeline of states). The portal is
crawled twice, as in production: an hour before the Decree 42/2022 level reform (2022-01-01 00:00
local) and in January 2023 (incremental), so the services' level changes land as versions and
dim_online_service splits their periods at the reform.

Rules (DOMAIN §4 and the definitions documented in _int_online_services.yml), applied by hand:
- DVC-1: (unit, procedure) pairs of the year = procedures the unit received a dossier for, or
  offered as a portal service of any level during the year; offered online = a level 3–4 (until
  2021) or full (from 2022) service during the year. Level 2 and partial do not count.
- DVC-2: dossiers received in the year; online = KenhThucHien 2 or an accepted portal application.
- DVC-3: fee-bearing (PhiLePhi > 0 or the procedure's CoPhiLePhi) dossiers received in the year;
  paid = at least one successful payment (failed then success counts once; pending is no payment).
- DVC-4: dossiers that ended in the year with a decision (returned, processed or refused; not
  withdrawn); online as in DVC-2.
- DVC-5: applications started in the year (local date); submitted = submitted_at set (accepted,
  rejected and withdrawn alike; a draft is not). Unit = the service's unit.
- DVC-6: ratings given in the year (rated_at, local date); satisfied = 4 or 5.
- DVC-7: services accepting online applications (3, 4, full, partial) during the year; used = an
  application submitted in the year and accepted.
The province's own unit P (level 1) is left out; commune X1 has no activity: zeros, NULL rates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from govkpi.calendar import VN_TZ
from govkpi.config import DvcSettings, OneStopSettings
from govkpi.extract import extract
from govkpi.simulator import OneStopServer, OneStopWorld
from govkpi.simulator.dvc import DvcRecord, DvcServer, DvcWorld, epoch_ms
from tests.helpers import dbt, query

D = Decimal
FIRST_CRAWL = dt.datetime(2021, 12, 31, 23, 0, tzinfo=VN_TZ)  # an hour before the reform
SECOND_CRAWL = dt.datetime(2023, 1, 15, 8, 0, tzinfo=VN_TZ)
REFORM = "2022-01-01T00:00"  # Decree 42/2022: levels 2/3/4 → full/partial, level 2 goes offline

UNITS = [
    {"MaDonVi": "P", "TenDonVi": "UBND tỉnh", "CapDonVi": 1},
    {"MaDonVi": "D1", "TenDonVi": "Sở Một", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P"},
    {"MaDonVi": "X1", "TenDonVi": "UBND xã Một (không có hoạt động)", "CapDonVi": 4,
     "MaDonViCha": "H1"},
]
PROCEDURES = [
    {"MaTTHC": f"T{i}", "TenTTHC": f"Thủ tục {i}", "ThoiHanGiaiQuyet": 5,
     "CoPhiLePhi": i in (2, 4)}  # T2 and T4 charge a fee
    for i in range(1, 7)
]


def ms(local: str) -> int:
    return epoch_ms(dt.datetime.fromisoformat(local).replace(tzinfo=VN_TZ))


def record(record_id: str, *states: tuple[str, dict]) -> DvcRecord:
    """A portal record as a timeline: each (local time, fields) state holds from then on."""
    times, out, current = [], [], {}
    for at, fields in states:
        current = {**current, **fields, "updated_at": ms(at)}
        times.append(ms(at))
        out.append(current)
    return DvcRecord(record_id, tuple(times), tuple(out))


def service(sid: str, unit: str, proc: str, online_from: str, level, *later) -> DvcRecord:
    base = {"service_id": sid, "procedure_code": proc, "unit_code": unit, "level": level,
            "online_from": ms(online_from), "online_to": None}
    return record(sid, (online_from, base), *later)


SERVICES = [
    # S1 D1/T1: level 3, full at the reform → DVC-1 in 2021 and 2022; online service both years.
    service("S1", "D1", "T1", "2020-03-02T09:00", 3, (REFORM, {"level": "full"})),
    # S2 D1/T2: level 2 (forms only), offline at the reform → a DVC-1 pair of 2021 not offered
    # online; never an online service (DVC-7); no pair of 2022 through it.
    service("S2", "D1", "T2", "2020-03-02T09:00", 2, (REFORM, {"online_to": ms(REFORM)})),
    # S3 D1/T3: level 4, partial at the reform → DVC-1 in 2021 only; DVC-7 in both years.
    service("S3", "D1", "T3", "2020-06-01T09:00", 4, (REFORM, {"level": "partial"})),
    # S4 H1/T4: level 3 from February 2021, full at the reform.
    service("S4", "H1", "T4", "2021-02-01T09:00", 3, (REFORM, {"level": "full"})),
    # S5 H1/T5: new after the reform, partial → not DVC-1, but an online service of 2022 (DVC-7).
    service("S5", "H1", "T5", "2022-03-01T09:00", "partial"),
    # S6 H1/T6: level 3, full at the reform, never receives a dossier (DVC-7 denominator only).
    service("S6", "H1", "T6", "2021-01-05T09:00", 3, (REFORM, {"level": "full"})),
]

RETURNED, PROCESSING, REFUSED, WITHDRAWN = 5, 2, 7, 8


def dossier(code: str, unit: str, proc: str, received: str, end: str | None, status: int,
            channel: int, fee: int = 0) -> dict:
    """A one-stop dossier in its final state (API shape)."""
    events = [{"ThoiDiem": f"{received}:00+07:00", "TrangThai": 1, "GhiChu": "Tiếp nhận"},
              {"ThoiDiem": f"{received[:-2]}05:00+07:00", "TrangThai": 2, "GhiChu": "Xử lý"}]
    rec = {"MaHoSo": code, "MaDonVi": unit, "MaTTHC": proc, "NgayTiepNhan": f"{received}:00+07:00",
           "KenhThucHien": channel, "PhiLePhi": fee, "TrangThaiHoSo": status,
           "ChuHoSo": f"Nguyễn Văn {code}", "SoGiayTo": "052090001234",
           "SoDienThoai": "0905123456", "DiaChi": "Quy Nhơn"}
    if end:
        events.append({"ThoiDiem": f"{end}:00+07:00", "TrangThai": status, "GhiChu": "Kết thúc"})
        rec["NgayKetThucXuLy"] = f"{end}:00+07:00"
    rec["QuaTrinhXuLy"] = events
    return rec


DOSSIERS = [
    # ---- D1, 2021 ---------------------------------------------------------------------------
    # O1 online, PhiLePhi 50,000 (fee-bearing though T1 has no CoPhiLePhi), a failed payment then
    # a success → DVC-2 ✓, DVC-3 1/1 (counted once), DVC-4 ✓ (returned 2021).
    dossier("O1", "D1", "T1", "2021-03-10T09:00", "2021-03-15T10:00", RETURNED, 2, 50_000),
    # O2 online, refused in 2021: a decision → DVC-4 completed online ✓; no fee (DVC-3 —).
    dossier("O2", "D1", "T1", "2021-04-05T09:00", "2021-04-07T10:00", REFUSED, 2),
    # O3 at the counter, T2 (CoPhiLePhi, PhiLePhi 0) → DVC-3 denominator, not paid; DVC-4 offline.
    dossier("O3", "D1", "T2", "2021-05-04T09:00", "2021-05-06T10:00", RETURNED, 1),
    # O4 marked KenhThucHien 1 but accepted from portal application SUB-04 → online (DVC-2 ✓);
    # PhiLePhi 20,000 with a pending payment only → DVC-3 not paid; still processing (DVC-4 —).
    dossier("O4", "D1", "T3", "2021-06-01T09:00", None, PROCESSING, 1, 20_000),
    # O5 at the counter on 31/12/2021, returned 4/1/2022 → DVC-2 of 2021, DVC-4 of 2022 (offline).
    dossier("O5", "D1", "T1", "2021-12-31T16:00", "2022-01-04T10:00", RETURNED, 1),
    # ---- D1, 2022 ---------------------------------------------------------------------------
    # O6 online via S1 (full) → DVC-2 ✓, DVC-4 ✓; no fee.
    dossier("O6", "D1", "T1", "2022-02-10T09:00", "2022-02-14T10:00", RETURNED, 2),
    # O7 online via S3 (partial), PhiLePhi 10,000 paid → DVC-2 ✓, DVC-3 ✓, DVC-4 ✓.
    dossier("O7", "D1", "T3", "2022-03-01T09:00", "2022-03-03T10:00", RETURNED, 2, 10_000),
    # O8 at the counter, T2 (fee-bearing, unpaid), withdrawn → DVC-3 denominator; DVC-4 —.
    dossier("O8", "D1", "T2", "2022-04-01T09:00", "2022-04-02T10:00", WITHDRAWN, 1),
    # ---- H1, 2021 ---------------------------------------------------------------------------
    # O9 online via S4, PhiLePhi 30,000 paid → DVC-2 ✓, DVC-3 ✓, DVC-4 ✓.
    dossier("O9", "H1", "T4", "2021-03-01T09:00", "2021-03-05T10:00", RETURNED, 2, 30_000),
    # O10 at the counter, PhiLePhi 30,000 unpaid → DVC-3 denominator; DVC-4 offline.
    dossier("O10", "H1", "T4", "2021-09-01T09:00", "2021-09-03T10:00", RETURNED, 1, 30_000),
    # O11 at the counter, T5 (no service in 2021) → a DVC-1 pair not offered online.
    dossier("O11", "H1", "T5", "2021-10-01T09:00", "2021-10-05T10:00", RETURNED, 1),
    # ---- H1, 2022 ---------------------------------------------------------------------------
    # O12 online via S5 (partial) → DVC-2 ✓, DVC-4 ✓; no fee.
    dossier("O12", "H1", "T5", "2022-03-10T09:00", "2022-03-14T10:00", RETURNED, 2),
    # O13 online via S4 (full), PhiLePhi 30,000, one failed payment only → DVC-3 not paid.
    dossier("O13", "H1", "T4", "2022-06-01T09:00", "2022-06-03T10:00", RETURNED, 2, 30_000),
    # ---- P, the province's own unit (never ranked): left out everywhere ---------------------
    dossier("O14", "P", "T1", "2022-07-01T09:00", "2022-07-02T10:00", RETURNED, 2, 5_000),
]


def application(sid: str, service_id: str, started: str, submitted: str | None, status: str,
                dossier_code: str | None = None, decided: str | None = None) -> DvcRecord:
    """An application's timeline: draft → submitted → its final status."""
    base = {"submission_id": sid, "dossier_code": None, "service_id": service_id,
            "started_at": ms(started), "submitted_at": None, "status": "draft",
            "account_type": "portal"}
    states = [(started, base)]
    if submitted:
        states.append((submitted, {"status": "submitted", "submitted_at": ms(submitted)}))
    if status not in ("draft", "submitted"):
        states.append((decided or submitted, {"status": status, "dossier_code": dossier_code}))
    return record(sid, *states)


APPLICATIONS = [
    # D1 2021 (service unit D1): started 7, submitted 5 (01 02 04 06 07) → DVC-5 5/7.
    application("SUB-01", "S1", "2021-03-09T20:00", "2021-03-09T20:30", "accepted", "O1",
                "2021-03-10T09:00"),
    application("SUB-02", "S1", "2021-04-04T19:00", "2021-04-04T19:10", "accepted", "O2",
                "2021-04-05T09:00"),
    application("SUB-04", "S3", "2021-05-31T21:00", "2021-05-31T21:30", "accepted", "O4",
                "2021-06-01T09:00"),
    application("SUB-05", "S1", "2021-07-01T10:00", None, "draft"),  # never submitted
    # withdrawn by the applicant after submitting: submitted (DVC-5 ✓), no dossier
    application("SUB-06", "S1", "2021-07-02T10:00", "2021-07-02T10:30", "withdrawn",
                decided="2021-07-03T10:00"),
    # rejected by the unit: submitted (DVC-5 ✓), not an accepted online dossier of S3
    application("SUB-07", "S3", "2021-08-01T10:00", "2021-08-01T10:30", "rejected",
                decided="2021-08-02T10:00"),
    # a draft started at 23:30 local on 31/12/2021 (16:30 UTC): a 2021 application
    application("SUB-08", "S1", "2021-12-31T23:30", None, "draft"),
    # D1 2022: started 3, submitted 2 → DVC-5 2/3.
    application("SUB-09", "S1", "2022-02-09T20:00", "2022-02-09T20:30", "accepted", "O6",
                "2022-02-10T09:00"),
    application("SUB-10", "S3", "2022-02-28T20:00", "2022-02-28T20:30", "accepted", "O7",
                "2022-03-01T09:00"),
    application("SUB-11", "S1", "2022-05-01T10:00", None, "draft"),
    # H1 2021: started 2, submitted 1 → DVC-5 1/2.
    application("SUB-12", "S4", "2021-02-28T20:00", "2021-02-28T20:30", "accepted", "O9",
                "2021-03-01T09:00"),
    application("SUB-13", "S4", "2021-11-01T10:00", None, "draft"),
    # H1 2022: started 4, submitted 3 (14 15 16) → DVC-5 3/4.
    application("SUB-14", "S5", "2022-03-09T20:00", "2022-03-09T20:30", "accepted", "O12",
                "2022-03-10T09:00"),
    application("SUB-15", "S4", "2022-05-31T20:00", "2022-05-31T20:30", "accepted", "O13",
                "2022-06-01T09:00"),
    application("SUB-16", "S5", "2022-04-01T10:00", "2022-04-01T10:30", "withdrawn",
                decided="2022-04-02T10:00"),
    application("SUB-17", "S6", "2022-08-01T10:00", None, "draft"),
]


def payment(pid: str, dossier_code: str, at: str, status: str, amount: int) -> DvcRecord:
    fields = {"payment_id": pid, "dossier_code": dossier_code, "amount": amount,
              "method": "payment_platform_dvcqg", "status": status,
              "paid_at": ms(at) if status == "success" else None}
    return record(pid, (at, fields))


PAYMENTS = [
    payment("PAY-01", "O1", "2021-03-10T08:00", "failed", 50_000),  # failed, then …
    payment("PAY-02", "O1", "2021-03-10T08:30", "success", 50_000),  # … paid: O1 counts once
    payment("PAY-04", "O4", "2021-06-01T10:00", "pending", 20_000),  # pending: not paid
    payment("PAY-05", "O7", "2022-03-01T10:00", "success", 10_000),
    payment("PAY-06", "O9", "2021-03-01T10:00", "success", 30_000),
    payment("PAY-07", "O13", "2022-06-01T10:00", "failed", 30_000),  # failed only: not paid
    payment("PAY-08", "O14", "2022-07-01T10:00", "success", 5_000),  # province unit: left out
]


def rating(rid: str, dossier_code: str, at: str, score: int) -> DvcRecord:
    fields = {"rating_id": rid, "dossier_code": dossier_code, "score": score,
              "comment_flag": score <= 2, "rated_at": ms(at)}
    return record(rid, (at, fields))


RATINGS = [
    rating("R-01", "O1", "2021-03-16T10:00", 5),  # D1 2021 ✓
    rating("R-02", "O2", "2021-04-08T10:00", 3),  # D1 2021 ✗ (3 is not satisfied)
    rating("R-03", "O3", "2021-05-07T10:00", 4),  # D1 2021 ✓ (4 is) → D1 2021 2/3
    rating("R-04", "O6", "2022-02-15T10:00", 2),  # D1 2022 ✗
    rating("R-05", "O7", "2022-03-04T10:00", 4),  # D1 2022 ✓
    rating("R-06", "O5", "2022-01-05T10:00", 5),  # a 2021 dossier rated in 2022: D1 2022 ✓ → 2/3
    rating("R-07", "O9", "2021-03-06T10:00", 1),  # H1 2021 ✗ → 0/1
    rating("R-08", "O12", "2022-03-15T10:00", 4),  # H1 2022 ✓
    rating("R-09", "O13", "2022-06-04T10:00", 3),  # H1 2022 ✗ → 1/2
]

KPIS = ("dvc1", "dvc2", "dvc3", "dvc4", "dvc5", "dvc6", "dvc7")
RATES = ("dvc1_online_coverage_rate", "dvc2_online_dossier_rate", "dvc3_online_payment_rate",
         "dvc4_digital_take_up_rate", "dvc5_completion_rate", "dvc6_satisfaction_rate",
         "dvc7_services_with_online_dossier_rate")
COLUMNS = tuple(c for k, r in zip(KPIS, RATES, strict=True)
                for c in (f"{k}_numerator", f"{k}_denominator", r))


def row(*fractions: tuple[int, int], rates: tuple[str | None, ...]) -> dict:
    """Numerator, denominator and the hand-rounded rate (4 decimals) of DVC-1 … DVC-7."""
    out = {}
    for kpi, rate_col, (num, den), rate in zip(KPIS, RATES, fractions, rates, strict=True):
        out |= {f"{kpi}_numerator": num, f"{kpi}_denominator": den,
                rate_col: None if rate is None else D(rate)}
    return out


NONE = (None,) * 7
UNIT_YEAR = {
    # D1 2021 — DVC-1 pairs T1 (S1 level 3 ✓) T2 (S2 level 2 ✗) T3 (S3 level 4 ✓) → 2/3;
    # DVC-2 received O1 O2 O3 O4 O5, online O1 O2 O4 → 3/5; DVC-3 fee-bearing O1 O3 O4, paid O1
    # → 1/3; DVC-4 completed O1 O2 O3 (O4 pending, O5 ends 2022), online O1 O2 → 2/3; DVC-5 5/7;
    # DVC-6 R-01 R-02 R-03 → 2/3; DVC-7 online services S1 S3 (S2 is level 2), both used → 2/2.
    ("D1", 2021): row((2, 3), (3, 5), (1, 3), (2, 3), (5, 7), (2, 3), (2, 2),
                      rates=("0.6667", "0.6000", "0.3333", "0.6667", "0.7143", "0.6667",
                             "1.0000")),
    # D1 2022 — DVC-1 pairs T1 (S1 full ✓) T3 (S3 partial ✗) T2 (O8; S2 offline since the reform
    # ✗) → 1/3; DVC-2 O6 O7 O8, online O6 O7 → 2/3; DVC-3 O7 (paid) O8 → 1/2; DVC-4 O5 (offline)
    # O6 O7 (O8 withdrawn) → 2/3; DVC-5 2/3; DVC-6 R-04 R-05 R-06 → 2/3; DVC-7 S1 (SUB-09) and S3
    # partial (SUB-10) → 2/2.
    ("D1", 2022): row((1, 3), (2, 3), (1, 2), (2, 3), (2, 3), (2, 3), (2, 2),
                      rates=("0.3333", "0.6667", "0.5000", "0.6667", "0.6667", "0.6667",
                             "1.0000")),
    # H1 2021 — DVC-1 pairs T4 (S4 ✓) T5 (O11, no service ✗) T6 (S6 ✓) → 2/3; DVC-2 O9 O10 O11,
    # online O9 → 1/3; DVC-3 O9 (paid) O10 → 1/2; DVC-4 O9 O10 O11, online O9 → 1/3; DVC-5 1/2;
    # DVC-6 R-07 → 0/1; DVC-7 S4 (SUB-12) S6 (unused) → 1/2.
    ("H1", 2021): row((2, 3), (1, 3), (1, 2), (1, 3), (1, 2), (0, 1), (1, 2),
                      rates=("0.6667", "0.3333", "0.5000", "0.3333", "0.5000", "0.0000",
                             "0.5000")),
    # H1 2022 — DVC-1 pairs T4 (full ✓) T5 (S5 partial ✗) T6 (full ✓) → 2/3; DVC-2 O12 O13 → 2/2;
    # DVC-3 O13 (failed only) → 0/1; DVC-4 O12 O13 → 2/2; DVC-5 3/4; DVC-6 R-08 R-09 → 1/2;
    # DVC-7 S4 (SUB-15) S5 (SUB-14) S6 (unused) → 2/3.
    ("H1", 2022): row((2, 3), (2, 2), (0, 1), (2, 2), (3, 4), (1, 2), (2, 3),
                      rates=("0.6667", "1.0000", "0.0000", "1.0000", "0.7500", "0.5000",
                             "0.6667")),
    # X1: no activity at all → zero denominators, NULL rates.
    ("X1", 2021): row(*((0, 0),) * 7, rates=NONE),
    ("X1", 2022): row(*((0, 0),) * 7, rates=NONE),
}
PROVINCE_YEAR = {  # D1 + H1 (P's O14 and PAY-08 left out)
    (2021,): row((4, 6), (4, 8), (2, 5), (3, 6), (6, 9), (2, 4), (3, 4),
                 rates=("0.6667", "0.5000", "0.4000", "0.5000", "0.6667", "0.5000", "0.7500")),
    (2022,): row((3, 6), (4, 5), (1, 3), (4, 5), (5, 7), (3, 5), (4, 5),
                 rates=("0.5000", "0.8000", "0.3333", "0.8000", "0.7143", "0.6000", "0.8000")),
}
FACTS = ("unit_month", "unit_quarter", "unit_year", "procedure_year", "province_month",
         "province_quarter", "province_year")


@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with OneStopServer(OneStopWorld(UNITS, PROCEDURES, DOSSIERS)) as srv:
        extract("onestop", wh, OneStopSettings(srv.url, srv.client_id, srv.client_secret,
                                               page_size=5), mode="full")
    portal = DvcWorld(services=tuple(SERVICES), submissions=tuple(APPLICATIONS),
                      payments=tuple(PAYMENTS), ratings=tuple(RATINGS),
                      default_as_of=SECOND_CRAWL, seed=0)
    with DvcServer(portal, as_of=FIRST_CRAWL) as srv:
        conf = DvcSettings(srv.url, srv.username, srv.password, page_size=4)
        extract("dvc", wh, conf, mode="full")
        srv.set_as_of(SECOND_CRAWL)
        extract("dvc", wh, conf)  # incremental: the reform's level changes land as new versions
    dbt("build", "--indirect-selection", "buildable", "--select",
        *(f"+fct_online_service_{f}" for f in FACTS))
    return wh


def fetch(wh, model: str, keys: tuple[str, ...]) -> dict:
    rows = query(wh, f"select {', '.join(keys)}, {', '.join(COLUMNS)} from marts.{model}")
    n = len(keys)
    return {tuple(r[:n]): dict(zip(COLUMNS, r[n:], strict=True)) for r in rows}


def test_every_kpi_at_unit_year(built):
    got = fetch(built, "fct_online_service_unit_year", ("unit_code", "period_year"))
    assert set(got) == set(UNIT_YEAR)  # P (level 1) has no row
    for key, want in UNIT_YEAR.items():
        assert got[key] == want, key


def test_every_kpi_at_province_year(built):
    assert fetch(built, "fct_online_service_province_year", ("period_year",)) == PROVINCE_YEAR


def test_service_levels_split_at_the_reform(built):
    rows = query(built, "select service_id, level, counts_toward_online_coverage,"
                 " accepts_online_applications from marts.dim_online_service"
                 " order by service_id, period_number")
    assert rows == [
        ("S1", "3", True, True), ("S1", "full", True, True),
        ("S2", "2", False, False),
        ("S3", "4", True, True), ("S3", "partial", False, True),
        ("S4", "3", True, True), ("S4", "full", True, True),
        ("S5", "partial", False, True),
        ("S6", "3", True, True), ("S6", "full", True, True),
    ]


def test_procedure_year(built):
    got = fetch(built, "fct_online_service_procedure_year", ("procedure_code", "period_year"))
    # T2 2021: D1's pair through the level-2 S2 is not online (0/1); O3 fee-bearing unpaid (0/1);
    # S2 is no online service (DVC-7 0/0 → NULL).
    t2 = got[("T2", 2021)]
    assert (t2["dvc1_numerator"], t2["dvc1_denominator"]) == (0, 1)
    assert (t2["dvc3_numerator"], t2["dvc3_denominator"]) == (0, 1)
    assert (t2["dvc7_denominator"], t2["dvc7_services_with_online_dossier_rate"]) == (0, None)
    # T3 2022: S3 is partial — not online coverage (0/1) but a used online service (1/1)
    t3 = got[("T3", 2022)]
    assert (t3["dvc1_numerator"], t3["dvc1_denominator"]) == (0, 1)
    assert (t3["dvc7_numerator"], t3["dvc7_denominator"]) == (1, 1)
    # T1 2021: only D1 has it (P's O14 is left out, and is 2022) — O1 O2 online, O5 not → 2/3
    t1 = got[("T1", 2021)]
    assert (t1["dvc2_numerator"], t1["dvc2_denominator"]) == (2, 3)
    assert (t1["dvc1_numerator"], t1["dvc1_denominator"]) == (1, 1)
    # T6 has only the unused S6: a row each year with DVC-7 0/1
    assert (got[("T6", 2021)]["dvc7_numerator"], got[("T6", 2021)]["dvc7_denominator"]) == (0, 1)


def test_months_and_quarters(built):
    months = fetch(built, "fct_online_service_unit_month",
                   ("unit_code", "period_year", "period_month"))
    # D1 March 2021: O1 received online and paid (after a failed attempt), completed, rated 5
    march = months[("D1", 2021, 3)]
    assert (march["dvc2_numerator"], march["dvc2_denominator"]) == (1, 1)
    assert (march["dvc3_numerator"], march["dvc3_denominator"]) == (1, 1)
    assert march["dvc6_satisfaction_rate"] == D("1.0000")
    # D1 December 2021: SUB-08 started 23:30 local on 31/12 (a draft) → DVC-5 0/1; O5 received
    dec = months[("D1", 2021, 12)]
    assert (dec["dvc5_numerator"], dec["dvc5_denominator"]) == (0, 1)
    assert dec["dvc5_completion_rate"] == D("0.0000")
    assert (dec["dvc2_numerator"], dec["dvc2_denominator"]) == (0, 1)
    assert dec["dvc4_digital_take_up_rate"] is None  # nothing completed in December
    # D1 January 2022: O5 completed (offline), R-06 rated 5; S1 full / S3 partial in force
    jan = months[("D1", 2022, 1)]
    assert (jan["dvc4_numerator"], jan["dvc4_denominator"]) == (0, 1)
    assert (jan["dvc6_numerator"], jan["dvc6_denominator"]) == (1, 1)
    assert (jan["dvc1_numerator"], jan["dvc1_denominator"]) == (1, 2)  # T1 ✓, T3 partial ✗
    assert (jan["dvc7_numerator"], jan["dvc7_denominator"]) == (0, 2)
    quarters = fetch(built, "fct_online_service_unit_quarter",
                     ("unit_code", "period_year", "period_quarter"))
    # H1 Q1 2022: S5 goes online 1/3 (partial) and receives O12 via SUB-14; S4 and S6 unused
    q1 = quarters[("H1", 2022, 1)]
    assert (q1["dvc7_numerator"], q1["dvc7_denominator"]) == (1, 3)
    assert (q1["dvc1_numerator"], q1["dvc1_denominator"]) == (2, 3)


@pytest.mark.parametrize(("grain", "keys"), [
    ("month", "period_year, period_month"),
    ("quarter", "period_year, period_quarter"),
    ("year", "period_year"),
])
def test_province_equals_sum_of_units(built, grain, keys):
    counts = [c for c in COLUMNS if c.endswith(("_numerator", "_denominator"))]
    sums = ", ".join(f"sum({c})::bigint" for c in counts)
    units = query(built, f"select {keys}, {sums} from marts.fct_online_service_unit_{grain}"
                  f" group by {keys} order by {keys}")
    province = query(built, f"select {keys}, {', '.join(counts)}"
                     f" from marts.fct_online_service_province_{grain} order by {keys}")
    assert units == province
