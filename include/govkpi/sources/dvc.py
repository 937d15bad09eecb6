"""Client for the online public-service portal (SOURCES.md §3): HTTP Basic, ``offset``/``limit``
paging with the next page in the ``Link: <…>; rel="next"`` header, a bare JSON array per page,
``since`` in epoch milliseconds, and every time in epoch milliseconds.

Link paging is sequential by nature: each answer names the next page. The API has no upper
bound on the filter, so a window end is applied here (records come ordered by updated_at).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Literal

import msgspec

from govkpi.config import DvcSettings
from govkpi.sources import times
from govkpi.sources.client import SourceClient, basic_auth, before
from govkpi.sources.http import RetryPolicy
from govkpi.sources.records import Endpoint, EpochMs, Record, Reference

SYSTEM = "dvc"

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class Service(msgspec.Struct, gc=False):
    service_id: str
    procedure_code: str
    unit_code: str
    level: Literal[2, 3, 4, "full", "partial"]
    online_from: EpochMs
    updated_at: EpochMs
    online_to: EpochMs | None = None


class Submission(msgspec.Struct, gc=False):
    submission_id: str
    service_id: str
    started_at: EpochMs
    status: Literal["draft", "submitted", "accepted", "rejected", "withdrawn"]
    account_type: Literal["vneid", "portal", "guest"]
    updated_at: EpochMs
    dossier_code: str | None = None
    submitted_at: EpochMs | None = None


class Payment(msgspec.Struct, gc=False):
    payment_id: str
    dossier_code: str
    amount: int
    status: Literal["success", "failed", "pending"]
    updated_at: EpochMs
    method: str | None = None  # may be absent: null
    paid_at: EpochMs | None = None


class Rating(msgspec.Struct, gc=False):
    rating_id: str
    dossier_code: str
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    rated_at: EpochMs
    updated_at: EpochMs
    comment_flag: bool | None = None  # may be absent: null


def check_payment(p: Payment) -> str | None:
    if p.amount < 0:
        return f"negative amount: {p.amount} VND"
    return None


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("services", "/api/services", Service, "service_id", "updated_at"),
        Endpoint("submissions", "/api/submissions", Submission, "submission_id", "updated_at"),
        Endpoint("payments", "/api/payments", Payment, "payment_id", "updated_at",
                 check=check_payment,
                 references=(Reference("dossier_code", "onestop", "hoso", "dossier code",
                                       preload=False),)),
        Endpoint("ratings", "/api/ratings", Rating, "rating_id", "updated_at"),
    )
}


def next_link(headers: Mapping[str, str]) -> str | None:
    """The URL of ``rel="next"`` in a ``Link`` header (RFC 8288), or None on the last page."""
    values = headers.getall("Link", ()) if hasattr(headers, "getall") else [
        headers.get("Link", "")]
    for value in values:
        for part in value.split(","):
            match = _NEXT_LINK.search(part)
            if match:
                return match.group(1)
    return None


class DvcClient(SourceClient):
    """Async client; use as ``async with DvcClient(settings) as client``."""

    system = SYSTEM
    label = "portal"

    def __init__(self, settings: DvcSettings, *, retry: RetryPolicy | None = None) -> None:
        super().__init__(settings.base_url, basic_auth(settings.username, settings.password),
                         timeout_seconds=settings.timeout_seconds, retry=retry)
        self.settings = settings

    async def _crawl(self, endpoint: Endpoint,
                     since: dt.datetime | None) -> AsyncIterator[list[Record]]:
        url: str | None = endpoint.path
        params: dict[str, str] | None = {"offset": "0", "limit": str(self.settings.page_size)}
        if since is not None:
            params["since"] = str(times.to_epoch_ms(since))
        n = 1
        while url is not None:
            what = f"portal {endpoint.name} page {n}"
            body, headers = await self.get(url, what=what, params=params)
            yield self.records(endpoint, self.decode_envelope(body, list[msgspec.Raw], what))
            url, params = next_link(headers), None  # the link carries the whole query
            n += 1

    def pages(self, endpoint: Endpoint, since: dt.datetime | None = None,
              until: dt.datetime | None = None) -> AsyncIterator[list[Record]]:
        """Validated records page by page, updated_at ≥ ``since`` and < ``until``."""
        return before(self._crawl(endpoint, since), until)
