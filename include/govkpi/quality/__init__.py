"""The quality gate: run committed Great Expectations checkpoints, decide on CRITICAL severity."""

from govkpi.quality.gate import GateResult, run_gate

__all__ = ["GateResult", "run_gate"]
