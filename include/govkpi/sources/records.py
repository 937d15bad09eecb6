"""What the pipeline knows about an endpoint's records, and per-record validation.

An :class:`Endpoint` names a collection of a source system, the msgspec Struct its records
decode into, their key and modification-time fields, personal fields, a semantic check and the
reference data its codes must exist in. :func:`validate` decodes one record: a record that does
not validate comes back with a reason that names the field instead of stopping the crawl.

Time fields are declared with :data:`IsoTime`, :data:`LocalTime` or :data:`EpochMs`: msgspec
reads them as sent, then :func:`validate` replaces them by aware datetimes in
Asia/Ho_Chi_Minh (:mod:`govkpi.sources.times`), so every checked struct holds aware times only.
ISO 8601 fields are first tried as RFC 3339 times parsed by msgspec itself (in C: a dossier
validates in half the time); a time sent with ``+07:00`` keeps that fixed offset (Vietnam's
since 1975: same instant, same wall clock), any other offset is converted. A record that fails
that way is validated again field by field, which accepts the other ISO 8601 forms
``datetime.fromisoformat`` reads and words the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import msgspec

from govkpi.sources import times

IsoTime = Annotated[str, times.ISO]
LocalTime = Annotated[str, times.LOCAL]
EpochMs = Annotated[int, times.EPOCH_MS]


@dataclass(frozen=True)
class Reference:
    """A code field that must name a record already loaded in ``raw_<system>.<endpoint>``
    (or quarantined there: the record exists, it was only malformed). ``preload``: read all
    keys once per batch (small tables: units, procedures); else look codes up page by page."""

    field: str
    system: str
    endpoint: str
    noun: str  # "unit code": the reason reads "unknown <field>: unknown unit code '…'"
    preload: bool = True

    @property
    def table(self) -> str:
        return f"raw_{self.system}.{self.endpoint}"


@dataclass(frozen=True)
class Endpoint:
    """One collection of a source system and what the pipeline must know about its records."""

    name: str  # also the raw table name
    path: str
    struct: type[msgspec.Struct]
    key_field: str
    updated_field: str
    pii_fields: tuple[str, ...] = ()
    # semantic rules a typed record can still break: struct → reason, or None when it is fine
    check: Callable[[Any], str | None] | None = None
    references: tuple[Reference, ...] = ()


class Record(msgspec.Struct, gc=False):
    """A record as received: its key and version when it validated, else the reason it did not.
    ``item`` is the checked struct (times aware) when it validated.

    Records and the record structs of the endpoints are not tracked by the cyclic garbage
    collector (``gc=False``: they hold decoded values only, which cannot refer back to them):
    pages of them in flight would otherwise be walked by every collection, a sixth of the
    extractor's time.
    """

    raw: bytes
    key: str | None
    updated_at: dt.datetime | None
    error: str | None = None
    item: Any = None

    def as_dict(self) -> dict[str, Any] | None:
        try:
            value = msgspec.json.decode(self.raw)
        except msgspec.DecodeError:
            return None
        return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------------------------
# field rules, read once per struct from its annotations


@dataclass(frozen=True)
class _Field:
    time: times.TimeFormat | None = None
    choices: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None


def _unwrap(tp: Any) -> list[Any]:
    """The members of an optional / union type, None dropped."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


@cache
def _fields(struct: type) -> dict[str, _Field]:
    rules = {}
    for name, tp in typing.get_type_hints(struct, include_extras=True).items():
        rule = _Field()
        for member in _unwrap(tp):
            if typing.get_origin(member) is Annotated:
                for meta in member.__metadata__:
                    if isinstance(meta, times.TimeFormat):
                        rule = _Field(time=meta)
                    elif isinstance(meta, msgspec.Meta):
                        rule = _Field(low=meta.ge, high=meta.le)
            elif typing.get_origin(member) is typing.Literal:
                rule = _Field(choices=typing.get_args(member))
        rules[name] = rule
    return rules


@cache
def _decoder(struct: type) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(struct)


_AwareTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
_VN_OFFSET = dt.timedelta(hours=7)


@cache
def _fast(struct: type) -> tuple[msgspec.json.Decoder, tuple[str, ...]] | None:
    """A decoder of a subclass of ``struct`` whose ISO 8601 fields msgspec reads as aware
    datetimes (RFC 3339 with an offset), and the names of those fields; None without any."""
    iso = [n for n, r in _fields(struct).items() if r.time is times.ISO]
    if not iso:
        return None
    overrides = []
    for field in msgspec.structs.fields(struct):
        if field.name not in iso:
            continue
        optional = type(None) in typing.get_args(field.type)
        kind = _AwareTime | None if optional else _AwareTime
        overrides.append((field.name, kind) if field.required
                         else (field.name, kind, field.default))
    fast = msgspec.defstruct(struct.__name__, overrides, bases=(struct,),
                             module=struct.__module__)
    return msgspec.json.Decoder(fast), tuple(iso)


@cache
def _time_fields(struct: type) -> tuple[tuple[str, times.TimeFormat, Callable], ...]:
    return tuple((n, r.time, _parser(r.time)) for n, r in _fields(struct).items()
                 if r.time is not None)


@cache
def _parser(fmt: times.TimeFormat) -> Callable[[Any], dt.datetime]:
    """``fmt.parse`` with its results kept (datetimes are immutable; records sorted by
    modification time repeat the same instants); ``typed``: 1 and True stay apart."""
    return functools.lru_cache(maxsize=1 << 14, typed=True)(fmt.parse)


_TYPE_NAMES = {"int": "an integer", "str": "a string", "bool": "a boolean",
               "float": "a number", "array": "a list", "object": "an object"}
_MSGSPEC_ERROR = re.compile(r"(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?")
_FIELD_OF_PATH = re.compile(r"\.(?P<field>[^.\[]+)")


def _choices(values: tuple[Any, ...]) -> str:
    if all(isinstance(v, int) for v in values) and len(values) > 3 and (
            sorted(values) == list(range(min(values), max(values) + 1))):
        return f"between {min(values)} and {max(values)}"
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def explain(struct: type, message: str, loose: dict[str, Any] | None) -> str:
    """A msgspec validation message as a reason that names the field and the rule broken."""
    match = _MSGSPEC_ERROR.fullmatch(message)
    text, path = (match["message"], match["path"] or "") if match else (message, "")
    missing = re.fullmatch(r"Object missing required field `(.+)`", text)
    if missing:
        where = path.lstrip(".")
        return f"{where + '.' if where else ''}{missing[1]} is missing"
    head = _FIELD_OF_PATH.match(path)
    if head is None:
        return f"record {text[0].lower() + text[1:]}"  # e.g. "Expected `object`, got `array`"
    field = head["field"]
    where = path.lstrip(".")
    rule = _fields(struct).get(field, _Field()) if where == field else _Field()
    got = f": got {loose.get(field)!r}" if loose is not None and field in loose else ""
    if rule.time is not None:
        return f"{field} {rule.time.expected}{got}"
    if text.startswith("Invalid enum value") and rule.choices:
        return f"{field} must be {_choices(rule.choices)}{got}"
    if re.match(r"Expected `\w+` [<>]=", text) and (rule.low is not None or
                                                    rule.high is not None):
        return f"{field} must be {rule.low} to {rule.high}{got}"
    wrong_type = re.fullmatch(r"Expected `(\w+)`, got `(\w+)`", text)
    if wrong_type:
        wanted = _TYPE_NAMES.get(wrong_type[1], f"`{wrong_type[1]}`")
        return f"{where} is not {wanted}{got}" if got else (
            f"{where} is not {wanted} (got {wrong_type[2]})")
    return f"{where}: {text}{got}"


def validate(endpoint: Endpoint, raw: bytes) -> Record:
    """Decode and type-check one record (no reference data needed: see the loader for that)."""
    fast = _fast(endpoint.struct)
    if fast is not None:
        try:
            item = fast[0].decode(raw)
        except msgspec.MsgspecError:
            pass  # the field-by-field path below accepts it or says why not
        else:
            for name in fast[1]:
                value = getattr(item, name)
                if value is not None and value.utcoffset() != _VN_OFFSET:
                    setattr(item, name, value.astimezone(times.VN_TZ))
            return Record(raw, getattr(item, endpoint.key_field),
                          getattr(item, endpoint.updated_field), item=item)
    try:
        item = _decoder(endpoint.struct).decode(raw)
    except msgspec.ValidationError as exc:
        loose = Record(raw, None, None).as_dict()
        key = loose.get(endpoint.key_field) if loose is not None else None
        return Record(raw, key if isinstance(key, str) else None, None,
                      error=explain(endpoint.struct, str(exc), loose))
    except msgspec.DecodeError as exc:
        return Record(raw, None, None, error=f"malformed JSON in {endpoint.name} record: {exc}")
    key = getattr(item, endpoint.key_field)
    for name, fmt, parse in _time_fields(endpoint.struct):
        value = getattr(item, name)
        if value is None:
            continue
        try:
            setattr(item, name, parse(value) if type(value) in (str, int) else fmt.parse(value))
        except times.TimeFormatError as exc:
            return Record(raw, key, None, error=f"{name} {exc}: got {value!r}")
    return Record(raw, key, getattr(item, endpoint.updated_field), item=item)


def check(endpoint: Endpoint, record: Record) -> str | None:
    """The endpoint's semantic rule on a record that validated (None: it holds)."""
    if endpoint.check is None or record.item is None:
        return None
    return endpoint.check(record.item)
