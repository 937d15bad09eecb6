"""The machinery every source client shares: one aiohttp session with a timeout and a bounded
connection pool, an authentication provider (OAuth2 client credentials, API key, HTTP Basic)
whose headers are refreshed once on a 401, retried requests (:mod:`govkpi.sources.http`), and
pages of validated records.

A system's client only says how to page (:meth:`SourceClient.pages`) and how to write its
modification-time filter; see :mod:`govkpi.sources.onestop`, :mod:`govkpi.sources.eoffice` and
:mod:`govkpi.sources.dvc`.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec

from govkpi.errors import SourceError
from govkpi.sources.http import RetryPolicy, request
from govkpi.sources.records import Endpoint, Record, validate


class Auth:
    """Headers that authenticate a request; ``refresh`` is called once after a 401."""

    async def headers(self, client: SourceClient) -> dict[str, str]:
        raise NotImplementedError

    async def refresh(self, client: SourceClient) -> dict[str, str] | None:
        return None  # static credentials: a 401 is final


class StaticAuth(Auth):
    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    async def headers(self, client: SourceClient) -> dict[str, str]:
        return self._headers


def api_key_auth(key: str, header: str = "X-API-Key") -> StaticAuth:
    return StaticAuth({header: key})


def basic_auth(username: str, password: str) -> StaticAuth:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return StaticAuth({"Authorization": f"Basic {token}"})


class OAuth2ClientCredentials(Auth):
    """``POST <token_url>`` (grant_type=client_credentials) → a bearer token, renewed a minute
    before it expires so that a long crawl never sends an expired one."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: str | None = None
        self._expires = 0.0

    async def headers(self, client: SourceClient) -> dict[str, str]:
        if self._token is None or time.monotonic() >= self._expires:
            return await self.refresh(client)
        return {"Authorization": f"Bearer {self._token}"}

    async def refresh(self, client: SourceClient) -> dict[str, str]:
        body, _ = await request(
            client.session, "POST", self.token_url, what=f"{client.label} token",
            policy=client.retry,
            data={"grant_type": "client_credentials", "client_id": self.client_id,
                  "client_secret": self.client_secret})
        try:
            answer = msgspec.json.decode(body)
            self._token = answer["access_token"]
            self._expires = time.monotonic() + float(answer.get("expires_in", 3600)) - 60
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise SourceError(
                f"{client.label} token: unexpected answer ({body[:200]!r})") from exc
        return {"Authorization": f"Bearer {self._token}"}


class SourceClient:
    """Async client of one source system; use as ``async with Client(settings) as client``.

    Subclasses set ``system`` and ``label`` and implement :meth:`pages`.
    """

    system = ""
    label = ""

    def __init__(self, base_url: str, auth: Auth, *, timeout_seconds: float = 30.0,
                 concurrency: int = 1, retry: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout_seconds = timeout_seconds
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.session: Any = None

    async def __aenter__(self):
        import aiohttp

        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
            connector=aiohttp.TCPConnector(limit=max(1, self.concurrency)),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self.session is not None:
            await self.session.close()

    async def get(self, url: str, *, what: str,
                  params: Mapping[str, str] | None = None) -> tuple[bytes, Mapping[str, str]]:
        """GET ``url`` (absolute, or a path under the base URL) with auth and retries."""
        if url.startswith("/"):
            url = self.base_url + url

        async def reauthenticate():
            fresh = await self.auth.refresh(self)
            if fresh is None:
                raise SourceError(f"{what}: {url} refused the credentials (HTTP 401): check "
                                  f"the {self.label} settings (GOVKPI_{self.system.upper()}_*)")
            return fresh

        return await request(self.session, "GET", url, what=what, policy=self.retry,
                             headers=await self.auth.headers(self), params=params,
                             on_unauthorized=reauthenticate)

    def decode_envelope(self, body: bytes, kind: type, what: str):
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.MsgspecError as exc:
            raise SourceError(f"{what}: not the expected page ({exc}): {body[:200]!r}") from exc

    @staticmethod
    def records(endpoint: Endpoint, items: list[msgspec.Raw]) -> list[Record]:
        return [validate(endpoint, bytes(item)) for item in items]

    def pages(self, endpoint: Endpoint, since: dt.datetime | None = None,
              until: dt.datetime | None = None) -> AsyncIterator[list[Record]]:
        """Validated records page by page, in the source's (modification time, key) order,
        modified at or after ``since`` and before ``until`` (both optional)."""
        raise NotImplementedError


async def before(pages: AsyncIterator[list[Record]],
                 until: dt.datetime | None) -> AsyncIterator[list[Record]]:
    """Cut a crawl at ``until`` for APIs without an upper-bound filter: records come ordered by
    modification time, so the first page that reaches it is the last one read."""
    async for page in pages:
        if until is None:
            yield page
            continue
        kept = [r for r in page if r.updated_at is None or r.updated_at < until]
        if kept:
            yield kept
        if len(kept) < len(page):
            return
