"""Scenarios: the data files that say which province is simulated and how its units behave.

``load_scenario("binh_dinh")`` reads ``scenarios/binh_dinh.yaml`` (validated, errors name the
file and field) and :meth:`Scenario.unit_history` turns it into every version of every unit, with
validity dates and successors — the 2020 town status of Hoài Nhơn, the 2025 department mergers,
the end of the district level on 2025-06-30 and the merger of communes from 2025-07-01.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

SCENARIOS = ("binh_dinh",)
UNITS_VALID_FROM = dt.date(2015, 1, 1)
VN_OFFSET = dt.timezone(dt.timedelta(hours=7))


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class UnitVersion:
    """One version of a unit as the one-stop system serves it (``updated_at`` = NgayCapNhat)."""

    code: str
    name: str
    level: int
    parent_code: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    successor_code: str | None
    updated_at: dt.datetime
    maturity: float
    key: str  # the scenario's short name (departments) or the district/commune name
    population: float = 1.0
    # (year, maturity) where a year differs from ``maturity`` (the scenario's trajectory)
    maturity_by_year: tuple[tuple[int, float], ...] = ()


def _at_8(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 0), tzinfo=VN_OFFSET)


def _jitter(text: str, spread: float) -> float:
    """A deterministic offset in [-spread, spread] from a name (no random state needed)."""
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
    return (h / 2**32 * 2 - 1) * spread


class Scenario:
    def __init__(self, name: str, data: dict[str, Any], source: str) -> None:
        self.name = name
        self.source = source
        self.data = data
        self._check()

    def _need(self, mapping: Any, key: str, where: str, kind: type | tuple[type, ...]):
        if not isinstance(mapping, dict) or key not in mapping:
            raise ScenarioError(f"{self.source}: {where}: missing field {key!r}")
        value = mapping[key]
        if not isinstance(value, kind):
            raise ScenarioError(f"{self.source}: {where}.{key}: expected {kind}, got "
                                f"{type(value).__name__} {value!r}")
        return value

    def _check_maturity(self, unit: dict[str, Any], where: str) -> None:
        m = self._need(unit, "maturity", where, (int, float))
        if not 0 <= m <= 1:
            raise ScenarioError(f"{self.source}: {where}.maturity={m}: must be in [0, 1]")
        if "maturity_by_year" not in unit:
            return
        by_year = self._need(unit, "maturity_by_year", where, dict)
        for year, value in by_year.items():
            if not isinstance(year, int) or isinstance(year, bool):
                raise ScenarioError(f"{self.source}: {where}.maturity_by_year: key {year!r} "
                                    "is not a year")
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ScenarioError(f"{self.source}: {where}.maturity_by_year.{year}="
                                    f"{value!r}: must be a number in [0, 1]")

    def _check(self) -> None:
        units = self._need(self.data, "units", "top level", dict)
        departments = self._need(units, "departments", "units", list)
        keys = set()
        for i, d in enumerate(departments):
            where = f"units.departments[{i}]"
            keys.add(self._need(d, "key", where, str))
            self._need(d, "name", where, str)
            self._check_maturity(d, where)
        for i, d in enumerate(departments):
            if "merged_into" in d and d["merged_into"] not in keys:
                raise ScenarioError(f"{self.source}: units.departments[{i}].merged_into="
                                    f"{d['merged_into']!r} is not a department key")
        names = set()
        for i, d in enumerate(self._need(units, "districts", "units", list)):
            where = f"units.districts[{i}]"
            for f, kind in (("kind", str), ("name", str), ("population", (int, float)),
                            ("maturity", (int, float)), ("communes", list)):
                self._need(d, f, where, kind)
            self._check_maturity(d, where)
            names.add(d["name"])
        reorg = self._need(self.data, "reorganisation_2025", "top level", dict)
        self._need(reorg, "district_level_ends", "reorganisation_2025", dt.date)
        self._need(reorg, "commune_group_size", "reorganisation_2025", int)
        returns = self.data.get("assessments", {})
        if not isinstance(returns, dict):
            raise ScenarioError(f"{self.source}: assessments: expected a mapping")
        for year, who in (returns.get("not_submitted") or {}).items():
            where = f"assessments.not_submitted.{year}"
            if not isinstance(year, int) or not isinstance(who, list):
                raise ScenarioError(f"{self.source}: {where}: expected year: [unit, …]")
            for name in who:
                if name not in keys and name not in names:
                    raise ScenarioError(f"{self.source}: {where}: {name!r} is neither a "
                                        "department key nor a district name")

    @property
    def suffix(self) -> str:
        return self.data.get("province", {}).get("code_suffix", "H08")

    def code(self, level4: int = 0, level3: int = 0, level2: int = 0) -> str:
        return f"{level4:03d}.{level3:02d}.{level2:02d}.{self.suffix}"

    def not_submitted(self) -> dict[int, tuple[str, ...]]:
        """year → codes of the departments and districts that send no self-assessment return
        (``assessments.not_submitted``: department keys or district names)."""
        units = self.data["units"]
        codes = {d["key"]: self.code(level2=i + 1) for i, d in enumerate(units["departments"])}
        codes.update({d["name"]: self.code(level2=31 + i)
                      for i, d in enumerate(units["districts"])})
        listed = (self.data.get("assessments") or {}).get("not_submitted") or {}
        return {int(year): tuple(codes[name] for name in who) for year, who in listed.items()}

    def unit_history(self) -> list[UnitVersion]:
        """Every version of every unit, sorted by (code, updated_at)."""
        units = self.data["units"]
        reorg = self.data["reorganisation_2025"]
        district_end: dt.date = reorg["district_level_ends"]
        new_era = district_end + dt.timedelta(days=1)
        spread = float(reorg.get("commune_maturity_spread", 0.0))
        province = self.code()
        start = UNITS_VALID_FROM
        out = [UnitVersion(province, self.data.get("province", {}).get("name", "UBND tỉnh"), 1,
                           None, start, None, None, _at_8(start), 0.6, "province")]
        dept_codes = {d["key"]: self.code(level2=i + 1)
                      for i, d in enumerate(units["departments"])}
        for d in units["departments"]:
            code = dept_codes[d["key"]]
            base = UnitVersion(code, d["name"], 2, province, start, None, None, _at_8(start),
                               float(d["maturity"]), d["key"],
                               maturity_by_year=_trajectory(d))
            out.append(base)
            if "merged_into" in d:
                ends = d["merged_on"] - dt.timedelta(days=1)
                out.append(_replace(base, valid_to=ends, successor_code=dept_codes[
                    d["merged_into"]], updated_at=_at_8(d["merged_on"])))
        new_commune = 0
        for i, dist in enumerate(units["districts"]):
            level2 = 31 + i
            code = self.code(level2=level2)
            label = f"UBND {dist['kind']} {dist['name']}"
            base = UnitVersion(code, label, 3, province, start, None, None, _at_8(start),
                               float(dist["maturity"]), dist["name"], float(dist["population"]),
                               _trajectory(dist))
            versions = [base]
            if "renamed" in dist:
                on = dist["renamed"]["since"]
                versions.append(_replace(versions[-1], name=f"UBND {dist['renamed']['kind']} "
                                         f"{dist['name']}", updated_at=_at_8(on)))
            versions.append(_replace(versions[-1], valid_to=district_end,
                                     updated_at=_at_8(new_era)))
            out.extend(versions)
            communes = dist["communes"]
            size = reorg["commune_group_size"]
            per = dist["population"] / len(communes)
            for g in range(0, len(communes), size):
                group = communes[g:g + size]
                new_commune += 1
                successor = self.code(level4=100 + new_commune)
                # the merged commune takes the first member's name (a town → a commune)
                new_name = "UBND " + group[0].replace("thị trấn", "xã")
                out.append(UnitVersion(
                    successor, new_name, 4, province, new_era, None, None, _at_8(new_era),
                    _clip(dist["maturity"] + _jitter(new_name, spread)), new_name,
                    per * len(group)))
                for j, name in enumerate(group):
                    ccode = self.code(level4=0, level3=g + j + 1, level2=level2)
                    c = UnitVersion(ccode, f"UBND {name}", 4, code, start, None, None,
                                    _at_8(start), _clip(dist["maturity"] + _jitter(name, spread)),
                                    name, per)
                    out.append(c)
                    out.append(_replace(c, valid_to=district_end, successor_code=successor,
                                        updated_at=_at_8(new_era)))
        out.sort(key=lambda u: (u.code, u.updated_at))
        return out

    def units_valid_on(self, day: dt.date) -> list[UnitVersion]:
        """The units that exist on ``day``, each in its latest version known that day."""
        latest: dict[str, UnitVersion] = {}
        for u in self.unit_history():  # sorted by (code, updated_at): later versions win
            if u.updated_at.date() <= day:
                latest[u.code] = u
        return [u for u in latest.values()
                if u.valid_from <= day and (u.valid_to is None or day <= u.valid_to)]


def _trajectory(unit: dict[str, Any]) -> tuple[tuple[int, float], ...]:
    return tuple(sorted((int(y), float(m)) for y, m in
                        (unit.get("maturity_by_year") or {}).items()))


def _clip(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 3)


def _replace(u: UnitVersion, **changes) -> UnitVersion:
    from dataclasses import replace

    return replace(u, **changes)


def load_scenario(name: str = "binh_dinh") -> Scenario:
    import yaml

    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    path = resources.files("govkpi.simulator").joinpath("scenarios", f"{name}.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from exc
    return Scenario(name, data, str(path))
