"""Reporting quarters in Vietnamese time: which quarter a moment falls in, which one a run closes.

The KPI marts cut periods on local dates (``dbt_project.yml`` var ``local_timezone``), so a
quarter starts at 00:00 Asia/Ho_Chi_Minh on 1 January, April, July or October — 17:00 UTC the
day before. Airflow hands a run its ``run_after`` / ``logical_date`` in UTC, and a cron run's
data interval is empty (PITFALLS.md, Airflow 3.3), so the bounds are computed here from the
moment itself, converted to local time.

**The rule a run follows** (``kpi_refresh``): a run *closes the last quarter that had ended,
in Vietnam, when it ran*. The quarterly run at 07:30 on 1 April closes Q1 (1 January – 31 March);
so does a run at 00:30 on 1 April. A run at 23:30 on 31 March (16:30 UTC) is still inside Q1,
which is not over: it closes the previous Q4. In the same way the run at 00:30 on 1 January
2018 (17:30 UTC on 31 December 2017) closes 2017-Q4.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from govkpi.calendar import VN_TZ

QUARTER_LABEL = re.compile(r"^\s*(\d{4})-?[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class QuarterBounds:
    """One calendar quarter: its first and last local day, as the marts' ``period_start`` and
    ``period_end`` (both inclusive), and its label (``2017-Q1``)."""

    year: int
    quarter: int  # 1–4

    def __post_init__(self) -> None:
        if not 1 <= self.quarter <= 4:
            raise ValueError(f"quarter {self.quarter} of {self.year}: a quarter is 1, 2, 3 or 4")

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> dt.date:
        return self.next().start - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    @property
    def starts_at(self) -> dt.datetime:
        """The first instant of the quarter: 00:00 local on its first day."""
        return dt.datetime.combine(self.start, dt.time(), tzinfo=VN_TZ)

    @property
    def ends_at(self) -> dt.datetime:
        """The instant it ends (exclusive): 00:00 local on the next quarter's first day."""
        return self.next().starts_at

    def next(self) -> QuarterBounds:
        return QuarterBounds(self.year + self.quarter // 4, self.quarter % 4 + 1)

    def previous(self) -> QuarterBounds:
        return (QuarterBounds(self.year - 1, 4) if self.quarter == 1
                else QuarterBounds(self.year, self.quarter - 1))

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe (a task's XCom): label, year, quarter, start and end as ISO dates."""
        return {"label": self.label, "year": self.year, "quarter": self.quarter,
                "start": self.start.isoformat(), "end": self.end.isoformat()}


def quarter_of(day: dt.date) -> QuarterBounds:
    """The quarter a local calendar day belongs to."""
    return QuarterBounds(day.year, (day.month - 1) // 3 + 1)


def local(moment: dt.datetime) -> dt.datetime:
    """``moment`` in Vietnamese time; a naive datetime is refused (it could be UTC, as
    Airflow's dates are, or local: the quarter of 17:00–24:00 on 31 March depends on which)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone: give an aware datetime "
                         "(Airflow's run_after and logical_date are UTC)")
    return moment.astimezone(VN_TZ)


def quarter_bounds(moment: dt.datetime) -> QuarterBounds:
    """The quarter ``moment`` falls in, in Vietnam (2017-03-31 17:00 UTC is 1 April: Q2)."""
    return quarter_of(local(moment).date())


def closed_quarter(run_after: dt.datetime) -> QuarterBounds:
    """The quarter a run at ``run_after`` closes: the last one that had ended, in Vietnam
    (module docstring)."""
    return quarter_bounds(run_after).previous()


def parse_quarter(text: str) -> QuarterBounds:
    """``2017-Q1`` (also ``2017Q1``, ``2017-q1``) → its bounds."""
    match = QUARTER_LABEL.match(str(text))
    if not match:
        raise ValueError(f"quarter {text!r} is not a quarter label: write it as 2017-Q1 "
                         "(year, dash, Q and 1–4)")
    return QuarterBounds(int(match[1]), int(match[2]))
