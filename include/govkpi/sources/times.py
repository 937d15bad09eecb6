"""The three time formats of the source systems, parsed into aware datetimes in one place.

- one-stop (SOURCES.md §1): ISO 8601 with a UTC offset, e.g. ``2017-03-14T09:12:00+07:00``;
- e-office (§2): ``dd/MM/yyyy HH:mm:ss``, naive local time (Asia/Ho_Chi_Minh);
- portal (§3): integer epoch milliseconds (a UTC instant).

Every parsed value is aware and in Asia/Ho_Chi_Minh, so quarter and year boundaries computed
from it are the Vietnamese ones. Record validation (:mod:`govkpi.sources.records`), the loader's
``source_updated_at`` and the incremental filters all go through these functions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from govkpi.calendar import VN_TZ

__all__ = ["EPOCH_MS", "ISO", "LOCAL", "VN_TZ", "TimeFormat", "TimeFormatError",
           "format_local", "parse_epoch_ms", "parse_iso", "parse_local", "to_epoch_ms"]

_LOCAL_RE = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class TimeFormatError(ValueError):
    """A value that is not a time in the expected format; the message completes
    "<field> ...", e.g. "has no UTC offset (expected +07:00)"."""


def parse_iso(value: Any) -> dt.datetime:
    """ISO 8601 with a UTC offset → aware datetime in Asia/Ho_Chi_Minh."""
    if not isinstance(value, str):
        raise TimeFormatError("is not an ISO 8601 time (string)")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TimeFormatError("is not a valid date") from None
    if parsed.tzinfo is None:
        raise TimeFormatError("has no UTC offset (expected +07:00)")
    return parsed.astimezone(VN_TZ)


def parse_local(value: Any) -> dt.datetime:
    """``dd/MM/yyyy HH:mm:ss`` naive Asia/Ho_Chi_Minh time → aware datetime."""
    match = _LOCAL_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TimeFormatError("is not dd/MM/yyyy HH:mm:ss")
    day, month, year, hour, minute, second = map(int, match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
    except ValueError:
        raise TimeFormatError("is not a valid date") from None


def parse_epoch_ms(value: Any) -> dt.datetime:
    """Integer epoch milliseconds → aware datetime in Asia/Ho_Chi_Minh."""
    if type(value) is not int:  # bool is an int subclass, and "1489457520000" is no number
        raise TimeFormatError("is not epoch milliseconds (integer)")
    try:
        return (_EPOCH + dt.timedelta(milliseconds=value)).astimezone(VN_TZ)
    except OverflowError:
        raise TimeFormatError("is not a valid time (epoch milliseconds out of range)") from None


def format_local(when: dt.datetime) -> str:
    """An aware datetime as the e-office filter wants it: naive local ``dd/MM/yyyy HH:mm:ss``
    (seconds truncated, so an inclusive filter never misses the instant itself)."""
    if when.tzinfo is None:
        raise ValueError(f"{when} has no UTC offset: pass an aware datetime")
    return when.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def to_epoch_ms(when: dt.datetime) -> int:
    """An aware datetime as epoch milliseconds (floored, for inclusive filters)."""
    if when.tzinfo is None:
        raise ValueError(f"{when} has no UTC offset: pass an aware datetime")
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class TimeFormat:
    """A source time format; used as ``Annotated`` metadata on record fields."""

    name: str
    parse: Any  # Callable[[Any], dt.datetime], raising TimeFormatError
    expected: str  # what a type error on such a field is reported as

    def __repr__(self) -> str:
        return f"TimeFormat({self.name})"


ISO = TimeFormat("iso8601", parse_iso, "is not an ISO 8601 time (string)")
LOCAL = TimeFormat("local", parse_local, "is not dd/MM/yyyy HH:mm:ss")
EPOCH_MS = TimeFormat("epoch_ms", parse_epoch_ms, "is not epoch milliseconds (integer)")
