"""What the dbt DAGs ``kpi_refresh`` and ``annual_ranking`` share: their task defaults (the
shared ones of ``govkpi.dag_defaults``, failure alert included) and the gate's tasks, one per
stage (docs/quality.md). Imports only ``airflow.sdk`` and the light defaults at parse time."""

from __future__ import annotations

from airflow.sdk import Asset, task

from govkpi.dag_defaults import default_args

# one retry: a dbt model or a gate that fails twice fails on its data, not on a lost connection
DEFAULT_ARGS = default_args(retries=1)


def gate_tasks(stages: tuple[str, ...], *, blocked_note: str = "",
               outlets: dict[str, list[Asset]] | None = None) -> list:
    """One ``quality_gate_<stage>`` task per stage (call inside a DAG). A CRITICAL failure
    fails the task at once (the same data fails again: no retry; retries stay for a lost
    connection) and the run; the task's failure callback sends the alert."""
    out = []
    for stage in stages:
        @task(task_id=f"quality_gate_{stage}", outlets=(outlets or {}).get(stage, []))
        def quality_gate(stage: str = stage) -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from govkpi.errors import GateFailed
            from govkpi.pipeline import gate_or_fail

            try:
                return gate_or_fail(stage, blocked_note=blocked_note)
            except GateFailed as exc:
                raise AirflowFailException(str(exc)) from exc

        out.append(quality_gate())
    return out
