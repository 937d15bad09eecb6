"""What the DAG tasks do, as plain functions (DAG files only wire; see ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from govkpi.errors import GateFailed
from govkpi.ranking import DEFAULT_METHODOLOGY  # the light package, not the validator

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


# The gate's stages (govkpi.quality.checks): kpi_refresh checks what it built, annual_ranking
# checks everything a ranking reads before it publishes.
KPI_GATE_STAGES = ("raw", "staging", "marts")
RANKING_GATE_STAGES = (*KPI_GATE_STAGES, "ranking")


def run_stage_gate(stage: str):
    """Run the checkpoint of ``stage`` on the configured warehouse; the GateResult."""
    from govkpi.quality import run_gate
    from govkpi.quality.checks import checkpoint_name
    from govkpi.warehouse import export_environment, resolve_warehouse

    export_environment(resolve_warehouse(create=False))
    result = run_gate(checkpoint_name(stage))
    (log.info if result.passed else log.error)(result.summary())
    return result


def gate_or_fail(stage: str, *, blocked_note: str = "") -> dict[str, Any]:
    """Run the gate of ``stage``; raise :class:`GateFailed` (failing the task and the run) on
    CRITICAL failures, the summary followed by ``blocked_note``; else return the verdict as a
    release stores it (:func:`govkpi.publish.release.gate_payload`)."""
    from govkpi.publish.release import gate_payload

    result = run_stage_gate(stage)
    if not result.passed:
        raise GateFailed("\n".join(filter(None, (result.summary(), blocked_note))))
    return gate_payload(result)


# --- the quarter kpi_refresh closes (dags/kpi_refresh.py; govkpi.periods) -------------------


def kpi_refresh_quarter(params: dict[str, Any], moment: dt.datetime | None) -> dict[str, Any]:
    """The quarter a ``kpi_refresh`` run closes, as its XCom: the ``quarter`` param
    (``2017-Q1``, a backfill) when given, else the last quarter that had ended in Vietnam at
    ``moment``, the run's logical date or else its run_after
    (:func:`govkpi.periods.closed_quarter`)."""
    from govkpi.periods import closed_quarter, parse_quarter

    given = params.get("quarter")
    if given not in (None, ""):
        bounds, source = parse_quarter(given), "params"
    elif moment is None:
        raise ValueError("a kpi_refresh run without a quarter param needs its logical date or "
                         "run_after to find the quarter it closes")
    else:
        bounds, source = closed_quarter(moment), "run"
    log.info("kpi_refresh closes %s (%s – %s, from the %s)", bounds.label, bounds.start,
             bounds.end, "quarter param" if source == "params" else f"run date {moment}")
    return {**bounds.as_dict(), "source": source,
            "as_of": moment.isoformat() if moment else None}


def close_kpi_quarter(quarter: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """After the gate: check the marts hold ``quarter`` (the XCom of
    :func:`kpi_refresh_quarter`) in every province-quarter fact and record the summary in
    ``audit.kpi_refresh_quarter`` (:func:`govkpi.quarter_close.close_quarter`)."""
    from govkpi.periods import QuarterBounds
    from govkpi.quarter_close import close_quarter
    from govkpi.warehouse import resolve_warehouse

    bounds = QuarterBounds(int(quarter["year"]), int(quarter["quarter"]))
    if (bounds.start.isoformat(), bounds.end.isoformat()) != (quarter["start"], quarter["end"]):
        raise ValueError(f"quarter {quarter} does not match {bounds.label}'s bounds")
    return close_quarter(resolve_warehouse(create=False), bounds,
                         {**run, "source": quarter.get("source", "run"),
                          "as_of": quarter.get("as_of")})


# --- annual ranking (dags/annual_ranking.py, `govkpi rank`; docs/ranking.md) -----------------

RANKING_SELECTOR = "tag:ranking"  # dbt: the ranking marts and the two intermediate models


def methodology_names() -> list[str]:
    """The names of the shipped methodology files (what ``methodology`` may be)."""
    from govkpi.ranking import available

    return [path.stem for path in available()]


def default_ranking_year(moment: dt.datetime | None) -> int:
    """The year a run ranks by default: the one before ``moment``'s year in Vietnam (the run of
    15 January 2018 ranks 2017; the returns are due then)."""
    from govkpi.calendar import VN_TZ

    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN_TZ).year - 1


def ranking_request(params: dict[str, Any], moment: dt.datetime | None) -> dict[str, Any]:
    """The (year, methodology) a run ranks: the params, else the previous year of ``moment``
    (a run's logical date) and :data:`DEFAULT_METHODOLOGY`; a methodology with no file under
    ``include/govkpi/methodologies/`` is refused, naming those there are."""
    from govkpi.ranking.methodology import MethodologyError

    year = params.get("year")
    year = default_ranking_year(moment) if year in (None, "") else int(year)
    name = params.get("methodology") or DEFAULT_METHODOLOGY
    names = methodology_names()
    if name not in names:
        raise MethodologyError(f"unknown methodology {name!r}: choose one of "
                               f"{', '.join(names) or 'none'} (include/govkpi/methodologies/)")
    return {"year": year, "methodology": name}


def load_ranking_methodology(name: str) -> dict[str, Any]:
    """Validate the shipped file of methodology ``name`` and store it in ``ranking_config``
    (a no-op when that content is already the current one)."""
    from govkpi.ranking.methodology import by_name, write_to_warehouse
    from govkpi.warehouse import export_environment, resolve_warehouse

    wh = resolve_warehouse()
    export_environment(wh)
    methodology = by_name(name)
    loaded = write_to_warehouse(wh, methodology)
    log.info("methodology %s (%s): %s", name, methodology.content_sha256[:12],
             "loaded" if loaded else "already current")
    return {"methodology": name, "content_sha256": methodology.content_sha256,
            "source_file": str(methodology.source_file), "loaded": loaded}


def dbt_build(*selectors: str) -> dict[str, int]:
    """``dbt build --select <selectors>`` in this process (outside Airflow: the CLI), tests
    with their models (cautious indirect selection, as Cosmos renders them); return the node
    counts by status. Raises :class:`~govkpi.errors.GovkpiError` naming the failed nodes."""
    from dbt.cli.main import dbtRunner

    from govkpi import config
    from govkpi.errors import GovkpiError

    args = ["build", "--select", *selectors, "--indirect-selection", "cautious",
            "--project-dir", str(config.DBT_PROJECT_DIR),
            "--profiles-dir", str(config.DBT_PROJECT_DIR), "--quiet"]
    res = dbtRunner().invoke(args)
    counts: dict[str, int] = {}
    failed = []
    for r in getattr(res.result, "results", None) or []:
        status = str(r.status)
        counts[status] = counts.get(status, 0) + 1
        if status not in ("success", "pass", "warn", "skipped"):
            failed.append(f"{r.node.name}: {status} {(r.message or '').strip()}"[:300])
    if not res.success:
        detail = "; ".join(failed[:5]) or str(res.exception or "see dbt_project/logs/dbt.log")
        raise GovkpiError(f"dbt build --select {' '.join(selectors)} failed: {detail}")
    return counts


def ranking_gate() -> dict[str, Any]:
    """Every stage's gate (:data:`RANKING_GATE_STAGES`), all run even when one fails so the
    operator sees every cause; raise :class:`GateFailed` naming them when one blocks, else the
    combined verdict a release stores (``govkpi rank``; the DAG runs one task per stage)."""
    from govkpi.publish.release import combine_gate_payloads, gate_payload

    results = [run_stage_gate(stage) for stage in RANKING_GATE_STAGES]
    if not all(r.passed for r in results):
        raise GateFailed("\n".join([*(r.summary() for r in results if not r.passed),
                                     "nothing was published"]))
    return combine_gate_payloads([gate_payload(r) for r in results])


def publish_ranking(year: int, methodology_name: str,
                    gate: dict[str, Any] | list[dict[str, Any]]) -> int:
    """Publish (year, methodology) of the ranking marts with the gate's verdict (one stage's
    payload or the list of every stage's); the new release id. A failed gate or empty marts
    publish nothing (PublishError)."""
    from govkpi.publish.release import combine_gate_payloads, publish

    if isinstance(gate, list):
        gate = combine_gate_payloads(gate)
    from govkpi.warehouse import resolve_warehouse

    release_id = publish(resolve_warehouse(create=False), int(year), methodology_name, gate)
    log.info("release %s: %s / %s", release_id, year, methodology_name)
    return release_id


def render_ranking_report(year: int, methodology_name: str, release_id: int,
                          out_dir: Path | str | None = None,
                          lang: str = "vi") -> dict[str, Any]:
    """Render the HTML, XLSX and CSV report of a release into ``out_dir`` (default
    ``GOVKPI_REPORTS_DIR``, else ``reports/``); return the paths as text (a task's XCom)."""
    from govkpi.config import reports_dir
    from govkpi.publish.report import render_report
    from govkpi.warehouse import resolve_warehouse

    paths = render_report(resolve_warehouse(create=False), int(year), methodology_name,
                          out_dir or reports_dir(), lang=lang, release_id=int(release_id))
    log.info("report of release %s: %s", release_id, paths.html)
    return {"release_id": int(release_id), "html": str(paths.html), "xlsx": str(paths.xlsx),
            "csv": {name: str(path) for name, path in paths.csv.items()}}


def report_blocked_run(year: int, methodology_name: str,
                       out_dir: Path | str | None = None) -> dict[str, Any] | None:
    """After a blocked gate: re-render the report of the current (last good) release of
    (year, methodology), which lists the blocked runs recorded since it; None when the year
    has no release yet."""
    from govkpi.warehouse import resolve_warehouse

    with resolve_warehouse(create=False).connect() as conn:
        if conn.execute("select to_regclass('published.current_ranking_release')"
                        ).fetchone()[0] is None:
            found = None
        else:
            found = conn.execute(
                "select release_id from published.current_ranking_release"
                " where year = %s and methodology_name = %s", (year, methodology_name)).fetchone()
    if found is None:
        log.warning("the gate blocked %s / %s and there is no earlier release to keep", year,
                    methodology_name)
        return None
    log.warning("the gate blocked %s / %s: release %s stays current; its report now lists the "
                "blocked run", year, methodology_name, found[0])
    return render_ranking_report(year, methodology_name, found[0], out_dir=out_dir)
