"""Run a GX checkpoint from the committed file context and turn its result into a decision.

The gate fails only on CRITICAL failures (``get_max_severity_failure``), never on
``result.success``, which is also False for WARNING ones (PITFALLS.md). The context is opened
read-only in spirit: this module never adds or changes GX objects (``setup_gx`` does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from govkpi import config

SAMPLE_SIZE = 5


@dataclass
class Failure:
    expectation: str
    severity: str
    target: str  # the column(s) or table the expectation checks
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)

    def line(self) -> str:
        count = "" if self.unexpected_count is None else f", {self.unexpected_count} bad rows"
        sample = f", e.g. {self.sample}" if self.sample else ""
        return f"[{self.severity.upper()}] {self.expectation} on {self.target}{count}{sample}"


@dataclass
class GateResult:
    checkpoint: str
    passed: bool
    evaluated: int
    failures: list[Failure]

    @property
    def critical(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "BLOCKED"
        head = (f"gate {self.checkpoint}: {verdict} — {self.evaluated} expectations, "
                f"{len(self.critical)} critical and {len(self.warnings)} warning failures")
        return "\n".join([head, *("  " + f.line() for f in self.failures)])


def _target(kwargs: dict[str, Any]) -> str:
    for key in ("column", "column_list"):
        if key in kwargs:
            return str(kwargs[key])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']} vs {kwargs['column_B']}"
    return "table"


def run_gate(checkpoint_name: str, *, project_dir=None) -> GateResult:
    """Run ``checkpoint_name``; the warehouse comes from ``GOVKPI_WAREHOUSE_SQLALCHEMY_URL``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.expectations.metadata_types import FailureSeverity

    root = str(project_dir or config.GX_PROJECT_DIR)
    context = gx.get_context(mode="file", project_root_dir=root)
    checkpoint = context.checkpoints.get(checkpoint_name)
    result = checkpoint.run()
    failures: list[Failure] = []
    evaluated = 0
    blocked = False
    for run in result.run_results.values():
        evaluated += len(run.results)
        if run.get_max_severity_failure() == FailureSeverity.CRITICAL:
            blocked = True
        for r in run.results:
            if r.success:
                continue
            cfg = r.expectation_config
            details = r.result or {}
            failures.append(Failure(
                expectation=cfg.type,
                severity=str(getattr(cfg, "severity", "critical") or "critical").split(".")[-1]
                .lower(),
                target=_target(cfg.kwargs),
                unexpected_count=details.get("unexpected_count"),
                sample=list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
            ))
    return GateResult(checkpoint_name, not blocked, evaluated, failures)
