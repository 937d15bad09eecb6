"""The self-assessment items (``assessment_items.yaml``): loaded, validated, and used to check
the values of a return (SOURCES.md §4).

One list, read by the simulator that writes returns, the loader that validates them and the
ranking methodologies that score them. :meth:`Item.check` is the single parser of a cell value:
both sides call it, so what the simulator writes and what the loader accepts cannot drift.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from govkpi.errors import ConfigError
from govkpi.yaml_lines import yaml_lines

DEFAULT_PATH = Path(__file__).with_name("assessment_items.yaml")

TYPES = ("integer", "decimal", "percent", "boolean", "enum")
NUMERIC_TYPES = frozenset({"integer", "decimal", "percent"})
# CapDonVi → the `levels` key; communes (4) are ranked inside their district and do not report
LEVEL_KEYS = {2: "departments", 3: "districts"}
CODE_RE = re.compile(r"^[A-Z]{2,4}-\d{2}$")
TRUE_WORDS = frozenset({"co", "có"})
FALSE_WORDS = frozenset({"khong", "không"})
# a plain decimal number: no thousands separators, no exponent
NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")

_ITEM_FIELDS = {"code", "group", "label_vi", "label_en", "type", "min", "max", "unit", "levels",
                "from_year", "to_year", "values", "basis"}
_REQUIRED = ("code", "group", "label_vi", "label_en", "type", "unit", "levels")
_GROUP_FIELDS = {"number", "label_vi", "label_en"}


class AssessmentItemsError(ConfigError):
    """The item file is malformed; the message names the file, line, item and field."""


@dataclass(frozen=True, slots=True)
class EnumValue:
    code: str
    label_vi: str


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    number: int
    label_vi: str
    label_en: str


@dataclass(frozen=True, slots=True)
class Item:
    """One criterion item (ma_tieu_chi) of the self-assessment form."""

    code: str
    group: str
    label_vi: str
    label_en: str
    type: str  # one of TYPES
    unit: str
    levels: tuple[str, ...]  # subset of LEVEL_KEYS values
    min: float | None = None
    max: float | None = None
    from_year: int | None = None
    to_year: int | None = None
    values: tuple[EnumValue, ...] = ()
    basis: str = ""

    @property
    def value_codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.values)

    def applies_to(self, year: int, unit_level: int | str) -> bool:
        """True when a unit of ``unit_level`` must report this item for ``year``."""
        if _level_key(unit_level) not in self.levels:
            return False
        if self.from_year is not None and year < self.from_year:
            return False
        return self.to_year is None or year <= self.to_year

    def check(self, value: Any) -> int | float | bool | str:
        """The typed value of a cell (XLSX cell value or CSV text), or ValueError with a reason.

        integer → int, decimal/percent → float, boolean → bool, enum → the value's code.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("empty value")
        if self.type == "boolean":
            return self._check_boolean(value)
        if self.type == "enum":
            return self._check_enum(value)
        number = self._number(value)
        if self.type == "integer":
            if not float(number).is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            number = int(number)
        else:
            number = float(number)
        if self.min is not None and number < self.min:
            raise ValueError(f"{_fmt(number)} is below the minimum {_fmt(self.min)}"
                             + (f" {self.unit}" if self.unit else ""))
        if self.max is not None and number > self.max:
            raise ValueError(f"{_fmt(number)} is above the maximum {_fmt(self.max)}"
                             + (f" {self.unit}" if self.unit else ""))
        return number

    def to_cell(self, value: int | float | bool | str) -> int | float | str:
        """How a typed value is written in a return (booleans as "co"/"khong")."""
        if self.type == "boolean":
            return "co" if value else "khong"
        return value

    def _check_boolean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        raise ValueError(f"{value!r} is not co/khong")

    def _check_enum(self, value: Any) -> str:
        text = value.strip().lower() if isinstance(value, str) else value
        if text in self.value_codes:
            return text
        raise ValueError(f"{value!r} is not one of {', '.join(self.value_codes)}")

    def _number(self, value: Any) -> float | int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{value!r} is not a number")
            return value
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a number")
        text = value.strip()
        if self.type == "percent" and text.endswith("%"):
            text = text[:-1].rstrip()
        if not NUMBER_RE.match(text):
            raise ValueError(f"{value!r} is not a number")
        return float(text.replace(",", "."))


@dataclass(frozen=True, slots=True)
class Catalog:
    path: Path
    version: int
    groups: dict[str, Group]
    items: tuple[Item, ...]

    def by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _level_key(unit_level: int | str) -> str:
    if isinstance(unit_level, str) and unit_level in LEVEL_KEYS.values():
        return unit_level
    if isinstance(unit_level, int) and unit_level in LEVEL_KEYS:
        return LEVEL_KEYS[unit_level]
    raise ValueError(f"unit level {unit_level!r} does not report a self-assessment: use 2 or "
                     "'departments', 3 or 'districts'")


# ------------------------------------------------------------------------------ loading


class _Lines:
    """Line numbers of the YAML nodes, so errors can point at the line to fix."""

    def __init__(self, text: str) -> None:
        lines = yaml_lines(text).lines
        self.top = {path[0]: line for path, line in lines.items()
                    if len(path) == 1 and isinstance(path[0], str)}
        self.item_lines: list[int] = []
        self.field_lines: list[dict[str, int]] = []
        while ("items", len(self.item_lines)) in lines:
            index = len(self.item_lines)
            self.item_lines.append(lines["items", index])
            self.field_lines.append({
                path[2]: line for path, line in lines.items()
                if len(path) == 3 and path[:2] == ("items", index) and isinstance(path[2], str)
            })


def load_catalog(path: Path | str = DEFAULT_PATH) -> Catalog:
    """Read and validate the item file; AssessmentItemsError names file, line, item, field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssessmentItemsError(f"{path}: cannot read the assessment item file ({exc})") \
            from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise AssessmentItemsError(f"{where}: not valid YAML ({exc})") from exc
    lines = _Lines(text)

    def fail(message: str, line: int | None = None) -> AssessmentItemsError:
        return AssessmentItemsError(f"{path}:{line}: {message}" if line else f"{path}: {message}")

    if not isinstance(data, dict):
        raise fail("expected a mapping with `version`, `groups` and `items`")
    if data.get("version") != 1:
        raise fail(f"field 'version': expected 1, got {data.get('version')!r}",
                   lines.top.get("version"))
    groups = _load_groups(data.get("groups"), fail, lines.top.get("groups"))
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise fail("field 'items': expected a non-empty list", lines.top.get("items"))
    items: list[Item] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items):
        item_line = lines.item_lines[index] if index < len(lines.item_lines) else None
        field_lines = lines.field_lines[index] if index < len(lines.field_lines) else {}
        code = raw.get("code") if isinstance(raw, dict) else None
        label = f"items[{index}]" + (f" ({code})" if isinstance(code, str) else "")

        def item_fail(field: str, reason: str, *, _label: str = label,
                      _lines: dict[str, int] = field_lines,
                      _line: int | None = item_line) -> AssessmentItemsError:
            return fail(f"{_label}, field '{field}': {reason}", _lines.get(field, _line))

        item = _load_item(raw, groups, item_fail)
        if item.code in seen:
            raise item_fail("code", f"duplicate code, already used by items[{seen[item.code]}]")
        seen[item.code] = index
        items.append(item)
    return Catalog(path, 1, groups, tuple(items))


def _load_groups(raw: Any, fail, line: int | None) -> dict[str, Group]:
    if not isinstance(raw, dict) or not raw:
        raise fail("field 'groups': expected a mapping of group key → {number, label_vi, "
                   "label_en}", line)
    groups = {}
    for key, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) != _GROUP_FIELDS:
            raise fail(f"groups.{key}: expected exactly the fields "
                       f"{', '.join(sorted(_GROUP_FIELDS))}", line)
        if not isinstance(spec["number"], int):
            raise fail(f"groups.{key}, field 'number': expected an integer", line)
        groups[key] = Group(key, spec["number"], str(spec["label_vi"]), str(spec["label_en"]))
    return groups


def _load_item(raw: Any, groups: dict[str, Group], item_fail) -> Item:
    if not isinstance(raw, dict):
        raise item_fail("(item)", "expected a mapping")
    unknown = sorted(set(raw) - _ITEM_FIELDS)
    if unknown:
        raise item_fail(unknown[0], f"unknown field (allowed: {', '.join(sorted(_ITEM_FIELDS))})")
    for field in _REQUIRED:
        if field not in raw or raw[field] is None:
            raise item_fail(field, "missing (required)")
    code = raw["code"]
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise item_fail("code", f"{code!r} does not look like 'HT-01' (2–4 capitals, '-', "
                                "2 digits)")
    if raw["group"] not in groups:
        raise item_fail("group", f"{raw['group']!r} is not one of {', '.join(groups)}")
    for field in ("label_vi", "label_en"):
        if not isinstance(raw[field], str) or not raw[field].strip():
            raise item_fail(field, "expected a non-empty text")
    if not isinstance(raw["unit"], str):
        raise item_fail("unit", "expected a text (\"\" when the item has no unit)")
    kind = raw["type"]
    if kind not in TYPES:
        raise item_fail("type", f"{kind!r} is not one of {', '.join(TYPES)}")
    levels = raw["levels"]
    if (not isinstance(levels, list) or not levels
            or any(level not in LEVEL_KEYS.values() for level in levels)
            or len(set(levels)) != len(levels)):
        raise item_fail("levels", f"{levels!r}: expected a non-empty list of "
                                  f"{', '.join(LEVEL_KEYS.values())}")
    lo, hi = raw.get("min"), raw.get("max")
    for field, bound in (("min", lo), ("max", hi)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise item_fail(field, f"{bound!r} is not a number")
        if bound is not None and kind not in NUMERIC_TYPES:
            raise item_fail(field, f"not allowed for a {kind} item")
    if kind in ("integer", "decimal") and (lo is None or hi is None):
        raise item_fail("min" if lo is None else "max", f"required for a {kind} item")
    if kind == "percent":
        lo = 0 if lo is None else lo
        hi = 100 if hi is None else hi
        if lo < 0 or hi > 100:
            raise item_fail("min" if lo < 0 else "max", "a percent stays within 0–100")
    if lo is not None and hi is not None and lo > hi:
        raise item_fail("max", f"{hi} is below min {lo}")
    values: tuple[EnumValue, ...] = ()
    if kind == "enum":
        raw_values = raw.get("values")
        if not isinstance(raw_values, list) or len(raw_values) < 2:
            raise item_fail("values", "an enum needs a list of at least two {code, label_vi}")
        out = []
        for v in raw_values:
            if (not isinstance(v, dict) or set(v) != {"code", "label_vi"}
                    or not isinstance(v["code"], str) or not re.match(r"^[a-z0-9_]+$", v["code"])):
                raise item_fail("values", f"{v!r}: expected {{code: lower_snake_ascii, "
                                          "label_vi: text}")
            out.append(EnumValue(v["code"], str(v["label_vi"])))
        if len({v.code for v in out}) != len(out):
            raise item_fail("values", "duplicate value code")
        values = tuple(out)
    elif "values" in raw:
        raise item_fail("values", f"only enum items have values (this one is {kind})")
    years = {}
    for field in ("from_year", "to_year"):
        year = raw.get(field)
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                                 or not 2000 <= year <= 2100):
            raise item_fail(field, f"{year!r} is not a year")
        years[field] = year
    if years["from_year"] and years["to_year"] and years["from_year"] > years["to_year"]:
        raise item_fail("to_year", f"{years['to_year']} is before from_year "
                                   f"{years['from_year']}")
    basis = raw.get("basis") or ""
    if not isinstance(basis, str):
        raise item_fail("basis", "expected a text")
    return Item(code=code, group=raw["group"], label_vi=raw["label_vi"].strip(),
                label_en=raw["label_en"].strip(), type=kind, unit=raw["unit"],
                levels=tuple(levels), min=lo, max=hi, from_year=years["from_year"],
                to_year=years["to_year"], values=values, basis=basis)


@lru_cache(maxsize=8)
def _cached_catalog(path: Path) -> Catalog:
    return load_catalog(path)


def load_items(path: Path | str = DEFAULT_PATH) -> list[Item]:
    """All items, in form order (validated; cached per path)."""
    return list(_cached_catalog(Path(path).resolve()).items)


def items_for(year: int, unit_level: int | str, path: Path | str = DEFAULT_PATH) -> list[Item]:
    """The items a unit of ``unit_level`` (2/'departments', 3/'districts') must report for
    ``year``, in form order."""
    _level_key(unit_level)  # reject communes and typos even when no item would match
    return [item for item in load_items(path) if item.applies_to(year, unit_level)]
