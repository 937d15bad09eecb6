"""Run a stage's GX checkpoint from the committed file context and turn it into a decision.

The gate fails only on CRITICAL failures (``get_max_severity_failure``), never on
``result.success``, which is also False for WARNING ones (PITFALLS.md). A check that could not
run (a missing relation, an SQL error) counts as a CRITICAL failure: the gate never passes
silently. Every run, passed or not, is stored in ``audit.gate_result`` with the failing checks
and a sample of their bad rows. This module never adds or changes GX objects (``setup_gx``
does); it writes only under the git-ignored ``uncommitted/``: each suite's latest validation
results (older ones are pruned, or Data Docs slow down with every run) and the Data Docs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from govkpi import config

log = logging.getLogger(__name__)

SAMPLE_SIZE = 5  # bad rows per failing check kept in the summary, the alert and the audit row
_AIRFLOW_CONTEXT = {"dag_id": "AIRFLOW_CTX_DAG_ID", "run_id": "AIRFLOW_CTX_DAG_RUN_ID",
                    "task_id": "AIRFLOW_CTX_TASK_ID"}


@dataclass
class Failure:
    check: str  # the check's name (govkpi.quality.checks)
    severity: str  # critical | warning
    asset: str  # the suite: a raw table, a staging view, a mart
    description: str
    bad_rows: int | None  # how many rows the check returned (None: it could not run)
    sample: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        if self.bad_rows is None:  # the description says why it could not run
            count = ""
        else:
            count = f", {self.bad_rows} bad row{'s' if self.bad_rows != 1 else ''}"
        sample = f"; e.g. {json.dumps(self.sample[:2], ensure_ascii=False, default=str)}" \
            if self.sample else ""
        return (f"[{self.severity.upper()}] {self.check} on {self.asset}{count}: "
                f"{self.description}{sample}")


@dataclass
class GateResult:
    checkpoint: str
    passed: bool
    evaluated: int
    failures: list[Failure]
    data_docs: str | None = None
    gate_result_id: int | None = None

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "BLOCKED"
        head = (f"gate {self.checkpoint}: {verdict} — {self.evaluated} checks, "
                f"{len(self.critical)} critical and {len(self.warnings)} warning failures")
        docs = [f"  Data Docs: {self.data_docs}"] if self.data_docs else []
        return "\n".join([head, *("  " + f.line() for f in self.failures), *docs])


def gate_settings() -> dict[str, float]:
    """The thresholds of :data:`govkpi.quality.checks.SETTINGS`: the environment, else the
    defaults. A value that is not a number is refused, naming its variable."""
    from govkpi.quality.checks import SETTINGS

    values = {}
    for name, (env, default, _meaning) in SETTINGS.items():
        raw = os.environ.get(env, "").strip()
        try:
            values[name] = float(raw) if raw else float(default)
        except ValueError:
            raise ValueError(f"{env}={raw!r} is not a number (the gate's {name})") from None
    return values


def prepare_gate_tables(conn, settings: dict[str, float]) -> None:
    """Create the gate's audit tables if needed and store the thresholds the checks read."""
    from govkpi.quality.checks import SETTINGS

    # the stages' gate tasks run in parallel: concurrent CREATE ... IF NOT EXISTS of the same
    # table can still collide in the catalogue, so one at a time
    conn.execute("select pg_advisory_xact_lock(hashtext('govkpi.quality.gate'))")
    conn.execute(resources.files("govkpi.quality").joinpath("schema.sql").read_text())
    for name, value in settings.items():
        conn.execute(
            "insert into audit.gate_setting (name, value, description) values (%s, %s, %s) "
            "on conflict (name) do update set value = excluded.value, "
            "description = excluded.description, updated_at = now() "
            "where audit.gate_setting.value is distinct from excluded.value",
            (name, value, SETTINGS[name][2]))


def _failure(run_name: str, r) -> Failure:
    cfg = r.expectation_config
    meta = cfg.meta or {}
    severity = str(getattr(cfg, "severity", "critical") or "critical").split(".")[-1].lower()
    error = _exception_message(r.exception_info)
    if error is not None:
        # a check that cannot run is a failed check, whatever its severity
        message = " ".join(error.split("[SQL:")[0].split())[:500]
        return Failure(meta.get("check", cfg.type), "critical", run_name,
                       f"the check could not run: {message}", None)
    result = r.result or {}
    rows = (result.get("details") or {}).get("unexpected_rows") or []
    return Failure(meta.get("check", cfg.type), severity, run_name,
                   cfg.description or cfg.type, result.get("observed_value"),
                   [{k: _json_safe(v) for k, v in row.items()} for row in rows[:SAMPLE_SIZE]])


def _exception_message(info: Any) -> str | None:
    """The error of a check that could not run: GX reports it at the top of ``exception_info``
    or per metric (a dict of such dicts)."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        found = _exception_message(value)
        if found is not None:
            return found
    return None


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


DATA_DOCS_SITE = "local_site"  # gx/uncommitted/data_docs/local_site/ (git-ignored)


def data_docs_index(project_dir: Path | None = None) -> str | None:
    """The index of the gate's Data Docs (:func:`build_data_docs`), when it was built."""
    root = Path(project_dir or config.GX_PROJECT_DIR)
    index = root / "gx" / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"
    return str(index) if index.exists() else None


def _keep_latest_results(context) -> int:
    """Remove the stored validation results of each suite but its latest run (Data Docs read
    them all: an unbounded store makes every build slower); how many were removed."""
    store = context.validation_results_store
    latest: dict[str, Any] = {}
    stale = []
    for key in store.list_keys():
        suite = key.expectation_suite_identifier.name
        kept = latest.get(suite)
        if kept is None or key.run_id.run_time > kept.run_id.run_time:
            if kept is not None:
                stale.append(kept)
            latest[suite] = key
        else:
            stale.append(key)
    for key in stale:
        with suppress(FileNotFoundError):  # a gate task beside this one removed it first
            store.remove_key(key)
    return len(stale)


def build_data_docs(context, root: Path) -> str | None:
    """Build GX Data Docs from each suite's latest stored run (the checks, their queries and
    results) after pruning older runs; the path of the index. A failure here is logged, never
    raised: the docs explain a verdict, they do not make it."""
    try:
        _keep_latest_results(context)
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
    except Exception:
        log.warning("GX Data Docs were not rebuilt", exc_info=True)
    return data_docs_index(root)


def run_gate(checkpoint_name: str, *, project_dir=None, record: bool = True) -> GateResult:
    """Run ``checkpoint_name`` (``<stage>_gate``) on the warehouse of
    ``GOVKPI_WAREHOUSE_SQLALCHEMY_URL``; store the result in ``audit.gate_result`` (unless
    ``record`` is false) and return it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.expectations.metadata_types import FailureSeverity

    import govkpi.quality.expectation  # noqa: F401  (registers the suites' expectation type)
    from govkpi.warehouse import resolve_warehouse

    started = dt.datetime.now(dt.UTC)
    settings = gate_settings()
    wh = resolve_warehouse(create=False)
    with wh.connect() as conn:
        prepare_gate_tables(conn, settings)
    root = Path(project_dir or config.GX_PROJECT_DIR)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    checkpoint = context.checkpoints.get(checkpoint_name)
    result = checkpoint.run()
    failures: list[Failure] = []
    evaluated = 0
    blocked = False
    for identifier, run in result.run_results.items():
        name = run.suite_name or str(identifier)
        evaluated += len(run.results)
        if run.get_max_severity_failure() == FailureSeverity.CRITICAL:
            blocked = True
        failures.extend(_failure(name, r) for r in run.results if not r.success)
    if any(f.severity == "critical" for f in failures):
        blocked = True
    gate = GateResult(checkpoint_name, not blocked, evaluated, failures,
                      build_data_docs(context, root))
    if record:
        gate.gate_result_id = record_gate_result(wh, gate, settings, started)
    return gate


def record_gate_result(wh, gate: GateResult, settings: dict[str, float],
                       started: dt.datetime) -> int:
    """Store one checkpoint run in ``audit.gate_result``; its id."""
    context = {key: os.environ[env] for key, env in _AIRFLOW_CONTEXT.items() if env in os.environ}
    stage = gate.checkpoint.removesuffix("_gate")
    with wh.connect() as conn:
        row = conn.execute(
            "insert into audit.gate_result (checkpoint, stage, passed, evaluated, critical_count,"
            " warning_count, failures, settings, run_context, data_docs_path, started_at) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning gate_result_id",
            (gate.checkpoint, stage, gate.passed, gate.evaluated, len(gate.critical),
             len(gate.warnings),
             json.dumps([asdict(f) for f in gate.failures], ensure_ascii=False, default=str),
             json.dumps(settings), json.dumps(context), gate.data_docs, started)).fetchone()
        return row[0]
