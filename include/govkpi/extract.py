"""Extract → load for a source system: decide the window, crawl, land, report."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Literal

from govkpi.config import OneStopSettings
from govkpi.load.raw import BatchResult, load_batch, read_watermark
from govkpi.privacy import PiiHasher
from govkpi.sources import onestop
from govkpi.warehouse import Warehouse

log = logging.getLogger(__name__)

Mode = Literal["incremental", "backfill", "full"]


def extract_onestop(wh: Warehouse, settings: OneStopSettings,
                    endpoints: Sequence[str] = tuple(onestop.ENDPOINTS), *,
                    mode: Mode = "incremental", window_from: dt.datetime | None = None,
                    window_to: dt.datetime | None = None,
                    show_progress: bool = False) -> list[BatchResult]:
    """Pull the one-stop endpoints into ``raw_onestop`` and return one result per batch.

    ``incremental`` starts an overlap window before the stored watermark (late writes are
    re-read and deduplicated downstream); ``backfill`` takes the given window as is; ``full``
    re-reads everything.
    """
    hasher = PiiHasher()  # fails before any request when the key is missing
    unknown = set(endpoints) - set(onestop.ENDPOINTS)
    if unknown:
        raise ValueError(f"unknown one-stop endpoint(s) {sorted(unknown)}; "
                         f"known: {sorted(onestop.ENDPOINTS)}")
    if mode == "backfill" and window_from is None:
        raise ValueError("backfill needs a window start (window_from)")
    return asyncio.run(_extract(wh, settings, endpoints, mode, window_from, window_to, hasher,
                                show_progress))


async def _extract(wh, settings, endpoints, mode, window_from, window_to, hasher,
                   show_progress) -> list[BatchResult]:
    results = []
    async with onestop.OneStopClient(settings) as client:
        for name in endpoints:
            endpoint = onestop.ENDPOINTS[name]
            start = window_from
            if mode == "incremental":
                mark = await read_watermark(wh, onestop.SYSTEM, name)
                start = None if mark is None else mark - dt.timedelta(
                    seconds=settings.overlap_seconds)
            elif mode == "full":
                start = None
            bar = None
            if show_progress:
                from tqdm import tqdm

                bar = tqdm(desc=f"onestop.{name}", unit=" rec", leave=True)
            try:
                result = await load_batch(
                    wh, onestop.SYSTEM, endpoint, client.pages(endpoint, start, window_to),
                    hasher=hasher, window_from=start, window_to=window_to,
                    progress=bar.update if bar else None)
            finally:
                if bar is not None:
                    bar.close()
            results.append(result)
    return results
