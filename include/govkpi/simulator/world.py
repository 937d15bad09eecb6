"""A deterministic synthetic Bình Định for the one-stop system (SOURCES.md §1, DOMAIN.md §1–3).

The world is a set of units, procedures and dossiers. Each generated dossier is a *timeline* of
events (received, processing, supplement requested/returned, apology letter, processed, returned,
refused, withdrawn, stopped); :meth:`OneStopWorld.dossiers_as_of` shows every dossier in the state
it had at a given moment, exactly as the vendor's API would have served it then.

Unit codes follow the style of the national e-document exchange codes (Decision 20/2020/QĐ-TTg),
``LLL.CC.BB.H08``, read right to left: ``H08`` is the province (Bình Định), ``BB`` the level-2
unit, ``CC`` the level-3 unit under it, ``LLL`` a level-4 unit (always ``000`` here):

- ``000.00.00.H08`` UBND tỉnh (CapDonVi 1);
- ``000.00.01.H08`` … ``000.00.21.H08`` the 21 departments, in DOMAIN.md §1 order (CapDonVi 2);
- ``000.00.31.H08`` … ``000.00.41.H08`` the 11 district-level units, in DOMAIN.md §1 order
  (CapDonVi 3);
- ``000.CC.BB.H08`` communes ``CC`` = 01, 02, … under district ``BB`` (CapDonVi 4).

The numbering is invented (the real table is not public in one place); only its shape is national.
Dossier codes are ``<unit code>-<yymmdd of receipt>-<4-digit sequence of the unit that day>``.

Everything is drawn from one ``random.Random(seed)``: same arguments, same world.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from govkpi.calendar import (
    add_working_days,
    effective_receipt_day,
    is_working_day,
    legal_due_date,
    next_working_day,
)

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


# --------------------------------------------------------------------------------------------
# the world


class OneStopWorld:
    """Units, procedures and dossiers of the one-stop system.

    Items may be :class:`Unit` / :class:`Procedure` / :class:`Dossier` objects or plain dicts in
    the API shape (see :func:`fixed_dossier`); dicts are served as given. ``default_as_of`` is
    the moment used when none is passed (None: the end of time, everything in its final state).
    """

    def __init__(self, units: Iterable[Unit | Mapping[str, Any]] = (),
                 procedures: Iterable[Procedure | Mapping[str, Any]] = (),
                 dossiers: Iterable[Dossier | Mapping[str, Any]] = (), *,
                 default_as_of: dt.datetime | None = None, seed: int | None = None) -> None:
        self.units = [u if isinstance(u, Unit) else fixed_unit(u) for u in units]
        self.procedures = [p if isinstance(p, Procedure) else fixed_procedure(p)
                           for p in procedures]
        self.dossiers = [d if isinstance(d, Dossier) else fixed_dossier(d) for d in dossiers]
        self.default_as_of = default_as_of or END_OF_TIME
        self.seed = seed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OneStopWorld):
            return NotImplemented
        return (self.units, self.procedures, self.dossiers, self.default_as_of) == (
            other.units, other.procedures, other.dossiers, other.default_as_of)

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
        """Units (API records) whose last change is at or before ``as_of``."""
        return self._reference_as_of(self.units, self._resolve(as_of))

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

# (key, name) in DOMAIN.md order; codes 000.00.01.H08 … 000.00.21.H08
DEPARTMENTS = (
    ("VP", "Văn phòng UBND tỉnh"),
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("STC", "Sở Tài chính"),
    ("SCT", "Sở Công Thương"),
    ("SNN", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("SXD", "Sở Xây dựng"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SVHTT", "Sở Văn hóa và Thể thao"),
    ("SDL", "Sở Du lịch"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("SNGV", "Sở Ngoại vụ"),
    ("TTR", "Thanh tra tỉnh"),
    ("BDT", "Ban Dân tộc"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế"),
)
# (kind, name, relative population); codes 000.00.31.H08 … 000.00.41.H08
DISTRICTS = (
    ("thành phố", "Quy Nhơn", 3.0),
    ("thị xã", "An Nhơn", 1.8),
    ("huyện", "Hoài Nhơn", 1.8),
    ("huyện", "An Lão", 0.4),
    ("huyện", "Hoài Ân", 0.9),
    ("huyện", "Phù Cát", 1.6),
    ("huyện", "Phù Mỹ", 1.5),
    ("huyện", "Tây Sơn", 1.3),
    ("huyện", "Tuy Phước", 1.5),
    ("huyện", "Vân Canh", 0.4),
    ("huyện", "Vĩnh Thạnh", 0.5),
)
# communes modelled as units: (district name, commune name)
COMMUNES = (
    ("Quy Nhơn", "phường Lê Lợi"),
    ("Quy Nhơn", "phường Trần Phú"),
    ("Quy Nhơn", "phường Ghềnh Ráng"),
    ("Tây Sơn", "thị trấn Phú Phong"),
    ("Tây Sơn", "xã Bình Nghi"),
    ("Tây Sơn", "xã Tây Giang"),
)
# places used in addresses (not units)
ADDRESS_PLACES = {
    "Quy Nhơn": ("phường Lê Lợi", "phường Trần Phú", "phường Ghềnh Ráng", "phường Nhơn Bình",
                 "phường Quang Trung", "phường Đống Đa", "phường Thị Nại"),
    "An Nhơn": ("phường Bình Định", "phường Đập Đá", "phường Nhơn Hưng", "xã Nhơn Hậu",
                "xã Nhơn Mỹ", "xã Nhơn Phong"),
    "Hoài Nhơn": ("thị trấn Bồng Sơn", "thị trấn Tam Quan", "xã Hoài Hảo", "xã Hoài Thanh",
                  "xã Hoài Tân"),
    "An Lão": ("thị trấn An Lão", "xã An Hòa", "xã An Tân"),
    "Hoài Ân": ("thị trấn Tăng Bạt Hổ", "xã Ân Thạnh", "xã Ân Tín"),
    "Phù Cát": ("thị trấn Ngô Mây", "xã Cát Hanh", "xã Cát Khánh", "xã Cát Tiến"),
    "Phù Mỹ": ("thị trấn Phù Mỹ", "thị trấn Bình Dương", "xã Mỹ Chánh", "xã Mỹ Thành"),
    "Tây Sơn": ("thị trấn Phú Phong", "xã Bình Nghi", "xã Tây Giang", "xã Bình Tường"),
    "Tuy Phước": ("thị trấn Tuy Phước", "thị trấn Diêu Trì", "xã Phước Lộc", "xã Phước Sơn"),
    "Vân Canh": ("thị trấn Vân Canh", "xã Canh Vinh", "xã Canh Hiển"),
    "Vĩnh Thạnh": ("thị trấn Vĩnh Thạnh", "xã Vĩnh Quang", "xã Vĩnh Hảo"),
}
QUY_NHON_STREETS = ("Trần Hưng Đạo", "Nguyễn Huệ", "Lê Hồng Phong", "Ngô Mây", "Hai Bà Trưng",
                    "Phạm Hùng", "Tây Sơn", "Hùng Vương", "An Dương Vương", "Xuân Diệu",
                    "Lê Lợi", "Nguyễn Thái Học")
# the seed article's leaders (DOMAIN.md §2): mature units
MATURE_UNITS = {"STC": 0.97, "STTTT": 0.95, "Quy Nhơn": 0.9, "STNMT": 0.8, "SGTVT": 0.78}

# (name, LinhVuc, owner department key, CapThucHien, ThoiHan, DonViThoiHan, fee VND,
#  paper result, DoiTuong, popularity)
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

# dossiers by level of the receiving unit
LEVEL_SHARE = {"tinh": 0.40, "huyen": 0.40, "xa": 0.20}

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


def _unit_code(level2: int, level3: int = 0) -> str:
    return f"000.{level3:02d}.{level2:02d}.{PROVINCE_SUFFIX}"


PROVINCE_CODE = _unit_code(0)


def _district_label(kind: str, name: str) -> str:
    return f"{kind} {name}"


def build_units(rng: random.Random) -> tuple[list[Unit], dict[str, str]]:
    """The province, its 21 departments, 11 district-level units and 6 communes; also a map
    from department key / district name to unit code."""
    def maturity(key: str) -> float:
        return MATURE_UNITS.get(key, round(rng.uniform(0.0, 0.85), 3))

    units = [Unit(PROVINCE_CODE, "UBND tỉnh Bình Định", 1, None, maturity=0.7)]
    codes: dict[str, str] = {}
    for i, (key, name) in enumerate(DEPARTMENTS, start=1):
        codes[key] = _unit_code(i)
        units.append(Unit(codes[key], name, 2, PROVINCE_CODE, maturity=maturity(key)))
    for i, (kind, name, _) in enumerate(DISTRICTS, start=31):
        codes[name] = _unit_code(i)
        units.append(Unit(codes[name], f"UBND {_district_label(kind, name)}", 3, PROVINCE_CODE,
                          maturity=maturity(name)))
    per_district: dict[str, int] = defaultdict(int)
    district_index = {name: i for i, (_, name, _) in enumerate(DISTRICTS, start=31)}
    district_maturity = {u.code: u.maturity for u in units if u.level == 3}
    for district, commune in COMMUNES:
        per_district[district] += 1
        code = _unit_code(district_index[district], per_district[district])
        codes[commune] = code
        parent = codes[district]
        # communes follow their district, with some spread
        m = min(1.0, max(0.0, district_maturity[parent] + rng.uniform(-0.25, 0.1)))
        units.append(Unit(code, f"UBND {commune}", 4, parent, maturity=round(m, 3)))
    return units, codes


def build_procedures(codes: Mapping[str, str]) -> list[Procedure]:
    """The procedure catalogue; independent of the seed so codes are stable across worlds."""
    fixed = random.Random(766)
    seen: set[str] = set()
    out = []
    for row in PROCEDURE_CATALOG:
        name, field_, owner, level, amount, unit, fee, paper, audience, popularity = row
        while True:
            code = f"{fixed.choice('1112')}.00{fixed.randint(1000, 9999)}"
            if code not in seen:
                seen.add(code)
                break
        updated = dt.datetime(2015, fixed.randint(1, 12), fixed.randint(1, 28),
                              fixed.randint(8, 16), fixed.choice((0, 15, 30, 45)),
                              tzinfo=VN_OFFSET)
        out.append(Procedure(code, name, field_, level, amount, unit, fee, paper, audience,
                             codes[owner], updated, popularity))
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
    district: str  # for the address
    place: str | None  # commune of the address when the unit is a commune


@dataclass
class _Days:
    working: list[dt.date] = field(default_factory=list)
    saturdays: list[dt.date] = field(default_factory=list)  # non-working Saturdays
    all: list[dt.date] = field(default_factory=list)


def _year_days(year: int) -> _Days:
    days = _Days()
    day = dt.date(year, 1, 1)
    while day.year == year:
        days.all.append(day)
        if is_working_day(day):
            days.working.append(day)
        elif day.weekday() == 5:
            days.saturdays.append(day)
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


def _receipt_time(rng: random.Random, days: _Days, channel: int) -> dt.datetime:
    if channel == 2 and rng.random() < 0.3:  # online, any day, any hour
        day = rng.choice(days.all)
        return _at(day, rng.randint(0, 24 * 60 - 1))
    if rng.random() < 0.012:  # a few desks open on Saturday mornings
        return _at(rng.choice(days.saturdays), rng.randint(7 * 60 + 30, 11 * 60 + 29))
    return _at(rng.choice(days.working), _office_minute(rng))


def _online_share(year: int, maturity: float) -> float:
    # ~3% in 2016 doubling yearly at first; mature units far ahead (Quy Nhơn, DOMAIN.md §2)
    base = min(0.6, 0.03 * 2.2 ** (year - 2016))
    return min(0.9, base * (0.3 + 2.2 * maturity))


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
    n = 0
    while start < end:
        start = next_working_day(start)
        n += 1
    return n


def _adoption(rng: random.Random, year: int, since: int, p0: float, step: float,
              maturity: float) -> bool:
    if year < since:
        return False
    return rng.random() < min(0.95, (p0 + step * (year - since)) * (0.5 + maturity))


class _NamePicker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
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

    def address(self, district: str, place: str | None) -> str:
        rng = self.rng
        kind = next(k for k, n, _ in DISTRICTS if n == district)
        place = place or rng.choice(ADDRESS_PLACES[district])
        tail = f"{place}, {_district_label(kind, district)}, tỉnh Bình Định"
        if district == "Quy Nhơn" and place.startswith("phường"):
            return f"{rng.randint(1, 400)} {rng.choice(QUY_NHON_STREETS)}, {tail}"
        if place.startswith(("phường", "thị trấn")):
            return f"Khu phố {rng.randint(1, 9)}, {tail}"
        return f"Thôn {rng.randint(1, 12)}, {tail}"


def _pairs(units: list[Unit], procedures: list[Procedure]
           ) -> tuple[list[tuple[Unit, Procedure, str, str | None]], list[float]]:
    """(receiving unit, procedure, address district, address commune) with volume weights."""
    districts = [u for u in units if u.level == 3]
    communes = [u for u in units if u.level == 4]
    by_code = {u.code: u for u in units}
    district_name = {u.code: name for (_, name, _), u in zip(DISTRICTS, districts, strict=True)}
    population = {u.code: pop for (_, _, pop), u in zip(DISTRICTS, districts, strict=True)}
    commune_place = {u.code: commune for (_, commune), u in zip(COMMUNES, communes, strict=True)}
    pairs: list[tuple[Unit, Procedure, str, str | None]] = []
    weights: list[float] = []
    for level, share in LEVEL_SHARE.items():
        procs = [p for p in procedures if p.level == level]
        total_pop = sum(p.popularity for p in procs)
        for p in procs:
            w = share * p.popularity / total_pop
            if level == "tinh":
                pairs.append((by_code[p.owner_code], p, "", None))
                weights.append(w)
            elif level == "huyen":
                total = sum(population.values())
                for d in districts:
                    pairs.append((d, p, district_name[d.code], None))
                    weights.append(w * population[d.code] / total)
            else:
                for c in communes:
                    pairs.append((c, p, district_name[c.parent_code], commune_place[c.code]))
                    weights.append(w / len(communes))
    return pairs, weights


def _timeline(rng: random.Random, r: _Receipt) -> tuple[dt.datetime, tuple[Event, ...],
                                                        tuple[Apology, ...]]:
    """Due time, events and apology letters of one dossier."""
    proc, unit = r.procedure, r.unit
    t0 = r.received_at
    year = t0.year
    start_day = effective_receipt_day(t0)
    due_day = legal_due_date(t0, proc.duration, proc.duration_unit)
    due_at = dt.datetime.combine(due_day, DUE_TIME, tzinfo=VN_OFFSET)
    allowed = _working_days_between(start_day, due_day)

    events = [Event(t0, RECEIVED, NOTE_RECEIVED)]
    t_proc = t0 + dt.timedelta(minutes=rng.randint(5, 90))
    events.append(Event(t_proc, PROCESSING, NOTE_PROCESSING))

    r_out = rng.random()
    outcome = (REFUSED if r_out < 0.03 else WITHDRAWN if r_out < 0.045
               else STOPPED if r_out < 0.05 else PROCESSED)
    late = rng.random() < _late_rate(year, unit.maturity)
    if late:
        mean_delay = 2 + 8 * (1 - unit.maturity)
        budget = allowed + 1 + int(rng.expovariate(1 / mean_delay))
    else:
        budget = min(allowed, int((allowed + 1) * rng.random() ** 0.6))
    if outcome == REFUSED:  # refusals come early
        budget = min(budget, rng.randint(0, 5))

    # mature units guide applicants better: fewer incomplete dossiers
    r_sup, p_two = rng.random(), 0.002 + 0.016 * (1 - unit.maturity)
    supplements = 2 if r_sup < p_two else 1 if r_sup < 0.03 + 0.09 * (1 - unit.maturity) else 0
    day, last = start_day, t_proc
    for _ in range(supplements):
        step = rng.randint(0, max(0, min(budget, 4)))
        budget -= step
        day = add_working_days(day, step)
        t_req = _time_on(rng, day, last)
        events.append(Event(t_req, SUPPLEMENT, NOTE_SUPPLEMENT))
        day = add_working_days(day, rng.randint(1, 8))
        last = _time_on(rng, day, t_req)
        if outcome == WITHDRAWN:  # the citizen gives up instead of supplementing
            events.append(Event(last, WITHDRAWN, NOTE_WITHDRAWN))
            return due_at, _merge(events, []), ()
        events.append(Event(last, PROCESSING, NOTE_SUPPLEMENTED))
    end_day = add_working_days(day, budget)
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
            back = add_working_days(end_day, lag)
            events.append(Event(_time_on(rng, back, t_end), RETURNED, NOTE_RETURNED))

    apologies: list[Apology] = []
    if t_end > due_at and outcome == PROCESSED and rng.random() < 0.55 + 0.4 * unit.maturity:
        # Decree 61/2018 art. 19: the letter is due before the deadline; some come late
        if rng.random() < 0.8:
            made_day = _previous_working_day(due_day, rng.randint(1, 3), start_day)
        else:
            made_day = add_working_days(due_day, rng.randint(1, 2))
        made = _time_on(rng, made_day, t_proc)
        final_promise = dt.datetime.combine(
            add_working_days(end_day, rng.choice((0, 0, 1))), DUE_TIME, tzinfo=VN_OFFSET)
        if made < t_end:
            between = _working_days_between(due_day, end_day)
            if between >= 3 and rng.random() < 0.15:  # rescheduled twice
                first_promise_day = add_working_days(due_day, rng.randint(1, between - 2))
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


def generate_world(seed: int = 2017, dossiers: int = 10_000,
                   years: Iterable[int] = (2016, 2017)) -> OneStopWorld:
    """Bình Định's one-stop system with ``dossiers`` dossiers received during ``years``.

    Deterministic: the same arguments always give an equal world. Volume rises ~10% a year and
    so does the online share; each unit's maturity drives its late rate (~2%–30%), its online
    share and its apology-letter discipline. ``default_as_of`` is 15 January 08:00 of the year
    after the last one, so most dossiers are finished and some are still pending.
    """
    years = sorted(set(years))
    if not years:
        raise ValueError("years is empty: pass e.g. (2016, 2017)")
    if years[0] < 2016 or years[-1] > 2029:
        raise ValueError(f"years {years[0]}–{years[-1]} outside 2016–2029 (the working-day "
                         "calendar covers 2016–2030 and due dates run into the next year)")
    rng = random.Random(seed)
    units, codes = build_units(rng)
    procedures = build_procedures(codes)
    pairs, weights = _pairs(units, procedures)
    pair_cum = []
    total = 0.0
    for w in weights:
        total += w
        pair_cum.append(total)
    year_cum = []
    total = 0.0
    for i, _ in enumerate(years):
        total += 1.1 ** i
        year_cum.append(total)
    days = {y: _year_days(y) for y in years}

    receipts = []
    for i in range(dossiers):
        year = rng.choices(years, cum_weights=year_cum)[0]
        unit, proc, district, place = rng.choices(pairs, cum_weights=pair_cum)[0]
        x = rng.random()
        online = _online_share(year, unit.maturity)
        channel = 2 if x < online else 3 if x < online + 0.02 else 1
        t = _receipt_time(rng, days[year], channel)
        receipts.append(_Receipt(i, unit, proc, channel, t, district, place))
    receipts.sort(key=lambda r: (r.received_at, r.index))

    names = _NamePicker(rng)
    seq: dict[tuple[str, dt.date], int] = defaultdict(int)
    out = []
    for r in receipts:
        unit, proc = r.unit, r.procedure
        seq[unit.code, r.received_at.date()] += 1
        code = f"{unit.code}-{r.received_at:%y%m%d}-{seq[unit.code, r.received_at.date()]:04d}"
        due_at, events, apologies = _timeline(rng, r)
        owner, id_number, phone = names.person()
        district = r.district or rng.choice(DISTRICTS)[1]
        year, m = r.received_at.year, unit.maturity
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
            address=names.address(district, r.place),
        ))
    default_as_of = dt.datetime(years[-1] + 1, 1, 15, 8, 0, tzinfo=VN_OFFSET)
    return OneStopWorld(units, procedures, out, default_as_of=default_as_of, seed=seed)
