"""What the DAG tasks do, as plain functions (DAG files only wire; see ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from govkpi.errors import GateFailed

log = logging.getLogger(__name__)


def _parse_time(value: Any, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"param {name}={value!r} is not an ISO-8601 date-time") from exc
    if parsed.tzinfo is None:  # a bare time is Vietnamese local time
        from govkpi.calendar import VN_TZ

        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed


def ingest_onestop_endpoint(endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """Extract and load one one-stop endpoint; return the batch counts (logged and XCom'd)."""
    from govkpi.config import OneStopSettings
    from govkpi.extract import extract_onestop
    from govkpi.warehouse import export_environment, resolve_warehouse

    wh = resolve_warehouse()
    export_environment(wh)
    (result,) = extract_onestop(
        wh, OneStopSettings.from_env(), [endpoint], mode=params.get("mode") or "incremental",
        window_from=_parse_time(params.get("window_from"), "window_from"),
        window_to=_parse_time(params.get("window_to"), "window_to"),
    )
    log.info(result.summary())
    return {
        "batch_id": result.batch_id, "received": result.received, "loaded": result.loaded,
        "quarantined": result.quarantined, "duplicates": result.duplicates,
        "watermark": result.watermark.isoformat() if result.watermark else None,
    }


def gate_or_fail(checkpoint: str) -> dict[str, Any]:
    """Run a gate checkpoint; raise (failing the task and the run) on CRITICAL failures."""
    from govkpi.quality import run_gate
    from govkpi.warehouse import export_environment, resolve_warehouse

    export_environment(resolve_warehouse(create=False))
    result = run_gate(checkpoint)
    log.info(result.summary())
    if not result.passed:
        raise GateFailed(result.summary())
    return {"checkpoint": checkpoint, "passed": True, "evaluated": result.evaluated,
            "warnings": [f.line() for f in result.warnings]}
