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

Values follow the unit's maturity and the year (mature units and later years report better
infrastructure, more policy, more staff) through ``random.Random`` seeded from (seed, unit code,
year), so a unit's file never depends on which other units are generated. Mess is drawn from a
second generator with the same key, on top of the clean rows, so ``mess_rate=0`` gives the same
values, all valid. Files are byte-identical for the same inputs: workbook properties and the zip
entries carry a fixed time (15 January 08:00 of the following year, when returns are due).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
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
from govkpi.simulator.world import DEPARTMENTS, DISTRICTS, OneStopWorld, Unit

HEADER = ("ma_tieu_chi", "gia_tri", "minh_chung")
INFO_HEADER = ("ma_don_vi", "ten_don_vi", "nam")
RETURN_SHEET = "tu_danh_gia"
INFO_SHEET = "thong_tin"
FORMATS = ("xlsx", "csv")
REPORTING_LEVELS = (2, 3)

# DOMAIN.md §2: 20 of 21 departments submitted in 2017. The article does not name the missing
# one; Ban Dân tộc (000.00.20.H08) is our invention. Pass missing_units=() for everyone.
DEFAULT_MISSING_UNITS: dict[int, tuple[str, ...]] = {2017: ("000.00.20.H08",)}

# every kind of problem the mess injector can produce (the manifest's "kind")
VALUE_PROBLEMS = ("out_of_range", "non_numeric", "invalid_value")
FILE_PROBLEMS = ("missing_item", "duplicate_item", "unknown_item", "wrong_unit_code",
                 "wrong_year")
PROBLEM_KINDS = (*VALUE_PROBLEMS, *FILE_PROBLEMS, "corrupt_file")
TEMPLATE_UNIT_CODE = "000.00.00.H08"  # the province's code, left in a copied template

# Simulation profile of count/amount items: the value at strength 0 and at strength 1.
# Items not listed use their [min, max] range; percents default to 20–100 %.
NUMERIC_PROFILE: dict[str, tuple[float, float]] = {
    "HT-04": (4, 120),  # Mbps
    "HT-06": (0, 100), "UD-05": (0, 100),  # communes: from none to all
    "UD-02": (5, 100),
    "UD-03": (0, 12), "UD-04": (0, 60), "TT-03": (2, 60), "TT-04": (30, 100),
    "AT-06": (0, 5), "CS-03": (0, 10), "CS-04": (40, 100),
    "NL-01": (0, 4), "NL-03": (0, 8), "NL-04": (10, 95), "NL-05": (50, 2500),  # million VND
}
PERCENT_PROFILE = (20.0, 100.0)

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
    the year, i.e. the seed's one non-submitting department in 2017; ``()``: everyone submits).
    A stale file of a missing unit is removed. ``mess_rate``: the chance of a bad value per
    row and of each file-level problem per file; when > 0 and ``corrupt_file``, exactly one
    file of the batch (chosen by a hash of seed, year and unit code) is not a readable file.
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
    submitting = [u for u in units if u.code not in missing]
    corrupt_code = None
    if mess_rate > 0 and corrupt_file and submitting:
        corrupt_code = min(submitting, key=lambda u: _digest(seed, year, u.code)).code
    batch = ReturnBatch(missing=[u.code for u in units if u.code in missing])
    for unit in units:
        path = out_dir / f"{unit.code}.{fmt}"
        if unit.code in missing:
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
    """How well a unit does in ``year``: maturity plus a province-wide trend of +5 points a
    year from 2017 (the seed reports 35% → 55% of departments tốt from 2016 to 2017)."""
    return min(0.98, max(0.02, 0.12 + 0.7 * maturity + 0.05 * (year - 2017)))


def _clean_rows(unit: Unit, year: int, seed: int, items: Sequence[Item]) -> list[_Row]:
    rng = random.Random(f"{seed}|{unit.code}|{year}")
    s = strength(unit.maturity, year)
    abbr = _DEPARTMENT_KEYS.get(unit.name, "UBND")
    # the unit's yearly IT report, cited as evidence for most figures
    report = f"Báo cáo số {rng.randint(12, 980)}/BC-{abbr} ngày {rng.randint(1, 28):02d}/12/" \
             f"{year} về tình hình ứng dụng CNTT năm {year}"
    site = f"https://{_slug(unit)}.binhdinh.gov.vn"
    rows = []
    for item in items:
        q = min(1.0, max(0.0, rng.gauss(s, 0.12)))
        value = _value(item, q, rng)
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


def _value(item: Item, q: float, rng: random.Random) -> int | float | bool | str:
    if item.type == "boolean":
        return rng.random() < 1.25 * q - 0.05
    if item.type == "enum":
        n = len(item.values)
        index = round(q * (n - 1) + rng.gauss(0, 0.4))
        return item.values[min(n - 1, max(0, index))].code
    lo, hi = NUMERIC_PROFILE.get(
        item.code, PERCENT_PROFILE if item.type == "percent" else (item.min, item.max))
    raw = lo + (hi - lo) * q
    raw = min(item.max, max(item.min, raw))
    if item.type == "integer":
        return round(raw)
    if item.type == "percent" and raw >= 99.95:
        return 100.0
    return round(raw, 1)


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
            other = item.to_cell(_value(item, rng.random(), rng))
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
