"""Client for the e-office (SOURCES.md §2): ``X-API-Key``, cursor paging (``limit``/``cursor``
→ ``{"items", "next_cursor"}``), ``modified_since`` in naive local ``dd/MM/yyyy HH:mm:ss``, and
every payload time in that format.

Cursor paging is sequential by nature: each page names the next. The API has no upper bound
on the filter, so a window end is applied here (records come ordered by ngay_sua).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Literal

import msgspec

from govkpi.config import EofficeSettings
from govkpi.sources import times
from govkpi.sources.client import SourceClient, api_key_auth, before
from govkpi.sources.http import RetryPolicy
from govkpi.sources.records import Endpoint, LocalTime, Record, Reference

SYSTEM = "eoffice"


class Document(msgspec.Struct, gc=False):
    id: str
    huong: Literal["di", "den"]
    ma_don_vi: str
    loai_van_ban: str
    hinh_thuc: Literal["dien_tu", "giay", "dien_tu_va_giay"]
    noi_nhan_ket_noi: bool
    trang_thai: Literal["moi", "cho_ky", "da_ky", "da_ban_hanh", "dang_xu_ly", "da_xu_ly"]
    ngay_sua: LocalTime
    so_ky_hieu: str | None = None
    do_khan: Literal["thuong", "khan", "hoa_toc"] | None = None  # may be absent: null
    ky_so_ca_nhan: bool | None = None
    ky_so_to_chuc: bool | None = None
    qua_truc_lien_thong: bool | None = None
    ngay_ky: LocalTime | None = None
    ngay_ban_hanh: LocalTime | None = None
    ngay_den: LocalTime | None = None
    ngay_xac_nhan: LocalTime | None = None
    ngay_trinh: LocalTime | None = None  # may be absent: null


class _Page(msgspec.Struct):
    items: list[msgspec.Raw]
    next_cursor: str | None = None


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("documents", "/api/v2/documents", Document, "id", "ngay_sua",
                 references=(Reference("ma_don_vi", "onestop", "donvi", "unit code"),)),
    )
}


class EofficeClient(SourceClient):
    """Async client; use as ``async with EofficeClient(settings) as client``."""

    system = SYSTEM
    label = "e-office"

    def __init__(self, settings: EofficeSettings, *, retry: RetryPolicy | None = None) -> None:
        super().__init__(settings.base_url, api_key_auth(settings.api_key),
                         timeout_seconds=settings.timeout_seconds, retry=retry)
        self.settings = settings

    async def _crawl(self, endpoint: Endpoint,
                     since: dt.datetime | None) -> AsyncIterator[list[Record]]:
        params = {"limit": str(self.settings.page_size)}
        if since is not None:
            params["modified_since"] = times.format_local(since)
        n = 1
        while True:
            what = f"e-office {endpoint.name} page {n}"
            body, _ = await self.get(endpoint.path, what=what, params=params)
            page = self.decode_envelope(body, _Page, what)
            yield self.records(endpoint, page.items)
            if not page.next_cursor:
                return
            params = {**params, "cursor": page.next_cursor}
            n += 1

    def pages(self, endpoint: Endpoint, since: dt.datetime | None = None,
              until: dt.datetime | None = None) -> AsyncIterator[list[Record]]:
        """Validated documents page by page, ngay_sua ≥ ``since`` and < ``until``."""
        return before(self._crawl(endpoint, since), until)
