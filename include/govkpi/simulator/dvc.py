"""The online public-service portal, "Cổng dịch vụ công" (SOURCES.md §3), derived from a
:class:`~govkpi.simulator.world.OneStopWorld` and served over HTTP.

:func:`build_dvc_world` derives four record types from the one-stop world's public fields, each
a timeline of states so that the portal can be viewed as of any moment:

- **services** — the province's catalogue (:func:`catalogue_pairs`: a share of every
  department's and district's procedures by maturity, level 3/4 from before 2016, used or not),
  one per other (procedure, unit) pair that receives online dossiers, online before the first
  one, plus ~30% more on pairs that never get one (DVC-7, 766 §3.2). Level 3/4 (2 for some
  never-used ones) until 2021; from 2022-01-01 (Decree 42/2022) "full" (toàn trình) or
  "partial" (một phần), and level-2 services go offline that day.
- **submissions** — exactly one "accepted" per online dossier (dossier_code = MaHoSo,
  draft → submitted → accepted at NgayTiepNhan), plus abandoned drafts (~25% of all started),
  "rejected" (~5%) and "withdrawn" (~2%) ones, so DVC-5 (submitted / started) is computable.
- **payments** — for fee-bearing online dossiers, a rising share paid online (DVC-3, 766 §3.6):
  mostly success; some failed then a later success; some pending that settle days later.
- **ratings** — ~8% of finished dossiers in 2016 rising 2 points a year, scored lower when the
  dossier was late, some low scores flagged as complaints (DVC-6, 766 §5.4); rated a few days
  after the end of processing.

Every timestamp is epoch milliseconds (int). Every draw is made from a ``random.Random`` seeded
from (seed, a tag, the item's key), so an item's records do not depend on iteration order.

HTTP (SOURCES.md §3): Basic auth; ``GET /api/services | /api/submissions | /api/payments |
/api/ratings`` with ``offset`` (default 0), ``limit`` (1–1000, default 100) and ``since``
(epoch ms, inclusive, on updated_at); the body is a bare JSON array ordered by
(updated_at, id) and ``Link: <…>; rel="next"`` points at the next page while more remain.
``GET /health`` needs no auth.

Run as a process: ``python -m govkpi.simulator.dvc --port 8803`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hashlib
import hmac
import math
import os
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec
from aiohttp import BasicAuth, web

from govkpi.simulator.mess import Manifest, Mess, Rules, dvc_rules, sort_rows, sorted_manifest
from govkpi.simulator.mess import apply as apply_mess
from govkpi.simulator.serving import (
    ClockedServer,
    Faults,
    add_server_arguments,
    describe_mess,
    fault_middleware,
    json_response,
    mess_option,
    serve_until_signalled,
    world_and_faults,
)
from govkpi.simulator.world import (
    VN_OFFSET,
    VNEID_LAUNCH,
    Dossier,
    OneStopWorld,
    Procedure,
    Unit,
    generate_world,
    iso,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
DEFAULT_USERNAME = "govkpi"
DEFAULT_PASSWORD = "govkpi-dvc-secret"  # the simulator's well-known test password
DEFAULT_SEED = 2017
_TAG = "govkpi-dvc-v1"  # fixed tag of every draw: change it and every derived record changes

# Decree 42/2022/NĐ-CP: from 2022 an online service is "full" (toàn trình) or "partial"
LEVEL_REFORM = dt.datetime(2022, 1, 1, tzinfo=VN_OFFSET)
PORTAL_LAUNCH = dt.datetime(2015, 6, 1, 8, 0, tzinfo=VN_OFFSET)  # provincial portal (simulated)
# The catalogue every department and district offers at level 3–4 (catalogue_pairs), online
# between the portal's launch and this day. Issue 6: DVC-1 (online coverage) is then a
# deterministic function of maturity at any volume — at least the share below, more where
# online dossiers use other procedures too. (a, b) of a + b × maturity, by unit level:
# departments ≥ 22 % (DVC-1 ≥ 0.2: 40 points of binh_dinh_2017 4.1 for every department);
# districts ≥ 10 % (DVC-1 ≥ 0.05: 20 points at least; Quy Nhơn, maturity 0.9, ≥ 0.2: 40).
CATALOGUE_READY = dt.datetime(2016, 1, 1, tzinfo=VN_OFFSET)
CATALOGUE_SHARE = {2: (0.22, 0.2), 3: (0.1, 0.25)}
PAYMENT_PLATFORM_LAUNCH = dt.datetime(2020, 3, 1, tzinfo=VN_OFFSET)  # the national one
SUBMISSION_STATUSES = ("draft", "submitted", "accepted", "rejected", "withdrawn")
PAYMENT_STATUSES = ("success", "failed", "pending")
ACCOUNT_TYPES = ("vneid", "portal", "guest")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def epoch_ms(value: dt.datetime) -> int:
    """Aware datetime → epoch milliseconds."""
    if value.tzinfo is None:
        raise ValueError(f"{value} has no UTC offset: pass an aware datetime")
    return (value - _EPOCH) // _MS


def from_epoch_ms(value: int) -> dt.datetime:
    return (_EPOCH + value * _MS).astimezone(VN_OFFSET)


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class DvcRecord:
    """One portal record as a timeline: ``states[i]`` (the full API dict, updated_at included)
    holds from ``times[i]`` (epoch ms, strictly increasing) on."""

    id: str
    times: tuple[int, ...]
    states: tuple[dict[str, Any], ...]

    def as_of(self, as_of_ms: int) -> dict[str, Any] | None:
        """The API record at ``as_of_ms``, or None when it does not exist yet."""
        n = bisect.bisect_right(self.times, as_of_ms)
        return dict(self.states[n - 1]) if n else None


class _Timeline:
    """Builds a :class:`DvcRecord`: each ``at`` applies ``changes`` and stamps updated_at."""

    def __init__(self, record_id: str, **fields: Any) -> None:
        self.id = record_id
        self.current = fields
        self.times: list[int] = []
        self.states: list[dict[str, Any]] = []

    def at(self, when: int, **changes: Any) -> _Timeline:
        if self.times and when <= self.times[-1]:
            when = self.times[-1] + 1  # keep times strictly increasing
        self.current = {**self.current, **changes, "updated_at": when}
        self.times.append(when)
        self.states.append(self.current)
        return self

    def record(self) -> DvcRecord:
        return DvcRecord(self.id, tuple(self.times), tuple(self.states))


class _Facts(NamedTuple):
    """What the portal needs of a one-stop dossier (from a Dossier or an API-shaped dict)."""

    code: str
    procedure_code: str
    unit_code: str
    online: bool
    received: int
    due: int | None
    ended: int | None
    fee: int
    vneid: bool


def _ms_field(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return epoch_ms(value)
    parsed = dt.datetime.fromisoformat(value)
    return epoch_ms(parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_OFFSET))


def _facts(dossier: Dossier | Mapping[str, Any]) -> _Facts:
    if isinstance(dossier, Dossier):
        ended = dossier.ended_at
        return _Facts(dossier.code, dossier.procedure_code, dossier.unit_code,
                      dossier.channel == 2, epoch_ms(dossier.received_at),
                      epoch_ms(dossier.due_at), epoch_ms(ended) if ended else None,
                      dossier.fee, dossier.vneid)
    received = _ms_field(dossier["NgayTiepNhan"])
    assert received is not None
    return _Facts(str(dossier["MaHoSo"]), str(dossier.get("MaTTHC") or ""),
                  str(dossier.get("MaDonVi") or ""), dossier.get("KenhThucHien") == 2, received,
                  _ms_field(dossier.get("NgayHenTra")), _ms_field(dossier.get("NgayKetThucXuLy")),
                  int(dossier.get("PhiLePhi") or 0), bool(dossier.get("XacThucVNeID")))


def _rng(seed: int, kind: str, key: str) -> random.Random:
    """A generator for one item: the same (seed, kind, key) always draws the same numbers."""
    return random.Random(f"{_TAG}|{seed}|{kind}|{key}")


def _rank(seed: int, kind: str, key: str) -> bytes:
    return hashlib.blake2b(f"{_TAG}|{seed}|{kind}|{key}".encode(), digest_size=8).digest()


def _year(ms: int) -> int:
    return from_epoch_ms(ms).year


def _office_time(rng: random.Random, lo: int, hi: int) -> int:
    """A moment in [lo, hi) moved to office hours (08:00–16:59) on its day when that stays in
    range: services are switched on by civil servants."""
    t = rng.randrange(lo, max(lo + 1, hi))
    day = from_epoch_ms(t).replace(hour=8, minute=0, second=0, microsecond=0)
    moved = epoch_ms(day) + rng.randrange(9 * _HOUR) // _MINUTE * _MINUTE
    return moved if lo <= moved < hi else t


# --------------------------------------------------------------------------------------------
# the portal world


@dataclass(frozen=True)
class DvcWorld:
    """The portal's records (timelines) derived from a one-stop world."""

    services: tuple[DvcRecord, ...]
    submissions: tuple[DvcRecord, ...]
    payments: tuple[DvcRecord, ...]
    ratings: tuple[DvcRecord, ...]
    default_as_of: dt.datetime
    seed: int

    def _view(self, records: Iterable[DvcRecord], as_of: dt.datetime | int | None
              ) -> list[dict[str, Any]]:
        at = self.as_of_ms(as_of)
        return [r for r in (rec.as_of(at) for rec in records) if r is not None]

    def as_of_ms(self, as_of: dt.datetime | int | None) -> int:
        if as_of is None:
            as_of = self.default_as_of
        return as_of if isinstance(as_of, int) else epoch_ms(as_of)

    def services_as_of(self, as_of: dt.datetime | int | None = None) -> list[dict[str, Any]]:
        """Online services that exist at ``as_of`` (aware datetime or epoch ms), in their
        state then."""
        return self._view(self.services, as_of)

    def submissions_as_of(self, as_of: dt.datetime | int | None = None) -> list[dict[str, Any]]:
        return self._view(self.submissions, as_of)

    def payments_as_of(self, as_of: dt.datetime | int | None = None) -> list[dict[str, Any]]:
        return self._view(self.payments, as_of)

    def ratings_as_of(self, as_of: dt.datetime | int | None = None) -> list[dict[str, Any]]:
        return self._view(self.ratings, as_of)

    def __repr__(self) -> str:
        return (f"DvcWorld(seed={self.seed}, services={len(self.services)}, "
                f"submissions={len(self.submissions)}, payments={len(self.payments)}, "
                f"ratings={len(self.ratings)})")


def _candidate_pairs(world: OneStopWorld, dossiers: bool = True) -> set[tuple[str, str]]:
    """(procedure, unit) pairs that could plausibly be offered online: every pair with a
    dossier (unless ``dossiers`` is false), plus the catalogue's level × the units of that
    level."""
    by_level: dict[int, list[str]] = defaultdict(list)
    for u in world.units:
        if isinstance(u, Unit):
            by_level[u.level].append(u.code)
        else:
            by_level[int(u["CapDonVi"])].append(u["MaDonVi"])
    pairs: set[tuple[str, str]] = set()
    for p in world.procedures:
        if isinstance(p, Procedure):
            code, level, owner = p.code, p.level, p.owner_code
        else:
            code, level, owner = p["MaTTHC"], p.get("CapThucHien"), None
        if level == "tinh" and owner:
            pairs.add((code, owner))
        elif level in ("huyen", "xa"):
            pairs.update((code, u) for u in by_level[3 if level == "huyen" else 4])
    if dossiers:
        pairs.update(dossier_pairs(_facts(d) for d in world.dossiers))
    return pairs


def dossier_pairs(facts: Iterable[_Facts]) -> set[tuple[str, str]]:
    """The (procedure, unit) pairs of dossiers."""
    return {(f.procedure_code, f.unit_code) for f in facts if f.procedure_code and f.unit_code}


def first_online(facts: Iterable[_Facts]) -> dict[tuple[str, str], int]:
    """(procedure, unit) → the receipt (ms) of its first online dossier."""
    first: dict[tuple[str, str], int] = {}
    for f in facts:
        if f.online:
            key = (f.procedure_code, f.unit_code)
            first[key] = min(f.received, first.get(key, f.received))
    return first


def _maturity(world: OneStopWorld) -> dict[str, float]:
    return {u.code: u.maturity for u in world.units if isinstance(u, Unit)}


def catalogue_share(level: int, maturity: float) -> float:
    """Share of a department's (level 2) or district's (level 3) procedures it offers online at
    level 3–4 from 2015, whether or not anyone uses them: ``a + b × maturity`` with (a, b) =
    :data:`CATALOGUE_SHARE` of the level."""
    a, b = CATALOGUE_SHARE[level]
    return a + b * maturity


def catalogue_pairs(world: OneStopWorld) -> set[tuple[str, str]]:
    """(procedure, unit) pairs of the province's online catalogue: for each department its own
    procedures, for each district the district-level procedures, the most used first
    (popularity, then code), ⌈:func:`catalogue_share` × their number⌉ of them. Seed-independent;
    empty for a hand-written world (procedures as dicts carry no owner or popularity)."""
    procedures = [p for p in world.procedures if isinstance(p, Procedure)]
    by_popularity = sorted(procedures, key=lambda p: (-p.popularity, p.code))
    district_level = [p.code for p in by_popularity if p.level == "huyen"]
    owned: dict[str, list[str]] = defaultdict(list)
    for p in by_popularity:
        if p.level == "tinh":
            owned[p.owner_code].append(p.code)
    pairs: set[tuple[str, str]] = set()
    for u in world.units:
        if not isinstance(u, Unit) or u.level not in CATALOGUE_SHARE:
            continue
        codes = owned.get(u.code, []) if u.level == 2 else district_level
        n = math.ceil(catalogue_share(u.level, u.maturity) * len(codes))
        pairs.update((code, u.code) for code in codes[:n])
    return pairs


def _build_services(world: OneStopWorld, facts: list[_Facts], seed: int, span: tuple[int, int]
                    ) -> tuple[list[DvcRecord], dict[tuple[str, str], str],
                               dict[str, tuple[int, int | None]]]:
    return build_services(world, first_online(facts), _candidate_pairs(world), seed, span)


def build_services(world: OneStopWorld, first_online: Mapping[tuple[str, str], int],
                   candidates: set[tuple[str, str]], seed: int, span: tuple[int, int]
                   ) -> tuple[list[DvcRecord], dict[tuple[str, str], str],
                              dict[str, tuple[int, int | None]]]:
    """The service catalogue from what it needs of all dossiers (aggregated shard by shard
    for a big world): the first online receipt per (procedure, unit), the candidate pairs and
    the span of receipts; units (maturity) come from ``world``. Returns (services, ids by pair,
    (online_from, online_to) by id)."""
    catalogue = catalogue_pairs(world)
    others = sorted(candidates - first_online.keys() - catalogue,
                    key=lambda pair: _rank(seed, "extra-service", "|".join(pair)))
    extras = others[:round(0.3 * len(first_online))]
    maturity = _maturity(world)
    reform = epoch_ms(LEVEL_REFORM)
    launch = epoch_ms(PORTAL_LAUNCH)
    ready = epoch_ms(CATALOGUE_READY)
    plans = []
    for pair in sorted(first_online.keys() | catalogue | set(extras),
                       key=lambda p: (p[1], p[0])):
        rng = _rng(seed, "service", "|".join(pair))
        m = maturity.get(pair[1], 0.5)
        first = first_online.get(pair)
        if pair in catalogue:  # the province's catalogue: level 3–4, online before 2016
            online_from = _office_time(rng, launch, ready)
            if first is not None:
                online_from = min(online_from, first - 6 * _DAY)
            level = 4 if rng.random() < 0.25 + 0.45 * m else 3
        elif first is not None:
            # online some days before its first online dossier (drafts start up to ~5 days
            # before the dossier is received)
            hi = first - 6 * _DAY
            lo = max(launch, hi - rng.randint(1, 365) * _DAY)
            online_from = _office_time(rng, lo, hi) if lo < hi else hi
            level: int | str = 4 if rng.random() < 0.25 + 0.45 * m else 3
        else:
            online_from = _office_time(rng, launch, span[1])
            level = rng.choices((2, 3, 4), weights=(0.35, 0.45, 0.2))[0]
        plans.append((pair, rng, online_from, level, first))
    ids = {pair: f"DVC-{i:06d}" for i, (pair, *_rest) in enumerate(plans, start=1)}
    services, lifetimes = [], {}
    for pair, rng, online_from, level, first in plans:
        sid = ids[pair]
        line = _Timeline(sid, service_id=sid, procedure_code=pair[0], unit_code=pair[1],
                         level=None, online_from=online_from, online_to=None)
        online_to = None
        if first is None and pair not in catalogue and rng.random() < 0.08:
            # discontinued before the reform
            online_to = online_from + rng.randint(60, 700) * _DAY
            if online_to >= reform:
                online_to = None
        if online_from >= reform:  # offered after the reform: only the new levels exist
            line.at(online_from, level="full" if level == 4 or rng.random() < 0.3
                    else "partial")
        else:
            line.at(online_from, level=level)
            if level == 3 and rng.random() < 0.2:  # upgraded to level 4 before the reform
                up = online_from + rng.randint(30, 700) * _DAY
                if up < min(reform, online_to or reform):
                    line.at(up, level=4)
                    level = 4
            if online_to is not None:
                line.at(online_to, online_to=online_to)
            elif level == 2:  # Decree 42/2022: level 2 is no online service any more
                online_to = reform
                line.at(reform, online_to=reform)
            else:
                full = rng.random() < (0.9 if level == 4 else 0.2)
                line.at(reform, level="full" if full else "partial")
        services.append(line.record())
        lifetimes[sid] = (online_from, online_to)
    return services, ids, lifetimes


def _account_type(rng: random.Random, at: int) -> str:
    """VNeID only from 2022-07 and growing; guests fade as portal accounts spread."""
    year = _year(at)
    if at >= epoch_ms(VNEID_LAUNCH) and rng.random() < min(0.9, 0.5 + 0.12 * (year - 2022)):
        return "vneid"
    return "guest" if rng.random() < max(0.05, 0.35 - 0.05 * (year - 2016)) else "portal"


def _draft_duration(rng: random.Random) -> int:
    if rng.random() < 0.7:
        return rng.randint(3, 60) * _MINUTE
    return rng.randint(1, 72) * _HOUR


def _review_lag(rng: random.Random) -> int:
    return min(3 * _DAY, _MINUTE * (10 + int(rng.expovariate(1 / 480))))


def _renumber(n: int, numbering: tuple[int, int]) -> int:
    """Sequence number ``n`` of shard ``numbering[0]`` of ``numbering[1]``, interleaved so
    that numbers stay unique across shards (the identity for one shard)."""
    shard, shards = numbering
    return (n - 1) * shards + shard + 1


def _build_submissions(facts: list[_Facts], seed: int, service_ids: dict[tuple[str, str], str],
                       lifetimes: dict[str, tuple[int, int | None]], *,
                       used: Iterable[str] | None = None, extra_tag: str = "",
                       numbering: tuple[int, int] = (0, 1)) -> list[DvcRecord]:
    """Submissions of ``facts``. For a shard of a bigger world: ``used`` (the services any
    online dossier of the world uses; default: those of ``facts``), ``extra_tag`` (keeps the
    draws of extra submissions apart between shards) and ``numbering`` (shard, shards)."""
    plans: list[tuple[int, str, dict[str, Any], list[tuple[int, dict[str, Any]]]]] = []
    online = sorted((f for f in facts if f.online), key=lambda f: f.code)
    for f in online:
        rng = _rng(seed, "submission", f.code)
        submitted = f.received
        if rng.random() >= 0.25:  # most wait for a civil servant to accept them
            submitted = f.received - rng.randint(1, 2880) * _MINUTE
        started = submitted - _draft_duration(rng)
        account = "vneid" if f.vneid else _account_type(rng, started)
        if account == "vneid" and not f.vneid:
            account = "portal"  # XacThucVNeID is the one-stop's word on it
        base = {"dossier_code": None, "service_id": service_ids[f.procedure_code, f.unit_code],
                "started_at": started, "submitted_at": None, "status": None,
                "account_type": account}
        steps = [(started, {"status": "draft"})]
        if submitted < f.received:
            steps.append((submitted, {"status": "submitted", "submitted_at": submitted}))
        steps.append((f.received, {"status": "accepted", "submitted_at": submitted,
                                   "dossier_code": f.code}))
        plans.append((started, f"A|{f.code}", base, steps))

    if online:
        # the rest of what citizens start: ~25% abandoned drafts, ~5% rejected, ~2% withdrawn
        total = round(len(online) / 0.68)
        kinds = (["draft"] * round(total * 0.25) + ["rejected"] * round(total * 0.05)
                 + ["withdrawn"] * round(total * 0.02))
        if used is None:
            used = {service_ids[f.procedure_code, f.unit_code] for f in online}
        used = set(used)
        never_used = sorted(sid for sid in lifetimes if sid not in used)
        for i, kind in enumerate(kinds):
            rng = _rng(seed, "extra-submission", f"{extra_tag}{i}")
            anchor = online[rng.randrange(len(online))]  # volume follows online dossiers
            started = anchor.received + rng.randint(-30 * 24 * 60, 30 * 24 * 60) * _MINUTE
            sid = service_ids[anchor.procedure_code, anchor.unit_code]
            if never_used and rng.random() < 0.15:  # services nobody completes a dossier on
                live = [s for s in never_used if lifetimes[s][0] < started
                        and (lifetimes[s][1] is None or started < lifetimes[s][1])]
                if live:
                    sid = live[rng.randrange(len(live))]
            started = max(started, lifetimes[sid][0] + _MINUTE)
            base = {"dossier_code": None, "service_id": sid, "started_at": started,
                    "submitted_at": None, "status": None,
                    "account_type": _account_type(rng, started)}
            steps = [(started, {"status": "draft"})]
            if kind != "draft":
                submitted = started + _draft_duration(rng)
                steps.append((submitted, {"status": "submitted", "submitted_at": submitted}))
                steps.append((submitted + _review_lag(rng), {"status": kind}))
            plans.append((started, f"X|{i:09d}", base, steps))

    plans.sort(key=lambda p: (p[0], p[1]))  # ids follow the start time, like a DB sequence
    out = []
    for n, (_, _, base, steps) in enumerate(plans, start=1):
        sid = f"SUB-{_renumber(n, numbering):08d}"
        line = _Timeline(sid, submission_id=sid, **base)
        for when, changes in steps:
            line.at(when, **changes)
        out.append(line.record())
    return out


def _online_payment_share(year: int) -> float:
    return min(0.95, 0.25 + 0.15 * (year - 2016))


def _method(rng: random.Random, at: int) -> str:
    if at >= epoch_ms(PAYMENT_PLATFORM_LAUNCH) and rng.random() < 0.6:
        return "payment_platform_dvcqg"
    return "vnpay" if rng.random() < 0.6 else "bank_transfer"


def _build_payments(facts: list[_Facts], seed: int, numbering: tuple[int, int] = (0, 1)
                    ) -> list[DvcRecord]:
    plans: list[tuple[int, str, dict[str, Any], list[tuple[int, dict[str, Any]]]]] = []
    for f in sorted((f for f in facts if f.online and f.fee > 0), key=lambda f: f.code):
        rng = _rng(seed, "payment", f.code)
        if rng.random() >= _online_payment_share(_year(f.received)):
            continue  # paid at the desk: the portal never sees it
        t0 = f.received + min(5 * _DAY, _MINUTE * (1 + int(rng.expovariate(1 / 360))))
        base = {"dossier_code": f.code, "amount": f.fee, "method": None, "status": None,
                "paid_at": None}
        r = rng.random()
        if r < 0.82:
            plans.append((t0, f"{f.code}|1", {**base, "method": _method(rng, t0)},
                          [(t0, {"status": "success", "paid_at": t0})]))
        elif r < 0.9:  # a failed attempt, then a successful one
            retry = t0 + rng.randint(5, 2880) * _MINUTE
            plans.append((t0, f"{f.code}|1", {**base, "method": _method(rng, t0)},
                          [(t0, {"status": "failed"})]))
            plans.append((retry, f"{f.code}|2", {**base, "method": _method(rng, retry)},
                          [(retry, {"status": "success", "paid_at": retry})]))
        elif r < 0.97:  # a transfer that settles days later
            settled = t0 + rng.randint(1, 5) * _DAY + rng.randint(0, 8 * 60) * _MINUTE
            plans.append((t0, f"{f.code}|1", {**base, "method": "bank_transfer"},
                          [(t0, {"status": "pending"}),
                           (settled, {"status": "success", "paid_at": settled})]))
        else:  # failed, then paid at the desk
            plans.append((t0, f"{f.code}|1", {**base, "method": _method(rng, t0)},
                          [(t0, {"status": "failed"})]))
    plans.sort(key=lambda p: (p[0], p[1]))
    out = []
    for n, (_, _, base, steps) in enumerate(plans, start=1):
        pid = f"PAY-{_renumber(n, numbering):08d}"
        line = _Timeline(pid, payment_id=pid, **base)
        for when, changes in steps:
            line.at(when, **changes)
        out.append(line.record())
    return out


_ON_TIME_SCORES = ((1, 2, 3, 4, 5), (3, 4, 10, 28, 55))
_LATE_SCORES = ((1, 2, 3, 4, 5), (25, 25, 25, 15, 10))
_COMPLAINT = {1: 0.6, 2: 0.4, 3: 0.05, 4: 0.0, 5: 0.0}


def _build_ratings(facts: list[_Facts], seed: int, numbering: tuple[int, int] = (0, 1)
                   ) -> list[DvcRecord]:
    plans = []
    for f in sorted((f for f in facts if f.ended is not None), key=lambda f: f.code):
        assert f.ended is not None
        rng = _rng(seed, "rating", f.code)
        share = min(0.5, 0.08 + 0.02 * (_year(f.ended) - 2016)) * (1.5 if f.online else 1.0)
        if rng.random() >= share:
            continue
        late = f.due is not None and f.ended > f.due
        values, weights = _LATE_SCORES if late else _ON_TIME_SCORES
        score = rng.choices(values, weights=weights)[0]
        rated = f.ended + _HOUR + min(10 * _DAY, _MINUTE * int(rng.expovariate(1 / (2 * 24 * 60))))
        plans.append((rated, f.code, score, rng.random() < _COMPLAINT[score]))
    plans.sort()
    out = []
    for n, (rated, code, score, complaint) in enumerate(plans, start=1):
        rid = f"RAT-{_renumber(n, numbering):08d}"
        out.append(_Timeline(rid, rating_id=rid, dossier_code=code, score=score,
                             comment_flag=complaint, rated_at=rated).at(rated).record())
    return out


def build_dvc_world(world: OneStopWorld, seed: int = DEFAULT_SEED) -> DvcWorld:
    """The portal's services, submissions, payments and ratings for ``world``.

    Deterministic: the same world and seed give an equal result. Uses only the public fields
    of ``world.units`` / ``.procedures`` / ``.dossiers`` (hand-written dict dossiers included).
    """
    facts = [_facts(d) for d in world.dossiers]
    if facts:
        span = (min(f.received for f in facts), max(f.received for f in facts))
    else:
        span = (epoch_ms(PORTAL_LAUNCH), epoch_ms(PORTAL_LAUNCH) + _DAY)
    services, ids, lifetimes = _build_services(world, facts, seed, span)
    return DvcWorld(
        services=tuple(services),
        submissions=tuple(_build_submissions(facts, seed, ids, lifetimes)),
        payments=tuple(_build_payments(facts, seed)),
        ratings=tuple(_build_ratings(facts, seed)),
        default_as_of=world.default_as_of,
        seed=seed,
    )


# --------------------------------------------------------------------------------------------
# HTTP

# endpoint path → (DvcWorld view, id field)
ENDPOINTS = {
    "/api/services": ("services_as_of", "service_id"),
    "/api/submissions": ("submissions_as_of", "submission_id"),
    "/api/payments": ("payments_as_of", "payment_id"),
    "/api/ratings": ("ratings_as_of", "rating_id"),
}


class _SortedRecords:
    """Records of one endpoint, sorted by (updated_at, id) and pre-encoded as JSON (with
    ``mess`` applied: see :mod:`govkpi.simulator.mess`)."""

    __slots__ = ("bodies", "stamps")

    def __init__(self, records: Sequence[dict[str, Any]], key: str, *,
                 rules: Rules | None = None, mess: Mess | None = None,
                 manifest: Manifest | None = None) -> None:
        rows = [(r["updated_at"], r[key], r) for r in records]
        if rules is not None and mess is not None and mess.active:
            rows = apply_mess(mess, rules, rows, manifest if manifest is not None else [])
        rows = sort_rows(rows)
        encode = msgspec.json.Encoder().encode
        self.stamps = [stamp for stamp, _, _ in rows]
        self.bodies = [encode(r) for _, _, r in rows]

    def page(self, since: int | None, offset: int, limit: int) -> tuple[bytes, bool]:
        """The page's body and whether more records follow it."""
        first = (0 if since is None else bisect.bisect_left(self.stamps, since)) + offset
        stop = first + limit
        chunk = self.bodies[first:stop]
        return b"[" + b",".join(chunk) + b"]", stop < len(self.bodies)


def _previous_version(timelines: Iterable[DvcRecord], at: int, key: str):
    """record → (updated_at, id, its state before the latest change) or None."""
    by_id = {t.id: t for t in timelines}

    def previous(record: dict[str, Any]):
        timeline = by_id.get(record[key])
        n = 0 if timeline is None else bisect.bisect_right(timeline.times, at)
        if n < 2:
            return None
        assert timeline is not None
        before = dict(timeline.states[n - 2])
        return before["updated_at"], timeline.id, before

    return previous


def build_views(world: DvcWorld, as_of: dt.datetime, mess: Mess | None = None,
                manifest: Manifest | None = None) -> dict[str, _SortedRecords]:
    """The sorted views of every endpoint; problems ``mess`` injects go to ``manifest``."""
    if mess is None or not mess.active:
        return {path: _SortedRecords(getattr(world, view)(as_of), key)
                for path, (view, key) in ENDPOINTS.items()}
    at, found, views = world.as_of_ms(as_of), [], {}
    for path, (view, key) in ENDPOINTS.items():
        timelines = getattr(world, view.removesuffix("_as_of"))
        rules = dvc_rules(path, _previous_version(timelines, at, key))
        views[path] = _SortedRecords(getattr(world, view)(as_of), key, rules=rules, mess=mess,
                                     manifest=found)
    if manifest is not None:
        manifest.extend(sorted_manifest(found))
    return views


@dataclass
class _State:
    username: str
    password: str
    as_of: dt.datetime
    views: dict[str, Any]  # _SortedRecords, or a store's views with the same page()
    mess: Mess | None = None
    manifest: Manifest = field(default_factory=list)
    views_for: Callable[[dt.datetime], dict[str, Any]] | None = None  # e.g. a disk store


_STATE = web.AppKey("dvc_state", _State)


def _unauthorized(message: str) -> web.Response:
    return json_response(401, {"error": "unauthorized", "message": message},
                 {"WWW-Authenticate": 'Basic realm="dvc", charset="UTF-8"'})


def _check_basic(request: web.Request, state: _State) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return _unauthorized("missing credentials: send HTTP Basic auth "
                             "('Authorization: Basic base64(user:password)')")
    try:
        auth = BasicAuth.decode(header)
    except ValueError:
        return _unauthorized("malformed Basic credentials: base64 of 'user:password' expected")
    if not (hmac.compare_digest(auth.login.encode(), state.username.encode())
            and hmac.compare_digest(auth.password.encode(), state.password.encode())):
        return _unauthorized("wrong user name or password")
    return None


def _int_query(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


async def _collection(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    denied = _check_basic(request, state)
    if denied is not None:
        return denied
    try:
        offset = _int_query(request, "offset", 0)
        limit = _int_query(request, "limit", DEFAULT_PAGE_SIZE)
        since = _int_query(request, "since", None)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("since="):
            message += " (since is epoch milliseconds, e.g. 1489457520000)"
        return json_response(400, {"error": "invalid_request", "message": message})
    if offset is None or offset < 0:
        return json_response(400, {"error": "invalid_request",
                                   "message": f"offset={offset}: must be ≥ 0"})
    if limit is None or not 1 <= limit <= MAX_PAGE_SIZE:
        return json_response(400, {"error": "invalid_request",
                           "message": f"limit={limit}: must be between 1 and {MAX_PAGE_SIZE}"})
    body, more = state.views[request.path].page(since, offset, limit)
    headers = None
    if more:
        following = request.url.update_query(offset=offset + limit, limit=limit)
        headers = {"Link": f'<{following}>; rel="next"'}
    return web.Response(body=body, content_type="application/json", charset="utf-8",
                        headers=headers)


async def _health(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    return json_response(200, {"status": "ok", "as_of": epoch_ms(state.as_of),
                       "as_of_iso": iso(state.as_of),
                       "records": {path: len(v.stamps) for path, v in state.views.items()}})


def _as_dvc_world(world: OneStopWorld | DvcWorld, seed: int | None) -> DvcWorld:
    if isinstance(world, DvcWorld):
        return world
    if seed is None:
        seed = world.seed if world.seed is not None else DEFAULT_SEED
    return build_dvc_world(world, seed)


def create_app(world: OneStopWorld | DvcWorld, as_of: dt.datetime | None = None, *,
               username: str = DEFAULT_USERNAME, password: str = DEFAULT_PASSWORD,
               faults: Faults | None = None, seed: int | None = None,
               mess: Mess | None = None,
               views_for: Callable[[dt.datetime], dict[str, Any]] | None = None
               ) -> web.Application:
    """The aiohttp application (also usable with aiohttp's test client). A one-stop world is
    derived with :func:`build_dvc_world` (``seed`` defaults to the world's own seed).
    ``mess`` (default: none) injects realistic problems (:mod:`govkpi.simulator.mess`).
    ``views_for(as_of)`` replaces the in-memory views (a disk store serves province scale this
    way: :func:`govkpi.simulator.store.create_dvc_store_app`); ``world`` (a DvcWorld, may be
    empty) then only gives the default as-of. Not combined with mess."""
    if views_for is not None and mess is not None and mess.active:
        raise ValueError("mess is applied to in-memory views only; a store serves clean records")
    portal = _as_dvc_world(world, seed)
    as_of = as_of or portal.default_as_of
    app = web.Application(middlewares=[fault_middleware(faults)] if faults else [])
    manifest: Manifest = []
    views = views_for(as_of) if views_for else build_views(portal, as_of, mess, manifest)
    app[_STATE] = _State(username, password, as_of, views, mess, manifest, views_for)
    for path in ENDPOINTS:
        app.router.add_get(path, _collection)
    app.router.add_get("/health", _health)
    return app


class DvcServer(ClockedServer):
    """The portal API on a background thread with its own event loop.

    >>> with DvcServer(generate_world(dossiers=1000)) as server:
    ...     server.url, server.username, server.password
    """

    name = "online-portal simulator"

    def __init__(self, world: OneStopWorld | DvcWorld, as_of: dt.datetime | None = None,
                 username: str = DEFAULT_USERNAME, password: str = DEFAULT_PASSWORD,
                 host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None,
                 seed: int | None = None, mess: Mess | None = None,
                 views_for: Callable[[dt.datetime], dict[str, Any]] | None = None) -> None:
        self.world = world
        self.dvc_world = _as_dvc_world(world, seed)
        self.username, self.password = username, password
        super().__init__(create_app(self.dvc_world, as_of, username=username,
                                    password=password, faults=faults, mess=mess,
                                    views_for=views_for), host, port)

    state_key = _STATE

    def _build_views(self, as_of: dt.datetime, mess: Mess | None, manifest: Manifest):
        return build_views(self.dvc_world, as_of, mess, manifest)


def run_forever(world: OneStopWorld | DvcWorld | None = None, *,
                as_of: dt.datetime | None = None, host: str = "127.0.0.1", port: int = 8803,
                seed: int = DEFAULT_SEED, dossiers: int = 10_000,
                years: Sequence[int] = (2016, 2017), username: str = DEFAULT_USERNAME,
                password: str = DEFAULT_PASSWORD, faults: Faults | None = None,
                mess: Mess | None = None) -> None:
    """Serve until SIGTERM or SIGINT (main thread only). Without ``world``, generate the
    one-stop world from ``seed``, ``dossiers`` and ``years`` and derive the portal from it."""
    world = world or generate_world(seed=seed, dossiers=dossiers, years=years)
    app = create_app(world, as_of, username=username, password=password, faults=faults,
                     seed=seed, mess=mess)
    state = app[_STATE]
    counts = ", ".join(f"{len(v.stamps)} {path.rsplit('/', 1)[1]}"
                       for path, v in state.views.items())
    serve_until_signalled(app, host, port, lambda bound: (
        f"online-portal simulator listening on http://{host}:{bound} "
        f"({counts} as of {iso(state.as_of)}; Basic auth user={username}; "
        f"{describe_mess(state.manifest)})"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m govkpi.simulator.dvc",
        description="Serve a deterministic synthetic Bình Định online public-service portal "
                    "(Cổng dịch vụ công, SOURCES.md §3) over HTTP until SIGTERM/SIGINT. Its "
                    "records derive from the one-stop world generated with the same --seed, "
                    "--dossiers and --years, so online dossiers match the one-stop simulator's.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_arguments(parser, port=8803)
    parser.add_argument("--username",
                        default=os.environ.get("GOVKPI_DVC_USERNAME", DEFAULT_USERNAME),
                        help="HTTP Basic user name (env GOVKPI_DVC_USERNAME)")
    parser.add_argument("--password",
                        default=os.environ.get("GOVKPI_DVC_PASSWORD", DEFAULT_PASSWORD),
                        help="HTTP Basic password (env GOVKPI_DVC_PASSWORD)")
    args = parser.parse_args(argv)
    world, faults = world_and_faults(parser, args)
    run_forever(world, as_of=args.as_of, host=args.host, port=args.port, seed=args.seed,
                username=args.username, password=args.password, faults=faults,
                mess=mess_option(parser, args))


if __name__ == "__main__":
    sys.exit(main())
