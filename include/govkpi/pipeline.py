"""What the DAG tasks do, as plain functions (DAG files only wire; see ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from govkpi.errors import GateFailed

log = logging.getLogger(__name__)


def parse_window_bound(value: Any, name: str) -> dt.datetime | None:
    """An ISO-8601 window bound from a param or the CLI; a bare time is Vietnamese local time."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValueError(f"{name}={value!r} is not an ISO-8601 date-time "
                             "(e.g. 2017-01-01 or 2017-01-01T00:00:00+07:00)") from exc
    if parsed.tzinfo is None:
        from govkpi.calendar import VN_TZ

        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed


def batch_counts(result) -> dict[str, Any]:
    """The counts of one load batch, JSON-safe (what a task logs and returns as XCom)."""
    return {
        "system": result.system, "endpoint": result.endpoint, "batch_id": result.batch_id,
        "received": result.received, "loaded": result.loaded,
        "quarantined": result.quarantined, "duplicates": result.duplicates,
        "seconds": round(result.seconds, 3),
        "watermark": result.watermark.isoformat() if result.watermark else None,
    }


def ingest_endpoint(system: str, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """Extract and load one endpoint of a source system (``onestop``, ``eoffice``, ``dvc``)
    into ``raw_<system>.<endpoint>`` as one audited batch; return its counts.

    ``params``: ``mode`` (incremental | backfill | full) and the ``window_from`` /
    ``window_to`` bounds of a backfill. Settings come from the environment (govkpi.config).
    """
    from govkpi.extract import extract
    from govkpi.warehouse import export_environment, resolve_warehouse

    wh = resolve_warehouse()
    export_environment(wh)
    (result,) = extract(
        system, wh, None, [endpoint], mode=params.get("mode") or "incremental",
        window_from=parse_window_bound(params.get("window_from"), "window_from"),
        window_to=parse_window_bound(params.get("window_to"), "window_to"),
    )
    log.info(result.summary())
    return batch_counts(result)


def ingest_onestop_endpoint(endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """:func:`ingest_endpoint` of the one-stop system (the name older callers use)."""
    return ingest_endpoint("onestop", endpoint, params)


RETURN_SUFFIXES = (".xlsx", ".csv")


def drop_folder(params: dict[str, Any] | None = None) -> Path:
    """Where self-assessment returns arrive: the ``drop_dir`` param, else GOVKPI_DROP_DIR,
    else ``.local/drop``; files are expected under ``<drop>/<year>/``."""
    from govkpi.config import drop_dir

    given = (params or {}).get("drop_dir")
    return Path(given) if given else drop_dir()


def _years(params: dict[str, Any]) -> list[int] | None:
    year = params.get("year")
    return None if year in (None, "") else [int(year)]


def waiting_returns(params: dict[str, Any]) -> list[str]:
    """The return files in the drop folder's year folders (only ``year``'s when given)."""
    drop = drop_folder(params)
    years = _years(params)
    folders = [drop / str(y) for y in years] if years else sorted(
        p for p in drop.glob("*") if p.is_dir())
    files = sorted(str(f) for folder in folders if folder.is_dir() for f in folder.iterdir()
                   if f.is_file() and f.suffix.lower() in RETURN_SUFFIXES
                   and not f.name.startswith((".", "~$")))  # hidden and Excel lock files
    log.info("%d return file(s) in %s", len(files), drop)
    return files


def ingest_assessment_returns(params: dict[str, Any]) -> dict[str, Any]:
    """Load the self-assessment returns of the drop folder into ``raw_files`` as one audited
    batch (files already loaded with the same content are skipped); return its counts."""
    from govkpi.load.assessments import load_returns  # imported late: heavy, and DB-bound
    from govkpi.warehouse import export_environment, resolve_warehouse

    wh = resolve_warehouse()
    export_environment(wh)
    drop = drop_folder(params)
    result = load_returns(wh, drop, years=_years(params))
    log.info(result.summary())
    files: dict[str, int] = {}
    for f in result.files:
        files[f.status] = files.get(f.status, 0) + 1
    return {
        "drop_dir": str(drop), "batch_id": result.batch_id, "received": result.received,
        "loaded": result.loaded, "quarantined": result.quarantined,
        "seconds": round(result.seconds, 3), "files": files,
        "not_submitted": {str(y): units for y, units in result.not_submitted.items()},
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
