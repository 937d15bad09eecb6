"""The e-office system — "Hệ thống quản lý văn bản và điều hành" (SOURCES.md §2).

A deterministic document register built on the units of a :class:`OneStopWorld`, served over
HTTP with the vendor's conventions:

- ``GET /api/v2/documents`` with ``X-API-Key: <key>``; ``limit`` (1–1000, default 100), an
  opaque ``cursor`` (keyset position (ngay_sua, id) plus the filter, signed so that a tampered
  cursor is refused) and ``modified_since=<dd/MM/yyyy HH:mm:ss>`` (inclusive, on ngay_sua).
  Answer: ``{"items": [...], "next_cursor": "<opaque>" | null}``, ordered by (ngay_sua, id).
- ``GET /health`` → 200 (no key).

Every timestamp, in the payload and in ``modified_since``, is **naive local time**
(Asia/Ho_Chi_Minh) formatted ``dd/MM/yyyy HH:mm:ss``.

Each document is a small timeline — outgoing: drafted → submitted to the leader → signed →
issued; incoming: arrived → acknowledged → submitted to the leader → processed — and
:meth:`EofficeWorld.documents_as_of` shows it as the API served it at that moment (absent before
its first event, later fields null until they happen, ngay_sua = its latest event so far). The
data make DOMAIN.md §4's EO-1…EO-5 computable: digital signatures (person, organisation), the
document-exchange axis and whether the recipient is connected to it, issue delay after signing,
same-day acknowledgement of incoming documents, and the electronic form of each document.

Run as a process: ``python -m govkpi.simulator.eoffice --port 8802`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import datetime as dt
import hashlib
import hmac
import math
import os
import random
import re
import sys
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from govkpi.calendar import VN_TZ, add_working_days, is_working_day
from govkpi.simulator.mess import Manifest, Mess, eoffice_rules, sort_rows, sorted_manifest
from govkpi.simulator.mess import apply as apply_mess
from govkpi.simulator.serving import (
    BackgroundServer,
    Faults,
    add_server_arguments,
    bad_request,
    describe_mess,
    fault_middleware,
    json_response,
    mess_option,
    serve_until_signalled,
    world_and_faults,
)
from govkpi.simulator.strata import Strata
from govkpi.simulator.world import DEPARTMENTS, OneStopWorld, Unit, generate_world

DEFAULT_API_KEY = "govkpi-eoffice-key"  # the simulator's well-known test key
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
DOCUMENTS_PER_DOSSIER = 3
TIME_FORMAT = "%d/%m/%Y %H:%M:%S"  # the vendor's dd/MM/yyyy HH:mm:ss
TIME_FORMAT_HINT = "dd/MM/yyyy HH:mm:ss (naive Asia/Ho_Chi_Minh time, e.g. 14/03/2017 09:12:00)"
_TIME_RE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")

DOCUMENT_FIELDS = ("id", "so_ky_hieu", "huong", "ma_don_vi", "loai_van_ban", "do_khan",
                   "hinh_thuc", "ky_so_ca_nhan", "ky_so_to_chuc", "ngay_ky", "ngay_ban_hanh",
                   "qua_truc_lien_thong", "noi_nhan_ket_noi", "ngay_den", "ngay_xac_nhan",
                   "ngay_trinh", "trang_thai", "ngay_sua")
OUTGOING, INCOMING = "di", "den"
# trang_thai — outgoing: moi (drafted) → cho_ky (submitted) → da_ky → da_ban_hanh;
# incoming: moi (arrived) → dang_xu_ly (acknowledged, then submitted) → da_xu_ly
NEW, AWAITING_SIGNATURE, SIGNED, ISSUED = "moi", "cho_ky", "da_ky", "da_ban_hanh"
IN_PROGRESS, PROCESSED = "dang_xu_ly", "da_xu_ly"
ELECTRONIC, PAPER, BOTH = "dien_tu", "giay", "dien_tu_va_giay"
URGENCY = (("thuong", 0.85), ("khan", 0.12), ("hoa_toc", 0.03))
# (loai_van_ban, abbreviation in the number — Decree 30/2020 appendix III; None: công văn)
DOCUMENT_TYPES = (
    ("Công văn", None, 48), ("Quyết định", "QĐ", 12), ("Tờ trình", "TTr", 6),
    ("Báo cáo", "BC", 10), ("Kế hoạch", "KH", 6), ("Thông báo", "TB", 7),
    ("Giấy mời", "GM", 8), ("Hướng dẫn", "HD", 2), ("Chỉ thị", "CT", 1),
)
# công văn carry the drafting division after the issuer: "125/UBND-VX", "37/STC-NS"
PEOPLES_COMMITTEE_DIVISIONS = ("VX", "KT", "NC", "TH", "K")
DEPARTMENT_DIVISIONS = ("VP", "NS", "KH", "TH", "NV", "TTr")
# senders outside the province (ministries, the government office) of incoming documents
EXTERNAL_SENDERS = ("VPCP", "BNV", "BTTTT", "BTC", "BKHĐT", "BTNMT", "BYT", "BGDĐT", "BTP")
# relative volume of documents per unit, by level (1 province … 4 commune)
LEVEL_WEIGHT = {1: 10.0, 2: 3.0, 3: 4.0, 4: 1.5}
OUTGOING_SHARE = 0.45


def format_time(value: dt.datetime | None) -> str | None:
    """``dd/MM/yyyy HH:mm:ss`` in naive local time (aware values are converted first)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(VN_TZ).replace(tzinfo=None)
    return (f"{value.day:02d}/{value.month:02d}/{value.year:04d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")


def parse_time(text: str) -> dt.datetime:
    """The inverse of :func:`format_time`: a naive local datetime; ValueError names the format."""
    if not _TIME_RE.match(text):
        raise ValueError(f"{text!r} is not a time in the format {TIME_FORMAT_HINT}")
    try:
        return dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date/time in the format "
                         f"{TIME_FORMAT_HINT}") from None


def _local(value: dt.datetime) -> dt.datetime:
    """Naive local time; naive input is taken as local already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(VN_TZ).replace(tzinfo=None)


def _stamp(value: dt.datetime) -> int:
    """Seconds of a naive local time since 0001-01-01, the sort key of ngay_sua."""
    return (value.toordinal() * 86_400 + value.hour * 3600 + value.minute * 60 + value.second)


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class Document:
    """One document and its timeline (naive local times; None = never happens).

    Outgoing: ``created_at`` (draft) ≤ ``submitted_at`` < ``signed_at`` < ``issued_at``.
    Incoming: ``created_at`` (= arrival) < ``acknowledged_at`` < ``submitted_at`` <
    ``processed_at``. ``number`` (so_ky_hieu) of an outgoing document is given when it is signed.
    """

    id: str
    direction: str  # huong
    unit_code: str
    number: str  # so_ky_hieu
    doc_type: str
    urgency: str
    form: str  # hinh_thuc
    signed_by_person: bool
    signed_by_organisation: bool
    via_axis: bool  # qua_truc_lien_thong
    recipient_connected: bool  # noi_nhan_ket_noi
    created_at: dt.datetime
    submitted_at: dt.datetime | None = None
    signed_at: dt.datetime | None = None
    issued_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    processed_at: dt.datetime | None = None

    @property
    def last_event_at(self) -> dt.datetime:
        return max(t for t in (self.created_at, self.submitted_at, self.signed_at,
                               self.issued_at, self.acknowledged_at, self.processed_at)
                   if t is not None)

    def as_of(self, as_of: dt.datetime) -> dict[str, Any] | None:
        """The API record at ``as_of`` (naive local), or None before the first event."""
        if self.created_at > as_of:
            return None
        return self._record(as_of)[1]

    def _record(self, as_of: dt.datetime) -> tuple[dt.datetime, dict[str, Any]]:
        """(ngay_sua, API record) at ``as_of``, on or after the first event."""

        def seen(t: dt.datetime | None) -> dt.datetime | None:
            return t if t is not None and t <= as_of else None

        submitted, modified = seen(self.submitted_at), self.created_at
        if self.direction == OUTGOING:
            signed, issued = seen(self.signed_at), seen(self.issued_at)
            status = (ISSUED if issued else SIGNED if signed else
                      AWAITING_SIGNATURE if submitted else NEW)
            modified = issued or signed or submitted or modified
            return modified, {
                "id": self.id, "so_ky_hieu": self.number if signed else None,
                "huong": OUTGOING, "ma_don_vi": self.unit_code, "loai_van_ban": self.doc_type,
                "do_khan": self.urgency, "hinh_thuc": self.form,
                "ky_so_ca_nhan": self.signed_by_person if signed else None,
                "ky_so_to_chuc": self.signed_by_organisation if signed else None,
                "ngay_ky": format_time(signed), "ngay_ban_hanh": format_time(issued),
                "qua_truc_lien_thong": self.via_axis if issued else None,
                "noi_nhan_ket_noi": self.recipient_connected,
                "ngay_den": None, "ngay_xac_nhan": None, "ngay_trinh": format_time(submitted),
                "trang_thai": status, "ngay_sua": format_time(modified),
            }
        acknowledged, processed = seen(self.acknowledged_at), seen(self.processed_at)
        status = PROCESSED if processed else IN_PROGRESS if acknowledged else NEW
        modified = processed or submitted or acknowledged or modified
        return modified, {
            "id": self.id, "so_ky_hieu": self.number, "huong": INCOMING,
            "ma_don_vi": self.unit_code, "loai_van_ban": self.doc_type, "do_khan": self.urgency,
            "hinh_thuc": self.form, "ky_so_ca_nhan": self.signed_by_person,
            "ky_so_to_chuc": self.signed_by_organisation, "ngay_ky": None,
            "ngay_ban_hanh": None, "qua_truc_lien_thong": self.via_axis,
            "noi_nhan_ket_noi": self.recipient_connected,
            "ngay_den": format_time(self.created_at), "ngay_xac_nhan": format_time(acknowledged),
            "ngay_trinh": format_time(submitted), "trang_thai": status,
            "ngay_sua": format_time(modified),
        }


class EofficeWorld:
    """The documents of the e-office system and the units they belong to."""

    def __init__(self, units: Iterable[Unit], documents: Iterable[Document], *,
                 default_as_of: dt.datetime, seed: int | None = None) -> None:
        self.units = list(units)
        self.documents = list(documents)
        self.default_as_of = default_as_of
        self.seed = seed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EofficeWorld):
            return NotImplemented
        return (self.documents, self.default_as_of) == (other.documents, other.default_as_of)

    __hash__ = None  # mutable container

    def __repr__(self) -> str:
        return f"EofficeWorld(seed={self.seed}, documents={len(self.documents)})"

    def _resolve(self, as_of: dt.datetime | None) -> dt.datetime:
        return _local(as_of or self.default_as_of)

    def documents_as_of(self, as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Every document whose first event is at or before ``as_of`` (aware, or naive local),
        in its state at ``as_of``; default: ``default_as_of``."""
        at = self._resolve(as_of)
        return [r for d in self.documents if (r := d.as_of(at)) is not None]

    def sorted_as_of(self, as_of: dt.datetime | None = None
                     ) -> list[tuple[int, str, dict[str, Any]]]:
        """(ngay_sua stamp, id, record) sorted as the API serves them."""
        at = self._resolve(as_of)
        rows = []
        for d in self.documents:
            if d.created_at <= at:
                modified, record = d._record(at)
                rows.append((_stamp(modified), d.id, record))
        rows.sort(key=lambda row: (row[0], row[1]))
        return rows


# --------------------------------------------------------------------------------------------
# generation


@dataclass(frozen=True, slots=True)
class _UnitInfo:
    code: str
    name: str
    level: int
    valid_from: dt.date
    valid_to: dt.date | None  # inclusive, as the warehouse reads HieuLucDen
    maturity: float
    maturity_by_year: tuple[tuple[int, float], ...] = ()

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def maturity_in(self, year: int) -> float:
        return dict(self.maturity_by_year).get(year, self.maturity)


def _unit_info(unit: Unit | Mapping[str, Any]) -> _UnitInfo:
    if isinstance(unit, Unit):
        return _UnitInfo(unit.code, unit.name, unit.level, unit.valid_from, unit.valid_to,
                         unit.maturity, unit.maturity_by_year)
    valid_to = unit.get("HieuLucDen")
    return _UnitInfo(unit["MaDonVi"], unit.get("TenDonVi") or unit["MaDonVi"],
                     int(unit.get("CapDonVi") or 0), dt.date.fromisoformat(unit["HieuLucTu"]),
                     dt.date.fromisoformat(valid_to) if valid_to else None, 0.5)


_DEPARTMENT_KEYS = {name: key for key, name in DEPARTMENTS}


def _issuer(unit: _UnitInfo) -> str:
    """The issuer part of a document number: "UBND" for People's Committees, the department's
    key ("STC") otherwise (initials of its name when it is not a known department)."""
    if unit.level != 2:
        return "UBND"
    if unit.name in _DEPARTMENT_KEYS:
        return _DEPARTMENT_KEYS[unit.name]
    plain = unicodedata.normalize("NFD", unit.name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(w[0].upper() for w in plain.split() if w[0].isalpha()) or "DV"


def _document_number(rng: random.Random, n: int, abbr: str | None, issuer: str,
                     level: int) -> str:
    if abbr is not None:
        return f"{n}/{abbr}-{issuer}"
    if level == 4:
        return f"{n}/{issuer}"
    divisions = DEPARTMENT_DIVISIONS if level == 2 else PEOPLES_COMMITTEE_DIVISIONS
    return f"{n}/{issuer}-{rng.choice(divisions)}"


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# Years ahead per unit of maturity (a unit of maturity 1 reaches a share LEAD / 2 years before
# one of 0.5). Issue 6: the leaders of DOMAIN.md §2 signed, sent and kept most documents
# electronically by 2017 while most communes had barely started (docs/simulator.md).
SIGNATURE_LEAD, ELECTRONIC_LEAD, AXIS_LEAD = 5.0, 3.5, 4.5


def _signature_share(when: float, maturity: float) -> float:
    """Digitally signed outgoing documents: rare in 2016, most by 2019 (specialised CA of the
    Government Cipher Committee); mature units one to two years ahead."""
    centre = 2018.2 - SIGNATURE_LEAD * (maturity - 0.5)
    return min(0.97, _logistic(1.8 * (when - centre)))


def _electronic_share(when: float, maturity: float) -> float:
    centre = 2017.3 - ELECTRONIC_LEAD * (maturity - 0.5)
    return min(0.98, max(_signature_share(when, maturity), _logistic(1.2 * (when - centre))))


def _axis_share(when: float, maturity: float) -> float:
    """Electronic documents to connected recipients sent over the exchange axis (provincial
    axis first; the national axis from 12/3/2019)."""
    return min(0.97, _logistic(1.2 * (when - 2017.6 + AXIS_LEAD * (maturity - 0.5))))


def _connected_share(when: float) -> float:
    return min(0.98, 0.35 + 0.2 * max(0.0, when - 2016))


@dataclass
class _Days:
    days: list[dt.date]
    cum_weights: list[float]


def _tet_break(year: int) -> tuple[dt.date, dt.date] | None:
    """The Tết holiday: the longest run of days off starting between 15 January and
    25 February (read from the working-day calendar, not a table of lunar dates)."""
    best: tuple[dt.date, dt.date] | None = None
    day, end = dt.date(year, 1, 15), dt.date(year, 2, 25)
    while day <= end:
        if not is_working_day(day):
            last = day
            while not is_working_day(last + dt.timedelta(days=1)):
                last += dt.timedelta(days=1)
            if best is None or (last - day) > (best[1] - best[0]):
                best = (day, last)
            day = last
        day += dt.timedelta(days=1)
    return best


def _year_days(year: int) -> _Days:
    """Days of a year weighted by document volume: working days, a dip around Tết, a trickle
    on days off."""
    tet = _tet_break(year)
    days, cum, total = [], [], 0.0
    day = dt.date(year, 1, 1)
    while day.year == year:
        if is_working_day(day):
            w = 1.0
            if tet and (tet[0] - dt.timedelta(days=7) <= day <= tet[1] + dt.timedelta(days=10)):
                w = 0.55
        else:
            w = 0.04 if day.weekday() == 5 else 0.01
        total += w
        days.append(day)
        cum.append(total)
        day += dt.timedelta(days=1)
    return _Days(days, cum)


def _office_time(rng: random.Random, day: dt.date) -> dt.datetime:
    r = rng.random()
    if r < 0.55:
        minute = rng.randint(7 * 60 + 30, 11 * 60 + 29)
    elif r < 0.97:
        minute = rng.randint(13 * 60 + 30, 16 * 60 + 59)
    else:
        minute = rng.randint(17 * 60, 19 * 60 + 59)  # overtime
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                       rng.randint(0, 59))


def _moment_after(rng: random.Random, day: dt.date, after: dt.datetime,
                  gap_minutes: tuple[int, int] = (3, 240)) -> dt.datetime:
    """A moment on ``day`` after ``after``: office hours when the day is later, otherwise
    ``after`` plus a gap (which may run past office hours, as real clerks do)."""
    if day > after.date():
        return max(_office_time(rng, day), after + dt.timedelta(seconds=1))
    moment = after + dt.timedelta(minutes=rng.randint(*gap_minutes), seconds=rng.randint(0, 59))
    if moment.date() != after.date():  # stay on the same day
        moment = after + dt.timedelta(seconds=rng.randint(1, 59))
    return moment


def _working_day_on_or_after(day: dt.date) -> dt.date:
    return day if is_working_day(day) else add_working_days(day, 1)


def _default_years(world: OneStopWorld) -> dict[int, int]:
    """Dossiers per year of receipt."""
    counts: Counter[int] = Counter()
    for d in world.dossiers:
        received = d["NgayTiepNhan"] if isinstance(d, dict) else d.received_at
        if isinstance(received, str):
            received = dt.datetime.fromisoformat(received)
        counts[_local(received).year] += 1
    return dict(counts)


def build_eoffice_world(world: OneStopWorld, seed: int, documents: int | None = None,
                        years: Iterable[int] | None = None, *,
                        per_year: Mapping[int, int] | None = None,
                        numbering: tuple[int, int] = (0, 1)) -> EofficeWorld:
    """The e-office documents of the units of ``world`` (levels 1–4), deterministic in
    (units, seed, documents, years).

    Defaults: ``documents`` = 3 per dossier of ``world``; ``years`` = the years its dossiers
    were received (volume per year follows the dossiers). A document belongs to a unit valid on
    its first day. ``default_as_of`` is 15 January 08:00 of the year after the last one.

    For a shard of a bigger world (:mod:`govkpi.simulator.store`): ``per_year`` replaces the
    dossier counts read from ``world`` (the year weights), and ``numbering=(shard, shards)``
    interleaves the so_ky_hieu sequence numbers across shards (n → (n - 1) · shards + shard
    + 1) so that numbers stay unique per issuer and year.
    """
    per_year = dict(per_year) if per_year is not None else _default_years(world)
    if documents is None:
        if not world.dossiers:
            raise ValueError("the one-stop world has no dossiers: pass documents=N")
        documents = DOCUMENTS_PER_DOSSIER * len(world.dossiers)
    years = sorted(set(years)) if years is not None else sorted(per_year)
    if not years:
        raise ValueError("no years: pass years=(2016, 2017) or a world with dossiers")
    if years[0] < 2016 or years[-1] > 2029:
        raise ValueError(f"years {years[0]}–{years[-1]} outside 2016–2029 (the working-day "
                         "calendar covers 2016–2030 and timelines run into the next year)")
    if documents < 0:
        raise ValueError(f"documents={documents}: must be >= 0")
    units = [_unit_info(u) for u in world.units]
    units = [u for u in units if 1 <= u.level <= 4]
    if not units:
        raise ValueError("the one-stop world has no units of levels 1–4")

    rng = random.Random(f"govkpi.eoffice|{seed}")
    # the draws behind EO-1, EO-2 and EO-5 are stratified per unit and year (govkpi.simulator.
    # strata): a unit's rates are on target even with a few dozen documents a year
    strata = Strata("govkpi.eoffice", seed, numbering[0])
    year_weights = [per_year.get(y) or 1.1 ** i * (sum(per_year.values()) / max(1, len(per_year)))
                    for i, y in enumerate(years)]
    year_cum = [sum(year_weights[:i + 1]) for i in range(len(years))]
    calendar = {y: _year_days(y) for y in years}
    types = [t for t in DOCUMENT_TYPES]
    type_cum = [sum(t[2] for t in types[:i + 1]) for i in range(len(types))]
    urgency_cum = [sum(w for _, w in URGENCY[:i + 1]) for i in range(len(URGENCY))]
    valid_units: dict[dt.date, tuple[list[_UnitInfo], list[float]]] = {}

    def units_on(day: dt.date) -> tuple[list[_UnitInfo], list[float]]:
        if day not in valid_units:
            valid = [u for u in units if u.valid_on(day)]
            cum, total = [], 0.0
            for u in valid:
                total += LEVEL_WEIGHT[u.level]
                cum.append(total)
            valid_units[day] = (valid, cum)
        return valid_units[day]

    drafts: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    for i in range(documents):
        year = rng.choices(years, cum_weights=year_cum)[0]
        days = calendar[year]
        day = rng.choices(days.days, cum_weights=days.cum_weights)[0]
        candidates, cum = units_on(day)
        if not candidates:
            continue  # no unit exists that day
        unit = rng.choices(candidates, cum_weights=cum)[0]
        doc_type, abbr, _ = rng.choices(types, cum_weights=type_cum)[0]
        urgency = rng.choices([u for u, _ in URGENCY], cum_weights=urgency_cum)[0]
        direction = OUTGOING if rng.random() < OUTGOING_SHARE else INCOMING
        when = year + (day.timetuple().tm_yday - 1) / 366
        fields = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                  "unit": unit, "doc_type": doc_type, "abbr": abbr, "urgency": urgency,
                  "direction": direction}
        if direction == OUTGOING:
            fields.update(_outgoing_timeline(rng, unit, day, when, urgency, strata))
        else:
            fields.update(_incoming_timeline(rng, unit, day, when, urgency, abbr, strata))
        drafts.append((fields["created_at"], i, fields))

    # so_ky_hieu: one sequence per issuer and year, in signing order (Decree 30/2020 art. 15)
    drafts.sort(key=lambda x: (x[0], x[1]))
    signing_order = sorted((f for _, _, f in drafts if f["direction"] == OUTGOING),
                           key=lambda f: (f["signed_at"], f["id"]))
    sequence: dict[tuple[str, int], int] = defaultdict(int)
    shard, shards = numbering
    for f in signing_order:
        key = (f["unit"].code, f["signed_at"].year)
        sequence[key] += 1
        f["number"] = _document_number(rng, (sequence[key] - 1) * shards + shard + 1,
                                       f["abbr"], _issuer(f["unit"]), f["unit"].level)
    out = []
    for _, _, f in drafts:
        unit = f.pop("unit")
        f.pop("abbr")
        out.append(Document(unit_code=unit.code, **f))
    default_as_of = dt.datetime(years[-1] + 1, 1, 15, 8, 0, tzinfo=VN_TZ)
    return EofficeWorld(units, out, default_as_of=default_as_of, seed=seed)


def _outgoing_timeline(rng: random.Random, unit: _UnitInfo, day: dt.date, when: float,
                       urgency: str, strata: Strata) -> dict[str, Any]:
    m = unit.maturity_in(day.year)
    key = (unit.code, day.year)
    urgent = urgency != "thuong"
    p_signed = _signature_share(when, m)
    # the decisions behind EO-1, EO-2 and EO-5 are stratified per unit and year, each within
    # (connected recipient or not), so that the electronic documents to connected recipients
    # are on target too
    connected = strata.hit(("connected", *key), _connected_share(when))
    signed = strata.hit(("signed", connected, *key), p_signed)
    electronic = signed or strata.hit(("electronic", connected, *key), (
        (_electronic_share(when, m) - p_signed) / max(1e-9, 1 - p_signed)))
    if signed:
        form = ELECTRONIC if rng.random() < 0.85 else BOTH
        # 88 % signed by the person and the organisation (EO-1), the rest by one of them
        if strata.hit(("both", *key), 0.88):
            by_person = by_org = True
        else:
            by_person = rng.random() < 0.67
            by_org = not by_person
    else:
        form = (BOTH if rng.random() < 0.7 else ELECTRONIC) if electronic else PAPER
        by_person = by_org = False
    via_axis = electronic and connected and strata.hit(("axis", *key), _axis_share(when, m))

    created = _office_time(rng, day)
    submit_day = add_working_days(_working_day_on_or_after(day),
                                  0 if urgent else rng.choice((0, 0, 1, 1, 2, 3)))
    submitted = _moment_after(rng, submit_day, created)
    sign_day = add_working_days(submit_day, 0 if urgent else rng.choice((0, 0, 0, 1, 1, 2)))
    signed_at = _moment_after(rng, sign_day, submitted, (5, 180))
    # EO-3: issued within the signing day + 1 working day; late mostly at immature units
    on_time = 0.72 + 0.26 * m + 0.01 * max(0.0, when - 2016)
    if urgent or rng.random() < on_time:
        lag = 0 if urgent or rng.random() < 0.7 else 1
    else:
        lag = 2 + min(10, int(rng.expovariate(0.5)))
    issue_day = add_working_days(sign_day, lag)
    issued_at = _moment_after(rng, issue_day, signed_at, (2, 120))
    return {"form": form, "signed_by_person": by_person, "signed_by_organisation": by_org,
            "via_axis": via_axis, "recipient_connected": connected, "created_at": created,
            "submitted_at": submitted, "signed_at": signed_at, "issued_at": issued_at}


def _incoming_timeline(rng: random.Random, unit: _UnitInfo, day: dt.date, when: float,
                       urgency: str, abbr: str | None, strata: Strata) -> dict[str, Any]:
    m = unit.maturity_in(day.year)
    sender_maturity = 0.5 * m + 0.25 + rng.uniform(-0.2, 0.2)
    connected = rng.random() < _connected_share(when)
    electronic = strata.hit(("incoming", unit.code, day.year),
                            _electronic_share(when, sender_maturity))
    via_axis = electronic and connected and rng.random() < _axis_share(when, sender_maturity)
    signed = electronic and rng.random() < _signature_share(when, sender_maturity) / max(
        1e-9, _electronic_share(when, sender_maturity))
    form = (ELECTRONIC if rng.random() < 0.8 else BOTH) if signed else (
        (BOTH if rng.random() < 0.6 else ELECTRONIC) if electronic else PAPER)
    sender = rng.choice(EXTERNAL_SENDERS) if rng.random() < 0.35 else rng.choice(
        ("UBND", *(k for k, _ in DEPARTMENTS)))
    number = f"{rng.randint(1, 4000)}/{abbr}-{sender}" if abbr else (
        f"{rng.randint(1, 4000)}/{sender}-{rng.choice(('VP', 'TH', 'KH', 'VX', 'KT'))}")

    if via_axis and rng.random() < 0.2:  # the axis delivers at any hour
        arrived = dt.datetime(day.year, day.month, day.day, rng.randint(0, 23),
                              rng.randint(0, 59), rng.randint(0, 59))
    else:
        arrived = _office_time(rng, day)
    # EO-4: acknowledged the same day — mostly at mature units, for electronic arrivals
    never = rng.random() < 0.12 * (1 - m) * 0.8 ** max(0.0, when - 2016)
    acknowledged = submitted = processed = None
    if not never:
        same_day = (0.4 + 0.58 * m) * (1.0 if electronic else 0.8) * min(
            1.0, 0.75 + 0.05 * (when - 2016))
        office_day = is_working_day(day) and arrived.hour < 17
        if office_day and rng.random() < same_day:
            ack_day = day
        else:
            extra = 0 if rng.random() < 0.4 + 0.4 * m else 1 + int(rng.expovariate(0.6))
            ack_day = add_working_days(day, 1 + extra)
        acknowledged = _moment_after(rng, ack_day, arrived, (2, 150))
        submit_day = add_working_days(ack_day, rng.choice((0, 0, 0, 1)))
        submitted = _moment_after(rng, submit_day, acknowledged, (5, 120))
        span = rng.randint(0, 2) if urgency != "thuong" else rng.randint(1, 10)
        processed = _moment_after(rng, add_working_days(submit_day, span), submitted)
    return {"number": number, "form": form, "signed_by_person": signed,
            "signed_by_organisation": signed and rng.random() < 0.9, "via_axis": via_axis,
            "recipient_connected": connected, "created_at": arrived,
            "acknowledged_at": acknowledged, "submitted_at": submitted,
            "processed_at": processed}


# --------------------------------------------------------------------------------------------
# the HTTP server


def _previous_version(world: EofficeWorld, as_of: dt.datetime):
    """record → (stamp, id, the document as served just before its latest event) or None."""
    at = _local(as_of)
    by_id = {d.id: d for d in world.documents}

    def previous(record: dict[str, Any]):
        doc = by_id.get(record["id"])
        if doc is None:
            return None
        times = sorted({t for t in (doc.created_at, doc.submitted_at, doc.signed_at,
                                    doc.issued_at, doc.acknowledged_at, doc.processed_at)
                        if t is not None and t <= at})
        if len(times) < 2:
            return None
        modified, before = doc._record(times[-2])
        return _stamp(modified), doc.id, before

    return previous


class _SortedDocuments:
    """Documents at one as-of moment, sorted by (ngay_sua, id) and pre-encoded as JSON (with
    ``mess`` applied: see :mod:`govkpi.simulator.mess`). ``keys`` are (ngay_sua stamp, id,
    occurrence): a document served twice (mess "repeat") has occurrences 0 and 1, so that
    cursor paging serves both copies."""

    __slots__ = ("bodies", "keys", "manifest", "stamps")

    # the interface the handler uses (a disk store's view has the same: see
    # govkpi.simulator.store.EofficeStoreView)

    def __init__(self, world: EofficeWorld, as_of: dt.datetime,
                 mess: Mess | None = None) -> None:
        rows = world.sorted_as_of(as_of)
        self.manifest: Manifest = []
        if mess is not None and mess.active:
            found: Manifest = []
            rows = sort_rows(apply_mess(mess, eoffice_rules(_previous_version(world, as_of)),
                                        rows, found))
            self.manifest = sorted_manifest(found)
        encode = msgspec.json.Encoder().encode
        self.keys = []
        for i, (stamp, doc_id, _) in enumerate(rows):
            previous = self.keys[-1] if i else None
            n = previous[2] + 1 if previous and previous[:2] == (stamp, doc_id) else 0
            self.keys.append((stamp, doc_id, n))
        self.stamps = [stamp for stamp, _, _ in rows]
        self.bodies = [encode(record) for _, _, record in rows]

    def __len__(self) -> int:
        return len(self.bodies)

    def position_after(self, stamp: int, doc_id: str, occurrence: int) -> int:
        """The first position after the cursor's key (stamp, id, occurrence)."""
        return bisect.bisect_right(self.keys, (stamp, doc_id, occurrence))

    def position_since(self, since: int) -> int:
        """The first position with ngay_sua >= ``since``."""
        return bisect.bisect_left(self.stamps, since)

    def key_at(self, position: int) -> tuple[int, str, int]:
        return self.keys[position]

    def chunk(self, start: int, stop: int) -> list[bytes]:
        return self.bodies[start:stop]


class _CursorError(ValueError):
    pass


class _Cursors:
    """Opaque cursors: base64url of [version, ngay_sua stamp, id, modified_since stamp] and an
    HMAC, so that a cursor survives a restart of the same world but cannot be forged."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"govkpi-eoffice-cursor|" + secret).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:12]

    def encode(self, stamp: int, doc_id: str, since: int | None, occurrence: int = 0) -> str:
        position = [1, stamp, doc_id, since] + ([occurrence] if occurrence else [])
        payload = msgspec.json.encode(position)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode()

    def decode(self, token: str) -> tuple[int, str, int | None, int]:
        refused = _CursorError(f"cursor={token[:40]!r} is not a cursor this server issued: "
                               "restart from the first page (omit cursor)")
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                   validate=True)
        except (binascii.Error, ValueError):
            raise refused from None
        payload, mac = raw[:-12], raw[-12:]
        if len(raw) <= 12 or not hmac.compare_digest(mac, self._mac(payload)):
            raise refused
        version, stamp, doc_id, since, *occurrence = msgspec.json.decode(payload)
        if version != 1:
            raise refused
        return stamp, doc_id, since, (occurrence[0] if occurrence else 0)


@dataclass
class _State:
    api_key: str
    as_of: dt.datetime
    view: Any  # _SortedDocuments or a store's view with the same methods
    cursors: _Cursors
    mess: Mess | None = None
    views_for: Callable[[dt.datetime], Any] | None = None  # e.g. a disk store


_STATE = web.AppKey("eoffice_state", _State)


def _check_key(request: web.Request, state: _State) -> web.Response | None:
    key = request.headers.get("X-API-Key")
    if not key:
        return json_response(401, {"error": "unauthorized",
                           "message": "missing API key: send the header 'X-API-Key: <key>'"})
    if not hmac.compare_digest(key.encode(), state.api_key.encode()):
        return json_response(401, {"error": "unauthorized",
                           "message": "wrong API key in X-API-Key: check the key configured "
                                      "for this e-office system"})
    return None


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "")
    if raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ValueError(f"limit={raw!r} is not an integer") from None
    if limit < 1:
        raise ValueError(f"limit={limit}: must be at least 1")
    if limit > MAX_LIMIT:
        raise ValueError(f"limit={limit} exceeds the maximum of {MAX_LIMIT}: "
                         f"page with limit<={MAX_LIMIT} and next_cursor")
    return limit


def _modified_since(request: web.Request) -> int | None:
    raw = request.query.get("modified_since", "")
    if raw == "":
        return None
    try:
        return _stamp(parse_time(raw))
    except ValueError as exc:
        raise ValueError(f"modified_since: {exc}") from None


async def _documents(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    denied = _check_key(request, state)
    if denied is not None:
        return denied
    try:
        limit = _limit(request)
        since = _modified_since(request)
        token = request.query.get("cursor", "")
        view = state.view
        if token:
            stamp, doc_id, cursor_since, occurrence = state.cursors.decode(token)
            if "modified_since" in request.query and since != cursor_since:
                raise ValueError("modified_since differs from the one this cursor was issued "
                                 "for: keep the filter while paging, or start again")
            since = cursor_since
            start = view.position_after(stamp, doc_id, occurrence)
        else:
            start = 0
        if since is not None:
            start = max(start, view.position_since(since))
    except ValueError as exc:
        return bad_request(str(exc))
    total = len(view)
    stop = min(total, start + limit)
    next_cursor = b"null"
    if stop < total and stop > start:
        stamp, doc_id, occurrence = view.key_at(stop - 1)
        next_cursor = b'"%s"' % state.cursors.encode(stamp, doc_id, since, occurrence).encode()
    body = b"".join((b'{"items":[', b",".join(view.chunk(start, stop)),
                     b'],"next_cursor":', next_cursor, b"}"))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _health(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    return json_response(200, {"status": "ok", "as_of": format_time(state.as_of),
                       "documents": len(state.view)})


def _eoffice_world(world: OneStopWorld | EofficeWorld, seed: int | None,
                   documents: int | None) -> EofficeWorld:
    if isinstance(world, EofficeWorld):
        return world
    return build_eoffice_world(world, seed if seed is not None else (world.seed or 2017),
                               documents)


def create_app(world: OneStopWorld | EofficeWorld, as_of: dt.datetime | None = None, *,
               api_key: str = DEFAULT_API_KEY, faults: Faults | None = None,
               seed: int | None = None, documents: int | None = None,
               mess: Mess | None = None,
               views_for: Callable[[dt.datetime], Any] | None = None,
               cursor_secret: bytes | None = None) -> web.Application:
    """The aiohttp application (also usable with aiohttp's test client). A one-stop world is
    turned into documents with :func:`build_eoffice_world` (``seed`` default: the world's).
    ``mess`` (default: none) injects realistic problems (:mod:`govkpi.simulator.mess`).

    ``views_for(as_of)`` replaces the in-memory view of ``world`` (a disk store serves province
    scale this way: :func:`govkpi.simulator.store.create_eoffice_store_app`); ``world`` then
    only gives the default as-of, and ``cursor_secret`` (default: from the world's seed and
    document count) keeps cursors those of the in-memory server. Not combined with mess."""
    if views_for is not None and mess is not None and mess.active:
        raise ValueError("mess is applied to in-memory views only; a store serves clean records")
    eoffice = _eoffice_world(world, seed, documents)
    as_of = as_of or eoffice.default_as_of
    app = web.Application(middlewares=[fault_middleware(faults)] if faults else [])
    secret = cursor_secret or f"{eoffice.seed}|{len(eoffice.documents)}".encode()
    view = views_for(as_of) if views_for else _SortedDocuments(eoffice, as_of, mess)
    app[_STATE] = _State(api_key, as_of, view, _Cursors(secret), mess, views_for)
    app.router.add_get("/api/v2/documents", _documents)
    app.router.add_get("/health", _health)
    return app


class EofficeServer(BackgroundServer):
    """The e-office API on a background thread with its own event loop.

    >>> with EofficeServer(generate_world(dossiers=100)) as server:
    ...     server.url, server.api_key  # ('http://127.0.0.1:54321', 'govkpi-eoffice-key')
    """

    name = "e-office simulator"

    def __init__(self, world: OneStopWorld | EofficeWorld, as_of: dt.datetime | None = None,
                 api_key: str = DEFAULT_API_KEY, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, seed: int | None = None,
                 documents: int | None = None, mess: Mess | None = None,
                 views_for: Callable[[dt.datetime], Any] | None = None,
                 cursor_secret: bytes | None = None) -> None:
        self.world = _eoffice_world(world, seed, documents)
        self.api_key = api_key
        super().__init__(create_app(self.world, as_of, api_key=api_key, faults=faults,
                                    mess=mess, views_for=views_for,
                                    cursor_secret=cursor_secret), host, port)

    @property
    def as_of(self) -> dt.datetime:
        return self._app[_STATE].as_of

    @property
    def mess_manifest(self) -> Manifest:
        """The problems injected into the current view (see :mod:`govkpi.simulator.mess`)."""
        return getattr(self._app[_STATE].view, "manifest", [])

    def set_as_of(self, as_of: dt.datetime) -> None:
        """Move the simulated clock: later requests see the documents at ``as_of``."""
        state = self._app[_STATE]
        view = (state.views_for(as_of) if state.views_for
                else _SortedDocuments(self.world, as_of, state.mess))
        state.view, state.as_of = view, as_of  # swapped whole: requests see old or new


def run_forever(world: OneStopWorld | EofficeWorld | None = None, *,
                as_of: dt.datetime | None = None, host: str = "127.0.0.1", port: int = 8802,
                seed: int = 2017, dossiers: int = 10_000, years: Sequence[int] = (2016, 2017),
                documents: int | None = None, api_key: str = DEFAULT_API_KEY,
                faults: Faults | None = None, mess: Mess | None = None) -> None:
    """Serve until SIGTERM or SIGINT (main thread only). Without ``world``, generate the
    one-stop world from ``seed``, ``dossiers`` and ``years`` and its documents."""
    world = world or generate_world(seed=seed, dossiers=dossiers, years=years)
    app = create_app(world, as_of, api_key=api_key, faults=faults, seed=seed,
                     documents=documents, mess=mess)
    state = app[_STATE]
    serve_until_signalled(app, host, port, lambda bound: (
        f"e-office simulator listening on http://{host}:{bound} "
        f"({len(state.view)} documents as of {format_time(state.as_of)}; "
        f"send X-API-Key; {describe_mess(state.view.manifest)})"))


def _as_of(text: str) -> dt.datetime:
    try:
        return parse_time(text).replace(tzinfo=VN_TZ)
    except ValueError:
        pass
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give {TIME_FORMAT_HINT} or ISO 8601 with an offset such as "
            "2018-01-15T08:00:00+07:00") from None
    return value if value.tzinfo else value.replace(tzinfo=VN_TZ)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m govkpi.simulator.eoffice",
        description="Serve a deterministic synthetic Bình Định e-office system (SOURCES.md §2: "
                    "X-API-Key, cursor paging, dd/MM/yyyy HH:mm:ss local times) over HTTP "
                    "until SIGTERM/SIGINT. Its units are those of the one-stop world generated "
                    "from the same --seed/--dossiers/--years.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_arguments(parser, port=8802, as_of_type=_as_of,
                         as_of_help="simulated 'now': dd/MM/yyyy HH:mm:ss local time or ISO "
                                    "8601; default: 15 January 08:00 of the year after the "
                                    "last one")
    parser.add_argument("--documents", type=int, default=None,
                        help=f"number of documents; None = {DOCUMENTS_PER_DOSSIER} per "
                             "dossier")
    parser.add_argument("--api-key",
                        default=os.environ.get("GOVKPI_EOFFICE_API_KEY", DEFAULT_API_KEY),
                        help="the key clients send as X-API-Key (env GOVKPI_EOFFICE_API_KEY)")
    args = parser.parse_args(argv)
    world, faults = world_and_faults(parser, args)
    try:
        eoffice = build_eoffice_world(world, args.seed, args.documents, args.years)
    except ValueError as exc:
        parser.error(str(exc))
    run_forever(eoffice, as_of=args.as_of, host=args.host, port=args.port,
                api_key=args.api_key, faults=faults, mess=mess_option(parser, args))


if __name__ == "__main__":
    sys.exit(main())
