"""Simulated yearly self-assessment returns (SOURCES.md §4): one spreadsheet per unit and year.

``generate_returns`` writes ``<drop>/<year>/<unit code>.xlsx`` (or ``.csv``) for every department
(CapDonVi 2) and district (CapDonVi 3) valid at some time during the year, with the items of
``assessment_items.yaml`` that apply to the unit's level and the year:

- sheet ``tu_danh_gia``: header row 1 exactly ``ma_tieu_chi, gia_tri, minh_chung``, then one row
  per item in form order; booleans as ``co``/``khong``, enums by value code, numbers as numbers;
- sheet ``thong_tin``: header ``ma_don_vi, ten_don_vi, nam`` and one row (the unit and year the
  return claims to be for; the loader checks it against the file name and folder).

The CSV variant is the first sheet as Excel's "CSV UTF-8" exports it (BOM, comma, CRLF); the
unit and year then come only from the file's path.

Values follow the unit's strength — its maturity of the year, and the year (mature units and
later years report better infrastructure, more policy, more staff): booleans, enums and counts
as deterministic step functions of it (a ranking curve never sees a coin flip: the steps are
calibrated on DOMAIN.md §2, see docs/simulator.md), percents with a little noise, and the
evidence texts, from ``random.Random`` seeded from (seed, unit code, year), so a unit's file
never depends on which other units are generated. Mess is drawn from a
second generator with the same key, on top of the clean rows, so ``mess_rate=0`` gives the same
values, all valid. Files are byte-identical for the same inputs: workbook properties and the zip
entries carry a fixed time (15 January 08:00 of the following year, when returns are due).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import math
import random
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from govkpi.assessment_items import DEFAULT_PATH, Item, items_for
from govkpi.simulator.scenario import load_scenario
from govkpi.simulator.world import DEPARTMENTS, DISTRICTS, OneStopWorld, Unit

HEADER = ("ma_tieu_chi", "gia_tri", "minh_chung")
INFO_HEADER = ("ma_don_vi", "ten_don_vi", "nam")
RETURN_SHEET = "tu_danh_gia"
INFO_SHEET = "thong_tin"
FORMATS = ("xlsx", "csv")
REPORTING_LEVELS = (2, 3)

# Who sends no return, by year: the scenario's assessments.not_submitted (binh_dinh: DOMAIN.md
# §2 — 20 of 21 departments assessed in 2017, 17 in 2016; the article names none of the missing
# ones, the scenario's choice is documented there and in docs/simulator.md). Pass
# missing_units=() for everyone.
DEFAULT_MISSING_UNITS: dict[int, tuple[str, ...]] = load_scenario("binh_dinh").not_submitted()

# every kind of problem the mess injector can produce (the manifest's "kind")
VALUE_PROBLEMS = ("out_of_range", "non_numeric", "invalid_value")
FILE_PROBLEMS = ("missing_item", "duplicate_item", "unknown_item", "wrong_unit_code",
                 "wrong_year")
PROBLEM_KINDS = (*VALUE_PROBLEMS, *FILE_PROBLEMS, "corrupt_file")
TEMPLATE_UNIT_CODE = "000.00.00.H08"  # the province's code, left in a copied template

# Simulation profile of count/amount items: the value as a piecewise-linear function of the
# unit's strength, knots (strength, value); whole-number items are rounded down. Items not
# listed use their [min, max] range; percents default to 35–100 %. The knots of the counts that
# binh_dinh_2017 scores with steps put those steps where DOMAIN.md §2 needs a clear gap between
# two departments (issue 6, docs/simulator.md; strength = 0.1 + 0.9 × maturity in 2016–2017):
# 5 training courses (NL-03), 5 specialised applications (UD-03) and 50 Mbps (HT-04) only from
# strength 0.975 (Sở Tài chính ahead of Sở TT&TT), 30 news items a month (TT-03) from 0.94 (Sở
# TT&TT ahead of the next three), 2
# dedicated IT staff (NL-01) from 0.86 (Sở TN-MT ahead of Sở GT-VT in 2017), 3 IT directives
# (CS-03) from 0.825 (Sở GT-VT ahead of the departments ranked 8–11 in 2017).
NUMERIC_PROFILE: dict[str, tuple[tuple[float, float], ...]] = {
    "HT-04": ((0, 4), (0.5, 20), (0.975, 50), (1, 100)),  # Mbps
    "HT-06": ((0, 0), (1, 100)), "UD-05": ((0, 0), (1, 100)),  # communes: from none to all
    "UD-02": ((0, 5), (1, 100)),
    "UD-03": ((0, 0), (0.4, 3), (0.975, 5), (1, 8)),
    "UD-04": ((0, 0), (1, 60)),
    "TT-03": ((0, 2), (0.45, 15), (0.94, 30), (1, 45)),
    "TT-04": ((0, 30), (1, 100)),
    "AT-06": ((0, 0), (1, 5)),
    "CS-03": ((0, 0), (0.3, 1), (0.825, 3), (1, 6)),
    "CS-04": ((0, 40), (1, 100)),
    "NL-01": ((0, 0), (0.3, 1), (0.86, 2), (1, 2.5)),
    "NL-03": ((0, 0), (0.5, 3), (0.975, 5), (1, 5.5)),
    "NL-04": ((0, 10), (1, 95)),
    "NL-05": ((0, 50), (0.3, 200), (0.6, 500), (1, 900)),  # million VND
}
PERCENT_PROFILE = ((0, 35.0), (1, 100.0))
# a unit's strength (0–1) in a year: a + b × its maturity that year, + the trend per year from
# 2018 (2016 and 2017 differ through the systems' KPIs, not the returns: the seed's 35 % → 55 %
# of departments tốt comes from e-office and online services, and from the units that began
# to submit)
STRENGTH = (0.1, 0.9)
STRENGTH_TREND = 0.05
PERCENT_SPREAD = 0.01  # noise on percent items around the strength (the rest is deterministic)
# A boolean item is "có" from this strength on (the order units acquire things in). Three of
# them draw the lines DOMAIN.md §2 needs in 2016 (strength = 0.1 + 0.9 × maturity): AT-02 and
# AT-03 from 0.77 (the departments ranked 7–9 ahead of Sở GT-VT, maturity 0.73 in 2016), CS-02
# from 0.743 (Sở GT-VT ahead of Sở TN-MT, 0.70 in 2016), DV-02 from 0.712 (Sở TN-MT ahead of
# the rest, ≤ 0.66).
BOOLEAN_FROM: dict[str, float] = {
    "HT-03": 0.15, "CS-01": 0.25, "HT-05": 0.3, "AT-01": 0.35, "TT-01": 0.5, "DV-02": 0.712,
    "CS-02": 0.743, "AT-02": 0.77, "AT-03": 0.77,
}
DEFAULT_BOOLEAN_FROM = 0.6
# An enum item's value i (from the weakest, 0) from the i-th strength on; default: n equal
# steps. The strongest backup (AT-05) and one-stop desk (DV-01) only from 0.883: the three
# departments ranked 3–5 in 2017 ahead of Sở TN-MT (issue 6).
ENUM_FROM: dict[str, tuple[float, ...]] = {
    "AT-05": (0.25, 0.5, 0.883), "DV-01": (0.25, 0.5, 0.883),
}

NON_NUMERIC_TEXTS = ("đang cập nhật", "khoảng {v}", "{v} {unit}", "N/A", "chưa thống kê",
                     "{v}-{w}")
INVALID_CHOICE_TEXTS = ("đang triển khai", "x", "có (một phần)", "chưa rõ", "1")
UNKNOWN_CODES = ("HT-99", "TC-07", "AT-1", "UD-3.1", "DV-15")

_DEPARTMENT_KEYS = {name: key for key, name in DEPARTMENTS}


class ReturnBatch(list[Path]):
    """The written files (a list of paths), plus what the generator did to them.

    ``manifest``: one dict per written file: ``path``, ``unit_code``, ``year``, ``format`` and
    ``problems`` (each ``{"kind", "item", "row", "detail"}`` and, when there is a row,
    ``"sheet"``: ``row`` is the 1-based row of that sheet (the CSV line), None for a missing item
    or a corrupt file; ``kind`` is one of :data:`PROBLEM_KINDS`).
    ``missing``: the unit codes that did not submit (no file).
    """

    def __init__(self, paths: Iterable[Path] = (), manifest: Sequence[dict[str, Any]] = (),
                 missing: Sequence[str] = ()) -> None:
        super().__init__(paths)
        self.manifest = list(manifest)
        self.missing = list(missing)


@dataclass
class _Row:
    code: str
    value: Any
    evidence: str
    problems: list[dict[str, Any]] = field(default_factory=list)


def submitting_time(year: int) -> dt.datetime:
    """The fixed time stamped in a return for ``year`` (naive UTC, as docProps expects)."""
    return dt.datetime(year + 1, 1, 15, 1, 0)  # 08:00 in Vietnam


def reporting_units(world: OneStopWorld, year: int) -> list[Unit]:
    """Departments and districts valid at any time during ``year``, in world order."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return [u for u in world.units
            if u.level in REPORTING_LEVELS and u.valid_from <= end
            and (u.valid_to is None or u.valid_to >= start)]


def generate_returns(world: OneStopWorld, year: int, drop_dir: Path | str, seed: int, *,
                     missing_units: Iterable[str] | None = None, mess_rate: float = 0.02,
                     fmt: str = "xlsx", corrupt_file: bool = True,
                     items_path: Path | str = DEFAULT_PATH) -> ReturnBatch:
    """Write the year's self-assessment returns into ``<drop_dir>/<year>/``.

    ``missing_units``: unit codes that do not submit (None: :data:`DEFAULT_MISSING_UNITS` for
    the year, i.e. the scenario's non-submitting units; ``()``: everyone submits).
    A stale file of a missing unit is removed. ``mess_rate``: the chance of a bad value per
    row and of each file-level problem per file; when > 0 and ``corrupt_file``, exactly one
    file of the batch is not a readable file: when the year has missing units, one of them
    (chosen by a hash of seed, year and unit code) sends that unreadable file instead of nothing
    — a truncated upload never sent again, so the units without a usable return stay the same
    — else one of the submitting units.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt {fmt!r}: use one of {', '.join(FORMATS)}")
    if not 0 <= mess_rate <= 1:
        raise ValueError(f"mess_rate {mess_rate} outside 0–1")
    missing = set(DEFAULT_MISSING_UNITS.get(year, ()) if missing_units is None
                  else missing_units)
    out_dir = Path(drop_dir) / str(year)
    out_dir.mkdir(parents=True, exist_ok=True)
    units = reporting_units(world, year)
    absent = [u for u in units if u.code in missing]
    corrupt_code = None
    if mess_rate > 0 and corrupt_file and units:
        corrupt_code = min(absent or units, key=lambda u: _digest(seed, year, u.code)).code
    batch = ReturnBatch(missing=[u.code for u in absent if u.code != corrupt_code])
    for unit in units:
        path = out_dir / f"{unit.code}.{fmt}"
        if unit.code in missing and unit.code != corrupt_code:
            path.unlink(missing_ok=True)
            continue
        items = items_for(year, unit.level, items_path)
        rows = _clean_rows(unit, year, seed, items)
        claimed_code, claimed_year = unit.code, year
        info_problems: list[dict[str, Any]] = []
        if mess_rate > 0:
            claimed_code, claimed_year, info_problems = _add_mess(
                rows, unit, year, seed, items, mess_rate, fmt)
        if fmt == "xlsx":
            data = _xlsx_bytes(rows, claimed_code, unit.name, claimed_year, year)
        else:
            data = _csv_bytes(rows)
        problems = info_problems + [p for row in rows for p in row.problems]
        if unit.code == corrupt_code:
            data = _corrupt(data, fmt)
            problems = [{"kind": "corrupt_file", "item": None, "row": None,
                         "detail": "truncated upload: not a readable " + fmt.upper()}]
        path.write_bytes(data)
        batch.append(path)
        batch.manifest.append({"path": path, "unit_code": unit.code, "year": year,
                               "format": fmt, "problems": problems})
    return batch


# ------------------------------------------------------------------------------ clean values


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def strength(maturity: float, year: int) -> float:
    """How well a unit does in ``year``: :data:`STRENGTH` of its maturity that year plus a
    province-wide trend of +:data:`STRENGTH_TREND` a year after 2017."""
    a, b = STRENGTH
    return min(0.99, max(0.02, a + b * maturity + STRENGTH_TREND * max(0, year - 2017)))


def _clean_rows(unit: Unit, year: int, seed: int, items: Sequence[Item]) -> list[_Row]:
    rng = random.Random(f"{seed}|{unit.code}|{year}")
    s = strength(unit.maturity_in(year), year)
    abbr = _DEPARTMENT_KEYS.get(unit.name, "UBND")
    # the unit's yearly IT report, cited as evidence for most figures
    report = f"Báo cáo số {rng.randint(12, 980)}/BC-{abbr} ngày {rng.randint(1, 28):02d}/12/" \
             f"{year} về tình hình ứng dụng CNTT năm {year}"
    site = f"https://{_slug(unit)}.binhdinh.gov.vn"
    rows = []
    for item in items:
        q = min(1.0, max(0.0, rng.gauss(s, PERCENT_SPREAD)))
        value = _value(item, s, q)
        item.check(item.to_cell(value))  # the simulator never writes a clean value it rejects
        evidence = _evidence(item, value, year, abbr, report, site, rng)
        rows.append(_Row(item.code, item.to_cell(value), evidence))
    return rows


def _slug(unit: Unit) -> str:
    if unit.name in _DEPARTMENT_KEYS:
        return _DEPARTMENT_KEYS[unit.name].lower()
    # "UBND huyện Vĩnh Thạnh" → "vinhthanh"
    place = next((name for _, name, _ in DISTRICTS if unit.name.endswith(name)), unit.name)
    ascii_ = unicodedata.normalize("NFD", place.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in ascii_ if ch.isalnum() and ch.isascii()).lower()


def _value(item: Item, s: float, q: float) -> int | float | bool | str:
    """The clean value of ``item`` for a unit of strength ``s`` (``q``: ``s`` with a little
    noise, for percents only). Booleans, enums and counts are deterministic step functions of
    the strength, so a ranking curve never sees a coin flip (issue 6)."""
    if item.type == "boolean":
        return s >= BOOLEAN_FROM.get(item.code, DEFAULT_BOOLEAN_FROM)
    if item.type == "enum":
        n = len(item.values)
        steps = ENUM_FROM.get(item.code, [k / n for k in range(1, n)])
        return item.values[sum(s >= since for since in steps)].code
    knots = NUMERIC_PROFILE.get(item.code, PERCENT_PROFILE if item.type == "percent"
                                else ((0, item.min), (1, item.max)))
    raw = _interpolate(knots, q if item.type == "percent" else s)
    raw = min(item.max, max(item.min, raw))
    if item.type == "integer":
        return math.floor(raw + 1e-9)
    if item.type == "percent" and raw >= 99.95:
        return 100.0
    return round(raw, 1)


def _interpolate(knots: Sequence[tuple[float, float]], x: float) -> float:
    """The piecewise-linear function through ``knots`` (x ascending) at ``x``, flat outside."""
    if x <= knots[0][0]:
        return knots[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return knots[-1][1]


def _evidence(item: Item, value: Any, year: int, abbr: str, report: str, site: str,
              rng: random.Random) -> str:
    """Plausible minh_chung text: the document a reviewer would ask for."""
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    number = rng.randint(12, 980)
    if item.type == "boolean" and not value:
        return ""
    if item.group == "website":
        return site
    if item.group in ("security", "policy") and item.type == "boolean":
        kind = "KH" if item.code == "CS-01" else "QĐ"
        return f"{'Kế hoạch' if kind == 'KH' else 'Quyết định'} số {number}/{kind}-{abbr} " \
               f"ngày {day:02d}/{month:02d}/{year}"
    if item.code == "NL-05":
        return f"Dự toán ngân sách năm {year} được giao; báo cáo quyết toán kinh phí CNTT"
    return report


# ------------------------------------------------------------------------------ mess


def _problem(kind: str, item: str | None, detail: str) -> dict[str, Any]:
    return {"kind": kind, "item": item, "row": None, "detail": detail}


def _bad_value(item: Item, clean: Any, rng: random.Random) -> tuple[str, Any]:
    """A value ``item.check`` rejects ("59 %" would pass for a percent: drawn again)."""
    for _ in range(10):
        kind, bad = _draw_bad_value(item, clean, rng)
        try:
            item.check(bad)
        except ValueError:
            return kind, bad
    return ("invalid_value" if item.type in ("boolean", "enum") else "non_numeric",
            "đang cập nhật")


def _draw_bad_value(item: Item, clean: Any, rng: random.Random) -> tuple[str, Any]:
    if item.type in ("boolean", "enum"):
        return "invalid_value", rng.choice(INVALID_CHOICE_TEXTS)
    if rng.random() < 0.5:
        if item.type == "percent":
            return "out_of_range", round(100 + rng.uniform(1, 150), 1)
        if rng.random() < 0.5:
            return "out_of_range", -(abs(clean) + rng.randint(1, 10))
        return "out_of_range", item.max * rng.randint(2, 10) + 1
    v = round(abs(float(clean))) if isinstance(clean, int | float) else 10
    text = rng.choice(NON_NUMERIC_TEXTS).format(v=v, w=v + rng.randint(1, 9),
                                                unit=item.unit or "đơn vị")
    return "non_numeric", text


def _add_mess(rows: list[_Row], unit: Unit, year: int, seed: int, items: Sequence[Item],
              mess_rate: float, fmt: str) -> tuple[str, int, list[dict[str, Any]]]:
    """Spoil ``rows`` in place; returns the unit code and year the info sheet will claim."""
    rng = random.Random(f"{seed}|{unit.code}|{year}|mess")
    by_code = {item.code: item for item in items}
    for row in rows:
        if rng.random() < mess_rate:
            kind, bad = _bad_value(by_code[row.code], row.value, rng)
            row.problems.append(_problem(kind, row.code, f"{bad!r} instead of {row.value!r}"))
            row.value = bad
    if rng.random() < mess_rate:
        clean = [r for r in rows if not r.problems]
        if clean:
            gone = rng.choice(clean)
            rows.remove(gone)
            # no row: the loader reports it against the file (and the item code)
            rows.append(_Row("", None, "", [_problem("missing_item", gone.code,
                                                     "the item's row was deleted")]))
    if rng.random() < mess_rate:
        clean = [r for r in rows if not r.problems and r.code]
        if clean:
            original = rng.choice(clean)
            item = by_code[original.code]
            r = rng.random()
            other = item.to_cell(_value(item, r, r))
            rows.append(_Row(original.code, other, original.evidence,
                             [_problem("duplicate_item", original.code,
                                       f"second row for the item, value {other!r}")]))
    if rng.random() < mess_rate:
        code = rng.choice([c for c in UNKNOWN_CODES if c not in by_code])
        rows.append(_Row(code, rng.randint(0, 10), "",
                         [_problem("unknown_item", code, "item code not in the catalogue")]))
    claimed_code, claimed_year = unit.code, year
    info: list[dict[str, Any]] = []
    if fmt == "xlsx":  # a CSV carries no unit or year of its own: they come from its path
        if rng.random() < mess_rate:
            claimed_code = TEMPLATE_UNIT_CODE
            info.append({"kind": "wrong_unit_code", "item": None, "row": 2,
                         "detail": f"{INFO_SHEET}.ma_don_vi = {claimed_code}, file is "
                                   f"{unit.code}"})
        if rng.random() < mess_rate:
            claimed_year = year - 1
            info.append({"kind": "wrong_year", "item": None, "row": 2,
                         "detail": f"{INFO_SHEET}.nam = {claimed_year}, folder is {year}"})
    # placeholder rows of deleted items hold no data: drop them, keep their problems
    placeholders = [r for r in rows if not r.code]
    for r in placeholders:
        rows.remove(r)
    for number, row in enumerate(rows, start=2):
        for p in row.problems:
            p["row"] = number
            p["sheet"] = RETURN_SHEET
    for p in info:
        p["sheet"] = INFO_SHEET
    return claimed_code, claimed_year, info + [p for r in placeholders for p in r.problems]


def _corrupt(data: bytes, fmt: str) -> bytes:
    if fmt == "xlsx":
        return data[: len(data) // 2]  # a zip without its central directory
    return data[: len(data) // 2] + b"\xff\xfe\x00garbled"  # not UTF-8


# ------------------------------------------------------------------------------ writing


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries carry a fixed time (zipfile stamps writestr() with the clock)."""

    def __init__(self, file: Any, when: dt.datetime) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._when = when.timetuple()[:6]

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo = zipfile.ZipInfo(zinfo_or_arcname, date_time=self._when)
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            zinfo.external_attr = 0o600 << 16
            zinfo_or_arcname = zinfo
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: str | None = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        # openpyxl streams worksheets through a temporary file: its mtime would leak in
        self.writestr(arcname or str(filename), Path(filename).read_bytes(), compress_type,
                      compresslevel)


def _xlsx_bytes(rows: Sequence[_Row], unit_code: str, unit_name: str, claimed_year: int,
                year: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = RETURN_SHEET
    ws.append(HEADER)
    for row in rows:
        ws.append((row.code, row.value, row.evidence or None))
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 70
    info = wb.create_sheet(INFO_SHEET)
    info.append(INFO_HEADER)
    info.append((unit_code, unit_name, claimed_year))
    when = submitting_time(year)
    props = wb.properties
    props.title = "Báo cáo tự đánh giá mức độ ứng dụng công nghệ thông tin"
    props.creator = "govkpi simulator"
    props.created = when
    props.modified = when
    buffer = io.BytesIO()
    # not openpyxl.save_workbook: it stamps properties.modified with the clock
    ExcelWriter(wb, _FixedTimeZip(buffer, when)).save()
    return buffer.getvalue()


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_bytes(rows: Sequence[_Row]) -> bytes:
    """Excel's "CSV UTF-8 (comma delimited)": BOM, comma, CRLF, minimal quoting."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow((row.code, _csv_text(row.value), row.evidence))
    return text.getvalue().encode("utf-8-sig")
