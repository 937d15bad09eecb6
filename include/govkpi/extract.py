"""Extract → load for a source system: decide the window, crawl, land, report.

One function for the three systems (:func:`extract`); :func:`extract_onestop` is kept for the
DAGs and tests that call it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Literal

from govkpi.config import OneStopSettings
from govkpi.load.raw import BatchResult, load_batch, read_watermark
from govkpi.privacy import PiiHasher
from govkpi.sources.http import RetryPolicy
from govkpi.sources.systems import SYSTEMS, System, system
from govkpi.warehouse import Warehouse

log = logging.getLogger(__name__)

Mode = Literal["incremental", "backfill", "full"]
MODES = ("incremental", "backfill", "full")


def extract(system_name: str, wh: Warehouse, settings: Any = None,
            endpoints: Sequence[str] | None = None, *, mode: Mode = "incremental",
            window_from: dt.datetime | None = None, window_to: dt.datetime | None = None,
            show_progress: bool = False, retry: RetryPolicy | None = None) -> list[BatchResult]:
    """Pull endpoints of one source system (``onestop``, ``eoffice``, ``dvc``) into
    ``raw_<system>`` and return one result per batch (one batch per endpoint).

    ``incremental`` starts an overlap window (``settings.overlap_seconds``) before the stored
    watermark of each (system, endpoint): late writes are re-read, and repeats are deduplicated
    by key + modification time. ``backfill`` takes ``[window_from, window_to)`` as is; ``full``
    re-reads everything. ``settings`` default: the system's settings from the environment.
    """
    source = system(system_name)
    hasher = PiiHasher()  # fails before any request when the key is missing
    names = list(endpoints) if endpoints is not None else list(source.endpoints)
    unknown = set(names) - set(source.endpoints)
    if unknown:
        raise ValueError(f"unknown {source.label} endpoint(s) {sorted(unknown)}; "
                         f"known: {sorted(source.endpoints)}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "backfill" and window_from is None:
        raise ValueError("backfill needs a window start (window_from)")
    for bound in (window_from, window_to):
        if bound is not None and bound.tzinfo is None:
            raise ValueError(f"window bound {bound} has no UTC offset: pass an aware datetime")
    if settings is None:
        settings = source.settings.from_env()
    return asyncio.run(_extract(wh, source, settings, names, mode, window_from, window_to,
                                hasher, show_progress, retry))


def extract_onestop(wh: Warehouse, settings: OneStopSettings,
                    endpoints: Sequence[str] = tuple(SYSTEMS["onestop"].endpoints), *,
                    mode: Mode = "incremental", window_from: dt.datetime | None = None,
                    window_to: dt.datetime | None = None,
                    show_progress: bool = False) -> list[BatchResult]:
    """:func:`extract` of the one-stop system."""
    return extract("onestop", wh, settings, endpoints, mode=mode, window_from=window_from,
                   window_to=window_to, show_progress=show_progress)


async def _extract(wh: Warehouse, source: System, settings, endpoints: list[str], mode: Mode,
                   window_from, window_to, hasher: PiiHasher, show_progress: bool,
                   retry: RetryPolicy | None) -> list[BatchResult]:
    results = []
    async with source.client(settings, retry=retry) as client:
        for name in endpoints:
            endpoint = source.endpoints[name]
            start, end = window_from, window_to
            if mode == "incremental":
                mark = await read_watermark(wh, source.name, name)
                start = None if mark is None else mark - dt.timedelta(
                    seconds=settings.overlap_seconds)
            elif mode == "full":
                start = None
            bar = None
            if show_progress:
                from tqdm import tqdm

                bar = tqdm(desc=f"{source.name}.{name}", unit=" rec", leave=True)
            try:
                result = await load_batch(
                    wh, source.name, endpoint, client.pages(endpoint, start, end),
                    hasher=hasher, window_from=start, window_to=end,
                    progress=bar.update if bar else None)
            finally:
                if bar is not None:
                    bar.close()
            results.append(result)
    return results
