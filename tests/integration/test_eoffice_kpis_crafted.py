"""Crafted e-office documents → real e-office simulator over HTTP → real extractor → dbt build →
exact EO-1 … EO-5 KPIs (DOMAIN §4) at unit × month / quarter / year and for the province.

24 documents written down by hand. The comment on each works out its EO flags from the rules
before looking at what the SQL produces:

- EO-1 signed: digitally signed by the person AND with the organisation's certificate / outgoing.
- EO-2 axis: sent electronically over the exchange axis / outgoing to a recipient on the axis.
- EO-3 on time: issued on or before the working day after the signing day / outgoing.
- EO-4 same day: acknowledged on the arrival day / incoming that exist electronically.
- EO-5 electronic: dien_tu or dien_tu_va_giay / all documents.

An outgoing document counts when it is issued (in the month of its issue day); one only signed
or drafted is not outgoing yet. An incoming one counts in the month it arrived. The 2017 days off
used: Giỗ Tổ Thu 6/4; Sun 30/4 → Tue 2/5 (compensatory) and Mon 1/5; weekends. Documents of the
province's own unit (level 1) are left out, as for the one-stop KPIs, so the province is the sum
of its departments, districts and communes.

The per-document flags below are the hand work; ``expected`` only counts them into periods with
the §4 formulas, and the year rows (every unit and the province) are also written out as literal
numbers worked by hand.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

import pytest

from govkpi.config import EofficeSettings, OneStopSettings
from govkpi.extract import extract
from govkpi.simulator import OneStopServer, OneStopWorld
from govkpi.simulator.eoffice import Document, EofficeServer, EofficeWorld
from tests.helpers import dbt, query

D = Decimal
UNITS = [
    {"MaDonVi": "P", "TenDonVi": "UBND tỉnh", "CapDonVi": 1},
    {"MaDonVi": "D1", "TenDonVi": "Sở Một", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "D2", "TenDonVi": "Sở Hai (chỉ văn bản đến)", "CapDonVi": 2, "MaDonViCha": "P"},
    {"MaDonVi": "H1", "TenDonVi": "UBND huyện Một", "CapDonVi": 3, "MaDonViCha": "P"},
    {"MaDonVi": "X1", "TenDonVi": "UBND xã Một (không có văn bản)", "CapDonVi": 4,
     "MaDonViCha": "H1"},
]
RANKED = ("D1", "D2", "H1", "X1")
E, P, B = "dien_tu", "giay", "dien_tu_va_giay"
AS_OF = dt.datetime(2018, 1, 15, 8, 0)  # naive local: the crawl sees every 2017 event


def t(text: str) -> dt.datetime:
    """'dd/mm HH:MM' in 2017, naive local time."""
    return dt.datetime.strptime(f"2017 {text}", "%Y %d/%m %H:%M")


class Case(NamedTuple):
    """A document and what the rules say about it (worked by hand)."""

    id: str
    unit: str
    direction: str  # di / den
    form: str
    person: bool = False  # ky_so_ca_nhan
    organisation: bool = False  # ky_so_to_chuc
    via_axis: bool = False  # qua_truc_lien_thong
    connected: bool = False  # noi_nhan_ket_noi
    signed: str | None = None  # outgoing
    issued: str | None = None  # outgoing
    arrived: str | None = None  # incoming
    acknowledged: str | None = None  # incoming
    # hand-worked: month it counts in (None: not counted) and its flags
    month: int | None = None
    eo1: bool = False  # signed by person and organisation
    eo2_connected: bool = False  # EO-2 denominator
    eo2_axis: bool = False  # EO-2 numerator
    eo3: bool = False  # issued on time
    eo4_electronic: bool = False  # EO-4 denominator
    eo4_same_day: bool = False  # EO-4 numerator
    electronic: bool = False  # EO-5 numerator


CASES = [
    # ---- D1, outgoing ------------------------------------------------------------------------
    # O01: signed Fri 3/3 10:00, issued the same day → on time (deadline Mon 6/3). Person and
    # organisation → EO-1. Connected recipient, via the axis → EO-2 1/1. dien_tu → electronic.
    Case("O01", "D1", "di", E, True, True, True, True, signed="03/03 10:00", issued="03/03 15:00",
         month=3, eo1=True, eo2_connected=True, eo2_axis=True, eo3=True, electronic=True),
    # O02: signed Fri 3/3 16:00, issued Mon 6/3 09:00 = signing day + 1 working day over the
    # weekend → on time. Person only → not EO-1. Connected, not via the axis → EO-2 1/0. Both
    # forms → electronic.
    Case("O02", "D1", "di", B, True, False, False, True, signed="03/03 16:00",
         issued="06/03 09:00", month=3, eo2_connected=True, eo3=True, electronic=True),
    # O03: signed Mon 6/3, issued Wed 8/3 = + 2 working days (deadline Tue 7/3) → late.
    # Organisation only → not EO-1. Recipient off the axis → outside EO-2. Paper → not electronic.
    Case("O03", "D1", "di", P, False, True, False, False, signed="06/03 09:00",
         issued="08/03 09:00", month=3),
    # O04: signed Wed 5/4, issued Fri 7/4: Thu 6/4 is Giỗ Tổ, so Fri 7/4 is signing day + 1
    # working day → on time. Both signatures → EO-1; connected, via the axis → EO-2 1/1.
    Case("O04", "D1", "di", E, True, True, True, True, signed="05/04 09:00", issued="07/04 10:00",
         month=4, eo1=True, eo2_connected=True, eo2_axis=True, eo3=True, electronic=True),
    # O05: signed Wed 5/4, issued Mon 10/4 = + 2 working days (Fri 7/4 + 1, Mon 10/4 + 2) → late.
    # Both signatures → EO-1; connected, via the axis → EO-2 1/1.
    Case("O05", "D1", "di", E, True, True, True, True, signed="05/04 09:00", issued="10/04 08:00",
         month=4, eo1=True, eo2_connected=True, eo2_axis=True, electronic=True),
    # O06: signed Fri 28/4 14:00; Sat 29, Sun 30/4, Mon 1/5 (Labour Day), Tue 2/5 (compensatory
    # for 30/4) are days off, so Wed 3/5 is + 1 working day: issued Wed 3/5 → on time, counted in
    # May (its issue month). Both signatures → EO-1. Off the axis → outside EO-2.
    Case("O06", "D1", "di", E, True, True, False, False, signed="28/04 14:00",
         issued="03/05 09:00", month=5, eo1=True, eo3=True, electronic=True),
    # O07: signed Fri 28/4, issued Thu 4/5 = + 2 working days → late. Both signatures → EO-1.
    # Paper to a connected recipient → EO-2 1/0; not electronic.
    Case("O07", "D1", "di", P, True, True, False, True, signed="28/04 15:00",
         issued="04/05 09:00", month=5, eo1=True, eo2_connected=True),
    # O08: signed Mon 29/5, never issued → not outgoing yet: counts nowhere.
    Case("O08", "D1", "di", E, True, True, True, True, signed="29/05 09:00"),
    # ---- D1, incoming ------------------------------------------------------------------------
    # I01: electronic, arrived Mon 6/3 08:00, acknowledged 09:00 the same day → EO-4 1/1.
    Case("I01", "D1", "den", E, arrived="06/03 08:00", acknowledged="06/03 09:00", month=3,
         eo4_electronic=True, eo4_same_day=True, electronic=True),
    # I02: electronic, arrived Mon 6/3 16:30, acknowledged Tue 7/3 08:00 → next day: EO-4 1/0.
    Case("I02", "D1", "den", E, arrived="06/03 16:30", acknowledged="07/03 08:00", month=3,
         eo4_electronic=True, electronic=True),
    # I03: paper only, acknowledged the same day → outside EO-4's denominator; not electronic.
    Case("I03", "D1", "den", P, arrived="10/04 09:00", acknowledged="10/04 10:00", month=4),
    # I04: both forms, acknowledged the same day → EO-4 1/1; electronic.
    Case("I04", "D1", "den", B, arrived="11/04 10:00", acknowledged="11/04 11:00", month=4,
         eo4_electronic=True, eo4_same_day=True, electronic=True),
    # ---- D2: incoming only (EO-1, EO-2, EO-3 have zero denominators → NULL) -----------------
    # I05: electronic, same day → EO-4 1/1.
    Case("I05", "D2", "den", E, arrived="08/03 09:00", acknowledged="08/03 14:00", month=3,
         eo4_electronic=True, eo4_same_day=True, electronic=True),
    # I06: paper only → outside EO-4 (D2's April EO-4 is 0/0 → NULL); not electronic.
    Case("I06", "D2", "den", P, arrived="12/04 09:00", acknowledged="12/04 09:30", month=4),
    # I07: electronic, arrived Fri 12/5 23:30, acknowledged Sat 13/5 00:15 local — the same day
    # in UTC, but the next local day → EO-4 1/0.
    Case("I07", "D2", "den", E, arrived="12/05 23:30", acknowledged="13/05 00:15", month=5,
         eo4_electronic=True, electronic=True),
    # I08: electronic, arrived Mon 15/5, never acknowledged → EO-4 1/0.
    Case("I08", "D2", "den", E, arrived="15/05 10:00", month=5, eo4_electronic=True,
         electronic=True),
    # ---- H1 (no document in April: zeros and NULL rates then) -------------------------------
    # O10: signed and issued Tue 14/3 → on time. No digital signature at all → not EO-1.
    # Off the axis → outside EO-2. Paper → not electronic.
    Case("O10", "H1", "di", P, signed="14/03 09:00", issued="14/03 17:00", month=3, eo3=True),
    # O11: signed Sat 13/5 (a day off): the next working day after it is Mon 15/5; issued Mon
    # 15/5 → on time. Both signatures → EO-1; connected, via the axis → EO-2 1/1.
    Case("O11", "H1", "di", B, True, True, True, True, signed="13/05 10:00", issued="15/05 08:00",
         month=5, eo1=True, eo2_connected=True, eo2_axis=True, eo3=True, electronic=True),
    # O12: signed Mon 15/5, issued Wed 17/5 = + 2 working days → late. Both signatures → EO-1;
    # connected, via the axis → EO-2 1/1.
    Case("O12", "H1", "di", E, True, True, True, True, signed="15/05 09:00", issued="17/05 08:00",
         month=5, eo1=True, eo2_connected=True, eo2_axis=True, electronic=True),
    # I09: both forms, same day → EO-4 1/1.
    Case("I09", "H1", "den", B, arrived="03/03 09:00", acknowledged="03/03 09:30", month=3,
         eo4_electronic=True, eo4_same_day=True, electronic=True),
    # I10: paper only, acknowledged next day → outside EO-4; not electronic.
    Case("I10", "H1", "den", P, arrived="15/05 09:00", acknowledged="16/05 09:00", month=5),
    # I11: electronic arrived Fri 31/3 17:00, acknowledged Mon 3/4 08:00 → not same day; counts in
    # March (its arrival month), EO-4 1/0.
    Case("I11", "H1", "den", E, arrived="31/03 17:00", acknowledged="03/04 08:00", month=3,
         eo4_electronic=True, electronic=True),
    # ---- P: the province's own unit (level 1) → counted nowhere ----------------------------
    Case("P01", "P", "di", E, True, True, True, True, signed="06/03 09:00", issued="06/03 10:00"),
    Case("P02", "P", "den", E, arrived="06/03 09:00", acknowledged="06/03 10:00"),
    # X1 (a commune) has no document: zeros and NULL rates in every period.
]

KPIS = ("eo1", "eo2", "eo3", "eo4", "eo5")
RATES = {"eo1": "eo1_signed_rate", "eo2": "eo2_exchange_axis_rate",
         "eo3": "eo3_issued_on_time_rate", "eo4": "eo4_same_day_acknowledgement_rate",
         "eo5": "eo5_electronic_share"}
COLUMNS = [c for k in KPIS for c in (f"{k}_numerator", f"{k}_denominator", RATES[k])]


def to_document(c: Case) -> Document:
    """The simulator's document: an outgoing one drafted the day before its signature and
    submitted an hour before it; an incoming one created on arrival."""
    number = f"{c.id[1:]}/{c.unit}-VP"
    if c.direction == "di":
        signed = t(c.signed) if c.signed else None
        created = signed - dt.timedelta(days=1)
        return Document(c.id, "di", c.unit, number, "Công văn", "thuong", c.form, c.person,
                        c.organisation, c.via_axis, c.connected, created,
                        submitted_at=signed - dt.timedelta(hours=1), signed_at=signed,
                        issued_at=t(c.issued) if c.issued else None)
    return Document(c.id, "den", c.unit, number, "Công văn", "thuong", c.form, False, False,
                    c.form != P, c.connected, t(c.arrived),
                    acknowledged_at=t(c.acknowledged) if c.acknowledged else None)


# ---- hand-worked year rows ---------------------------------------------------------------------

def rate(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (D(numerator) / D(denominator)).quantize(D("0.0001"), rounding=ROUND_HALF_UP)


def row(eo1, eo2, eo3, eo4, eo5) -> dict:
    """(numerator, denominator) per KPI → the fact's columns."""
    out = {}
    for k, (n, d) in zip(KPIS, (eo1, eo2, eo3, eo4, eo5), strict=True):
        out |= {f"{k}_numerator": n, f"{k}_denominator": d, RATES[k]: rate(n, d)}
    return out


YEAR_2017 = {
    # D1: outgoing O01–O07 (7); EO-1 O01 O04 O05 O06 O07; EO-2 connected O01 O02 O04 O05 O07,
    # via the axis O01 O04 O05; EO-3 on time O01 O02 O04 O06; EO-4 electronic I01 I02 I04, same
    # day I01 I04; electronic O01 O02 O04 O05 O06 I01 I02 I04 of 11 documents.
    "D1": {"eo1_numerator": 5, "eo1_denominator": 7, "eo1_signed_rate": D("0.7143"),
           "eo2_numerator": 3, "eo2_denominator": 5, "eo2_exchange_axis_rate": D("0.6000"),
           "eo3_numerator": 4, "eo3_denominator": 7, "eo3_issued_on_time_rate": D("0.5714"),
           "eo4_numerator": 2, "eo4_denominator": 3,
           "eo4_same_day_acknowledgement_rate": D("0.6667"),
           "eo5_numerator": 8, "eo5_denominator": 11, "eo5_electronic_share": D("0.7273")},
    # D2: no outgoing document → EO-1, EO-2, EO-3 NULL; EO-4 I05 of I05 I07 I08; electronic
    # I05 I07 I08 of 4.
    "D2": {"eo1_numerator": 0, "eo1_denominator": 0, "eo1_signed_rate": None,
           "eo2_numerator": 0, "eo2_denominator": 0, "eo2_exchange_axis_rate": None,
           "eo3_numerator": 0, "eo3_denominator": 0, "eo3_issued_on_time_rate": None,
           "eo4_numerator": 1, "eo4_denominator": 3,
           "eo4_same_day_acknowledgement_rate": D("0.3333"),
           "eo5_numerator": 3, "eo5_denominator": 4, "eo5_electronic_share": D("0.7500")},
    # H1: outgoing O10 O11 O12; EO-1 O11 O12; EO-2 O11 O12 of O11 O12; EO-3 O10 O11; EO-4 I09 of
    # I09 I11; electronic O11 O12 I09 I11 of 6.
    "H1": {"eo1_numerator": 2, "eo1_denominator": 3, "eo1_signed_rate": D("0.6667"),
           "eo2_numerator": 2, "eo2_denominator": 2, "eo2_exchange_axis_rate": D("1.0000"),
           "eo3_numerator": 2, "eo3_denominator": 3, "eo3_issued_on_time_rate": D("0.6667"),
           "eo4_numerator": 1, "eo4_denominator": 2,
           "eo4_same_day_acknowledgement_rate": D("0.5000"),
           "eo5_numerator": 4, "eo5_denominator": 6, "eo5_electronic_share": D("0.6667")},
    # X1: no document → zeros and NULL rates.
    "X1": {c: (None if c in RATES.values() else 0) for c in COLUMNS},
}
# The province: D1 + D2 + H1 + X1 (P left out): EO-1 7/10, EO-2 5/7, EO-3 6/10, EO-4 4/8,
# EO-5 15/21.
PROVINCE_2017 = {
    "eo1_numerator": 7, "eo1_denominator": 10, "eo1_signed_rate": D("0.7000"),
    "eo2_numerator": 5, "eo2_denominator": 7, "eo2_exchange_axis_rate": D("0.7143"),
    "eo3_numerator": 6, "eo3_denominator": 10, "eo3_issued_on_time_rate": D("0.6000"),
    "eo4_numerator": 4, "eo4_denominator": 8, "eo4_same_day_acknowledgement_rate": D("0.5000"),
    "eo5_numerator": 15, "eo5_denominator": 21, "eo5_electronic_share": D("0.7143"),
}


# ---- counting the hand-worked flags into periods -----------------------------------------------

def counts(cases: list[Case]) -> dict:
    out = [c for c in cases if c.direction == "di"]
    return row(
        (sum(c.eo1 for c in out), len(out)),
        (sum(c.eo2_axis for c in out), sum(c.eo2_connected for c in out)),
        (sum(c.eo3 for c in out), len(out)),
        (sum(c.eo4_same_day for c in cases), sum(c.eo4_electronic for c in cases)),
        (sum(c.electronic for c in cases), len(cases)),
    )


def period_of(month: int, grain: str) -> int:
    return {"month": month, "quarter": (month - 1) // 3 + 1, "year": 2017}[grain]


def expected(grain: str, scope: str) -> dict:
    """(unit or None, period number) → the fact's KPI columns, from the hand-worked flags."""
    periods = sorted({period_of(m, grain) for m in range(3, 6)})  # March … May are reported
    groups: dict[tuple, list[Case]] = defaultdict(list)
    for c in CASES:
        if c.month is not None and c.unit in RANKED:
            groups[(c.unit if scope == "unit" else None, period_of(c.month, grain))].append(c)
    keys = [(u, p) for u in (RANKED if scope == "unit" else (None,)) for p in periods]
    return {k: counts(groups.get(k, [])) for k in keys}


# ---- the build ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(fresh_warehouse_module):
    warehouse = fresh_warehouse_module
    # The units first: the e-office loader checks ma_don_vi against raw_onestop.donvi.
    with OneStopServer(OneStopWorld(UNITS, [], [])) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=50)
        extract("onestop", warehouse, settings, ["donvi"], mode="full")
    world = EofficeWorld([], [to_document(c) for c in CASES], default_as_of=AS_OF)
    with EofficeServer(world) as srv:
        # page_size 5: the cursor paging of the real API is crossed several times
        results = extract("eoffice", warehouse, EofficeSettings(srv.url, srv.api_key,
                                                                page_size=5), mode="full")
    assert sum(r.loaded for r in results) == len(CASES)
    assert sum(r.quarantined for r in results) == 0
    facts = ("unit_month", "unit_quarter", "unit_year", "province_month", "province_quarter",
             "province_year")
    dbt("build", "--indirect-selection", "buildable", "--select",
        *(f"+fct_document_processing_{f}" for f in facts))
    return warehouse


def fetch(wh, model: str, keys: tuple[str, ...]) -> dict:
    rows = query(wh, f"select {', '.join(keys)}, {', '.join(COLUMNS)} from marts.{model}")
    n = len(keys)
    return {tuple(r[:n]): dict(zip(COLUMNS, r[n:], strict=True)) for r in rows}


def test_every_crafted_document_was_served_and_staged(built):
    staged = dict(query(built, "select document_id, status_code "
                               "from staging.stg_eoffice__documents"))
    assert set(staged) == {c.id for c in CASES}
    assert staged["O08"] == "da_ky"  # signed, not issued: not outgoing yet


def test_classified_flags_match_the_hand_work(built):
    rows = query(built, "select document_id, extract(month from document_date)::int, "
                        "is_eo1_signed_by_person_and_organisation, is_eo2_to_connected_recipient, "
                        "is_eo2_sent_via_exchange_axis, is_eo3_issued_on_time, "
                        "is_eo4_incoming_electronic, is_eo4_acknowledged_same_day, "
                        "is_eo5_electronic from intermediate.int_documents_classified")
    got = {r[0]: r[1:] for r in rows}
    want = {c.id: (c.month, c.eo1, c.eo2_connected, c.eo2_axis, c.eo3, c.eo4_electronic,
                   c.eo4_same_day, c.electronic)
            for c in CASES if c.month is not None}
    # P01/P02 are classified (the province's own unit is dropped later, in int_document_kpis)
    assert {k: v for k, v in got.items() if k not in ("P01", "P02")} == want


def test_unit_year_literal(built):
    got = fetch(built, "fct_document_processing_unit_year", ("unit_code", "period_year"))
    assert got == {(unit, 2017): values for unit, values in YEAR_2017.items()}


def test_province_year_literal(built):
    got = fetch(built, "fct_document_processing_province_year", ("period_year",))
    assert got == {(2017,): PROVINCE_2017}


def test_literal_year_rows_agree_with_the_counted_flags():
    assert {u: v for (u, _), v in expected("year", "unit").items()} == YEAR_2017
    assert expected("year", "province") == {(None, 2017): PROVINCE_2017}


def test_unit_month_and_zero_denominators(built):
    got = fetch(built, "fct_document_processing_unit_month",
                ("unit_code", "period_year", "period_month"))
    assert got == {(u, 2017, m): v for (u, m), v in expected("month", "unit").items()}
    # D2 issues nothing, H1 nothing at all in April: NULL rates, never 0
    assert got[("D2", 2017, 3)]["eo1_signed_rate"] is None
    assert got[("H1", 2017, 4)] == YEAR_2017["X1"]
    # D1 in May: O06 on time (over 30/4 → 2/5), O07 late → EO-3 1/2
    assert got[("D1", 2017, 5)]["eo3_issued_on_time_rate"] == D("0.5000")


def test_unit_quarter(built):
    got = fetch(built, "fct_document_processing_unit_quarter",
                ("unit_code", "period_year", "period_quarter"))
    assert got == {(u, 2017, q): v for (u, q), v in expected("quarter", "unit").items()}
    # D1 Q1: O01 O02 on time, O03 late → EO-3 2/3
    assert (got[("D1", 2017, 1)]["eo3_numerator"], got[("D1", 2017, 1)]["eo3_denominator"]) == (
        2, 3)


@pytest.mark.parametrize(("grain", "keys"), [
    ("month", ("period_year", "period_month")),
    ("quarter", ("period_year", "period_quarter")),
])
def test_province_month_and_quarter(built, grain, keys):
    got = fetch(built, f"fct_document_processing_province_{grain}", keys)
    assert got == {(2017, p): v for (_, p), v in expected(grain, "province").items()}


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_province_is_the_sum_of_its_units(built, grain):
    key = {"month": "period_month", "quarter": "period_quarter", "year": "period_year"}[grain]
    counted = [c for c in COLUMNS if c not in RATES.values()]
    sums = ", ".join(f"sum({c})::bigint" for c in counted)
    unit = query(built, f"select {key}, {sums} from marts.fct_document_processing_unit_{grain} "
                        f"group by {key} order by {key}")
    cols = ", ".join(counted)
    province = query(built, f"select {key}, {cols} from "
                            f"marts.fct_document_processing_province_{grain} order by {key}")
    assert unit == province
