"""Reporting quarters in Vietnamese time, cases written down from the rule first (DOMAIN.md;
govkpi.periods): a quarter starts at 00:00 Asia/Ho_Chi_Minh (UTC+7, no summer time) on 1 January,
April, July and October — 17:00 UTC the day before — and a run closes the last quarter that had
ended, in Vietnam, when it ran."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from govkpi.periods import (
    QuarterBounds,
    closed_quarter,
    parse_quarter,
    quarter_bounds,
    quarter_of,
)

UTC = dt.UTC
VN = ZoneInfo("Asia/Ho_Chi_Minh")
# the last day of each quarter, written out (not computed by the code under test)
QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}
QUARTER_START_MONTH = {1: 1, 2: 4, 3: 7, 4: 10}
EVERY_QUARTER = [(year, q) for year in range(2015, 2032) for q in (1, 2, 3, 4)]


def bounds_of(bounds: QuarterBounds) -> tuple:
    return bounds.label, bounds.start, bounds.end


def expected(year: int, q: int) -> tuple:
    return (f"{year}-Q{q}", dt.date(year, QUARTER_START_MONTH[q], 1),
            dt.date(year, *QUARTER_END[q]))


def previous(year: int, q: int) -> tuple[int, int]:
    return (year - 1, 4) if q == 1 else (year, q - 1)


@pytest.mark.parametrize(("year", "q"), EVERY_QUARTER, ids=lambda v: str(v))
def test_every_quarter_starts_at_local_midnight_which_is_17_utc_the_day_before(year, q):
    first_day = dt.date(year, QUARTER_START_MONTH[q], 1)
    local_midnight = dt.datetime(year, QUARTER_START_MONTH[q], 1, tzinfo=VN)
    utc_17 = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(17), tzinfo=UTC)
    assert local_midnight == utc_17  # the same instant, written both ways
    just_before = utc_17 - dt.timedelta(microseconds=1)

    assert bounds_of(quarter_bounds(utc_17)) == expected(year, q)
    assert bounds_of(quarter_bounds(local_midnight)) == expected(year, q)
    assert bounds_of(quarter_bounds(just_before)) == expected(*previous(year, q))
    # a run at the first instant of the quarter closes the one that just ended …
    assert bounds_of(closed_quarter(utc_17)) == expected(*previous(year, q))
    # … and a run one microsecond earlier is still inside it: it closes the one before
    assert bounds_of(closed_quarter(just_before)) == expected(*previous(*previous(year, q)))
    bounds = quarter_bounds(utc_17)
    assert bounds.starts_at == utc_17
    assert bounds.ends_at == quarter_bounds(bounds.ends_at).starts_at
    assert quarter_bounds(bounds.ends_at - dt.timedelta(microseconds=1)) == bounds


def test_a_run_at_00_30_on_1_january_closes_q4_of_the_year_before():
    run = dt.datetime(2017, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 January 2018 in Vietnam
    assert run == dt.datetime(2018, 1, 1, 0, 30, tzinfo=VN)
    assert quarter_bounds(run).label == "2018-Q1"  # the run falls in the new year …
    closed = closed_quarter(run)  # … and closes the quarter that just ended
    assert bounds_of(closed) == ("2017-Q4", dt.date(2017, 10, 1), dt.date(2017, 12, 31))


def test_a_run_at_23_30_on_31_march_is_still_in_q1_and_does_not_close_it():
    run = dt.datetime(2017, 3, 31, 16, 30, tzinfo=UTC)  # 23:30 on 31 March in Vietnam
    assert bounds_of(quarter_bounds(run)) == ("2017-Q1", dt.date(2017, 1, 1),
                                              dt.date(2017, 3, 31))
    # Q1 is not over: the run closes the last quarter that is, Q4 of 2016
    assert bounds_of(closed_quarter(run)) == ("2016-Q4", dt.date(2016, 10, 1),
                                              dt.date(2016, 12, 31))


def test_the_scheduled_close_at_07_30_on_1_april_closes_q1():
    run = dt.datetime(2017, 4, 1, 0, 30, tzinfo=UTC)  # 07:30 local, the DAG's cron time
    assert bounds_of(closed_quarter(run)) == ("2017-Q1", dt.date(2017, 1, 1),
                                              dt.date(2017, 3, 31))


@pytest.mark.parametrize(
    ("utc", "label"),
    [
        # UTC midnight: Vietnam is already 07:00 of the same day, so the quarters agree …
        (dt.datetime(2017, 4, 1, 0, 0, tzinfo=UTC), "2017-Q2"),
        (dt.datetime(2018, 1, 1, 0, 0, tzinfo=UTC), "2018-Q1"),
        # … but from 17:00 UTC on a quarter's last day the local date is the next quarter's:
        # a quarter read off the UTC date would be wrong for these seven hours
        (dt.datetime(2017, 3, 31, 23, 59, 59, tzinfo=UTC), "2017-Q2"),
        (dt.datetime(2017, 12, 31, 23, 59, tzinfo=UTC), "2018-Q1"),
        (dt.datetime(2017, 3, 31, 16, 59, 59, tzinfo=UTC), "2017-Q1"),
    ],
)
def test_the_utc_date_is_not_the_local_date(utc, label):
    assert quarter_bounds(utc).label == label


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        # the same instants as the cases above, written in other zones
        (dt.datetime(2017, 3, 31, 12, 30, tzinfo=ZoneInfo("America/New_York")), "2017-Q1"),
        (dt.datetime(2017, 3, 31, 13, 30, tzinfo=ZoneInfo("America/New_York")), "2017-Q2"),
        (dt.datetime(2017, 4, 1, 1, 59, tzinfo=ZoneInfo("Asia/Tokyo")), "2017-Q1"),
        (dt.datetime(2017, 4, 1, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")), "2017-Q2"),
        (dt.datetime(2017, 12, 31, 18, 0, tzinfo=ZoneInfo("Europe/London")), "2018-Q1"),
        (dt.datetime(2017, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=7))), "2017-Q4"),
        (dt.datetime(2018, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))), "2018-Q1"),
    ],
)
def test_aware_datetimes_in_any_zone(moment, label):
    assert quarter_bounds(moment).label == label


@pytest.mark.parametrize(
    ("year", "q1_days", "last_day_of_february"),
    [(2016, 91, 29), (2017, 90, 28), (2020, 91, 29), (2000, 91, 29), (2100, 90, 28)],
)
def test_leap_years(year, q1_days, last_day_of_february):
    q1 = QuarterBounds(year, 1)
    assert q1.end == dt.date(year, 3, 31)
    assert (q1.end - q1.start).days + 1 == q1_days
    feb_end = dt.datetime(year, 2, last_day_of_february, 23, 30, tzinfo=VN)
    assert quarter_bounds(feb_end) == q1
    # the last evening of February, in UTC, is still February: no day slips to March or Q2
    assert quarter_bounds(feb_end.astimezone(UTC)) == q1
    assert closed_quarter(dt.datetime(year, 4, 1, 7, 30, tzinfo=VN)) == q1
    assert sum((QuarterBounds(year, q).end - QuarterBounds(year, q).start).days + 1
               for q in (1, 2, 3, 4)) == 365 + (q1_days - 90)


@pytest.mark.parametrize("naive", [dt.datetime(2017, 3, 31, 23, 30), dt.datetime(2018, 1, 1)])
def test_naive_datetimes_are_refused(naive):
    with pytest.raises(ValueError, match="has no timezone: give an aware datetime"):
        quarter_bounds(naive)
    with pytest.raises(ValueError, match="has no timezone"):
        closed_quarter(naive)


def test_quarters_of_local_days_and_neighbours():
    assert quarter_of(dt.date(2017, 3, 31)) == QuarterBounds(2017, 1)
    assert quarter_of(dt.date(2017, 4, 1)) == QuarterBounds(2017, 2)
    assert QuarterBounds(2017, 4).next() == QuarterBounds(2018, 1)
    assert QuarterBounds(2018, 1).previous() == QuarterBounds(2017, 4)
    with pytest.raises(ValueError, match="a quarter is 1, 2, 3 or 4"):
        QuarterBounds(2017, 5)


def test_the_xcom_form_of_the_bounds():
    assert QuarterBounds(2016, 1).as_dict() == {
        "label": "2016-Q1", "year": 2016, "quarter": 1, "start": "2016-01-01",
        "end": "2016-03-31"}


@pytest.mark.parametrize("text", ["2017-Q1", "2017Q1", "2017-q1", " 2017-Q1 "])
def test_quarter_labels(text):
    assert parse_quarter(text) == QuarterBounds(2017, 1)


@pytest.mark.parametrize("text", ["2017-Q5", "2017-Q0", "2017-1", "Q1 2017", "17-Q1", ""])
def test_bad_quarter_labels_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="write it as 2017-Q1"):
        parse_quarter(text)


def test_the_quarter_a_kpi_refresh_run_closes():
    from govkpi.pipeline import kpi_refresh_quarter

    run_after = dt.datetime(2018, 1, 15, 1, 0, tzinfo=UTC)  # 08:00 on 15 January 2018
    assert kpi_refresh_quarter({}, run_after) == {
        "label": "2017-Q4", "year": 2017, "quarter": 4, "start": "2017-10-01",
        "end": "2017-12-31", "source": "run", "as_of": "2018-01-15T01:00:00+00:00"}
    assert kpi_refresh_quarter({"quarter": ""}, run_after)["label"] == "2017-Q4"
    backfill = kpi_refresh_quarter({"quarter": "2016-Q2"}, run_after)
    assert (backfill["label"], backfill["start"], backfill["end"], backfill["source"]) == (
        "2016-Q2", "2016-04-01", "2016-06-30", "params")
    with pytest.raises(ValueError, match="has no timezone"):
        kpi_refresh_quarter({}, dt.datetime(2018, 1, 15, 8, 0))
    with pytest.raises(ValueError, match="write it as 2017-Q1"):
        kpi_refresh_quarter({"quarter": "2017-Q9"}, run_after)


# --- the DAG's first task, through the real DAG (dag.test(), no warehouse needed) -------------


@pytest.fixture(scope="module")
def quarter_task_dag(airflow_db):
    """kpi_refresh reduced to its ``quarter_bounds`` task (the dbt build and the gate are tested
    end to end in tests/e2e)."""
    from airflow.dag_processing.dagbag import DagBag

    from govkpi import config

    dag = DagBag(dag_folder=str(config.DAGS_DIR / "kpi_refresh.py")).get_dag("kpi_refresh")
    return dag.partial_subset(task_ids=["quarter_bounds"], include_downstream=False,
                              include_upstream=False)


def _quarter_xcom(dag, **kwargs) -> dict:
    run = dag.test(**kwargs)
    (ti,) = run.get_task_instances()  # one task instance, not none
    assert (ti.task_id, ti.state, run.state) == ("quarter_bounds", "success", "success")
    return ti.xcom_pull(task_ids="quarter_bounds")


@pytest.mark.slow
def test_the_dag_s_quarter_task_computes_the_bounds_from_the_run(quarter_task_dag):
    # an Asset-triggered run has no logical date: its run_after, 23:30 on 31 March in Vietnam
    asset_run = _quarter_xcom(quarter_task_dag, logical_date=None,
                              run_after=dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    assert (asset_run["label"], asset_run["start"], asset_run["end"], asset_run["source"]) == (
        "2025-Q4", "2025-10-01", "2025-12-31", "run")
    # the scheduled close: logical date = run_after = 07:30 on 1 April in Vietnam
    scheduled = dt.datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    quarterly = _quarter_xcom(quarter_task_dag, logical_date=scheduled, run_after=scheduled)
    assert (quarterly["label"], quarterly["start"], quarterly["end"]) == (
        "2026-Q1", "2026-01-01", "2026-03-31")
    # a backfill names its quarter (another run_after: dag.test() would reuse the run id)
    backfill = _quarter_xcom(quarter_task_dag, logical_date=None,
                             run_after=dt.datetime(2026, 5, 2, 3, 0, tzinfo=UTC),
                             run_conf={"quarter": "2017-Q1"})
    assert (backfill["label"], backfill["start"], backfill["end"], backfill["source"]) == (
        "2017-Q1", "2017-01-01", "2017-03-31", "params")
