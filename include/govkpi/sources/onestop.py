"""Client for the one-stop system (SOURCES.md §1): OAuth2 client credentials, page/size paging,
``updated_from``/``updated_to`` filter, ISO-8601 times with +07:00.

Records are validated one by one into typed structures (msgspec); a record that does not
validate is returned with the reason instead of stopping the crawl.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from govkpi.config import OneStopSettings
from govkpi.errors import SourceError
from govkpi.sources.http import RetryPolicy, request_bytes

SYSTEM = "onestop"


class Unit(msgspec.Struct):
    MaDonVi: str
    TenDonVi: str
    CapDonVi: Literal[1, 2, 3, 4]
    NgayCapNhat: dt.datetime
    MaDonViCha: str | None = None
    HieuLucTu: dt.date | None = None
    HieuLucDen: dt.date | None = None
    MaDonViKeThua: str | None = None


class Procedure(msgspec.Struct):
    MaTTHC: str
    TenTTHC: str
    ThoiHanGiaiQuyet: float
    DonViThoiHan: Literal["ngay_lam_viec", "ngay", "gio"]
    NgayCapNhat: dt.datetime
    LinhVuc: str | None = None
    CapThucHien: Any = None
    CoPhiLePhi: bool | None = None
    TraKetQuaGiay: bool | None = None
    DoiTuong: str | None = None


class Dossier(msgspec.Struct):
    MaHoSo: str
    MaTTHC: str
    MaDonVi: str
    KenhThucHien: Literal[1, 2, 3]
    NgayTiepNhan: dt.datetime
    TrangThaiHoSo: Literal[1, 2, 3, 4, 5, 6, 7, 8]
    NgayCapNhat: dt.datetime
    NgayHenTra: dt.datetime | None = None
    NgayKetThucXuLy: dt.datetime | None = None
    NgayTraKetQua: dt.datetime | None = None


class _Page(msgspec.Struct):
    total: int
    page: int
    size: int
    data: list[msgspec.Raw]


@dataclass(frozen=True)
class Endpoint:
    """One collection of a source system and what the pipeline must know about its records."""

    name: str  # also the raw table name
    path: str
    struct: type[msgspec.Struct]
    key_field: str
    updated_field: str
    pii_fields: tuple[str, ...] = ()


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("donvi", "/api/v1/donvi", Unit, "MaDonVi", "NgayCapNhat"),
        Endpoint("thutuc", "/api/v1/thutuc", Procedure, "MaTTHC", "NgayCapNhat"),
        Endpoint("hoso", "/api/v1/hoso", Dossier, "MaHoSo", "NgayCapNhat",
                 pii_fields=("ChuHoSo", "SoGiayTo", "SoDienThoai", "DiaChi")),
    )
}


@dataclass
class Record:
    """A record as received: its key and version when it validated, else the reason it did not."""

    raw: bytes
    key: str | None
    updated_at: dt.datetime | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any] | None:
        try:
            value = msgspec.json.decode(self.raw)
        except msgspec.DecodeError:
            return None
        return value if isinstance(value, dict) else None


def validate(endpoint: Endpoint, raw: bytes) -> Record:
    try:
        item = msgspec.json.decode(raw, type=endpoint.struct)
    except msgspec.ValidationError as exc:
        key = None
        loose = Record(raw, None, None).as_dict()
        if loose is not None and isinstance(loose.get(endpoint.key_field), str):
            key = loose[endpoint.key_field]
        return Record(raw, key, None, error=f"invalid {endpoint.name} record: {exc}")
    except msgspec.DecodeError as exc:
        return Record(raw, None, None, error=f"malformed JSON in {endpoint.name} record: {exc}")
    updated = getattr(item, endpoint.updated_field)
    if updated.tzinfo is None:
        return Record(raw, getattr(item, endpoint.key_field), None,
                      error=f"{endpoint.updated_field} has no UTC offset (expected +07:00)")
    return Record(raw, getattr(item, endpoint.key_field), updated)


class OneStopClient:
    """Async client; use as ``async with OneStopClient(settings) as client``."""

    def __init__(self, settings: OneStopSettings, *, concurrency: int = 4,
                 retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self._session = None
        self._token: str | None = None
        self._token_expires = 0.0

    async def __aenter__(self) -> OneStopClient:
        import aiohttp

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
            connector=aiohttp.TCPConnector(limit=self.concurrency),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def _fetch_token(self) -> dict[str, str]:
        body = await request_bytes(
            self._session, "POST", f"{self.settings.base_url}/oauth/token",
            what="one-stop token", policy=self.retry,
            data={"grant_type": "client_credentials", "client_id": self.settings.client_id,
                  "client_secret": self.settings.client_secret},
        )
        try:
            answer = msgspec.json.decode(body)
            self._token = answer["access_token"]
            # refresh a minute early so a long crawl never sends an expired token
            self._token_expires = time.monotonic() + float(answer.get("expires_in", 3600)) - 60
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise SourceError(f"one-stop token: unexpected answer ({body[:200]!r})") from exc
        return self._auth_headers()

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def _headers(self) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._token_expires:
            return await self._fetch_token()
        return self._auth_headers()

    async def _page(self, endpoint: Endpoint, page: int, params: dict[str, str]) -> _Page:
        body = await request_bytes(
            self._session, "GET", self.settings.base_url + endpoint.path,
            what=f"one-stop {endpoint.name} page {page}", policy=self.retry,
            headers=await self._headers(),
            params={**params, "page": str(page), "size": str(self.settings.page_size)},
            on_unauthorized=self._fetch_token,
        )
        try:
            return msgspec.json.decode(body, type=_Page)
        except msgspec.MsgspecError as exc:
            raise SourceError(
                f"one-stop {endpoint.name} page {page}: not a page envelope ({exc})"
            ) from exc

    async def pages(self, endpoint: Endpoint, updated_from: dt.datetime | None = None,
                    updated_to: dt.datetime | None = None) -> AsyncIterator[list[Record]]:
        """Yield validated records page by page, in order, with bounded concurrency."""
        params: dict[str, str] = {}
        if updated_from is not None:
            params["updated_from"] = updated_from.isoformat()
        if updated_to is not None:
            params["updated_to"] = updated_to.isoformat()
        first = await self._page(endpoint, 1, params)
        yield [validate(endpoint, bytes(r)) for r in first.data]
        last_page = max(1, -(-first.total // self.settings.page_size))
        window: list[asyncio.Task[_Page]] = []
        next_page = 2
        try:
            while next_page <= last_page or window:
                while next_page <= last_page and len(window) < self.concurrency:
                    window.append(asyncio.create_task(self._page(endpoint, next_page, params)))
                    next_page += 1
                page = await window.pop(0)
                yield [validate(endpoint, bytes(r)) for r in page.data]
        finally:
            for task in window:
                task.cancel()
