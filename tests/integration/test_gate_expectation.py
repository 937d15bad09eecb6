"""The gate's expectation type (``govkpi.quality.expectation.ExpectNoBadRows``) run by GX itself
against PostgreSQL: the verdict, the number of bad rows and the sample must be what the stock
``UnexpectedRowsExpectation`` reports, from one query instead of two.

Data chosen for the edges: no bad row, one, and more bad rows than the sample holds (298 > 200),
a check that joins (``{batch} as b``) and a check with its own WITH clause inside the CTE."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
import great_expectations.expectations as gxe

from govkpi.quality.expectation import ExpectNoBadRows

ROWS = 1000


@pytest.fixture(scope="module")
def batch(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with wh.connect() as conn:
        conn.execute("create table public.scores (unit text primary key, score int, maximum int)")
        # units u0000..u0999: score = i % 400, maximum 250: i % 400 in 251..399 is above, in
        # 0..399 and 400..799 (149 each), not in 800..999 (scores 0..199): 298 rows
        conn.execute(f"insert into public.scores select 'u' || lpad(i::text, 4, '0'), i % 400, "
                     f"250 from generate_series(0, {ROWS - 1}) as i")
        conn.execute("create table public.maxima (unit text primary key, maximum int)")
        conn.execute("insert into public.maxima select unit, maximum from public.scores")
        conn.execute("update public.maxima set maximum = 1 where unit = 'u0007'")
        conn.commit()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_postgres("warehouse", connection_string=wh.sqlalchemy_url)
    asset = source.add_query_asset("scores", query="select * from public.scores")
    return asset.add_batch_definition_whole_table("whole").get_batch()


def _validate(batch, expectation):
    return batch.validate(expectation, result_format="COMPLETE")


@pytest.mark.parametrize(("query", "expected"), [
    ("select * from {batch} where score < 0", 0),
    ("select unit, score from {batch} where unit = 'u0399'", 1),
    ("select unit, score, maximum from {batch} where score > maximum", 298),
    ("select s.unit from {batch} as s join public.maxima as m on m.unit = s.unit "
     "where m.maximum <> s.maximum", 1),
    ("with above as (select unit from {batch} where score > maximum) "
     "select count(*) as n from above having count(*) > 0", 1),
])
def test_the_verdict_count_and_sample_match_the_stock_expectation(batch, query, expected):
    ours = _validate(batch, ExpectNoBadRows(unexpected_rows_query=query))
    stock = _validate(batch, gxe.UnexpectedRowsExpectation(unexpected_rows_query=query))
    assert ours.exception_info.get("raised_exception") is not True, ours.exception_info
    assert ours.success is (expected == 0) is stock.success
    assert ours.result["observed_value"] == expected == stock.result["observed_value"]
    sample = ours.result["details"]["unexpected_rows"]
    assert len(sample) == min(expected, 200)
    assert len(stock.result["details"]["unexpected_rows"]) == len(sample)
    assert all("govkpi_bad_row_count" not in row for row in sample)
    if expected == 298:
        assert {row["unit"] for row in sample} <= {f"u{i:04d}" for i in range(ROWS)
                                                   if i % 400 > 250}
        assert all(row["score"] > row["maximum"] for row in sample)


def test_a_check_that_cannot_run_is_reported_not_passed(batch):
    result = _validate(batch, ExpectNoBadRows(
        unexpected_rows_query="select * from {batch} where no_such_column > 0"))
    assert result.success is False
    assert "no_such_column" in str(result.exception_info)
