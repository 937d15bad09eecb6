"""Shared HTTP machinery for source clients: retries with backoff and jitter, Retry-After."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from govkpi.errors import SourceError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_seconds)
            except ValueError:
                pass  # an HTTP date: fall back to backoff
        # "full jitter" exponential backoff: spreads retries of parallel clients apart
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))


async def request_bytes(session, method: str, url: str, *, what: str, policy: RetryPolicy,
                        headers=None, params=None, data=None, on_unauthorized=None) -> bytes:
    """Send a request, retrying transient failures; return the body of a 2xx answer.

    ``on_unauthorized`` (an async callable returning fresh headers) is called once on a 401,
    e.g. to refresh an expired OAuth2 token.
    """
    body, _ = await request(session, method, url, what=what, policy=policy, headers=headers,
                            params=params, data=data, on_unauthorized=on_unauthorized)
    return body


async def request(session, method: str, url: str, *, what: str, policy: RetryPolicy,
                  headers=None, params=None, data=None,
                  on_unauthorized=None) -> tuple[bytes, Mapping[str, str]]:
    """:func:`request_bytes` that also returns the answer's headers (e.g. ``Link``)."""
    import aiohttp

    refreshed = False
    last_error = ""
    for attempt in range(policy.attempts):
        retry_after = None
        try:
            async with session.request(method, url, headers=headers, params=params,
                                       data=data) as resp:
                body = await resp.read()
                if 200 <= resp.status < 300:
                    return body, resp.headers
                last_error = f"HTTP {resp.status}: {body[:200].decode('utf-8', 'replace')}"
                if resp.status == 401 and on_unauthorized is not None and not refreshed:
                    headers = await on_unauthorized()
                    refreshed = True
                    continue
                if resp.status not in RETRYABLE_STATUS:
                    raise SourceError(f"{what}: {url} answered {last_error}")
                retry_after = resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if attempt + 1 < policy.attempts:
            delay = policy.delay(attempt, retry_after)
            log.warning("%s: %s (attempt %d/%d), retrying in %.1fs", what, last_error,
                        attempt + 1, policy.attempts, delay)
            await asyncio.sleep(delay)
    raise SourceError(
        f"{what}: {url} still failing after {policy.attempts} attempts ({last_error})")
