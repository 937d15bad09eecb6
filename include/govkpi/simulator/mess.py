"""Realistic mess in the simulated vendor systems: what a real crawl of a real province brings
besides clean records (issue 3, SOURCES.md §1–3).

A :class:`Mess` is applied when a server builds its view of the world as of one moment, one
decision per record drawn from blake2b(seed, system, endpoint, key) — never from the request
sequence — so two servers with the same world, as-of moment and mess serve byte-identical
crawls, and a record is messed the same way at every as-of moment it exists. A record gets at
most one kind, tried in the order malformed, move, repeat, missing. The kinds:

- ``repeat`` — the record is in the view twice, adjacent in the (modification time, key)
  order, as offset paging over a changing table serves it: twice on one page, or at the end of
  one page and again at the start of the next (total counts both). The e-office cursor keeps
  the occurrence, so keyset paging serves both copies too. Expected: ``dedupe``.
- ``move`` — the record changed during the crawl: the view holds its previous version (its real
  state just before its latest change: an earlier status, a document not yet acknowledged or
  signed, a payment still pending) at that version's older modification time, and its current
  version where it belongs. A crawl sees the old version on an earlier page and the newer one
  later; merging by key and keeping the latest modification time gives exactly the clean view.
  Only records with a previous state can move (one-stop dossiers with ≥ 2 steps in
  QuaTrinhXuLy, e-office documents with ≥ 2 events, portal services, submissions and payments
  with ≥ 2 states). Expected: ``keep-latest``.
- ``missing`` — optional keys absent from the JSON object (not null): one-stop NgayHenTra,
  DiaChi, SoDienThoai, PhieuXinLoi; e-office ngay_trinh, do_khan; portal payment method,
  rating comment_flag. Expected: ``load-with-null``.
- ``malformed`` — one known defect per record (one-stop dossiers, e-office documents, every
  portal endpoint), each with the rejection a correct ingester gives:
  ``quarantine: <reason>``. Some fail type validation (an impossible date, a time without
  offset, a code of the wrong type or out of range); the semantic ones pass it (unknown unit or
  procedure code, negative fee or amount, due before receipt, unknown dossier of a payment) and
  wait for a validator that knows the reference data.

Every server exposes ``mess_manifest``: one dict per injected problem — ``system``,
``endpoint``, ``key``, ``kind``, ``field`` (the field at fault, or None), ``detail`` and
``expected`` (``"dedupe"``, ``"keep-latest"``, ``"load-with-null"`` or
``"quarantine: <reason>"``) — so ingestion tests can assert that every problem is handled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("malformed", "move", "repeat", "missing")  # the order a record's kind is decided in
DEFAULT_SPEC = "repeat=0.001,move=0.001,missing=0.005,malformed=0.0005"
UNKNOWN_UNIT = "000.99.99.H08"  # no unit of the province has this code
UNKNOWN_PROCEDURE = "9.000999"  # nor any procedure of the national catalogue
UNKNOWN_DOSSIER = "000.99.99.H08-170101-9999"

Row = tuple[Any, str, dict[str, Any]]  # (sort stamp in the server's unit, key, record)
Manifest = list[dict[str, Any]]


@dataclass(frozen=True)
class Mess:
    """Shares of records given each kind of mess (see the module documentation)."""

    repeat: float = 0.0
    move: float = 0.0
    missing: float = 0.0
    malformed: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for kind in KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"mess {kind}={rate}: a rate is a share between 0 and 1")

    @property
    def active(self) -> bool:
        return any(getattr(self, kind) for kind in KINDS)

    @classmethod
    def none(cls, seed: int = 0) -> Mess:
        return cls(seed=seed)

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> Mess:
        """``"repeat=0.002,move=0.002,missing=0.01,malformed=0.001"``; ``"none"`` or ``""``
        is no mess."""
        values: dict[str, Any] = {"seed": seed}
        if spec.strip().lower() in ("", "none", "off", "0"):
            return cls(**values)
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, _, raw = part.partition("=")
            key = key.strip()
            if key not in KINDS or not raw:
                raise ValueError(f"mess {part!r}: expected one of {', '.join(KINDS)} as "
                                 f"name=share, e.g. {DEFAULT_SPEC} (or 'none')")
            try:
                values[key] = float(raw)
            except ValueError:
                raise ValueError(f"mess {part!r}: {raw!r} is not a number") from None
        return cls(**values)

    def kind_of(self, system: str, endpoint: str, key: str, kinds: Sequence[str]) -> str | None:
        """The kind of mess given to one record (None: clean). Each kind has its own draw, so
        the records chosen for a kind depend only on that kind's rate."""
        digest = hashlib.blake2b(f"{self.seed}|{system}|{endpoint}|{key}".encode(),
                                 digest_size=32).digest()
        for i, kind in enumerate(KINDS):
            if kind in kinds and getattr(self, kind):
                draw = int.from_bytes(digest[8 * i:8 * i + 8], "big") / 2**64
                if draw < getattr(self, kind):
                    return kind
        return None

    def rng(self, system: str, endpoint: str, key: str) -> random.Random:
        """A generator for the details of one record's mess (which field, which variant)."""
        return random.Random(f"govkpi-mess|{self.seed}|{system}|{endpoint}|{key}")


# --------------------------------------------------------------------------------------------
# what mess can do to each endpoint


Defect = Callable[[dict[str, Any]], "tuple[dict[str, Any], str, str, str] | None"]
# a malformed variant: record → (bad record, field, detail, expected) or None (does not apply)


@dataclass(frozen=True)
class Rules:
    """The mess one endpoint can have. ``previous(record)`` gives the record's previous version
    as (stamp, record), or None when it has none (then it cannot move)."""

    system: str
    endpoint: str
    kinds: tuple[str, ...]
    missing: tuple[str, ...] = ()
    defects: tuple[Defect, ...] = ()
    previous: Callable[[dict[str, Any]], Row | None] | None = None
    updated_field: str = ""


def _entry(rules: Rules, key: str, kind: str, field: str | None, detail: str,
           expected: str) -> dict[str, Any]:
    return {"system": rules.system, "endpoint": rules.endpoint, "key": key, "kind": kind,
            "field": field, "detail": detail, "expected": expected}


def apply(mess: Mess | None, rules: Rules, rows: Sequence[Row],
          manifest: Manifest) -> list[Row]:
    """``rows`` with ``mess`` applied (extra rows appended: sort them after, stably, by
    (stamp, key)); one manifest entry per problem is appended to ``manifest``."""
    if mess is None or not mess.active:
        return list(rows)
    out: list[Row] = []
    extra: list[Row] = []
    for row in rows:
        stamp, key, record = row
        kind = mess.kind_of(rules.system, rules.endpoint, key, rules.kinds)
        if kind is None:
            out.append(row)
            continue
        rng = mess.rng(rules.system, rules.endpoint, key)
        if kind == "repeat":
            out.append(row)
            extra.append(row)
            manifest.append(_entry(rules, key, kind, None,
                                   "served twice in a row (same version)", "dedupe"))
        elif kind == "move":
            before = rules.previous(record) if rules.previous else None
            out.append(row)
            if before is not None and before[0] < stamp:
                extra.append(before)
                f = rules.updated_field
                manifest.append(_entry(
                    rules, key, kind, f, f"served in its previous version ({f} "
                    f"{before[2].get(f)}) before its current one ({f} {record.get(f)})",
                    "keep-latest"))
        elif kind == "missing":
            present = [f for f in rules.missing if f in record]
            if not present:
                out.append(row)
                continue
            dropped = sorted(rng.sample(present, rng.choice((1, 1, 2)) if len(present) > 1
                                        else 1), key=present.index)
            out.append((stamp, key, {k: v for k, v in record.items() if k not in dropped}))
            manifest.append(_entry(rules, key, kind, ", ".join(dropped),
                                   f"keys absent from the JSON: {', '.join(dropped)}",
                                   "load-with-null"))
        else:  # malformed
            defects = list(rules.defects)
            rng.shuffle(defects)
            for defect in defects:
                bad = defect(record)
                if bad is not None:
                    broken, field, detail, reason = bad
                    out.append((stamp, key, broken))
                    manifest.append(_entry(rules, key, kind, field, detail,
                                           f"quarantine: {reason}"))
                    break
            else:
                out.append(row)
    return out + extra


def sort_rows(rows: list[Row]) -> list[Row]:
    """Sorted as the APIs serve them: by (stamp, key); copies stay adjacent (stable sort)."""
    return sorted(rows, key=lambda row: (row[0], row[1]))


def sorted_manifest(manifest: Manifest) -> Manifest:
    return sorted(manifest, key=lambda e: (e["system"], e["endpoint"], e["key"], e["kind"]))


# --------------------------------------------------------------------------------------------
# one-stop (SOURCES.md §1): ISO 8601 times with +07:00


_END_STATUSES = frozenset({4, 5, 6, 7, 8})
_RETURNED = 5


def previous_dossier(record: dict[str, Any]) -> dict[str, Any] | None:
    """The dossier as the API served it just before its latest step (QuaTrinhXuLy): the
    previous status, the dates that step set unset, apology letters made since removed."""
    steps = record.get("QuaTrinhXuLy") or []
    if len(steps) < 2:
        return None
    seen = steps[:-1]
    at = seen[-1]["ThoiDiem"]
    if dt.datetime.fromisoformat(at) >= dt.datetime.fromisoformat(record["NgayCapNhat"]):
        return None
    letters = [a for a in record.get("PhieuXinLoi") or []
               if dt.datetime.fromisoformat(a["NgayLap"]) <= dt.datetime.fromisoformat(at)]
    ended = next((s["ThoiDiem"] for s in seen if s["TrangThai"] in _END_STATUSES), None)
    returned = next((s["ThoiDiem"] for s in seen if s["TrangThai"] == _RETURNED), None)
    before = dict(record)
    before.update({"TrangThaiHoSo": seen[-1]["TrangThai"], "QuaTrinhXuLy": list(seen),
                   "NgayKetThucXuLy": ended, "NgayTraKetQua": returned,
                   "PhieuXinLoi": letters, "SoLanHenLai": len(letters), "NgayCapNhat": at})
    return before


def _impossible_date(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    year = r["NgayTiepNhan"][:4]
    return ({**r, "NgayTiepNhan": f"{year}-02-30T09:00:00+07:00"}, "NgayTiepNhan",
            f"NgayTiepNhan {year}-02-30 does not exist",
            "NgayTiepNhan is not a valid date")


def _no_offset(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    naive = r["NgayCapNhat"][:19]
    return ({**r, "NgayCapNhat": naive}, "NgayCapNhat",
            f"NgayCapNhat {naive!r} has no UTC offset",
            "NgayCapNhat has no UTC offset (expected +07:00)")


def _channel_string(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "KenhThucHien": str(r["KenhThucHien"])}, "KenhThucHien",
            f"KenhThucHien {str(r['KenhThucHien'])!r} sent as a string",
            "KenhThucHien is not an integer")


def _channel_9(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "KenhThucHien": 9}, "KenhThucHien", "KenhThucHien 9 is not a channel",
            "KenhThucHien must be 1, 2 or 3")


def _status_0(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "TrangThaiHoSo": 0}, "TrangThaiHoSo", "TrangThaiHoSo 0 is not a status",
            "TrangThaiHoSo must be between 1 and 8")


def _unknown_unit(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "MaDonVi": UNKNOWN_UNIT}, "MaDonVi",
            f"MaDonVi {UNKNOWN_UNIT} is no unit of the province", "unknown MaDonVi")


def _unknown_procedure(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "MaTTHC": UNKNOWN_PROCEDURE}, "MaTTHC",
            f"MaTTHC {UNKNOWN_PROCEDURE} is in no procedure catalogue", "unknown MaTTHC")


def _negative_fee(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    fee = -(r.get("PhiLePhi") or 50_000)
    return ({**r, "PhiLePhi": fee}, "PhiLePhi", f"PhiLePhi {fee} is negative",
            "negative PhiLePhi")


def _due_before_receipt(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str] | None:
    if not r.get("NgayHenTra"):
        return None
    received = dt.datetime.fromisoformat(r["NgayTiepNhan"])
    due = (received - dt.timedelta(days=3)).replace(hour=17, minute=0, second=0)
    return ({**r, "NgayHenTra": due.isoformat()}, "NgayHenTra",
            f"NgayHenTra {due.isoformat()} is before NgayTiepNhan {r['NgayTiepNhan']}",
            "NgayHenTra before NgayTiepNhan")


ONESTOP_DEFECTS: tuple[Defect, ...] = (
    _impossible_date, _no_offset, _channel_string, _channel_9, _status_0, _unknown_unit,
    _unknown_procedure, _negative_fee, _due_before_receipt)
ONESTOP_MISSING = ("NgayHenTra", "DiaChi", "SoDienThoai", "PhieuXinLoi")


def onestop_rules(endpoint: str, stamp: Callable[[dict[str, Any]], Any]) -> Rules:
    """Reference data (units, procedures) only repeat; dossiers get every kind."""
    if endpoint != "/api/v1/hoso":
        return Rules("onestop", endpoint, ("repeat",))

    def previous(record: dict[str, Any]) -> Row | None:
        before = previous_dossier(record)
        return None if before is None else (stamp(before), record["MaHoSo"], before)

    return Rules("onestop", endpoint, KINDS, ONESTOP_MISSING, ONESTOP_DEFECTS, previous,
                 "NgayCapNhat")


# --------------------------------------------------------------------------------------------
# e-office (SOURCES.md §2): naive dd/MM/yyyy HH:mm:ss


def _iso_date(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    text = r["ngay_sua"]  # dd/MM/yyyy HH:mm:ss
    iso = f"{text[6:10]}-{text[3:5]}-{text[0:2]}T{text[11:19]}"
    return ({**r, "ngay_sua": iso}, "ngay_sua", f"ngay_sua {iso!r} in ISO 8601",
            "ngay_sua is not dd/MM/yyyy HH:mm:ss")


def _direction_x(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "huong": "x"}, "huong", "huong 'x' is neither 'di' nor 'den'",
            "huong must be 'di' or 'den'")


def _unknown_eoffice_unit(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "ma_don_vi": UNKNOWN_UNIT}, "ma_don_vi",
            f"ma_don_vi {UNKNOWN_UNIT} is no unit of the province", "unknown ma_don_vi")


EOFFICE_DEFECTS: tuple[Defect, ...] = (_iso_date, _direction_x, _unknown_eoffice_unit)
EOFFICE_MISSING = ("ngay_trinh", "do_khan")


def eoffice_rules(previous: Callable[[dict[str, Any]], Row | None] | None) -> Rules:
    return Rules("eoffice", "/api/v2/documents", KINDS, EOFFICE_MISSING, EOFFICE_DEFECTS,
                 previous, "ngay_sua")


# --------------------------------------------------------------------------------------------
# portal (SOURCES.md §3): epoch milliseconds


def _updated_at_string(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "updated_at": str(r["updated_at"])}, "updated_at",
            f"updated_at {str(r['updated_at'])!r} sent as a string",
            "updated_at is not epoch milliseconds (integer)")


def _score_7(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "score": 7}, "score", "score 7 on a 1–5 scale", "score must be 1 to 5")


def _negative_amount(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    amount = -(r.get("amount") or 50_000)
    return ({**r, "amount": amount}, "amount", f"amount {amount} is negative",
            "negative amount")


def _unknown_dossier(r: dict[str, Any]) -> tuple[dict[str, Any], str, str, str]:
    return ({**r, "dossier_code": UNKNOWN_DOSSIER}, "dossier_code",
            f"dossier_code {UNKNOWN_DOSSIER} is no dossier of the one-stop system",
            "unknown dossier_code")


DVC_DEFECTS: dict[str, tuple[Defect, ...]] = {
    "/api/services": (_updated_at_string,),
    "/api/submissions": (_updated_at_string,),
    "/api/payments": (_updated_at_string, _negative_amount, _unknown_dossier),
    "/api/ratings": (_updated_at_string, _score_7),
}
DVC_MISSING = {"/api/payments": ("method",), "/api/ratings": ("comment_flag",)}


def dvc_rules(endpoint: str, previous: Callable[[dict[str, Any]], Row | None] | None) -> Rules:
    kinds = KINDS if endpoint in DVC_MISSING else ("malformed", "move", "repeat")
    return Rules("dvc", endpoint, kinds, DVC_MISSING.get(endpoint, ()),
                 DVC_DEFECTS.get(endpoint, ()), previous, "updated_at")
