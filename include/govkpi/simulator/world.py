"""A deterministic synthetic Bình Định for the one-stop system (SOURCES.md §1, DOMAIN.md §1–3).

The world is a set of units, procedures and dossiers. Each generated dossier is a *timeline* of
events (received, processing, supplement requested/returned, apology letter, processed, returned,
refused, withdrawn, stopped); :meth:`OneStopWorld.dossiers_as_of` shows every dossier in the state
it had at a given moment, exactly as the vendor's API would have served it then.

The units and their history come from a scenario file (``scenarios/binh_dinh.yaml``, read by
:mod:`govkpi.simulator.scenario`). Unit codes follow the style of the national e-document
exchange codes (Decision 20/2020/QĐ-TTg), ``LLL.CC.BB.H08``, read right to left: ``H08`` is the
province (Bình Định), ``BB`` the level-2 unit, ``CC`` the level-3 unit under it, ``LLL`` a
level-4 unit:

- ``000.00.00.H08`` UBND tỉnh (CapDonVi 1);
- ``000.00.01.H08`` … ``000.00.21.H08`` the 21 departments, in DOMAIN.md §1 order (CapDonVi 2);
  six merge into others on 2025-03-01 (MaDonViKeThua);
- ``000.00.31.H08`` … ``000.00.41.H08`` the 11 district-level units, in DOMAIN.md §1 order
  (CapDonVi 3), valid until 2025-06-30;
- ``000.CC.BB.H08`` communes ``CC`` = 01, 02, … under district ``BB`` (CapDonVi 4), valid until
  2025-06-30; ``1NN.00.00.H08`` the merged communes of the two-level government from 2025-07-01.

The numbering is invented (the real table is not public in one place); only its shape is national.
Dossier codes are ``<unit code>-<yymmdd of receipt>-<4-digit sequence of the unit that day>``.
Procedures (~2,000) are a fixed catalogue plus templated variants (:func:`build_procedures`).

Deterministic: units and procedures depend on the scenario only; each year's dossiers are drawn
from their own ``random.Random`` seeded by (scenario, seed, year) (:func:`iter_dossiers`), so the
same arguments give the same world and a year can be produced on its own.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from govkpi import calendar
from govkpi.calendar import is_working_day
from govkpi.simulator.scenario import Scenario, load_scenario
from govkpi.simulator.strata import Strata

# Asia/Ho_Chi_Minh has had no DST since 1975: a fixed offset serialises as "+07:00".
VN_OFFSET = dt.timezone(dt.timedelta(hours=7))
DEFAULT_AS_OF = dt.datetime(2018, 1, 15, 8, 0, tzinfo=VN_OFFSET)
END_OF_TIME = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=VN_OFFSET)
DUE_TIME = dt.time(17, 0)  # NgayHenTra is the due day at the end of office hours
PROVINCE_SUFFIX = "H08"
UNITS_VALID_FROM = dt.date(2015, 1, 1)
UNITS_UPDATED_AT = dt.datetime(2015, 1, 1, 8, 0, tzinfo=VN_OFFSET)

# TrangThaiHoSo
RECEIVED, PROCESSING, SUPPLEMENT, PROCESSED, RETURNED, STOPPED, REFUSED, WITHDRAWN = range(1, 9)
# DOMAIN.md §3: processing ends at the first of processed, stopped, refused, withdrawn
# (returned without a "processed" event also ends it).
END_STATUSES = frozenset({PROCESSED, RETURNED, STOPPED, REFUSED, WITHDRAWN})

NATIONAL_PORTAL_LAUNCH = dt.datetime(2019, 12, 9, tzinfo=VN_OFFSET)  # Cổng DVC quốc gia
VNEID_LAUNCH = dt.datetime(2022, 7, 1, tzinfo=VN_OFFSET)

UNIT_FIELDS = ("MaDonVi", "TenDonVi", "CapDonVi", "MaDonViCha", "HieuLucTu", "HieuLucDen",
               "MaDonViKeThua", "NgayCapNhat")
PROCEDURE_FIELDS = ("MaTTHC", "TenTTHC", "LinhVuc", "CapThucHien", "ThoiHanGiaiQuyet",
                    "DonViThoiHan", "CoPhiLePhi", "TraKetQuaGiay", "DoiTuong", "NgayCapNhat")
DOSSIER_FIELDS = ("MaHoSo", "MaTTHC", "MaDonVi", "KenhThucHien", "NgayTiepNhan", "NgayHenTra",
                  "NgayKetThucXuLy", "NgayTraKetQua", "TrangThaiHoSo", "PhiLePhi",
                  "DaDongBoDVCQG", "CoKetQuaDienTu", "CoThanhPhanSoHoa", "TaiSuDungDuLieuSo",
                  "XacThucVNeID", "SoLanHenLai", "PhieuXinLoi", "QuaTrinhXuLy", "ChuHoSo",
                  "SoGiayTo", "SoDienThoai", "DiaChi", "NgayCapNhat")


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the +07:00 offset, whole seconds: ``2017-03-14T09:12:00+07:00``."""
    if value is None:
        return None
    return value.astimezone(VN_OFFSET).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    level: int  # CapDonVi: 1 province, 2 department, 3 district, 4 commune
    parent_code: str | None
    valid_from: dt.date = UNITS_VALID_FROM
    valid_to: dt.date | None = None
    successor_code: str | None = None
    updated_at: dt.datetime = UNITS_UPDATED_AT
    # simulation only (never served): 0 = ~30% late and little online, 1 = ~2% late
    maturity: float = 0.5
    # simulation only: (year, maturity) for the years whose maturity differs (the scenario's
    # maturity_by_year); every other year has ``maturity``
    maturity_by_year: tuple[tuple[int, float], ...] = ()

    def maturity_in(self, year: int) -> float:
        """The unit's maturity in ``year`` (its trajectory, else ``maturity``)."""
        for y, m in self.maturity_by_year:
            if y == year:
                return m
        return self.maturity

    def to_record(self) -> dict[str, Any]:
        return {
            "MaDonVi": self.code, "TenDonVi": self.name, "CapDonVi": self.level,
            "MaDonViCha": self.parent_code, "HieuLucTu": self.valid_from.isoformat(),
            "HieuLucDen": self.valid_to.isoformat() if self.valid_to else None,
            "MaDonViKeThua": self.successor_code, "NgayCapNhat": iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str  # MaTTHC
    name: str
    field: str  # LinhVuc
    level: str  # CapThucHien: "tinh", "huyen", "xa"
    duration: int  # ThoiHanGiaiQuyet
    duration_unit: str  # DonViThoiHan: "ngay_lam_viec", "ngay", "gio"
    fee: int  # VND; 0 = CoPhiLePhi false
    paper_result: bool
    audience: str  # DoiTuong: "cong_dan", "to_chuc", "ca_hai"
    owner_code: str  # the department responsible for the procedure (simulation only)
    updated_at: dt.datetime = UNITS_UPDATED_AT
    popularity: float = 1.0  # relative dossier volume (simulation only)

    def to_record(self) -> dict[str, Any]:
        return {
            "MaTTHC": self.code, "TenTTHC": self.name, "LinhVuc": self.field,
            "CapThucHien": self.level, "ThoiHanGiaiQuyet": self.duration,
            "DonViThoiHan": self.duration_unit, "CoPhiLePhi": self.fee > 0,
            "TraKetQuaGiay": self.paper_result, "DoiTuong": self.audience,
            "NgayCapNhat": iso(self.updated_at),
        }


class Event(NamedTuple):
    """One entry of QuaTrinhXuLy; ``status`` is the dossier's status from ``at`` on."""

    at: dt.datetime
    status: int
    note: str


class Apology(NamedTuple):
    """A phiếu xin lỗi và hẹn lại: made at ``made_at``, promising ``new_due_at``."""

    made_at: dt.datetime
    new_due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Dossier:
    code: str
    procedure_code: str
    unit_code: str
    channel: int  # KenhThucHien: 1 in person, 2 online, 3 public post
    received_at: dt.datetime
    due_at: dt.datetime
    fee: int
    events: tuple[Event, ...]  # sorted by time, strictly increasing, first one = receipt
    apologies: tuple[Apology, ...] = ()
    synced_national: bool = False
    electronic_result: bool = False
    digitised_components: bool = False
    reused_data: bool = False
    vneid: bool = False
    owner_name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""

    @property
    def ended_at(self) -> dt.datetime | None:
        return next((e.at for e in self.events if e.status in END_STATUSES), None)

    @property
    def returned_at(self) -> dt.datetime | None:
        return next((e.at for e in self.events if e.status == RETURNED), None)

    def as_of(self, as_of: dt.datetime) -> dict[str, Any] | None:
        """The API record at ``as_of``, or None when not yet received."""
        n = bisect.bisect_right(self.events, as_of, key=lambda e: e.at)
        if n == 0:
            return None
        seen = self.events[:n]
        ended = next((e.at for e in seen if e.status in END_STATUSES), None)
        returned = next((e.at for e in seen if e.status == RETURNED), None)
        letters = [a for a in self.apologies if a.made_at <= as_of]
        return {
            "MaHoSo": self.code, "MaTTHC": self.procedure_code, "MaDonVi": self.unit_code,
            "KenhThucHien": self.channel, "NgayTiepNhan": iso(self.received_at),
            "NgayHenTra": iso(self.due_at), "NgayKetThucXuLy": iso(ended),
            "NgayTraKetQua": iso(returned), "TrangThaiHoSo": seen[-1].status,
            "PhiLePhi": self.fee, "DaDongBoDVCQG": self.synced_national,
            "CoKetQuaDienTu": self.electronic_result,
            "CoThanhPhanSoHoa": self.digitised_components,
            "TaiSuDungDuLieuSo": self.reused_data, "XacThucVNeID": self.vneid,
            "SoLanHenLai": len(letters),
            "PhieuXinLoi": [{"NgayLap": iso(a.made_at), "NgayHenMoi": iso(a.new_due_at)}
                            for a in letters],
            "QuaTrinhXuLy": [{"ThoiDiem": iso(e.at), "TrangThai": e.status, "GhiChu": e.note}
                             for e in seen],
            "ChuHoSo": self.owner_name, "SoGiayTo": self.id_number,
            "SoDienThoai": self.phone, "DiaChi": self.address,
            "NgayCapNhat": iso(seen[-1].at),
        }


# --------------------------------------------------------------------------------------------
# hand-written records (tests): served as given, with defaults for what is left out


def _parse_time(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {value!r} is not an ISO 8601 time") from exc
    else:
        raise ValueError(f"{where}: expected an ISO 8601 string or a datetime, got {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_OFFSET)  # hand-written local time
    return parsed


def _fixed_record(record: Mapping[str, Any], fields: Sequence[str], key: str,
                  time_fields: Iterable[str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(record) - set(fields)
    if unknown:
        raise ValueError(f"record {record.get(key)!r}: unknown fields {sorted(unknown)} "
                         f"(the contract has {', '.join(fields)})")
    if not record.get(key):
        raise ValueError(f"record without {key}: {dict(record)!r}")
    out = {f: record.get(f, defaults.get(f)) for f in fields}
    for f in time_fields:
        if out[f] is not None:
            out[f] = iso(_parse_time(out[f], f"{out[key]}.{f}"))
    for f in ("HieuLucTu", "HieuLucDen"):
        if isinstance(out.get(f), dt.date):
            out[f] = out[f].isoformat()
    if out["NgayCapNhat"] is None:
        times = [_parse_time(out[f], f) for f in time_fields if out[f] is not None]
        out["NgayCapNhat"] = iso(max(times)) if times else iso(UNITS_UPDATED_AT)
    return out


def fixed_dossier(record: Mapping[str, Any]) -> dict[str, Any]:
    """A dossier given in its final state (API shape). Missing fields default to null / empty;
    NgayCapNhat defaults to the latest time given. It is served unchanged at every as-of moment
    from NgayTiepNhan on (no time travel)."""
    if "NgayTiepNhan" not in record:
        raise ValueError(f"dossier {record.get('MaHoSo')!r}: NgayTiepNhan is required")
    return _fixed_record(
        record, DOSSIER_FIELDS, "MaHoSo",
        ("NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTraKetQua", "NgayCapNhat"),
        {"KenhThucHien": 1, "TrangThaiHoSo": RECEIVED, "PhiLePhi": 0, "DaDongBoDVCQG": False,
         "CoKetQuaDienTu": False, "CoThanhPhanSoHoa": False, "TaiSuDungDuLieuSo": False,
         "XacThucVNeID": False, "SoLanHenLai": 0, "PhieuXinLoi": [], "QuaTrinhXuLy": []},
    )


def fixed_unit(record: Mapping[str, Any]) -> dict[str, Any]:
    return _fixed_record(record, UNIT_FIELDS, "MaDonVi", ("NgayCapNhat",),
                         {"HieuLucTu": UNITS_VALID_FROM.isoformat()})


def fixed_procedure(record: Mapping[str, Any]) -> dict[str, Any]:
    return _fixed_record(record, PROCEDURE_FIELDS, "MaTTHC", ("NgayCapNhat",),
                         {"DonViThoiHan": "ngay_lam_viec", "CoPhiLePhi": False,
                          "TraKetQuaGiay": True, "DoiTuong": "ca_hai"})


def _unit_code_of(unit: Unit | Mapping[str, Any]) -> str:
    return unit.code if isinstance(unit, Unit) else unit["MaDonVi"]


def _unit_updated_at(unit: Unit | Mapping[str, Any]) -> dt.datetime:
    if isinstance(unit, Unit):
        return unit.updated_at
    return dt.datetime.fromisoformat(unit["NgayCapNhat"])


# --------------------------------------------------------------------------------------------
# the world


class OneStopWorld:
    """Units, procedures and dossiers of the one-stop system.

    Items may be :class:`Unit` / :class:`Procedure` / :class:`Dossier` objects or plain dicts in
    the API shape (see :func:`fixed_dossier`); dicts are served as given. ``default_as_of`` is
    the moment used when none is passed (None: the end of time, everything in its final state).

    ``units`` may hold several versions of a unit (a new name, an end of validity with its
    successor), each with its own NgayCapNhat: :attr:`unit_history` keeps them all (served by
    :meth:`units_as_of`, one record per MaDonVi as of a moment) and :attr:`units` holds each
    unit once, in its latest version — the validity dates to use when asking which units exist
    on a day (:meth:`units_valid_on`).
    """

    def __init__(self, units: Iterable[Unit | Mapping[str, Any]] = (),
                 procedures: Iterable[Procedure | Mapping[str, Any]] = (),
                 dossiers: Iterable[Dossier | Mapping[str, Any]] = (), *,
                 default_as_of: dt.datetime | None = None, seed: int | None = None,
                 scenario: str | None = None) -> None:
        versions = [u if isinstance(u, Unit) else fixed_unit(u) for u in units]
        # every version of every unit, by (first appearance of the code, NgayCapNhat)
        order: dict[str, int] = {}
        for u in versions:
            order.setdefault(_unit_code_of(u), len(order))
        self.unit_history = sorted(versions, key=lambda u: (order[_unit_code_of(u)],
                                                            _unit_updated_at(u)))
        # the units, each in its latest version (validity dates and successor as finally known)
        latest: dict[str, Unit | dict[str, Any]] = {}
        for u in self.unit_history:
            latest[_unit_code_of(u)] = u
        self.units = list(latest.values())
        self.procedures = [p if isinstance(p, Procedure) else fixed_procedure(p)
                           for p in procedures]
        self.dossiers = [d if isinstance(d, Dossier) else fixed_dossier(d) for d in dossiers]
        self.default_as_of = default_as_of or END_OF_TIME
        self.seed = seed
        self.scenario = scenario

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OneStopWorld):
            return NotImplemented
        return (self.unit_history, self.procedures, self.dossiers, self.default_as_of) == (
            other.unit_history, other.procedures, other.dossiers, other.default_as_of)

    __hash__ = None  # mutable container

    def __repr__(self) -> str:
        return (f"OneStopWorld(seed={self.seed}, units={len(self.units)}, "
                f"procedures={len(self.procedures)}, dossiers={len(self.dossiers)})")

    def _resolve(self, as_of: dt.datetime | None) -> dt.datetime:
        as_of = as_of or self.default_as_of
        if as_of.tzinfo is None:
            raise ValueError(f"as_of {as_of} has no UTC offset: pass an aware datetime")
        return as_of

    @staticmethod
    def _reference_as_of(items: list, as_of: dt.datetime) -> list[dict[str, Any]]:
        out = []
        for item in items:
            record = item.to_record() if not isinstance(item, dict) else dict(item)
            if dt.datetime.fromisoformat(record["NgayCapNhat"]) <= as_of:
                out.append(record)
        return out

    def units_as_of(self, as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
        """One API record per MaDonVi: its latest version changed at or before ``as_of``
        (a unit whose first version is later is not served yet)."""
        latest: dict[str, dict[str, Any]] = {}
        for record in self._reference_as_of(self.unit_history, self._resolve(as_of)):
            latest[record["MaDonVi"]] = record  # history is sorted: later versions win
        return list(latest.values())

    def units_valid_on(self, day: dt.date) -> list[Unit | dict[str, Any]]:
        """The units (latest versions) that exist on ``day`` by their validity dates."""
        out = []
        for u in self.units:
            if isinstance(u, Unit):
                start, end = u.valid_from, u.valid_to
            else:
                start = dt.date.fromisoformat(u["HieuLucTu"])
                end = dt.date.fromisoformat(u["HieuLucDen"]) if u.get("HieuLucDen") else None
            if start <= day and (end is None or day <= end):
                out.append(u)
        return out

    def procedures_as_of(self, as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Procedures (API records) whose last change is at or before ``as_of``."""
        return self._reference_as_of(self.procedures, self._resolve(as_of))

    def dossiers_as_of(self, as_of: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Every dossier received at or before ``as_of``, in its state at ``as_of``."""
        as_of = self._resolve(as_of)
        out = []
        for d in self.dossiers:
            if isinstance(d, Dossier):
                record = d.as_of(as_of)
                if record is not None:
                    out.append(record)
            elif dt.datetime.fromisoformat(d["NgayTiepNhan"]) <= as_of:
                out.append(dict(d))
        return out


# --------------------------------------------------------------------------------------------
# reference data: Bình Định (DOMAIN.md §1)

# The units come from the scenario file (scenarios/<name>.yaml, see scenario.py); these two
# views of the default scenario keep the old shapes for the modules that need names:
# DEPARTMENTS (key, name) — the keys are the issuers of document numbers ("STC") — and
# DISTRICTS (kind, name, relative population).
_BINH_DINH = load_scenario("binh_dinh")
DEPARTMENTS = tuple((d["key"], d["name"]) for d in _BINH_DINH.data["units"]["departments"])
DISTRICTS = tuple((d["kind"], d["name"], float(d["population"]))
                  for d in _BINH_DINH.data["units"]["districts"])
QUY_NHON_STREETS = ("Trần Hưng Đạo", "Nguyễn Huệ", "Lê Hồng Phong", "Ngô Mây", "Hai Bà Trưng",
                    "Phạm Hùng", "Tây Sơn", "Hùng Vương", "An Dương Vương", "Xuân Diệu",
                    "Lê Lợi", "Nguyễn Thái Học")

# The most used procedures, as the national database words them: (name, LinhVuc, owner
# department key, CapThucHien, ThoiHan, DonViThoiHan, fee VND, paper result, DoiTuong,
# popularity). build_procedures adds templated variants to reach ~2,000 (SOURCES.md §5).
PROCEDURE_CATALOG = (
    # --- provincial (received by the owner department)
    ("Tiếp nhận, xử lý phản ánh, kiến nghị của cá nhân, tổ chức về quy định hành chính",
     "Kiểm soát thủ tục hành chính", "VP", "tinh", 10, "ngay_lam_viec", 0, True, "ca_hai", 0.6),
    ("Thẩm định thành lập đơn vị sự nghiệp công lập", "Tổ chức - Biên chế", "SNV", "tinh", 15,
     "ngay_lam_viec", 0, True, "to_chuc", 0.3),
    ("Xét tặng danh hiệu Chiến sĩ thi đua cấp tỉnh", "Thi đua - Khen thưởng", "SNV", "tinh", 20,
     "ngay_lam_viec", 0, True, "cong_dan", 0.6),
    ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam",
     "Lý lịch tư pháp", "STP", "tinh", 10, "ngay_lam_viec", 200_000, True, "cong_dan", 3.0),
    ("Đăng ký hoạt động Văn phòng công chứng", "Công chứng", "STP", "tinh", 10, "ngay_lam_viec",
     1_000_000, True, "to_chuc", 0.2),
    ("Đăng ký thành lập doanh nghiệp tư nhân", "Thành lập và hoạt động của doanh nghiệp", "SKHDT",
     "tinh", 3, "ngay_lam_viec", 100_000, True, "ca_hai", 1.5),
    ("Đăng ký thành lập công ty TNHH một thành viên", "Thành lập và hoạt động của doanh nghiệp",
     "SKHDT", "tinh", 3, "ngay_lam_viec", 100_000, True, "ca_hai", 2.0),
    ("Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "Thành lập và hoạt động của doanh nghiệp",
     "SKHDT", "tinh", 3, "ngay_lam_viec", 100_000, True, "to_chuc", 2.5),
    ("Cấp Giấy chứng nhận đăng ký đầu tư", "Đầu tư tại Việt Nam", "SKHDT", "tinh", 15,
     "ngay_lam_viec", 0, True, "ca_hai", 0.3),
    ("Đăng ký mã số đơn vị có quan hệ với ngân sách", "Tin học - Thống kê", "STC", "tinh", 2,
     "ngay_lam_viec", 0, False, "to_chuc", 1.0),
    ("Thẩm tra, phê duyệt quyết toán dự án hoàn thành", "Quản lý vốn đầu tư", "STC", "tinh", 20,
     "ngay_lam_viec", 0, True, "to_chuc", 0.8),
    ("Cấp Giấy phép kinh doanh bán lẻ sản phẩm rượu", "Lưu thông hàng hóa trong nước", "SCT",
     "tinh", 10, "ngay_lam_viec", 1_200_000, True, "ca_hai", 0.5),
    ("Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ LPG chai", "Kinh doanh khí", "SCT", "tinh",
     15, "ngay_lam_viec", 400_000, True, "to_chuc", 0.3),
    ("Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông lâm thủy sản",
     "Quản lý chất lượng nông lâm sản và thủy sản", "SNN", "tinh", 15, "ngay_lam_viec", 700_000,
     True, "ca_hai", 0.6),
    ("Kiểm dịch động vật vận chuyển ra khỏi địa bàn cấp tỉnh", "Thú y", "SNN", "tinh", 8, "gio",
     0, True, "ca_hai", 0.8),
    ("Cấp giấy phép khai thác thủy sản", "Thủy sản", "SNN", "tinh", 6, "ngay_lam_viec", 40_000,
     True, "cong_dan", 0.7),
    ("Đổi Giấy phép lái xe do ngành Giao thông vận tải cấp", "Đường bộ", "SGTVT", "tinh", 5,
     "ngay_lam_viec", 135_000, True, "cong_dan", 4.0),
    ("Cấp Giấy phép lái xe quốc tế", "Đường bộ", "SGTVT", "tinh", 5, "ngay_lam_viec", 135_000,
     True, "cong_dan", 0.3),
    ("Cấp phù hiệu xe ô tô kinh doanh vận tải", "Đường bộ", "SGTVT", "tinh", 2, "ngay_lam_viec",
     0, True, "to_chuc", 1.2),
    ("Cấp giấy phép xây dựng công trình cấp I, cấp II", "Hoạt động xây dựng", "SXD", "tinh", 20,
     "ngay", 150_000, True, "ca_hai", 0.4),
    ("Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", "Hoạt động xây dựng", "SXD",
     "tinh", 20, "ngay_lam_viec", 300_000, True, "cong_dan", 0.7),
    ("Cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho tổ chức", "Đất đai", "STNMT", "tinh", 20,
     "ngay_lam_viec", 500_000, True, "to_chuc", 0.6),
    ("Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "Đất đai",
     "STNMT", "tinh", 10, "ngay_lam_viec", 50_000, True, "ca_hai", 1.5),
    ("Cấp giấy phép khai thác, sử dụng nước dưới đất", "Tài nguyên nước", "STNMT", "tinh", 30,
     "ngay", 600_000, True, "to_chuc", 0.2),
    ("Cấp giấy phép xuất bản bản tin", "Báo chí", "STTTT", "tinh", 10, "ngay_lam_viec", 0, True,
     "to_chuc", 0.3),
    ("Cấp giấy phép hoạt động in", "Xuất bản, In và Phát hành", "STTTT", "tinh", 7,
     "ngay_lam_viec", 0, True, "to_chuc", 0.2),
    ("Cấp giấy phép thiết lập trang thông tin điện tử tổng hợp",
     "Phát thanh, truyền hình và thông tin điện tử", "STTTT", "tinh", 10, "ngay_lam_viec", 0,
     True, "to_chuc", 0.2),
    ("Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", "Việc làm",
     "SLDTBXH", "tinh", 5, "ngay_lam_viec", 400_000, True, "to_chuc", 0.6),
    ("Giải quyết chế độ trợ cấp một lần đối với thân nhân người hoạt động kháng chiến",
     "Người có công", "SLDTBXH", "tinh", 12, "ngay_lam_viec", 0, True, "cong_dan", 0.5),
    ("Cấp giấy phép tổ chức biểu diễn nghệ thuật", "Nghệ thuật biểu diễn", "SVHTT", "tinh", 5,
     "ngay_lam_viec", 0, True, "ca_hai", 0.4),
    ("Cấp giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao", "Thể dục thể thao",
     "SVHTT", "tinh", 7, "ngay_lam_viec", 0, True, "ca_hai", 0.2),
    ("Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa", "Lữ hành", "SDL", "tinh", 10,
     "ngay_lam_viec", 3_000_000, True, "to_chuc", 0.3),
    ("Công nhận hạng cơ sở lưu trú du lịch hạng 1 sao, 2 sao", "Lưu trú du lịch", "SDL", "tinh",
     30, "ngay", 1_500_000, True, "to_chuc", 0.3),
    ("Cấp Giấy phép tiến hành công việc bức xạ sử dụng thiết bị X-quang chẩn đoán trong y tế",
     "An toàn bức xạ và hạt nhân", "SKHCN", "tinh", 15, "ngay_lam_viec", 2_000_000, True,
     "to_chuc", 0.3),
    ("Cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
     "Hoạt động khoa học và công nghệ", "SKHCN", "tinh", 15, "ngay_lam_viec", 0, True,
     "to_chuc", 0.1),
    ("Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "Văn bằng, chứng chỉ", "SGDDT", "tinh", 4,
     "gio", 0, True, "cong_dan", 1.0),
    ("Chỉnh sửa nội dung văn bằng, chứng chỉ", "Văn bằng, chứng chỉ", "SGDDT", "tinh", 5,
     "ngay_lam_viec", 0, True, "cong_dan", 0.4),
    ("Cho phép trung tâm ngoại ngữ, tin học hoạt động giáo dục", "Giáo dục và Đào tạo", "SGDDT",
     "tinh", 20, "ngay_lam_viec", 0, True, "to_chuc", 0.1),
    ("Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh đối với người Việt Nam",
     "Khám bệnh, chữa bệnh", "SYT", "tinh", 20, "ngay_lam_viec", 360_000, True, "cong_dan", 0.8),
    ("Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược", "Dược phẩm", "SYT", "tinh", 20,
     "ngay_lam_viec", 500_000, True, "ca_hai", 0.5),
    ("Cho phép tổ chức hội nghị, hội thảo quốc tế", "Hội nghị, hội thảo quốc tế", "SNGV", "tinh",
     10, "ngay_lam_viec", 0, False, "to_chuc", 0.2),
    ("Cho phép sử dụng thẻ đi lại của doanh nhân APEC", "Thẻ ABTC", "SNGV", "tinh", 10,
     "ngay_lam_viec", 0, True, "cong_dan", 0.2),
    ("Giải quyết khiếu nại lần hai tại cấp tỉnh", "Giải quyết khiếu nại", "TTR", "tinh", 45,
     "ngay", 0, True, "ca_hai", 0.2),
    ("Giải quyết tố cáo tại cấp tỉnh", "Giải quyết tố cáo", "TTR", "tinh", 30, "ngay", 0, True,
     "cong_dan", 0.1),
    ("Công nhận người có uy tín trong đồng bào dân tộc thiểu số", "Công tác dân tộc", "BDT",
     "tinh", 10, "ngay_lam_viec", 0, True, "cong_dan", 0.2),
    ("Cấp Giấy chứng nhận đăng ký đầu tư trong khu kinh tế", "Đầu tư tại Việt Nam", "BQLKKT",
     "tinh", 15, "ngay_lam_viec", 0, True, "to_chuc", 0.2),
    ("Cấp giấy phép lao động cho người nước ngoài làm việc trong khu kinh tế", "Việc làm",
     "BQLKKT", "tinh", 5, "ngay_lam_viec", 400_000, True, "to_chuc", 0.2),
    # --- district level (received by each district-level People's Committee)
    ("Cấp Giấy chứng nhận đăng ký hộ kinh doanh", "Thành lập và hoạt động của hộ kinh doanh",
     "SKHDT", "huyen", 3, "ngay_lam_viec", 100_000, True, "cong_dan", 3.0),
    ("Đăng ký thành lập hợp tác xã", "Thành lập và hoạt động của hợp tác xã", "SKHDT", "huyen",
     5, "ngay_lam_viec", 100_000, True, "to_chuc", 0.2),
    ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Hoạt động xây dựng", "SXD", "huyen", 15, "ngay",
     75_000, True, "cong_dan", 3.0),
    ("Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan nước ngoài cấp", "Chứng thực",
     "STP", "huyen", 4, "gio", 2_000, True, "cong_dan", 1.5),
    ("Đăng ký khai sinh có yếu tố nước ngoài", "Hộ tịch", "STP", "huyen", 15, "ngay_lam_viec",
     75_000, True, "cong_dan", 0.3),
    ("Cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho hộ gia đình, cá nhân", "Đất đai",
     "STNMT", "huyen", 20, "ngay_lam_viec", 100_000, True, "cong_dan", 4.0),
    ("Đăng ký biến động đất đai cho hộ gia đình, cá nhân", "Đất đai", "STNMT", "huyen", 10,
     "ngay_lam_viec", 50_000, True, "cong_dan", 5.0),
    ("Cấp đổi Giấy chứng nhận quyền sử dụng đất", "Đất đai", "STNMT", "huyen", 7,
     "ngay_lam_viec", 50_000, True, "cong_dan", 2.0),
    ("Cấp Giấy phép kinh doanh bán lẻ sản phẩm thuốc lá", "Lưu thông hàng hóa trong nước", "SCT",
     "huyen", 10, "ngay_lam_viec", 200_000, True, "ca_hai", 0.5),
    ("Giải quyết trợ cấp xã hội hàng tháng cho đối tượng bảo trợ xã hội", "Bảo trợ xã hội",
     "SLDTBXH", "huyen", 17, "ngay_lam_viec", 0, True, "cong_dan", 1.5),
    ("Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm kinh doanh dịch vụ ăn uống",
     "An toàn thực phẩm", "SYT", "huyen", 15, "ngay_lam_viec", 500_000, True, "ca_hai", 0.8),
    ("Cho phép trường mầm non hoạt động giáo dục", "Giáo dục và Đào tạo", "SGDDT", "huyen", 20,
     "ngay_lam_viec", 0, True, "to_chuc", 0.1),
    ("Cấp Giấy phép đủ điều kiện kinh doanh dịch vụ karaoke", "Văn hóa", "SVHTT", "huyen", 5,
     "ngay_lam_viec", 4_000_000, True, "ca_hai", 0.3),
    # --- commune level (received by each commune)
    ("Đăng ký khai sinh", "Hộ tịch", "STP", "xa", 4, "gio", 0, True, "cong_dan", 5.0),
    ("Đăng ký kết hôn", "Hộ tịch", "STP", "xa", 3, "ngay_lam_viec", 0, True, "cong_dan", 2.0),
    ("Đăng ký khai tử", "Hộ tịch", "STP", "xa", 8, "gio", 0, True, "cong_dan", 1.5),
    ("Cấp bản sao trích lục hộ tịch", "Hộ tịch", "STP", "xa", 4, "gio", 8_000, True,
     "cong_dan", 2.0),
    ("Xác nhận tình trạng hôn nhân", "Hộ tịch", "STP", "xa", 3, "ngay_lam_viec", 0, True,
     "cong_dan", 2.5),
    ("Chứng thực chữ ký trong các giấy tờ, văn bản", "Chứng thực", "STP", "xa", 4, "gio", 10_000,
     True, "cong_dan", 4.0),
    ("Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", "Chứng thực", "STP",
     "xa", 2, "ngay_lam_viec", 50_000, True, "cong_dan", 1.0),
    ("Hòa giải tranh chấp đất đai", "Đất đai", "STNMT", "xa", 45, "ngay", 0, False, "cong_dan",
     0.3),
    ("Đăng ký hoạt động tín ngưỡng", "Tôn giáo", "SNV", "xa", 15, "ngay", 0, False, "to_chuc",
     0.1),
)

# Objects of the templated procedure variants: (object, LinhVuc, owner department key, level).
# Names follow the national database's wording ("Cấp lại Giấy phép …", "Gia hạn …"); the
# variants are synthetic but shaped like the real catalogue (many provincial, fewer below).
VARIANT_OBJECTS = (
    ("Giấy phép tổ chức sự kiện, lễ hội cấp tỉnh", "Hành chính tổng hợp", "VP", "tinh"),
    ("Giấy phép thành lập quỹ xã hội, quỹ từ thiện", "Tổ chức phi chính phủ", "SNV", "tinh"),
    ("Quyết định công nhận điều lệ hội", "Tổ chức phi chính phủ", "SNV", "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động tôn giáo cấp tỉnh", "Tôn giáo", "SNV", "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động văn phòng luật sư", "Luật sư", "STP", "tinh"),
    ("Thẻ công chứng viên", "Công chứng", "STP", "tinh"),
    ("Giấy đăng ký hoạt động trung tâm trọng tài", "Trọng tài thương mại", "STP", "tinh"),
    ("Thẻ giám định viên tư pháp", "Giám định tư pháp", "STP", "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động chi nhánh doanh nghiệp", "Thành lập và hoạt động "
     "của doanh nghiệp", "SKHDT", "tinh"),
    ("Giấy chứng nhận đăng ký doanh nghiệp công ty cổ phần", "Thành lập và hoạt động "
     "của doanh nghiệp", "SKHDT", "tinh"),
    ("Quyết định chủ trương đầu tư", "Đầu tư tại Việt Nam", "SKHDT", "tinh"),
    ("Giấy chứng nhận đăng ký hợp tác xã cấp tỉnh", "Thành lập và hoạt động của hợp tác xã",
     "SKHDT", "tinh"),
    ("Mã số đơn vị có quan hệ với ngân sách cho dự án đầu tư", "Tin học - Thống kê", "STC",
     "tinh"),
    ("Quyết định giá tài sản công", "Quản lý công sản", "STC", "tinh"),
    ("Giấy phép sản xuất rượu công nghiệp", "Công nghiệp tiêu dùng", "SCT", "tinh"),
    ("Giấy chứng nhận đủ điều kiện kinh doanh xăng dầu", "Kinh doanh xăng dầu", "SCT", "tinh"),
    ("Giấy phép hoạt động điện lực", "Điện", "SCT", "tinh"),
    ("Giấy chứng nhận đủ điều kiện sản xuất hóa chất", "Hóa chất", "SCT", "tinh"),
    ("Giấy phép lập cơ sở bán lẻ", "Thương mại quốc tế", "SCT", "tinh"),
    ("Giấy chứng nhận kiểm dịch thực vật nội địa", "Bảo vệ thực vật", "SNN", "tinh"),
    ("Giấy chứng nhận đủ điều kiện buôn bán thuốc bảo vệ thực vật", "Bảo vệ thực vật", "SNN",
     "tinh"),
    ("Giấy chứng nhận đủ điều kiện vệ sinh thú y", "Thú y", "SNN", "tinh"),
    ("Giấy phép khai thác lâm sản", "Lâm nghiệp", "SNN", "tinh"),
    ("Giấy chứng nhận đăng ký tàu cá", "Thủy sản", "SNN", "tinh"),
    ("Giấy phép hoạt động thủy lợi", "Thủy lợi", "SNN", "tinh"),
    ("Giấy chứng nhận đăng ký xe máy chuyên dùng", "Đường bộ", "SGTVT", "tinh"),
    ("Giấy phép kinh doanh vận tải bằng xe ô tô", "Đường bộ", "SGTVT", "tinh"),
    ("Giấy phép xe tập lái", "Đường bộ", "SGTVT", "tinh"),
    ("Giấy phép thi công công trình trên đường bộ", "Đường bộ", "SGTVT", "tinh"),
    ("Giấy chứng nhận đăng ký phương tiện thủy nội địa", "Đường thủy nội địa", "SGTVT",
     "tinh"),
    ("Chứng chỉ năng lực hoạt động xây dựng", "Hoạt động xây dựng", "SXD", "tinh"),
    ("Giấy phép quy hoạch dự án đầu tư xây dựng", "Quy hoạch xây dựng", "SXD", "tinh"),
    ("Chứng chỉ hành nghề môi giới bất động sản", "Kinh doanh bất động sản", "SXD", "tinh"),
    ("Giấy phép di dời công trình", "Hoạt động xây dựng", "SXD", "tinh"),
    ("Giấy phép khai thác khoáng sản", "Địa chất và khoáng sản", "STNMT", "tinh"),
    ("Giấy phép môi trường", "Môi trường", "STNMT", "tinh"),
    ("Giấy phép xả nước thải vào nguồn nước", "Tài nguyên nước", "STNMT", "tinh"),
    ("Quyết định giao khu vực biển", "Biển và hải đảo", "STNMT", "tinh"),
    ("Giấy chứng nhận quyền sử dụng đất cho tổ chức tôn giáo", "Đất đai", "STNMT", "tinh"),
    ("Giấy phép hoạt động đo đạc và bản đồ", "Đo đạc và bản đồ", "STNMT", "tinh"),
    ("Giấy phép hoạt động báo in", "Báo chí", "STTTT", "tinh"),
    ("Giấy phép cung cấp dịch vụ trò chơi điện tử G1", "Phát thanh, truyền hình và thông tin "
     "điện tử", "STTTT", "tinh"),
    ("Giấy xác nhận đăng ký hoạt động phát hành xuất bản phẩm", "Xuất bản, In và Phát hành",
     "STTTT", "tinh"),
    ("Giấy phép bưu chính", "Bưu chính", "STTTT", "tinh"),
    ("Giấy phép thành lập trung tâm dịch vụ việc làm", "Việc làm", "SLDTBXH", "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp", "Giáo dục nghề nghiệp",
     "SLDTBXH", "tinh"),
    ("Giấy phép hoạt động cho thuê lại lao động", "Việc làm", "SLDTBXH", "tinh"),
    ("Quyết định trợ cấp ưu đãi người có công", "Người có công", "SLDTBXH", "tinh"),
    ("Giấy phép hoạt động cơ sở trợ giúp xã hội", "Bảo trợ xã hội", "SLDTBXH", "tinh"),
    ("Giấy phép triển lãm mỹ thuật", "Mỹ thuật, nhiếp ảnh, triển lãm", "SVHTT", "tinh"),
    ("Giấy phép thăm dò, khai quật khảo cổ", "Di sản văn hóa", "SVHTT", "tinh"),
    ("Giấy chứng nhận đủ điều kiện kinh doanh giám định cổ vật", "Di sản văn hóa", "SVHTT",
     "tinh"),
    ("Thẻ hướng dẫn viên du lịch nội địa", "Lữ hành", "SDL", "tinh"),
    ("Giấy chứng nhận cơ sở kinh doanh dịch vụ du lịch đạt chuẩn", "Du lịch", "SDL", "tinh"),
    ("Giấy chứng nhận đăng ký chuyển giao công nghệ", "Chuyển giao công nghệ", "SKHCN", "tinh"),
    ("Giấy phép vận chuyển hàng nguy hiểm", "An toàn bức xạ và hạt nhân", "SKHCN", "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động thử nghiệm", "Tiêu chuẩn đo lường chất lượng",
     "SKHCN", "tinh"),
    ("Giấy phép hoạt động trường trung học phổ thông tư thục", "Giáo dục và Đào tạo", "SGDDT",
     "tinh"),
    ("Giấy chứng nhận đăng ký hoạt động dạy thêm, học thêm", "Giáo dục và Đào tạo", "SGDDT",
     "tinh"),
    ("Bằng tốt nghiệp trung học phổ thông", "Văn bằng, chứng chỉ", "SGDDT", "tinh"),
    ("Chứng chỉ hành nghề dược", "Dược phẩm", "SYT", "tinh"),
    ("Giấy phép hoạt động phòng khám đa khoa", "Khám bệnh, chữa bệnh", "SYT", "tinh"),
    ("Giấy tiếp nhận hồ sơ công bố mỹ phẩm", "Mỹ phẩm", "SYT", "tinh"),
    ("Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm cấp tỉnh", "An toàn thực phẩm",
     "SYT", "tinh"),
    ("Giấy chứng nhận đủ điều kiện hoạt động dịch vụ xét nghiệm", "Y tế dự phòng", "SYT",
     "tinh"),
    ("Văn bản cho phép đón đoàn khách nước ngoài", "Công tác lãnh sự", "SNGV", "tinh"),
    ("Quyết định giải quyết khiếu nại về quản lý hành chính", "Giải quyết khiếu nại", "TTR",
     "tinh"),
    ("Quyết định hỗ trợ đồng bào dân tộc thiểu số", "Công tác dân tộc", "BDT", "tinh"),
    ("Giấy phép xây dựng công trình trong khu kinh tế", "Hoạt động xây dựng", "BQLKKT",
     "tinh"),
    ("Giấy chứng nhận xuất xứ hàng hóa trong khu kinh tế", "Xuất nhập khẩu", "BQLKKT", "tinh"),
    # district level
    ("Giấy chứng nhận đăng ký hộ kinh doanh", "Thành lập và hoạt động của hộ kinh doanh",
     "SKHDT", "huyen"),
    ("Giấy chứng nhận đăng ký tổ hợp tác", "Thành lập và hoạt động của hợp tác xã", "SKHDT",
     "huyen"),
    ("Giấy phép xây dựng công trình tôn giáo", "Hoạt động xây dựng", "SXD", "huyen"),
    ("Giấy phép sửa chữa, cải tạo nhà ở riêng lẻ", "Hoạt động xây dựng", "SXD", "huyen"),
    ("Giấy chứng nhận quyền sử dụng đất", "Đất đai", "STNMT", "huyen"),
    ("Quyết định chuyển mục đích sử dụng đất", "Đất đai", "STNMT", "huyen"),
    ("Quyết định giao đất, cho thuê đất", "Đất đai", "STNMT", "huyen"),
    ("Kế hoạch bảo vệ môi trường", "Môi trường", "STNMT", "huyen"),
    ("Giấy phép bán lẻ rượu", "Lưu thông hàng hóa trong nước", "SCT", "huyen"),
    ("Giấy phép kinh doanh bán lẻ sản phẩm thuốc lá", "Lưu thông hàng hóa trong nước", "SCT",
     "huyen"),
    ("Quyết định trợ cấp xã hội hàng tháng", "Bảo trợ xã hội", "SLDTBXH", "huyen"),
    ("Quyết định hỗ trợ chi phí mai táng", "Bảo trợ xã hội", "SLDTBXH", "huyen"),
    ("Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "An toàn thực phẩm", "SYT",
     "huyen"),
    ("Giấy phép hoạt động trường tiểu học, trung học cơ sở", "Giáo dục và Đào tạo", "SGDDT",
     "huyen"),
    ("Giấy phép kinh doanh dịch vụ karaoke", "Văn hóa", "SVHTT", "huyen"),
    ("Giấy chứng nhận đăng ký hoạt động tín ngưỡng liên xã", "Tôn giáo", "SNV", "huyen"),
    ("Trích lục hộ tịch có yếu tố nước ngoài", "Hộ tịch", "STP", "huyen"),
    ("Quyết định thay đổi, cải chính hộ tịch", "Hộ tịch", "STP", "huyen"),
    ("Giấy phép khai thác cát, sỏi lòng sông", "Địa chất và khoáng sản", "STNMT", "huyen"),
    ("Giấy chứng nhận sản phẩm OCOP", "Phát triển nông thôn", "SNN", "huyen"),
    # commune level
    ("Trích lục khai sinh", "Hộ tịch", "STP", "xa"),
    ("Giấy xác nhận tình trạng hôn nhân", "Hộ tịch", "STP", "xa"),
    ("Trích lục đăng ký kết hôn", "Hộ tịch", "STP", "xa"),
    ("Trích lục khai tử", "Hộ tịch", "STP", "xa"),
    ("Giấy xác nhận nhận cha, mẹ, con", "Hộ tịch", "STP", "xa"),
    ("Bản sao chứng thực từ bản chính", "Chứng thực", "STP", "xa"),
    ("Giấy chứng nhận hòa giải viên", "Phổ biến giáo dục pháp luật", "STP", "xa"),
    ("Giấy xác nhận hộ nghèo, hộ cận nghèo", "Bảo trợ xã hội", "SLDTBXH", "xa"),
    ("Giấy xác nhận người có công", "Người có công", "SLDTBXH", "xa"),
    ("Thẻ bảo hiểm y tế cho người thuộc hộ gia đình nghèo", "Bảo trợ xã hội", "SLDTBXH", "xa"),
    ("Giấy xác nhận nguồn gốc đất", "Đất đai", "STNMT", "xa"),
    ("Giấy xác nhận thời gian công tác", "Tổ chức - Biên chế", "SNV", "xa"),
    ("Giấy phép tổ chức lễ hội cấp xã", "Văn hóa", "SVHTT", "xa"),
    ("Giấy xác nhận hoạt động nông nghiệp", "Nông nghiệp", "SNN", "xa"),
    ("Quyết định hỗ trợ thiệt hại do thiên tai", "Phòng chống thiên tai", "SNN", "xa"),
)
# verb templates for documents, and the qualifiers that multiply them
VARIANT_VERBS = ("Cấp {}", "Cấp lại {}", "Cấp đổi {}", "Gia hạn {}", "Điều chỉnh nội dung {}",
                 "Cấp sửa đổi, bổ sung {}", "Thu hồi {}")
VARIANT_QUALIFIERS = ("", " (trường hợp bị mất, hư hỏng)", " (trường hợp thay đổi thông tin)",
                      " đối với tổ chức", " đối với cá nhân",
                      " đối với doanh nghiệp có vốn đầu tư nước ngoài",
                      " thực hiện tại bộ phận một cửa", " (trường hợp đặc biệt)")
PROCEDURES_PER_LEVEL = {"tinh": 1500, "huyen": 300, "xa": 200}  # SOURCES.md §5: ~2,000
WORKING_DAY_TIMES = (1, 2, 3, 5, 7, 10, 12, 15, 20, 25, 30)
WORKING_DAY_WEIGHTS = (4, 6, 10, 14, 10, 16, 5, 12, 10, 3, 6)
FEES = (10_000, 20_000, 50_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000,
        2_000_000)

# dossiers by level of the receiving unit
LEVEL_SHARE = {"tinh": 0.40, "huyen": 0.40, "xa": 0.20}
# province-wide share of dossiers submitted online (KenhThucHien 2) from 2020, by year: faster
# with the national portal and COVID (2020–2022), strongly with full-process online services
# after Decree 42/2022; a unit's maturity bends it (see _online_share)
ONLINE_SHARE = {2020: 0.16, 2021: 0.25, 2022: 0.33, 2023: 0.50, 2024: 0.62, 2025: 0.72,
                2026: 0.78}
# 2016–2019, before the national portal: the online channel came in waves, unit by unit. Year →
# steps (maturity from which, online share of a department) — a unit below the first step
# received no online dossier that year; from 2020 a unit keeps at least its 2019 share. Issue 6
# calibrates 2016–2017 on DOMAIN.md §2 (docs/simulator.md): each step is far from the
# thresholds of binh_dinh_2017 4.2 (0.01 … 0.30), so DVC-4 lands in the same band at any volume:
# - 2017: Sở Tài chính and Sở TT&TT (maturity ≥ 0.94) 45 % → 120 points; the other departments
#   rated tốt (≥ 0.72) 25 % → 100; the rest none (0). Districts × LEVEL_ONLINE: Quy Nhơn (0.9)
#   0.3 × 25 % = 7.5 % (0.05–0.10 → 60: with DVC-1 ≥ 0.2, 100/160 in group 4); every other
#   district (≤ 0.55) 0.
# - 2016: only units of maturity ≥ 0.775 (the six departments rated tốt, Quy Nhơn): 25 % → 100
#   points (Quy Nhơn 7.5 %), ≥ 0.94 35 %.
EARLY_ONLINE: dict[int, tuple[tuple[float, float], ...]] = {
    2016: ((0.775, 0.25), (0.94, 0.35)),
    2017: ((0.72, 0.25), (0.94, 0.45)),
    2018: ((0.55, 0.12), (0.72, 0.30), (0.88, 0.40), (0.94, 0.50)),
    2019: ((0.35, 0.08), (0.55, 0.18), (0.72, 0.35), (0.88, 0.45), (0.94, 0.55)),
}
# the factor of each unit level (the district-level procedures — land, household, construction
# permits — went online later than the departments' business procedures)
LEVEL_ONLINE = {2: 1.0, 3: 0.3, 4: 0.15}
VOLUME_GROWTH = 1.08  # dossiers per year, year over year
# receipts per working day: Monday busiest, Friday quietest
WEEKDAY_FACTOR = (1.15, 1.05, 1.0, 1.0, 0.9, 0.6, 0.6)
TET_SURGE, TET_DIP = 1.35, 0.45  # the two weeks before the Tết break; the week after it
FAMILY_NAMES = (("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Huỳnh", 5),
                ("Phan", 4.5), ("Võ", 4), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 1.5), ("Hồ", 1.5),
                ("Ngô", 1.3), ("Trương", 1.2), ("Dương", 1), ("Đoàn", 1), ("Lý", 0.5),
                ("Lâm", 0.5))
MALE_MIDDLE = ("Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Ngọc",
               "Đình")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Kim", "Bảo", "Hồng")
MALE_GIVEN = ("Anh", "Bảo", "Cường", "Dũng", "Duy", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy",
              "Khang", "Khánh", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quang",
              "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn", "Trung", "Tuấn", "Việt", "Vinh")
FEMALE_GIVEN = ("An", "Anh", "Châu", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền",
                "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung",
                "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Thủy", "Trang", "Trinh", "Vân", "Yến")
MOBILE_PREFIXES = ("90", "91", "93", "94", "96", "97", "98", "86", "88", "89", "35", "36", "37",
                   "38", "39", "32", "33", "34", "70", "76", "77", "78", "79", "81", "82", "83",
                   "84", "85", "56", "58", "59")
BINH_DINH_ID_PREFIX = "052"  # the province code in the 12-digit citizen ID

NOTE_RECEIVED = "Tiếp nhận hồ sơ"
NOTE_PROCESSING = "Chuyển xử lý"
NOTE_SUPPLEMENT = "Yêu cầu bổ sung, hoàn thiện hồ sơ"
NOTE_SUPPLEMENTED = "Nhận hồ sơ bổ sung"
NOTE_APOLOGY = "Lập phiếu xin lỗi và hẹn lại ngày trả kết quả"
NOTE_PROCESSED = "Hoàn thành xử lý"
NOTE_RETURNED = "Trả kết quả"
NOTE_REFUSED = "Từ chối giải quyết: hồ sơ không đủ điều kiện"
NOTE_WITHDRAWN = "Người nộp rút hồ sơ"
NOTE_STOPPED = "Dừng xử lý hồ sơ"


PROVINCE_CODE = _BINH_DINH.code()


def _district_label(kind: str, name: str) -> str:
    return f"{kind} {name}"


def build_units(scenario: str | Scenario = "binh_dinh") -> tuple[list[Unit], dict[str, str]]:
    """Every version of every unit of the scenario (the province, 21 departments, 11
    district-level units, 159 communes until 2025-06-30 and the merged communes after), sorted
    by (code, NgayCapNhat); also a map from department key / district or commune name to code."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    units, codes = [], {}
    for v in sc.unit_history():
        units.append(Unit(v.code, v.name, v.level, v.parent_code, v.valid_from, v.valid_to,
                          v.successor_code, v.updated_at, v.maturity, v.maturity_by_year))
        codes.setdefault(v.key, v.code)
    return units, codes


def _fixed_time(rng: random.Random) -> dt.datetime:
    return dt.datetime(2015, rng.randint(1, 12), rng.randint(1, 28), rng.randint(8, 16),
                       rng.choice((0, 15, 30, 45)), tzinfo=VN_OFFSET)


def build_procedures(codes: Mapping[str, str]) -> list[Procedure]:
    """The procedure catalogue, ~2,000 procedures (SOURCES.md §5); independent of the seed so
    codes are stable across worlds. The hand-written :data:`PROCEDURE_CATALOG` comes first
    (the most used ones, their codes unchanged); templated variants of
    :data:`VARIANT_OBJECTS` fill each level up to :data:`PROCEDURES_PER_LEVEL` with a
    Zipf-like tail of popularity, so a few hundred procedures carry most dossiers."""
    fixed = random.Random(766)
    seen: set[str] = set()

    def new_code() -> str:
        while True:
            code = f"{fixed.choice('1112')}.00{fixed.randint(1000, 9999)}"
            if code not in seen:
                seen.add(code)
                return code

    out = []
    names = set()
    for row in PROCEDURE_CATALOG:
        name, field_, owner, level, amount, unit, fee, paper, audience, popularity = row
        code = new_code()
        out.append(Procedure(code, name, field_, level, amount, unit, fee, paper, audience,
                             codes[owner], _fixed_time(fixed), popularity))
        names.add(name)
    for level, target in PROCEDURES_PER_LEVEL.items():
        objects = [o for o in VARIANT_OBJECTS if o[3] == level]
        candidates = []
        for qi, qualifier in enumerate(VARIANT_QUALIFIERS):
            for vi, verb in enumerate(VARIANT_VERBS):
                for obj, field_, owner, _ in objects:
                    name = verb.format(obj) + qualifier
                    if name not in names:
                        names.add(name)
                        # common wordings first: plain "Cấp …" before "Thu hồi … (đặc biệt)"
                        rank = qi + 0.5 * vi + 4 * fixed.random()
                        candidates.append((rank, name, field_, owner, qi, vi))
        have = sum(p.level == level for p in out)
        candidates.sort(key=lambda c: c[0])
        for k, (_, name, field_, owner, qi, vi) in enumerate(candidates[:target - have],
                                                               start=1):
            r = fixed.random()
            if r < 0.05:
                amount, unit = fixed.choice((4, 8, 16, 24, 40)), "gio"
            elif r < 0.12:
                amount, unit = fixed.choice((7, 10, 15, 20, 30, 45, 60)), "ngay"
            else:
                amount = fixed.choices(WORKING_DAY_TIMES, WORKING_DAY_WEIGHTS)[0]
                unit = "ngay_lam_viec"
                if vi in (1, 3):  # re-issuing and extending are quicker
                    amount = max(1, amount // 2)
            fee = 0 if fixed.random() < 0.55 or vi == 6 else fixed.choice(FEES)
            audience = ("to_chuc" if qi in (3, 5) else "cong_dan" if qi == 4 else
                        fixed.choices(("cong_dan", "to_chuc", "ca_hai"), (35, 35, 30))[0])
            paper = fixed.random() < 0.9
            popularity = round(0.3 * (1 + k / 5) ** -1.1, 6)
            out.append(Procedure(new_code(), name, field_, level, amount, unit, fee, paper,
                                 audience, codes[owner], _fixed_time(fixed), popularity))
    return out


# --------------------------------------------------------------------------------------------
# dossier generation


@dataclass
class _Receipt:
    index: int
    unit: Unit
    procedure: Procedure
    channel: int
    received_at: dt.datetime
    district: str | None  # for the address (None after the district level ends)
    place: str | None  # commune of the address when the unit is a commune


@dataclass
class _Days:
    working: list[dt.date] = field(default_factory=list)
    cum_weights: list[float] = field(default_factory=list)  # of ``working``
    first: dt.date = dt.date(2016, 1, 1)
    last: dt.date = dt.date(2016, 12, 31)
    closed: frozenset[dt.date] = frozenset()  # public holidays and the Tết break: no desk open


def tet_break(year: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the Tết break of ``year``: the run of days off around the
    Lunar New Year (holidays package + the calendar's corrections)."""
    from govkpi.calendar import _vn_holidays

    new_year = next(day for day, name in _vn_holidays((year,)).items()
                    if name == "Lunar New Year")
    first = last = new_year
    while not is_working_day(first - dt.timedelta(days=1)):
        first -= dt.timedelta(days=1)
    while not is_working_day(last + dt.timedelta(days=1)):
        last += dt.timedelta(days=1)
    return first, last


def _seasonal_factor(day: dt.date, tet: tuple[dt.date, dt.date]) -> float:
    factor = WEEKDAY_FACTOR[day.weekday()]
    first, last = tet
    if first - dt.timedelta(days=15) <= day < first:
        factor *= TET_SURGE  # papers wanted before Tết
    elif last < day <= last + dt.timedelta(days=7):
        factor *= TET_DIP  # the first week back is quiet
    return factor


@cache
def _year_days(year: int) -> _Days:
    from govkpi.calendar import _vn_holidays

    tet = tet_break(year)
    closed = set(_vn_holidays((year,)))
    closed.update(tet[0] + dt.timedelta(days=i) for i in range((tet[1] - tet[0]).days + 1))
    days = _Days(first=dt.date(year, 1, 1), last=dt.date(year, 12, 31), closed=frozenset(closed))
    total = 0.0
    day = days.first
    while day.year == year:
        if is_working_day(day):
            days.working.append(day)
            total += _seasonal_factor(day, tet)
            days.cum_weights.append(total)
        day += dt.timedelta(days=1)
    return days


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60,
                       tzinfo=VN_OFFSET)


def _office_minute(rng: random.Random) -> int:
    """Minute of the day at a one-stop desk: mornings busy, some after the 15:00 cutoff."""
    r = rng.random()
    if r < 0.58:
        return rng.randint(7 * 60 + 30, 11 * 60 + 29)
    if r < 0.85:
        return rng.randint(13 * 60 + 30, 14 * 60 + 59)
    return rng.randint(15 * 60, 16 * 60 + 59)


def _online_share(year: int, maturity: float, level: int = 2) -> float:
    """Share of a unit's dossiers submitted online in ``year``.

    Until 2019 (before the national portal) the online channel is used only at units that push
    it: the step of :data:`EARLY_ONLINE` of the year the unit's maturity reaches (0 below the
    first) × :data:`LEVEL_ONLINE` of the unit's level. From 2020 the province's share of the
    year (:data:`ONLINE_SHARE`), bent by maturity (mature units far ahead), and never less than
    the unit's share of 2019."""
    last_early = max(EARLY_ONLINE)
    share = 0.0
    for since, step in EARLY_ONLINE[min(year, last_early)]:
        if maturity >= since:
            share = step * LEVEL_ONLINE.get(level, 1.0)
    if year <= last_early:
        return share
    base = ONLINE_SHARE.get(year) or ONLINE_SHARE[max(ONLINE_SHARE)]
    return min(0.97, max(share, 1 - (1 - base) ** (0.3 + 2.2 * maturity)))


def _late_rate(year: int, maturity: float) -> float:
    return (0.30 - 0.29 * maturity) * 0.9 ** max(0, year - 2017)


def _time_on(rng: random.Random, day: dt.date, after: dt.datetime) -> dt.datetime:
    """An office-hours moment on ``day`` strictly after ``after`` (never before 08:00)."""
    lo = 8 * 60
    if after.date() == day:
        lo = max(lo, after.hour * 60 + after.minute + 5)
    hi = 16 * 60 + 55
    if lo <= hi:
        return _at(day, rng.randint(lo, hi))
    return after + dt.timedelta(minutes=rng.randint(1, 4))


# The calendar's rules (govkpi.calendar) over a sorted list of working days: the same answers,
# by bisection instead of day-by-day steps (the dossier timelines call them ~30 times each).


@cache
def _working_days() -> list[dt.date]:
    day, last = dt.date(calendar.CALENDAR_YEARS.start, 1, 1), dt.date(
        calendar.CALENDAR_YEARS.stop - 1, 12, 31)
    out = []
    while day <= last:
        if is_working_day(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _add_working_days(day: dt.date, n: int) -> dt.date:
    """calendar.add_working_days: the n-th working day after ``day`` (n == 0: ``day``)."""
    if n <= 0:
        return day
    days = _working_days()
    i = bisect.bisect_right(days, day) + n - 1
    if i >= len(days):
        raise ValueError(f"{day} + {n} working days is outside the working-day calendar")
    return days[i]


def _effective_receipt_day(received_at: dt.datetime) -> dt.date:
    """calendar.effective_receipt_day for a +07:00 time."""
    local = received_at.astimezone(VN_OFFSET)
    day = local.date()
    if local.time() < calendar.AFTERNOON_CUTOFF and is_working_day(day):
        return day
    return _add_working_days(day, 1)


def _legal_due_date(start: dt.date, amount: int, unit: str) -> dt.date:
    """calendar.legal_due_date, from the effective receipt day ``start``."""
    if unit == "ngay_lam_viec":
        return _add_working_days(start, int(amount))
    if unit == "gio":
        return _add_working_days(start, max(1, -(-int(amount) // 8)))
    if unit == "ngay":
        day = start + dt.timedelta(days=int(amount))
        return day if is_working_day(day) else _add_working_days(day, 1)
    raise ValueError(f"unknown processing-time unit {unit!r} (expected ngay_lam_viec, gio, ngay)")


def _previous_working_day(day: dt.date, n: int, floor: dt.date) -> dt.date:
    """The n-th working day before ``day``, never earlier than ``floor`` (a working day)."""
    for _ in range(n):
        day -= dt.timedelta(days=1)
        while day > floor and not is_working_day(day):
            day -= dt.timedelta(days=1)
        if day <= floor:
            return floor
    return day


def _working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working-day steps lead from ``start`` to ``end`` (0 when end <= start)."""
    if end <= start:
        return 0
    days = _working_days()
    return bisect.bisect_left(days, end) - bisect.bisect_right(days, start) + 1


def _adoption(rng: random.Random, year: int, since: int, p0: float, step: float,
              maturity: float) -> bool:
    if year < since:
        return False
    return rng.random() < min(0.95, (p0 + step * (year - since)) * (0.5 + maturity))


class _NamePicker:
    def __init__(self, rng: random.Random, cat: _Catalogue) -> None:
        self.rng = rng
        self.cat = cat
        self.family = [n for n, _ in FAMILY_NAMES]
        total = 0.0
        self.family_cum = []
        for _, w in FAMILY_NAMES:
            total += w
            self.family_cum.append(total)

    def person(self) -> tuple[str, str, str]:
        rng = self.rng
        female = rng.random() < 0.5
        family = rng.choices(self.family, cum_weights=self.family_cum)[0]
        middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE)
        given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        born = rng.randint(1945, 1999)
        # 12-digit citizen ID: province, sex/century, year of birth, 6 digits
        century_sex = (0 if born < 2000 else 2) + (1 if female else 0)
        id_number = (f"{BINH_DINH_ID_PREFIX}{century_sex}{born % 100:02d}"
                     f"{rng.randint(0, 999_999):06d}")
        phone = f"0{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9_999_999):07d}"
        return f"{family} {middle} {given}", id_number, phone

    def address(self, district: str | None, place: str | None, day: dt.date) -> str:
        """An address in ``place`` (a commune; drawn from the district when None) of
        ``district`` (None after the district level ends)."""
        rng, cat = self.rng, self.cat
        if district is None:
            tail = f"{place}, {cat.province}"
        else:
            place = place or rng.choice(cat.district_places[district])
            kind = cat.district_kind(district, day)
            tail = f"{place}, {_district_label(kind, district)}, {cat.province}"
        if place.startswith("phường") and (district == "Quy Nhơn" or (district is None
                                           and place in cat.city_places)):
            return f"{rng.randint(1, 400)} {rng.choice(QUY_NHON_STREETS)}, {tail}"
        if place.startswith(("phường", "thị trấn")):
            return f"Khu phố {rng.randint(1, 9)}, {tail}"
        return f"Thôn {rng.randint(1, 12)}, {tail}"


@dataclass
class _Era:
    """The receiving units of a period in which no unit starts or ends."""

    start: dt.date
    owners: dict[str, Unit]  # department code → the unit receiving its procedures
    huyen: list[Unit]  # district-level procedures: districts, or communes after 2025-06-30
    huyen_cum: list[float]
    xa: list[Unit]
    xa_cum: list[float]
    places: list[tuple[str | None, str]]  # (district, commune) of applicants to departments
    place_cum: list[float]


def _cumulative(weights: Iterable[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _valid(unit: Unit, day: dt.date) -> bool:
    return unit.valid_from <= day and (unit.valid_to is None or day <= unit.valid_to)


class _Catalogue:
    """What every year of a scenario shares: units, procedures, eras, address places."""

    def __init__(self, scenario: str) -> None:
        sc = load_scenario(scenario)
        self.scenario = scenario
        self.province = sc.data.get("province", {}).get("name", "UBND tỉnh").removeprefix(
            "UBND ")
        history = sc.unit_history()
        self.unit_history, codes = build_units(sc)
        self.procedures = build_procedures(codes)
        latest: dict[str, Unit] = {}
        self.first_seen: dict[str, dt.datetime] = {}
        for u in self.unit_history:
            latest[u.code] = u
            self.first_seen.setdefault(u.code, u.updated_at)
        self.latest = latest
        population = {v.code: v.population for v in history}
        self.address: dict[str, tuple[str | None, str | None]] = {}
        self.district_places: dict[str, list[str]] = {}
        self._kinds: dict[str, list[tuple[dt.date, str]]] = {}
        self.city_places: set[str] = set()
        for d in sc.data["units"]["districts"]:
            self.district_places[d["name"]] = list(d["communes"])
            kinds = [(dt.date.min, d["kind"])]
            if "renamed" in d:
                kinds.append((d["renamed"]["since"], d["renamed"]["kind"]))
            self._kinds[d["name"]] = kinds
        by_code = {v.code: v for v in history}
        for v in history:
            if v.level == 3:
                self.address[v.code] = (v.key, None)
            elif v.level == 4 and v.parent_code in by_code and by_code[v.parent_code].level == 3:
                self.address[v.code] = (by_code[v.parent_code].key, v.key)
            elif v.level == 4:  # a commune of the two-level government
                self.address[v.code] = (None, v.key.removeprefix("UBND "))
        for v in history:  # merged communes of the city keep street addresses
            if v.level == 4 and self.address[v.code][0] == "Quy Nhơn" and v.successor_code:
                self.city_places.add(self.address[v.successor_code][1] or "")
        bounds = {dt.date(1, 1, 1)}
        for u in latest.values():
            bounds.add(u.valid_from)
            if u.valid_to is not None:
                bounds.add(u.valid_to + dt.timedelta(days=1))
        self.era_starts = sorted(bounds)
        self.eras = [self._era(day, population) for day in self.era_starts]
        self.procs: dict[str, tuple[list[Procedure], list[float]]] = {}
        for level in LEVEL_SHARE:
            procs = [p for p in self.procedures if p.level == level]
            self.procs[level] = (procs, _cumulative(p.popularity for p in procs))
        self.levels = list(LEVEL_SHARE)
        self.level_cum = _cumulative(LEVEL_SHARE.values())

    def _era(self, day: dt.date, population: Mapping[str, float]) -> _Era:
        valid = [u for u in self.latest.values() if _valid(u, day)]
        owners = {}
        for u in self.latest.values():
            if u.level == 2:
                v = u
                while not _valid(v, day) and v.successor_code in self.latest:
                    v = self.latest[v.successor_code]
                owners[u.code] = v
        districts = [u for u in valid if u.level == 3]
        communes = [u for u in valid if u.level == 4]
        huyen = districts or communes
        places = [self.address[c.code] for c in communes]
        return _Era(day, owners, huyen, _cumulative(population[u.code] for u in huyen),
                    communes, _cumulative(population[u.code] for u in communes),
                    places, _cumulative(population[c.code] for c in communes))

    def era(self, day: dt.date) -> _Era:
        return self.eras[bisect.bisect_right(self.era_starts, day) - 1]

    def district_kind(self, district: str, day: dt.date) -> str:
        return next(kind for since, kind in reversed(self._kinds[district]) if since <= day)


@cache
def _catalogue(scenario: str) -> _Catalogue:
    return _Catalogue(scenario)


def _timeline(rng: random.Random, r: _Receipt) -> tuple[dt.datetime, tuple[Event, ...],
                                                        tuple[Apology, ...]]:
    """Due time, events and apology letters of one dossier."""
    proc, unit = r.procedure, r.unit
    t0 = r.received_at
    year = t0.year
    maturity = unit.maturity_in(year)
    start_day = _effective_receipt_day(t0)
    due_day = _legal_due_date(start_day, proc.duration, proc.duration_unit)
    due_at = dt.datetime.combine(due_day, DUE_TIME, tzinfo=VN_OFFSET)
    allowed = _working_days_between(start_day, due_day)

    events = [Event(t0, RECEIVED, NOTE_RECEIVED)]
    t_proc = t0 + dt.timedelta(minutes=rng.randint(5, 90))
    events.append(Event(t_proc, PROCESSING, NOTE_PROCESSING))

    r_out = rng.random()
    outcome = (REFUSED if r_out < 0.03 else WITHDRAWN if r_out < 0.045
               else STOPPED if r_out < 0.05 else PROCESSED)
    late = rng.random() < _late_rate(year, maturity)
    if late:
        mean_delay = 2 + 8 * (1 - maturity)
        budget = allowed + 1 + int(rng.expovariate(1 / mean_delay))
    else:
        budget = min(allowed, int((allowed + 1) * rng.random() ** 0.6))
    if outcome == REFUSED:  # refusals come early
        budget = min(budget, rng.randint(0, 5))

    # mature units guide applicants better: fewer incomplete dossiers
    r_sup, p_two = rng.random(), 0.002 + 0.016 * (1 - maturity)
    supplements = 2 if r_sup < p_two else 1 if r_sup < 0.03 + 0.09 * (1 - maturity) else 0
    day, last = start_day, t_proc
    for _ in range(supplements):
        step = rng.randint(0, max(0, min(budget, 4)))
        budget -= step
        day = _add_working_days(day, step)
        t_req = _time_on(rng, day, last)
        events.append(Event(t_req, SUPPLEMENT, NOTE_SUPPLEMENT))
        day = _add_working_days(day, rng.randint(1, 8))
        last = _time_on(rng, day, t_req)
        if outcome == WITHDRAWN:  # the citizen gives up instead of supplementing
            events.append(Event(last, WITHDRAWN, NOTE_WITHDRAWN))
            return due_at, _merge(events, []), ()
        events.append(Event(last, PROCESSING, NOTE_SUPPLEMENTED))
    end_day = _add_working_days(day, budget)
    t_end = _time_on(rng, end_day, last)
    note = {PROCESSED: NOTE_PROCESSED, REFUSED: NOTE_REFUSED, WITHDRAWN: NOTE_WITHDRAWN,
            STOPPED: NOTE_STOPPED}[outcome]
    events.append(Event(t_end, outcome, note))

    if outcome == PROCESSED:
        if r.channel == 2 and rng.random() < 0.5:  # result sent back online
            events.append(Event(t_end + dt.timedelta(minutes=rng.randint(1, 30)), RETURNED,
                                NOTE_RETURNED))
        elif rng.random() < 0.97:  # the rest never come back for their result
            lag = 0 if rng.random() < 0.55 else min(10, 1 + int(rng.expovariate(0.4)))
            back = _add_working_days(end_day, lag)
            events.append(Event(_time_on(rng, back, t_end), RETURNED, NOTE_RETURNED))

    apologies: list[Apology] = []
    if t_end > due_at and outcome == PROCESSED and rng.random() < 0.55 + 0.4 * maturity:
        # Decree 61/2018 art. 19: the letter is due before the deadline; some come late
        if rng.random() < 0.8:
            made_day = _previous_working_day(due_day, rng.randint(1, 3), start_day)
        else:
            made_day = _add_working_days(due_day, rng.randint(1, 2))
        made = _time_on(rng, made_day, t_proc)
        final_promise = dt.datetime.combine(
            _add_working_days(end_day, rng.choice((0, 0, 1))), DUE_TIME, tzinfo=VN_OFFSET)
        if made < t_end:
            between = _working_days_between(due_day, end_day)
            if between >= 3 and rng.random() < 0.15:  # rescheduled twice
                first_promise_day = _add_working_days(due_day, rng.randint(1, between - 2))
                second = _time_on(rng, _previous_working_day(first_promise_day, 1, due_day), made)
                first_promise = dt.datetime.combine(first_promise_day, DUE_TIME,
                                                    tzinfo=VN_OFFSET)
                if made < second < t_end:
                    apologies.append(Apology(made, first_promise))
                    apologies.append(Apology(second, final_promise))
            if not apologies:
                apologies.append(Apology(made, final_promise))
    return due_at, _merge(events, apologies), tuple(apologies)


def _merge(events: list[Event], apologies: list[Apology]) -> tuple[Event, ...]:
    """Events plus one entry per apology letter, sorted, times strictly increasing."""
    entries = [(e.at, 0, e) for e in events]
    entries += [(a.made_at, 1, Event(a.made_at, 0, NOTE_APOLOGY)) for a in apologies]
    entries.sort(key=lambda x: (x[0], x[1]))
    out: list[Event] = []
    status = RECEIVED
    for at, _, e in entries:
        if out and at <= out[-1].at:
            at = out[-1].at + dt.timedelta(minutes=1)
        if e.status == 0:  # a letter leaves the status as it was
            out.append(Event(at, status, e.note))
        else:
            status = e.status
            out.append(Event(at, e.status, e.note))
    return tuple(out)


def dossiers_per_year(dossiers: int, years: Iterable[int]) -> dict[int, int]:
    """Split ``dossiers`` over ``years`` with volume growing :data:`VOLUME_GROWTH` a year
    (largest remainders, so the counts add up exactly)."""
    years = sorted(set(years))
    weights = {y: VOLUME_GROWTH ** (y - 2016) for y in years}
    total = sum(weights.values())
    exact = {y: dossiers * w / total for y, w in weights.items()}
    counts = {y: int(x) for y, x in exact.items()}
    rest = dossiers - sum(counts.values())
    for y in sorted(years, key=lambda y: (-(exact[y] - counts[y]), y))[:rest]:
        counts[y] += 1
    return counts


def _receipt_time(rng: random.Random, day: dt.date, channel: int, unit: Unit, days: _Days,
                  first_seen: dt.datetime) -> dt.datetime:
    if channel == 2 and rng.random() < 0.3:  # online, any hour, a day or three around
        near = day + dt.timedelta(days=rng.randint(-3, 3))
        if not (days.first <= near <= days.last and _valid(unit, near)):
            near = day
        t = _at(near, rng.randint(0, 24 * 60 - 1))
    elif rng.random() < 0.012:  # a few desks open on Saturday mornings
        saturday = day + dt.timedelta(days=5 - day.weekday()) if day.weekday() < 5 else day
        if not (saturday <= days.last and saturday not in days.closed
                and _valid(unit, saturday)):
            saturday = day
        t = _at(saturday, rng.randint(7 * 60 + 30, 11 * 60 + 29))
    else:
        t = _at(day, _office_minute(rng))
    if t <= first_seen:  # not before the unit's record exists (a reorganisation's first day)
        t = first_seen + dt.timedelta(minutes=rng.randint(1, 60))
    return t


def _year_dossiers(cat: _Catalogue, seed: int, year: int, n: int) -> list[Dossier]:
    """The ``n`` dossiers received in ``year``, from their own random stream (seed, year)."""
    rng = random.Random(f"govkpi.onestop|{cat.scenario}|{seed}|{year}")
    strata = Strata("govkpi.onestop", cat.scenario, seed, year)
    days = _year_days(year)
    working, day_cum = days.working, days.cum_weights
    levels, level_cum = cat.levels, cat.level_cum
    receipts = []
    for i in range(n):
        day = rng.choices(working, cum_weights=day_cum)[0]
        era = cat.era(day)
        level = rng.choices(levels, cum_weights=level_cum)[0]
        procs, proc_cum = cat.procs[level]
        proc = rng.choices(procs, cum_weights=proc_cum)[0]
        if level == "tinh":
            unit = era.owners[proc.owner_code]
            district, place = rng.choices(era.places, cum_weights=era.place_cum)[0]
        else:
            if level == "huyen":
                unit = rng.choices(era.huyen, cum_weights=era.huyen_cum)[0]
            else:
                unit = rng.choices(era.xa, cum_weights=era.xa_cum)[0]
            district, place = cat.address[unit.code]
        x = rng.random()
        # stratified per unit and year: the unit's online share is on target at any volume
        if strata.hit(unit.code, _online_share(year, unit.maturity_in(year), unit.level)):
            channel = 2
        else:
            channel = 3 if x < 0.02 else 1
        t = _receipt_time(rng, day, channel, unit, days, cat.first_seen[unit.code])
        receipts.append(_Receipt(i, unit, proc, channel, t, district, place))
    receipts.sort(key=lambda r: (r.received_at, r.index))

    names = _NamePicker(rng, cat)
    seq: dict[tuple[str, dt.date], int] = defaultdict(int)
    out = []
    for r in receipts:
        unit, proc = r.unit, r.procedure
        day = r.received_at.date()
        seq[unit.code, day] += 1
        code = f"{unit.code}-{r.received_at:%y%m%d}-{seq[unit.code, day]:04d}"
        due_at, events, apologies = _timeline(rng, r)
        owner, id_number, phone = names.person()
        m = unit.maturity_in(year)
        out.append(Dossier(
            code=code, procedure_code=proc.code, unit_code=unit.code, channel=r.channel,
            received_at=r.received_at, due_at=due_at, fee=proc.fee, events=events,
            apologies=apologies,
            synced_national=r.received_at >= NATIONAL_PORTAL_LAUNCH and rng.random() < 0.9,
            electronic_result=_adoption(rng, year, 2016, 0.02, 0.1, m),
            digitised_components=_adoption(rng, year, 2020, 0.2, 0.15, m),
            reused_data=_adoption(rng, year, 2021, 0.1, 0.1, m),
            vneid=r.channel == 2 and r.received_at >= VNEID_LAUNCH and rng.random() < 0.7,
            owner_name=owner, id_number=id_number, phone=phone,
            address=names.address(r.district, r.place, day),
        ))
    return out


def _check_years(years: Iterable[int]) -> list[int]:
    years = sorted(set(years))
    if not years:
        raise ValueError("years is empty: pass e.g. (2016, 2017)")
    if years[0] < 2016 or years[-1] > 2029:
        raise ValueError(f"years {years[0]}–{years[-1]} outside 2016–2029 (the working-day "
                         "calendar covers 2016–2030 and due dates run into the next year)")
    return years


def iter_dossiers(seed: int, per_year: Mapping[int, int],
                  scenario: str = "binh_dinh") -> Iterator[Dossier]:
    """Dossiers year by year (``per_year``: year → how many), sorted by receipt within a year,
    without building more than one year at a time. Each year comes from its own random stream
    seeded by (scenario, seed, year): a year's dossiers do not depend on the other years, so a
    generator can produce (or shard) one year at a time."""
    cat = _catalogue(scenario)
    for year in _check_years(per_year):
        if per_year[year] < 0:
            raise ValueError(f"per_year[{year}]={per_year[year]}: must be >= 0")
        yield from _year_dossiers(cat, seed, year, per_year[year])


def generate_world(seed: int = 2017, dossiers: int = 10_000,
                   years: Iterable[int] = (2016, 2017),
                   scenario: str = "binh_dinh") -> OneStopWorld:
    """The scenario's one-stop system with ``dossiers`` dossiers received during ``years``.

    Deterministic: the same arguments always give an equal world. Units and their history
    come from the scenario file; volume rises ~8% a year (:func:`dossiers_per_year`), with a
    weekday pattern and a Tết dip; the online share rises (:func:`_online_share`); each unit's
    maturity drives its late rate (~2%–30%), its online share and its apology-letter
    discipline. A dossier goes to a unit valid on its receipt day: provincial procedures to
    the owning department (or its successor after a merger), district-level ones to the
    districts until the district level ends and to the communes after, commune ones to the
    communes of the day, each in proportion to population. ``default_as_of`` is 15 January
    08:00 of the year after the last one, so most dossiers are finished and some pending.
    """
    years = _check_years(years)
    cat = _catalogue(scenario)
    out = list(iter_dossiers(seed, dossiers_per_year(dossiers, years), scenario))
    default_as_of = dt.datetime(years[-1] + 1, 1, 15, 8, 0, tzinfo=VN_OFFSET)
    return OneStopWorld(cat.unit_history, cat.procedures, out, default_as_of=default_as_of,
                        seed=seed, scenario=scenario)
