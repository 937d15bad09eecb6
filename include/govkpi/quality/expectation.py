"""The gate's one expectation type: a check's bad rows and their number in ONE query.

GX's ``UnexpectedRowsExpectation`` runs every check twice: ``SELECT COUNT(*) FROM (check)`` for
the verdict, then the check itself for the sample rows (which the SQLAlchemy driver reads whole
before GX keeps 200 of them). A check that passes — the usual case — thus reads its relation
twice, and over a staged view that recomputes the latest version of three million records on
every read that is most of the gate's time (``bench/gate_share.py``).

``ExpectNoBadRows`` is that expectation with one metric instead of two:
``bad_rows_query.rows_and_count`` runs ``WITH bad_rows AS MATERIALIZED (check) SELECT *,
(SELECT count(*) FROM bad_rows) FROM bad_rows LIMIT 200`` — the check evaluated once, the
number of bad rows riding on each returned row, at most 200 rows crossing the wire — and the
validation result has the same shape as ``UnexpectedRowsExpectation``'s (``observed_value`` =
the number of bad rows, ``details.unexpected_rows`` = the sample), so Data Docs, the gate's
audit rows and the alerts read it unchanged.

The class registers itself with GX when this module is imported: ``setup_gx`` and ``gate``
import it before they open the GX project (the committed suites name its type,
``expect_no_bad_rows``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.core.unexpected_rows_expectation import (
    UnexpectedRowsExpectation,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import (
    QueryMetricProvider,
)

METRIC = "bad_rows_query.rows_and_count"
COUNT_COLUMN = "govkpi_bad_row_count"


def bad_rows_sql(checked: str) -> str:
    """The one query of a check (``checked``: its SQL with ``{batch}`` substituted): at most
    200 bad rows, each with the number of all of them in ``govkpi_bad_row_count``.

    A MATERIALIZED CTE, evaluated once and planned for every row: were the LIMIT on the check
    itself, the planner would expect to stop after 200 rows that (usually) never come and pick a
    plan made for stopping early (a nested loop of 200,000 dossiers x 2,000 procedures: 48 s
    instead of 0.6 s at scale 0.1)."""
    return (f"WITH bad_rows AS MATERIALIZED ({checked}) "
            f"SELECT bad_rows.*, (SELECT COUNT(*) FROM bad_rows) AS {COUNT_COLUMN} "
            f"FROM bad_rows LIMIT {MAX_RESULT_RECORDS}")


class BadRowsQueryRowsAndCount(QueryMetricProvider):
    """``{"rows": [at most 200 bad rows], "count": all bad rows}`` of a check, one query."""

    metric_name = METRIC
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, execution_engine: SqlAlchemyExecutionEngine,
                    metric_domain_kwargs: dict, metric_value_kwargs: dict,
                    metrics: dict[str, Any], runtime_configuration: dict) -> dict:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        query = cls._get_query_from_metric_value_kwargs(metric_value_kwargs)
        checked = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=query, batch_selectable=batch_selectable, execution_engine=execution_engine)
        sql = bad_rows_sql(checked)
        rows = [row._asdict() for row in execution_engine.execute_query(sa.text(sql)).fetchall()]
        count = int(rows[0][COUNT_COLUMN]) if rows else 0
        for row in rows:
            del row[COUNT_COLUMN]
        return {"rows": rows, "count": count}


class ExpectNoBadRows(UnexpectedRowsExpectation):
    """The check's query (``{batch}`` = the asset) returns no row; its rows are the bad ones.

    ``UnexpectedRowsExpectation`` read once: see the module's docstring."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC,)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine=None) -> dict:
        result_format = self._get_result_format(runtime_configuration=runtime_configuration)
        if isinstance(result_format, dict):
            result_format = result_format.get("result_format", ResultFormat.SUMMARY)
        value = metrics[METRIC]
        success = value["count"] == 0
        if result_format == ResultFormat.BOOLEAN_ONLY:
            return {"success": success}
        result: dict[str, Any] = {"observed_value": value["count"]}
        if result_format == ResultFormat.COMPLETE:
            result["details"] = {"unexpected_rows": value["rows"]}
        return {"success": success, "result": result}
