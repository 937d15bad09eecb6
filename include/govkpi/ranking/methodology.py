"""A ranking methodology (docs/ranking.md): one YAML file under ``methodologies/``, validated on
load, stored in the ``ranking_config`` schema keyed by its name and the SHA-256 of its bytes.

Nothing about a methodology lives in code: this module only checks that a file is well formed
(every error names the file, the line and the field path, e.g.
``binh_dinh_2017.yaml:57: groups[3].indicators[1].curve.steps[2]: thresholds must ascend``) and
copies it into the tables the dbt ranking models read.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from govkpi.assessment_items import LEVEL_KEYS, Item, load_items
from govkpi.errors import ConfigError
from govkpi.ranking import METHODOLOGY_DIR, available
from govkpi.yaml_lines import NodePath, YamlLines, yaml_lines

FORMAT_VERSION = 1
PERIODS = ("year", "quarter", "month")
UNIT_LEVELS = {key: level for level, key in LEVEL_KEYS.items()}  # departments 2, districts 3
# DOMAIN.md §4 and the derived indicators of the QĐ 766 index (KPI_766.md, int_ranking_inputs)
KPI_IDS = frozenset({
    "OS-1a", "OS-1b", "OS-2", "OS-3", "OS-4", "OS-5a", "OS-5b", "OS-6", "OS-7",
    *(f"DVC-{n}" for n in range(1, 8)), *(f"EO-{n}" for n in range(1, 6)),
    "QD766-1.4", "QD766-3.3", "QD766-3.5", "QD766-3.5b", "QD766-4.1", "QD766-4.2",
    "QD766-4.3", "QD766-4.5a", "QD766-4.5b", "QD766-5.4",
})
PORTAL_CONVENTION_PREFIX = "OS-"  # only the one-stop KPIs have a national-portal variant
INPUT_KINDS = ("kpi", "item", "not_measured")
CONVENTIONS = ("law", "portal")
CURVE_PARAMS = {  # curve type → its parameters (docs/ranking.md, "Curves")
    "linear": (), "cap": ("at",), "step": ("steps",), "piecewise": ("points",),
    "boolean": (), "inverse_linear": ("best", "worst"),
}
SHARE_CURVES = frozenset({"linear", "cap"})  # read R as a share in [0, 1]
NO_CURVE = "none"  # stored curve_type of a not_measured indicator
WHEN_MISSING = ("zero", "full", "not_measured", "not_assessed")
DEFAULT_WHEN_MISSING = {"item": "zero", "kpi": "not_measured"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

_TOP_REQUIRED = ("version", "name", "title_vi", "title_en", "periods", "unit_groups", "tiers",
                 "groups")
_TOP_OPTIONAL = ("basis",)
_LABELS = ("label_vi", "label_en")


class MethodologyError(ConfigError, ValueError):
    """A methodology file is malformed; the message names the file, line and field path."""


@dataclass(frozen=True, slots=True)
class UnitGroup:
    key: str  # departments | districts
    unit_level: int  # CapDonVi: 2 | 3
    label_vi: str
    label_en: str
    requires_assessment: bool


@dataclass(frozen=True, slots=True)
class Tier:
    key: str
    label_vi: str
    label_en: str
    min_share: float  # of the achievable maximum; strictly decreasing, the last is 0


@dataclass(frozen=True, slots=True)
class Curve:
    type: str  # a key of CURVE_PARAMS, or "none" for a not_measured indicator
    params: dict[str, Any] = field(default_factory=dict)  # stored as curve_params jsonb


@dataclass(frozen=True, slots=True)
class Input:
    kind: str  # kpi | item | not_measured
    code: str | None  # KPI id or item code; None when not measured
    convention: str = "law"  # law | portal (one-stop KPIs only)
    not_measured_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    label_vi: str
    label_en: str
    unit_groups: tuple[str, ...]
    max_points: int | float
    input: Input
    curve: Curve
    when_missing: str


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    number: int
    label_vi: str
    label_en: str
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True, slots=True)
class Methodology:
    name: str
    version: int
    title_vi: str
    title_en: str
    basis: str
    periods: tuple[str, ...]
    unit_groups: tuple[UnitGroup, ...]
    tiers: tuple[Tier, ...]
    groups: tuple[Group, ...]
    source_file: Path
    content_sha256: str  # of the file's bytes
    content: dict[str, Any]  # the parsed file, stored as jsonb

    def indicators(self, unit_group: str | None = None) -> list[tuple[Group, Indicator]]:
        """(group, indicator) in report order; only those of ``unit_group`` when given."""
        return [(group, indicator) for group in self.groups for indicator in group.indicators
                if unit_group is None or unit_group in indicator.unit_groups]

    def max_points(self, unit_group: str, group_key: str | None = None) -> int | float:
        """The maximum of a unit group (of one criteria group when ``group_key`` is given),
        not-measured indicators included."""
        return sum(indicator.max_points for group, indicator in self.indicators(unit_group)
                   if group_key is None or group.key == group_key)


# ------------------------------------------------------------------------------ loading


def by_name(name: str) -> Methodology:
    """Load a shipped methodology by name (``binh_dinh_2017``, ``qd766``, …)."""
    path = METHODOLOGY_DIR / f"{name}.yaml"
    if not NAME_RE.match(name) or not path.is_file():
        names = ", ".join(p.stem for p in available()) or "none"
        raise MethodologyError(f"no methodology named {name!r} in {METHODOLOGY_DIR} "
                               f"(available: {names})")
    return load(path)


def load(path: Path | str) -> Methodology:
    """Read and validate a methodology file; MethodologyError names file, line and field."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise MethodologyError(f"{path}: cannot read the methodology file ({exc})") from exc
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MethodologyError(f"{path}: not UTF-8 text ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise MethodologyError(f"{where}: not valid YAML ({exc})") from exc
    reader = _Reader(path, yaml_lines(text))
    return reader.methodology(data, hashlib.sha256(raw_bytes).hexdigest())


def _dotted(where: NodePath) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _fmt(number: Any) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


class _Reader:
    """Validates the parsed file field by field; ``error`` points at the line of a path."""

    def __init__(self, path: Path, lines: YamlLines) -> None:
        self.path = path
        self.lines = lines
        self.items: dict[str, Item] = {}

    def error(self, where: NodePath, reason: str, line: int | None = None) -> MethodologyError:
        line = line or self.lines.line_of(where)
        location = f"{self.path}:{line}" if line else str(self.path)
        return MethodologyError(f"{location}: {_dotted(where)}: {reason}" if where
                                else f"{location}: {reason}")

    # -- field readers ------------------------------------------------------------------------
    def mapping(self, value: Any, where: NodePath, required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> dict[str, Any]:
        allowed = (*required, *optional)
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping with {', '.join(allowed)}")
        for key in value:
            if key not in allowed:
                raise self.error((*where, str(key)),
                                 f"unknown field (allowed: {', '.join(allowed)})"
                                 + _suggest(str(key), allowed))
        for key in required:
            if value.get(key) is None:
                raise self.error((*where, key), "missing (required)")
        return value

    def text(self, value: Any, where: NodePath) -> str:
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it: \"4.2\")" if _is_number(value) else ""
            raise self.error(where, f"expected a non-empty text, got {value!r}{hint}")
        return value.strip()

    def number(self, value: Any, where: NodePath) -> int | float:
        if not _is_number(value):
            raise self.error(where, f"expected a number, got {value!r}")
        return value

    def sequence(self, value: Any, where: NodePath, what: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.error(where, f"expected a non-empty list of {what}")
        return value

    # -- the file -----------------------------------------------------------------------------
    def methodology(self, data: Any, sha256: str) -> Methodology:
        if not isinstance(data, dict):
            raise self.error((), "expected a mapping with " + ", ".join(_TOP_REQUIRED))
        if self.lines.duplicates:
            where, line = self.lines.duplicates[0]
            raise self.error(where, "duplicate key (YAML would silently keep the last one)",
                             line)
        data = self.mapping(data, (), _TOP_REQUIRED, _TOP_OPTIONAL)
        version = data["version"]
        if type(version) is not int or version != FORMAT_VERSION:  # not 1.0, not true
            raise self.error(("version",), f"expected {FORMAT_VERSION} (the format this code "
                                           f"reads), got {version!r}")
        name = self.text(data["name"], ("name",))
        if name != self.path.stem:
            raise self.error(("name",), f"{name!r} must equal the file name without .yaml "
                                        f"({self.path.stem!r})")
        if not NAME_RE.match(name):
            raise self.error(("name",), f"{name!r}: use lowercase letters, digits and _")
        title_vi = self.text(data["title_vi"], ("title_vi",))
        title_en = self.text(data["title_en"], ("title_en",))
        basis = data.get("basis") or ""
        if basis:
            basis = self.text(basis, ("basis",))
        periods = self.periods(data["periods"])
        unit_groups = self.unit_groups(data["unit_groups"])
        tiers = self.tiers(data["tiers"])
        groups = self.groups(data["groups"], unit_groups, periods)
        methodology = Methodology(
            name=name, version=version, title_vi=title_vi, title_en=title_en, basis=basis,
            periods=periods, unit_groups=unit_groups, tiers=tiers, groups=groups,
            source_file=self.path, content_sha256=sha256, content=data)
        for index, unit_group in enumerate(unit_groups):
            if not any(i.max_points > 0 and i.input.kind != "not_measured"
                       for _, i in methodology.indicators(unit_group.key)):
                raise self.error(("unit_groups", index), f"no measured indicator with "
                                 f"max_points > 0 applies to {unit_group.key}: its units could "
                                 "never be scored")
        return methodology

    def periods(self, raw: Any) -> tuple[str, ...]:
        where = ("periods",)
        periods = self.sequence(raw, where, "grains (" + ", ".join(PERIODS) + ")")
        seen: list[str] = []
        for index, period in enumerate(periods):
            if period not in PERIODS:
                raise self.error((*where, index), f"{period!r} is not a grain (use "
                                                  f"{', '.join(PERIODS)})")
            if period in seen:
                raise self.error((*where, index), f"{period!r} is listed twice")
            seen.append(period)
        return tuple(seen)

    def unit_groups(self, raw: Any) -> tuple[UnitGroup, ...]:
        groups: list[UnitGroup] = []
        for index, spec in enumerate(self.sequence(raw, ("unit_groups",), "unit groups")):
            where = ("unit_groups", index)
            spec = self.mapping(spec, where, ("key", *_LABELS, "requires_assessment"))
            key = self.text(spec["key"], (*where, "key"))
            if key not in UNIT_LEVELS:
                raise self.error((*where, "key"), f"{key!r} is not a unit group (use "
                                                  f"{', '.join(UNIT_LEVELS)})")
            if any(group.key == key for group in groups):
                raise self.error((*where, "key"), f"unit group {key!r} is declared twice")
            requires = spec["requires_assessment"]
            if not isinstance(requires, bool):
                raise self.error((*where, "requires_assessment"),
                                 f"expected true or false, got {requires!r}")
            groups.append(UnitGroup(key, UNIT_LEVELS[key], self.text(spec["label_vi"],
                                    (*where, "label_vi")),
                                    self.text(spec["label_en"], (*where, "label_en")), requires))
        return tuple(groups)

    def tiers(self, raw: Any) -> tuple[Tier, ...]:
        tiers: list[Tier] = []
        raw = self.sequence(raw, ("tiers",), "tiers, strongest first")
        for index, spec in enumerate(raw):
            where = ("tiers", index)
            spec = self.mapping(spec, where, ("key", *_LABELS, "min_share"))
            key = self.text(spec["key"], (*where, "key"))
            if any(tier.key == key for tier in tiers):
                raise self.error((*where, "key"), f"tier {key!r} is declared twice")
            share = self.number(spec["min_share"], (*where, "min_share"))
            if not 0 <= share <= 1:
                raise self.error((*where, "min_share"), f"{_fmt(share)} is not a share in "
                                                        "[0, 1]")
            if tiers and share >= tiers[-1].min_share:
                raise self.error((*where, "min_share"), "tiers go strongest first: min_share "
                                 f"must decrease ({_fmt(share)} after "
                                 f"{_fmt(tiers[-1].min_share)})")
            tiers.append(Tier(key, self.text(spec["label_vi"], (*where, "label_vi")),
                              self.text(spec["label_en"], (*where, "label_en")), share))
        if tiers[-1].min_share != 0:
            raise self.error(("tiers", len(tiers) - 1, "min_share"),
                             "the last tier must have min_share 0, so that every assessed unit "
                             "gets a tier")
        return tuple(tiers)

    def groups(self, raw: Any, unit_groups: tuple[UnitGroup, ...],
               periods: tuple[str, ...]) -> tuple[Group, ...]:
        groups: list[Group] = []
        seen: dict[str, str] = {}  # indicator key → where it was first declared
        for index, spec in enumerate(self.sequence(raw, ("groups",), "criteria groups")):
            where = ("groups", index)
            spec = self.mapping(spec, where, ("key", "number", *_LABELS, "indicators"))
            key = self.text(spec["key"], (*where, "key"))
            if any(group.key == key for group in groups):
                raise self.error((*where, "key"), f"group {key!r} is declared twice")
            number = spec["number"]
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise self.error((*where, "number"), f"expected a whole number ≥ 1, got "
                                                     f"{number!r}")
            if any(group.number == number for group in groups):
                raise self.error((*where, "number"), f"group number {number} is used twice")
            indicators = []
            raw_indicators = self.sequence(spec["indicators"], (*where, "indicators"),
                                           "indicators")
            for position, raw_indicator in enumerate(raw_indicators):
                at = (*where, "indicators", position)
                indicator = self.indicator(raw_indicator, at, unit_groups, periods)
                if indicator.key in seen:
                    raise self.error((*at, "key"), f"indicator key {indicator.key!r} is "
                                                   f"already used by {seen[indicator.key]}")
                seen[indicator.key] = _dotted(at)
                indicators.append(indicator)
            groups.append(Group(key, number, self.text(spec["label_vi"], (*where, "label_vi")),
                                self.text(spec["label_en"], (*where, "label_en")),
                                tuple(indicators)))
        return tuple(groups)

    def indicator(self, raw: Any, where: NodePath, unit_groups: tuple[UnitGroup, ...],
                  periods: tuple[str, ...]) -> Indicator:
        spec = self.mapping(raw, where, ("key", *_LABELS, "max_points", "input"),
                            ("unit_groups", "curve", "when_missing"))
        key = self.text(spec["key"], (*where, "key"))
        declared = [group.key for group in unit_groups]
        applies = tuple(declared)
        if "unit_groups" in spec:
            applies = self.indicator_unit_groups(spec["unit_groups"], (*where, "unit_groups"),
                                                 declared)
        max_points = self.number(spec["max_points"], (*where, "max_points"))
        if max_points < 0:
            raise self.error((*where, "max_points"), f"{_fmt(max_points)} is negative")
        source, item = self.input(spec["input"], (*where, "input"), applies, periods)
        if source.kind == "not_measured":
            for extra in ("curve", "when_missing"):
                if extra in spec:
                    raise self.error((*where, extra), f"a not_measured input is never scored: "
                                                      f"remove {extra}")
            return Indicator(key, self.text(spec["label_vi"], (*where, "label_vi")),
                             self.text(spec["label_en"], (*where, "label_en")), applies,
                             max_points, source, Curve(NO_CURVE), "not_measured")
        if spec.get("curve") is None:
            raise self.error((*where, "curve"), "missing (required for a kpi or item input)")
        curve = self.curve(spec["curve"], (*where, "curve"), max_points, source, item)
        when_missing = spec.get("when_missing", DEFAULT_WHEN_MISSING[source.kind])
        if when_missing not in WHEN_MISSING:
            raise self.error((*where, "when_missing"), f"{when_missing!r} is not one of "
                                                       f"{', '.join(WHEN_MISSING)}")
        return Indicator(key, self.text(spec["label_vi"], (*where, "label_vi")),
                         self.text(spec["label_en"], (*where, "label_en")), applies,
                         max_points, source, curve, when_missing)

    def indicator_unit_groups(self, raw: Any, where: NodePath,
                              declared: list[str]) -> tuple[str, ...]:
        chosen: list[str] = []
        for index, key in enumerate(self.sequence(raw, where, "unit group keys")):
            if key not in declared:
                raise self.error((*where, index), f"{key!r} is not a unit group of this "
                                                  f"methodology ({', '.join(declared)})")
            if key in chosen:
                raise self.error((*where, index), f"{key!r} is listed twice")
            chosen.append(key)
        return tuple(key for key in declared if key in chosen)  # in the declared order

    def input(self, raw: Any, where: NodePath, applies: tuple[str, ...],
              periods: tuple[str, ...]) -> tuple[Input, Item | None]:
        spec = self.mapping(raw, where, (), (*INPUT_KINDS, "convention"))
        kinds = [kind for kind in INPUT_KINDS if kind in spec]
        if len(kinds) != 1:
            got = f", got {' and '.join(kinds)}" if kinds else ""
            raise self.error(where, f"expected exactly one of {', '.join(INPUT_KINDS)}{got}")
        kind = kinds[0]
        value = self.text(spec[kind], (*where, kind))
        if "convention" in spec and kind != "kpi":
            raise self.error((*where, "convention"), "only a kpi input has a convention")
        if kind == "not_measured":
            return Input(kind, None, not_measured_reason=value), None
        if kind == "kpi":
            if value not in KPI_IDS:
                raise self.error((*where, "kpi"), f"unknown KPI {value!r}" + _suggest(
                    value, KPI_IDS) + " (known: DOMAIN.md §4 and the QD766-* indicators of "
                    "docs/ranking.md)")
            convention = spec.get("convention", "law")
            if convention not in CONVENTIONS:
                raise self.error((*where, "convention"), f"{convention!r} is not one of "
                                                         f"{', '.join(CONVENTIONS)}")
            if convention == "portal" and not value.startswith(PORTAL_CONVENTION_PREFIX):
                raise self.error((*where, "convention"), f"only the one-stop KPIs (OS-*) have "
                                                         f"a portal convention, not {value}")
            return Input(kind, value, convention), None
        item = self.item(value, (*where, "item"), applies, periods)
        return Input(kind, value), item

    def item(self, code: str, where: NodePath, applies: tuple[str, ...],
             periods: tuple[str, ...]) -> Item:
        if not self.items:
            self.items = {item.code: item for item in load_items()}
        item = self.items.get(code)
        if item is None:
            raise self.error(where, f"unknown self-assessment item {code!r}"
                             + _suggest(code, self.items) + " (see assessment_items.yaml)")
        for unit_group in applies:
            if unit_group not in item.levels:
                raise self.error(where, f"item {code} is not reported by {unit_group} (its "
                                        f"levels: {', '.join(item.levels)}); restrict the "
                                        f"indicator with unit_groups")
        finer = [period for period in periods if period != "year"]
        if finer:
            raise self.error(where, f"items are reported once a year, but the methodology "
                                    f"also scores {', '.join(finer)}: use a kpi input")
        return item

    def curve(self, raw: Any, where: NodePath, max_points: int | float, source: Input,
              item: Item | None) -> Curve:
        if not isinstance(raw, dict):
            raise self.error(where, "expected a mapping with type and its parameters")
        kind = raw.get("type")
        if kind not in CURVE_PARAMS:
            raise self.error((*where, "type"), f"{kind!r} is not a curve type (use "
                                               f"{', '.join(CURVE_PARAMS)})")
        spec = self.mapping(raw, where, ("type", *CURVE_PARAMS[kind]))
        code = source.code
        if kind in SHARE_CURVES and item is not None and item.type in ("integer", "decimal"):
            raise self.error((*where, "type"), f"a {kind} curve reads a share in [0, 1], but "
                                               f"{code} is a count ({item.unit}): use step or "
                                               "piecewise")
        if kind == "boolean" and (item is None or item.type != "boolean"):
            raise self.error((*where, "type"), f"a boolean curve needs a yes/no item; {code} "
                                               "is not one")
        if kind == "cap":
            at = self.number(spec["at"], (*where, "at"))
            if not 0 < at <= 1:
                raise self.error((*where, "at"), f"{_fmt(at)} is not in (0, 1]")
            return Curve(kind, {"at": at})
        if kind == "step":
            return Curve(kind, {"steps": self.steps(spec["steps"], (*where, "steps"),
                                                    max_points)})
        if kind == "piecewise":
            return Curve(kind, {"points": self.piecewise(spec["points"], (*where, "points"))})
        if kind == "inverse_linear":
            best = self.number(spec["best"], (*where, "best"))
            worst = self.number(spec["worst"], (*where, "worst"))
            if not best < worst:
                raise self.error((*where, "worst"), f"worst ({_fmt(worst)}) must be above best "
                                                    f"({_fmt(best)})")
            return Curve(kind, {"best": best, "worst": worst})
        return Curve(kind)

    def pairs(self, raw: Any, where: NodePath, what: str, minimum: int) -> list[list[Any]]:
        pairs = self.sequence(raw, where, what)
        if len(pairs) < minimum:
            raise self.error(where, f"expected at least {minimum} {what}")
        for index, pair in enumerate(pairs):
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(_is_number(value) for value in pair)):
                raise self.error((*where, index), f"expected a pair {what}, got {pair!r}")
        return [list(pair) for pair in pairs]

    def steps(self, raw: Any, where: NodePath, max_points: int | float) -> list[list[Any]]:
        steps = self.pairs(raw, where, "[threshold, points]", 1)
        for index, (threshold, points) in enumerate(steps):
            if index and threshold <= steps[index - 1][0]:
                raise self.error((*where, index), f"thresholds must ascend ({_fmt(threshold)} "
                                                  f"after {_fmt(steps[index - 1][0])})")
            if not 0 <= points <= max_points:
                raise self.error((*where, index), f"points {_fmt(points)} are not within "
                                                  f"0..max_points ({_fmt(max_points)})")
        return steps

    def piecewise(self, raw: Any, where: NodePath) -> list[list[Any]]:
        points = self.pairs(raw, where, "[x, share]", 2)
        for index, (x, share) in enumerate(points):
            if index and x <= points[index - 1][0]:
                raise self.error((*where, index), f"x must ascend ({_fmt(x)} after "
                                                  f"{_fmt(points[index - 1][0])})")
            if not 0 <= share <= 1:
                raise self.error((*where, index), f"share {_fmt(share)} is not in [0, 1]")
        return points


# ------------------------------------------------------------------------------ warehouse

_LOCK = "select pg_advisory_xact_lock(hashtext('govkpi.ranking_config'))"
_COPY_METHODOLOGY = (
    "copy ranking_config.methodology (methodology_name, content_sha256, version, title_vi,"
    " title_en, basis, periods, source_file, content) from stdin (format binary)",
    ["text", "text", "int4", "text", "text", "text", "text[]", "text", "jsonb"])
_COPY_UNIT_GROUP = (
    "copy ranking_config.methodology_unit_group (methodology_name, content_sha256, unit_group,"
    " unit_level, label_vi, label_en, requires_assessment, ordinal) from stdin (format binary)",
    ["text", "text", "text", "int2", "text", "text", "bool", "int4"])
_COPY_TIER = (
    "copy ranking_config.methodology_tier (methodology_name, content_sha256, tier_key,"
    " label_vi, label_en, min_share, ordinal) from stdin (format binary)",
    ["text", "text", "text", "text", "text", "numeric", "int4"])
_COPY_INDICATOR = (
    "copy ranking_config.methodology_indicator (methodology_name, content_sha256, group_key,"
    " group_number, group_label_vi, group_label_en, indicator_key, indicator_label_vi,"
    " indicator_label_en, unit_group, max_points, input_kind, input_code, input_convention,"
    " not_measured_reason, curve_type, curve_params, when_missing, ordinal)"
    " from stdin (format binary)",
    ["text", "text", "text", "int4", "text", "text", "text", "text", "text", "text", "numeric",
     "text", "text", "text", "text", "text", "jsonb", "text", "int4"])


def _decimal(number: int | float) -> Decimal:
    return Decimal(str(number))  # 0.8 → 0.8, not 0.8000000000000000444


def ensure_schema(conn) -> None:
    """Create the ``ranking_config`` schema and tables if missing (idempotent; callers hold a
    transaction or autocommit). Every database gets them with :meth:`Warehouse.ensure_database`,
    so the ranking models build (empty) before any methodology is loaded."""
    conn.execute(_LOCK)  # concurrent callers: one creates the schema, the others wait
    conn.execute(resources.files("govkpi.ranking").joinpath("schema.sql").read_text())


def write_to_warehouse(warehouse, methodology: Methodology) -> bool:
    """Store ``methodology`` in ``ranking_config`` (creating the schema) in one transaction.

    Returns False when that content is already the current one of its name (nothing to do).
    Content loaded before but superseded since (a file reverted to an earlier version) becomes
    current again: its ``loaded_at`` is moved to now.
    """
    from psycopg.types.json import Jsonb

    m = methodology
    key = (m.name, m.content_sha256)
    with warehouse.connect() as conn:
        ensure_schema(conn)
        current = conn.execute(
            "select content_sha256 from ranking_config.current_methodology"
            " where methodology_name = %s", (m.name,)).fetchone()
        if current and current[0] == m.content_sha256:
            return False
        touched = conn.execute(
            "update ranking_config.methodology set loaded_at = clock_timestamp()"
            " where methodology_name = %s and content_sha256 = %s", key)
        if touched.rowcount:
            return True
        tables = [
            (_COPY_METHODOLOGY, [(*key, m.version, m.title_vi, m.title_en, m.basis,
                                 list(m.periods), str(m.source_file), Jsonb(m.content))]),
            (_COPY_UNIT_GROUP, [(*key, g.key, g.unit_level, g.label_vi, g.label_en,
                                g.requires_assessment, ordinal)
                               for ordinal, g in enumerate(m.unit_groups, 1)]),
            (_COPY_TIER, [(*key, t.key, t.label_vi, t.label_en, _decimal(t.min_share), ordinal)
                         for ordinal, t in enumerate(m.tiers, 1)]),
            (_COPY_INDICATOR, [
                (*key, group.key, group.number, group.label_vi, group.label_en, i.key,
                 i.label_vi, i.label_en, unit_group, _decimal(i.max_points), i.input.kind,
                 i.input.code, i.input.convention, i.input.not_measured_reason, i.curve.type,
                 Jsonb(i.curve.params), i.when_missing, ordinal)
                for ordinal, (group, i) in enumerate(m.indicators(), 1)
                for unit_group in i.unit_groups]),
        ]
        with conn.cursor() as cursor:
            for (statement, types), rows in tables:
                with cursor.copy(statement) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
    return True
