"""Client for the one-stop system (SOURCES.md §1): OAuth2 client credentials, page/size paging
with bounded concurrency, ``updated_from``/``updated_to`` filter, ISO-8601 times with +07:00.

Records are validated one by one into typed structures (msgspec, :mod:`govkpi.sources.records`);
a record that does not validate is returned with the reason instead of stopping the crawl.
Dossiers also carry a semantic check (fee, due date) and references to the units and
procedures already loaded, which the loader applies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, Literal

import msgspec

from govkpi.config import OneStopSettings
from govkpi.sources.client import OAuth2ClientCredentials, SourceClient
from govkpi.sources.http import RetryPolicy
from govkpi.sources.records import Endpoint, IsoTime, Record, Reference, validate

__all__ = ["ENDPOINTS", "SYSTEM", "Dossier", "Endpoint", "OneStopClient", "Procedure", "Record",
           "Unit", "check_dossier", "validate"]

SYSTEM = "onestop"


class Unit(msgspec.Struct, gc=False):
    MaDonVi: str
    TenDonVi: str
    CapDonVi: Literal[1, 2, 3, 4]
    NgayCapNhat: IsoTime
    MaDonViCha: str | None = None
    HieuLucTu: dt.date | None = None
    HieuLucDen: dt.date | None = None
    MaDonViKeThua: str | None = None


class Procedure(msgspec.Struct, gc=False):
    MaTTHC: str
    TenTTHC: str
    ThoiHanGiaiQuyet: float
    DonViThoiHan: Literal["ngay_lam_viec", "ngay", "gio"]
    NgayCapNhat: IsoTime
    LinhVuc: str | None = None
    CapThucHien: Any = None
    CoPhiLePhi: bool | None = None
    TraKetQuaGiay: bool | None = None
    DoiTuong: str | None = None


class Dossier(msgspec.Struct, gc=False):
    MaHoSo: str
    MaTTHC: str
    MaDonVi: str
    KenhThucHien: Literal[1, 2, 3]
    NgayTiepNhan: IsoTime
    TrangThaiHoSo: Literal[1, 2, 3, 4, 5, 6, 7, 8]
    NgayCapNhat: IsoTime
    NgayHenTra: IsoTime | None = None
    NgayKetThucXuLy: IsoTime | None = None
    NgayTraKetQua: IsoTime | None = None
    PhiLePhi: float | None = None


def check_dossier(d: Dossier) -> str | None:
    """Rules a well-typed dossier can still break (SOURCES.md §1)."""
    if d.PhiLePhi is not None and d.PhiLePhi < 0:
        return f"negative PhiLePhi: {d.PhiLePhi:.0f} VND"
    if d.NgayHenTra is not None and d.NgayHenTra < d.NgayTiepNhan:
        return (f"NgayHenTra before NgayTiepNhan: due {d.NgayHenTra.isoformat()} < received "
                f"{d.NgayTiepNhan.isoformat()}")
    return None


class _Page(msgspec.Struct):
    total: int
    page: int
    size: int
    data: list[msgspec.Raw]


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("donvi", "/api/v1/donvi", Unit, "MaDonVi", "NgayCapNhat"),
        Endpoint("thutuc", "/api/v1/thutuc", Procedure, "MaTTHC", "NgayCapNhat"),
        Endpoint("hoso", "/api/v1/hoso", Dossier, "MaHoSo", "NgayCapNhat",
                 pii_fields=("ChuHoSo", "SoGiayTo", "SoDienThoai", "DiaChi"),
                 check=check_dossier,
                 references=(Reference("MaDonVi", SYSTEM, "donvi", "unit code"),
                             Reference("MaTTHC", SYSTEM, "thutuc", "procedure code"))),
    )
}


class OneStopClient(SourceClient):
    """Async client; use as ``async with OneStopClient(settings) as client``."""

    system = SYSTEM
    label = "one-stop"

    def __init__(self, settings: OneStopSettings, *, concurrency: int = 4,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(
            settings.base_url,
            OAuth2ClientCredentials(f"{settings.base_url}/oauth/token", settings.client_id,
                                    settings.client_secret),
            timeout_seconds=settings.timeout_seconds, concurrency=concurrency, retry=retry)
        self.settings = settings

    async def _page(self, endpoint: Endpoint, page: int, params: dict[str, str]) -> _Page:
        what = f"one-stop {endpoint.name} page {page}"
        body, _ = await self.get(endpoint.path, what=what, params={
            **params, "page": str(page), "size": str(self.settings.page_size)})
        return self.decode_envelope(body, _Page, what)

    async def pages(self, endpoint: Endpoint, updated_from: dt.datetime | None = None,
                    updated_to: dt.datetime | None = None) -> AsyncIterator[list[Record]]:
        """Yield validated records page by page, in order, with bounded concurrency."""
        params: dict[str, str] = {}
        if updated_from is not None:
            params["updated_from"] = updated_from.isoformat()
        if updated_to is not None:
            params["updated_to"] = updated_to.isoformat()
        first = await self._page(endpoint, 1, params)
        yield self.records(endpoint, first.data)
        last_page = max(1, -(-first.total // self.settings.page_size))
        window: list[asyncio.Task[_Page]] = []
        next_page = 2
        try:
            while next_page <= last_page or window:
                while next_page <= last_page and len(window) < self.concurrency:
                    window.append(asyncio.create_task(self._page(endpoint, next_page, params)))
                    next_page += 1
                page = await window.pop(0)
                yield self.records(endpoint, page.data)
        finally:
            for task in window:
                task.cancel()
