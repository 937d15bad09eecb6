"""Load the yearly self-assessment returns (SOURCES.md §4) into ``raw_files``.

A drop folder holds ``<drop>/<year>/<unit code>.xlsx`` (or ``.csv``, Excel's "CSV UTF-8"): one
return per department (CapDonVi 2) and district (CapDonVi 3) and year. :func:`load_returns`
reads every return, checks it against the item list (``assessment_items.yaml``, through
:meth:`~govkpi.assessment_items.Item.check`, the one parser of a cell) for the year and the
unit's level, and lands in one transaction (one ``audit.load_batch`` of source system ``files``,
endpoint ``assessment_returns``):

- ``raw_files.assessment_returns``: one row per good item row, the same shape as every raw
  table (``record_key`` = ``<year>/<unit>/<item>``, ``source_updated_at`` = when this content of
  the file was first seen, ``payload`` = ``{ma_don_vi, nam, ma_tieu_chi, gia_tri (typed),
  minh_chung, file, sheet, row, file_sha256}``, ``batch_id``, ``loaded_at``);
- ``audit.quarantine``: every bad row and every file-level problem, with a reason that starts
  with its kind (:data:`KINDS`) and names the file, sheet, row, column and item it is about;
- ``raw_files.assessment_files``: one row per file read (path, unit, year, sha256, status
  ``loaded`` / ``loaded_with_errors`` / ``rejected``, counts) and one ``not_submitted`` row per
  unit expected for a year that has never sent a file for it, so an analyst sees who submitted.

Counts reconcile: ``received`` = item rows read + file-level records (a rejected file, a missing
item, an info-sheet mismatch) = ``loaded + quarantined``.

Decisions
---------
- **The path is authoritative** for the unit and year: the provincial office files each return
  under the unit's code and year when it receives it. An info sheet (``thong_tin``) that names
  another unit or year is quarantined as a file-level record (``wrong_unit_code``,
  ``wrong_year``); the file's good rows still load under the path's unit and year.
- **A missing required item** is one quarantined file-level record (``missing_item``, keyed
  ``<year>/<unit>/<item>``); the rest of the file loads and the file is ``loaded_with_errors``.
  The unit *is assessed*: only that item has no value, and the ranking scores it as unanswered.
  A unit is *not assessed* for a year when it has no file (``not_submitted``) or its file was
  ``rejected`` (no row loaded) — read ``raw_files.assessment_file_status``.
- **A duplicated item**: the first row of the item (in form order) is the one considered; every
  later row of the same code is quarantined (``duplicate_item``, naming the first row).
- **Idempotency**: each file's (path, sha256) is recorded; a file whose exact content was
  already processed is skipped (``status`` ``unchanged`` in the result, nothing written), so
  loading the same files again adds no raw, quarantine or file rows. A corrected file (new
  content) loads again under a later ``source_updated_at``; downstream takes, per (year, unit),
  the rows of the latest file (``payload->>'file_sha256'`` =
  ``assessment_file_status.sha256``). ``force=True`` re-reads unchanged files (after a fix of
  the item list or of the units).
- **Privacy**: only the three columns of the contract are read (``ma_tieu_chi``, ``gia_tri``,
  ``minh_chung``; evidence is free text naming documents, not people, by design); a return sheet
  with any other column is rejected (``wrong_header``) rather than partly read.
- Hidden files and Excel lock files (``~$…``) are not returns: ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkpi.assessment_items import DEFAULT_PATH, LEVEL_KEYS, Item, load_items
from govkpi.errors import GovkpiError
from govkpi.load.raw import RAW_COLUMNS, RAW_TYPES, _json_text, ensure_schema
from govkpi.warehouse import Warehouse

log = logging.getLogger(__name__)

SOURCE_SYSTEM = "files"
ENDPOINT = "assessment_returns"
RETURN_SHEET = "tu_danh_gia"
INFO_SHEET = "thong_tin"
HEADER = ("ma_tieu_chi", "gia_tri", "minh_chung")
INFO_HEADER = ("ma_don_vi", "ten_don_vi", "nam")
FORMATS = {".xlsx": "xlsx", ".csv": "csv"}
COLUMNS = {"ma_tieu_chi": "A", "gia_tri": "B", "minh_chung": "C"}
YEAR_RE = re.compile(r"^(19|20)\d{2}$")
MAX_CELL_TEXT = 500  # a quarantined cell is kept up to this many characters

# file statuses in raw_files.assessment_files (and "unchanged" in a result only: nothing written)
LOADED, LOADED_WITH_ERRORS, REJECTED, NOT_SUBMITTED, UNCHANGED = (
    "loaded", "loaded_with_errors", "rejected", "not_submitted", "unchanged")

# Every reason a record or a file is quarantined: the reason text starts with "<kind>: ".
KINDS: dict[str, str] = {
    # a row of the return sheet (quarantined; the file's other rows load)
    "out_of_range": "a number outside the item's min–max (a percent above 100, a negative count)",
    "non_numeric": "text that is not a number in an integer/decimal/percent item",
    "not_whole_number": "a fraction in an integer item",
    "invalid_value": "a boolean that is not co/khong, an enum value not in the item's list",
    "empty_value": "an item row without a value",
    "unknown_item": "an item code that is not in the item list",
    "item_not_applicable": "an item of the list that this unit's level or this year does not "
                           "report",
    "duplicate_item": "a second row for the same item code",
    "missing_item_code": "a row with a value but no item code",
    # the file (quarantined as one record; the file's good rows still load)
    "missing_item": "a required item has no row",
    "wrong_unit_code": "the info sheet's ma_don_vi is not the unit of the file name",
    "wrong_year": "the info sheet's nam is not the year of the folder",
    "bad_info_sheet": "the info sheet is missing, has the wrong header or no data row",
    # the whole file is rejected (one record; nothing of it loads)
    "unknown_unit": "the file name is not the code of a known unit",
    "unit_not_reporting": "the unit's level does not report (province, commune)",
    "unit_not_valid": "the unit did not exist during the year",
    "bad_year_folder": "the file is not in a folder named by a year",
    "unsupported_file_type": "not .xlsx or .csv (an .xls, .pdf, …)",
    "duplicate_file": "a second return of the unit for the year (.xlsx and .csv)",
    "empty_file": "a file of zero bytes",
    "unreadable_file": "the file cannot be read from the drop folder",
    "corrupt_file": "not a readable XLSX (truncated upload, not a zip) or a broken CSV",
    "not_utf8": "a CSV that is not UTF-8 (e.g. saved as Windows-1258)",
    "missing_return_sheet": "an XLSX without the tu_danh_gia sheet",
    "wrong_header": "the return sheet's header is not exactly ma_tieu_chi, gia_tri, minh_chung",
    "empty_return": "a header but no item rows",
}
ROW_KINDS = ("out_of_range", "non_numeric", "not_whole_number", "invalid_value", "empty_value",
             "unknown_item", "item_not_applicable", "duplicate_item", "missing_item_code")
FILE_KINDS = ("missing_item", "wrong_unit_code", "wrong_year", "bad_info_sheet")
REJECTING_KINDS = tuple(k for k in KINDS if k not in ROW_KINDS and k not in FILE_KINDS)


class AssessmentLoadError(GovkpiError):
    """The returns cannot be checked at all (e.g. no units loaded yet)."""


@dataclass
class Problem:
    """One quarantined record: a bad row or a file-level problem."""

    kind: str
    file: str  # path relative to the drop folder
    detail: str
    record_key: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None  # "B (gia_tri)"
    item: str | None = None
    cells: dict[str, Any] | None = None  # the row's three cells as read (quarantine payload)

    @property
    def reason(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        if self.item:
            where.append(f"item {self.item}")
        return f"{self.kind}: {', '.join(where)}: {self.detail}"


@dataclass
class FileResult:
    path: str  # relative to the drop folder ("" for a not-submitted unit)
    unit_code: str | None
    year: int | None
    format: str | None
    status: str  # loaded | loaded_with_errors | rejected | unchanged | not_submitted
    sha256: str | None = None
    size: int | None = None
    modified_at: dt.datetime | None = None
    rows_received: int = 0
    rows_loaded: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def received(self) -> int:
        """Records of the batch: item rows read + file-level records."""
        return self.rows_received + sum(1 for p in self.problems if p.kind not in ROW_KINDS)


@dataclass
class ReturnsResult:
    batch_id: int | None
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    files: list[FileResult] = field(default_factory=list)
    not_submitted: dict[int, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def unchanged(self) -> list[str]:
        """Files skipped because their exact content was already loaded."""
        return [f.path for f in self.files if f.status == UNCHANGED]

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    def summary(self) -> str:
        counts = {s: len(self.by_status(s)) for s in
                  (LOADED, LOADED_WITH_ERRORS, REJECTED, UNCHANGED)}
        missing = sum(len(v) for v in self.not_submitted.values())
        return (f"{SOURCE_SYSTEM}.{ENDPOINT} batch {self.batch_id}: received {self.received}, "
                f"loaded {self.loaded}, quarantined {self.quarantined}; files "
                + ", ".join(f"{n} {s}" for s, n in counts.items())
                + f"; {missing} units not submitted; {self.seconds:.1f}s")


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    level: int
    valid_from: dt.date | None
    valid_to: dt.date | None

    def valid_in(self, year: int) -> bool:
        return ((self.valid_from is None or self.valid_from <= dt.date(year, 12, 31))
                and (self.valid_to is None or self.valid_to >= dt.date(year, 1, 1)))


class _Reject(Exception):
    """Control flow: the whole file is rejected with this kind and detail."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


# ------------------------------------------------------------------------------ public API


def load_returns(wh: Warehouse, drop_dir: Path | str, *, years: Iterable[int] | None = None,
                 methodology_items: Path | str | Sequence[Item] | None = None,
                 force: bool = False) -> ReturnsResult:
    """Load the returns under ``drop_dir`` as one batch; return what happened to each file.

    ``years``: only these year folders (default: every folder; a folder whose name is not a
    year is then reported, its files rejected). ``methodology_items``: the item list (a YAML
    path or the items themselves; default ``assessment_items.yaml``). ``force``: re-read files
    whose content was already loaded. The one-stop units (``raw_onestop.donvi``) must be loaded
    first: they say which unit codes exist, their level and validity.
    """
    started = time.perf_counter()
    drop = Path(drop_dir)
    if not drop.is_dir():
        raise AssessmentLoadError(f"assessment drop folder {drop} does not exist")
    items = _items(methodology_items)
    wanted = None if years is None else {int(y) for y in years}
    with wh.connect() as conn:
        ensure_schema(conn)
        conn.commit()
        try:
            result = _load(conn, drop, items, wanted, force, started)
        except BaseException as exc:
            conn.rollback()
            _record_failure(conn, exc, started)
            raise
    log.info(result.summary())
    return result


def _items(spec: Path | str | Sequence[Item] | None) -> list[Item]:
    if spec is None:
        return load_items(DEFAULT_PATH)
    if isinstance(spec, str | Path):
        return load_items(spec)
    return list(spec)


def _record_failure(conn, exc: BaseException, started: float) -> None:
    try:
        conn.execute(
            "insert into audit.load_batch (source_system, endpoint, status, finished_at, error,"
            " seconds) values (%s, %s, 'failed', now(), %s, %s)",
            (SOURCE_SYSTEM, ENDPOINT, f"{type(exc).__name__}: {exc}"[:2000],
             round(time.perf_counter() - started, 3)))
        conn.commit()
    except Exception:  # the connection itself is gone: the original error matters more
        log.exception("could not record the failed assessment batch")


def _load(conn, drop: Path, items: list[Item], wanted: set[int] | None, force: bool,
          started: float) -> ReturnsResult:
    # one loader of returns at a time: the second waits, then sees the first one's files
    conn.execute("select pg_advisory_xact_lock(hashtext('govkpi.files.assessment_returns'))")
    units = _units(conn)
    known = set() if force else {
        (path, sha) for path, sha in conn.execute(
            "select path, sha256 from raw_files.assessment_files where sha256 is not null")}
    # (year, unit) that already have a row: a file, or the record that nothing came
    recorded = set(conn.execute(
        "select distinct year, unit_code from raw_files.assessment_files"
        " where unit_code is not null and year is not null"))
    first_seen = conn.execute("select now()").fetchone()[0]

    files, year_dirs = _scan(drop, wanted)
    results: list[FileResult] = []
    good: list[tuple[str, dict[str, Any]]] = []
    for rel, year, path, pre in files:
        fr, rows = _process(drop, rel, year, path, pre, units, items, known)
        results.append(fr)
        good.extend(rows)

    not_submitted: dict[int, list[str]] = {}
    for year in year_dirs:
        present = {f.unit_code for f in results if f.year == year}
        expected = [u for u in units.values()
                    if u.level in LEVEL_KEYS and u.valid_in(year) and u.code not in present]
        codes = sorted(u.code for u in expected)
        not_submitted[year] = codes
        for code in codes:
            if (year, code) not in recorded:  # recorded once: re-runs add nothing
                results.append(FileResult("", code, year, None, NOT_SUBMITTED))

    result = ReturnsResult(None, files=results, not_submitted=not_submitted)
    _write(conn, result, good, first_seen, started)
    return result


# ------------------------------------------------------------------------------ units


def _units(conn) -> dict[str, _Unit]:
    """The latest version of every one-stop unit."""
    rows = conn.execute(
        "select distinct on (record_key) record_key, payload from raw_onestop.donvi"
        " order by record_key, source_updated_at desc nulls last, batch_id desc").fetchall()
    if not rows:
        raise AssessmentLoadError(
            "no units in raw_onestop.donvi: load the one-stop units first (govkpi extract "
            "onestop) — a return is checked against its unit's level and validity")
    units = {}
    for code, p in rows:
        units[code] = _Unit(code, str(p.get("TenDonVi") or ""), int(p.get("CapDonVi") or 0),
                            _date(p.get("HieuLucTu")), _date(p.get("HieuLucDen")))
    return units


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# ------------------------------------------------------------------------------ scanning


def _scan(drop: Path, wanted: set[int] | None
          ) -> tuple[list[tuple[str, int | None, Path, _Reject | None]], list[int]]:
    """(relative path, year, path, a rejection decided from the path alone) per file, and the
    year folders scanned."""
    out: list[tuple[str, int | None, Path, _Reject | None]] = []
    years: list[int] = []
    for entry in sorted(drop.iterdir()):
        if _ignored(entry):
            continue
        if not entry.is_dir():
            if wanted is None:
                out.append((entry.name, None, entry, _Reject(
                    "bad_year_folder", "a return must be in a folder named by its year "
                                       "(<drop>/<year>/<unit code>.xlsx)")))
            continue
        if not YEAR_RE.match(entry.name):
            if wanted is None:
                for path in sorted(p for p in entry.iterdir() if p.is_file()
                                   and not _ignored(p)):
                    out.append((f"{entry.name}/{path.name}", None, path, _Reject(
                        "bad_year_folder", f"folder {entry.name!r} is not a year: a return "
                                           "must be in <drop>/<year>/")))
            continue
        year = int(entry.name)
        if wanted is not None and year not in wanted:
            continue
        years.append(year)
        paths = sorted((p for p in entry.iterdir() if p.is_file() and not _ignored(p)),
                       key=lambda p: (p.stem, p.suffix.lower() != ".xlsx", p.name))
        taken: dict[str, str] = {}
        for path in paths:
            rel = f"{entry.name}/{path.name}"
            pre = None
            if path.suffix.lower() not in FORMATS:
                pre = _Reject("unsupported_file_type",
                              f"{path.suffix or 'no extension'!r} is not a return: send "
                              ".xlsx or .csv (CSV UTF-8)")
            elif path.stem in taken:
                pre = _Reject("duplicate_file", f"a second return of {path.stem} for {year}: "
                                                f"{taken[path.stem]} is the one loaded")
            else:
                taken[path.stem] = rel
            out.append((rel, year, path, pre))
        for sub in sorted(p for p in entry.iterdir() if p.is_dir() and not _ignored(p)):
            log.warning("assessment drop: folder %s/%s ignored (returns are files directly in "
                        "the year folder)", entry.name, sub.name)
    return out, years


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "~$"))


# ------------------------------------------------------------------------------ one file


def _process(drop: Path, rel: str, year: int | None, path: Path, pre: _Reject | None,
             units: dict[str, _Unit], items: list[Item], known: set[tuple[str, str]]
             ) -> tuple[FileResult, list[tuple[str, dict[str, Any]]]]:
    fmt = FORMATS.get(path.suffix.lower())
    code = path.stem.strip().upper()
    fr = FileResult(rel, code if year is not None else None, year, fmt, LOADED)

    def reject(kind: str, detail: str) -> tuple[FileResult, list]:
        fr.status = REJECTED
        fr.problems.append(Problem(kind, rel, detail,
                                   record_key=f"{year}/{code}" if year is not None else rel))
        return fr, []

    try:
        data = path.read_bytes()
        stat = path.stat()
    except OSError as exc:
        return reject("unreadable_file", f"cannot read the file ({exc.strerror or exc})")
    fr.sha256 = hashlib.sha256(data).hexdigest()
    fr.size = len(data)
    fr.modified_at = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
    if (rel, fr.sha256) in known:
        fr.status = UNCHANGED
        return fr, []
    if pre is not None:
        return reject(pre.kind, pre.detail)
    assert year is not None
    unit = units.get(code)
    if unit is None:
        return reject("unknown_unit", f"{code!r} (the file name) is not the code of a known "
                                      "unit (raw_onestop.donvi): name the file <unit code>."
                                      + (fmt or "xlsx"))
    if unit.level not in LEVEL_KEYS:
        return reject("unit_not_reporting", f"{code} {unit.name} is of level {unit.level}: "
                                            "only departments (2) and districts (3) report")
    if not unit.valid_in(year):
        return reject("unit_not_valid", f"{code} {unit.name} did not exist in {year} (valid "
                                        f"{unit.valid_from or '…'} – {unit.valid_to or '…'})")
    if not data:
        return reject("empty_file", "the file is empty (0 bytes)")
    try:
        if fmt == "xlsx":
            rows, info = _read_xlsx(data)
        else:
            rows, info = _read_csv(data), None
    except _Reject as bad:
        return reject(bad.kind, bad.detail)
    if not rows:
        return reject("empty_return", "the return sheet has a header but no item rows")
    sheet = RETURN_SHEET if fmt == "xlsx" else None
    if fmt == "xlsx":
        fr.problems.extend(_check_info(info, rel, unit, year))
    good = _check_rows(rows, fr, rel, sheet, unit, year, items)
    fr.rows_loaded = len(good)
    if fr.problems:
        fr.status = LOADED_WITH_ERRORS
    return fr, good


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _header(row: Sequence[Any]) -> tuple[str, ...]:
    cells = [_cell_text(v).lower() for v in row]
    while cells and not cells[-1]:
        cells.pop()
    return tuple(cells)


def _read_xlsx(data: bytes) -> tuple[list[tuple[int, tuple]], list[tuple] | None]:
    """(row number, (code, value, evidence)) of the return sheet; the info sheet's rows (None
    without an info sheet)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError, ValueError, …: a broken package
        raise _Reject("corrupt_file", f"not a readable XLSX ({type(exc).__name__}: "
                                      f"{str(exc)[:200]})") from exc
    try:
        if RETURN_SHEET not in wb.sheetnames:
            raise _Reject("missing_return_sheet",
                          f"no sheet {RETURN_SHEET!r} (sheets: {', '.join(wb.sheetnames)})")
        try:
            rows = _data_rows(list(wb[RETURN_SHEET].iter_rows(values_only=True)), sheet=True)
            info = (list(wb[INFO_SHEET].iter_rows(values_only=True))
                    if INFO_SHEET in wb.sheetnames else None)
        except _Reject:
            raise
        except Exception as exc:
            raise _Reject("corrupt_file", f"a sheet cannot be read ({type(exc).__name__}: "
                                          f"{str(exc)[:200]})") from exc
        return rows, info
    finally:
        wb.close()


def _read_csv(data: bytes) -> list[tuple[int, tuple]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Reject("not_utf8", f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                                  f"{exc.start}): save it as 'CSV UTF-8 (comma delimited)'"
                      ) from exc
    if "\x00" in text:
        raise _Reject("corrupt_file", "not a readable CSV (NUL bytes: a binary file?)")
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _Reject("corrupt_file", f"not a readable CSV ({exc})") from exc
    if not table:
        raise _Reject("empty_file", "the file holds no header row")
    return _data_rows(table, sheet=False)


def _data_rows(table: list[Sequence[Any]], *, sheet: bool) -> list[tuple[int, tuple]]:
    """Check the header; return (row number, (code, value, evidence)) of the non-blank rows."""
    if not table or not _header(table[0]):
        where = f"sheet {RETURN_SHEET} row 1" if sheet else "row 1"
        raise _Reject("wrong_header", f"{where} is empty: expected {', '.join(HEADER)}")
    header = _header(table[0])
    if header != HEADER:
        hint = ""
        if len(header) == 1 and ";" in header[0]:
            hint = " (semicolon-separated: export as 'CSV UTF-8 (comma delimited)')"
        raise _Reject("wrong_header", f"header is {', '.join(header)!s}: expected exactly "
                                      f"{', '.join(HEADER)}{hint}")
    rows = []
    for number, row in enumerate(table[1:], start=2):
        cells = (*row, None, None, None)[:3]
        if all(_cell_text(v) == "" for v in cells):
            continue  # blank line
        rows.append((number, cells))
    return rows


def _check_info(info: list[tuple] | None, rel: str, unit: _Unit, year: int) -> list[Problem]:
    key = f"{year}/{unit.code}#{INFO_SHEET}"

    def problem(kind: str, detail: str, row: int | None = 2, column: str | None = None):
        return Problem(kind, rel, detail, record_key=key, sheet=INFO_SHEET, row=row,
                       column=column)

    if info is None:
        return [problem("bad_info_sheet", f"no sheet {INFO_SHEET!r}: the unit and year are "
                                          "taken from the file's path", row=None)]
    if not info:
        return [problem("bad_info_sheet", f"the {INFO_SHEET} sheet is empty", row=None)]
    header = _header(info[0])
    if header[:3] != INFO_HEADER:
        return [problem("bad_info_sheet", f"header is {', '.join(header)}: expected "
                                          f"{', '.join(INFO_HEADER)}", row=1)]
    data = [r for r in info[1:] if any(_cell_text(v) for v in r)]
    if not data:
        return [problem("bad_info_sheet", "no data row under the header", row=None)]
    first = (*data[0], None, None, None)[:3]
    out = []
    claimed_code = _cell_text(first[0])
    if claimed_code != unit.code:
        out.append(problem("wrong_unit_code", f"ma_don_vi is {claimed_code or '(empty)'!r}, "
                                              f"the file is {unit.code}'s",
                           column="A (ma_don_vi)"))
    claimed_year = _cell_text(first[2])
    if claimed_year != str(year):
        out.append(problem("wrong_year", f"nam is {claimed_year or '(empty)'!r}, the folder is "
                                         f"{year}", column="C (nam)"))
    return out


def _value_kind(item: Item, message: str) -> str:
    if message == "empty value":
        return "empty_value"
    if item.type in ("boolean", "enum"):
        return "invalid_value"
    if "whole number" in message:
        return "not_whole_number"
    if "minimum" in message or "maximum" in message:
        return "out_of_range"
    return "non_numeric"


def _check_rows(rows: list[tuple[int, tuple]], fr: FileResult, rel: str, sheet: str | None,
                unit: _Unit, year: int, items: list[Item]) -> list[tuple[str, dict[str, Any]]]:
    by_code = {item.code: item for item in items}
    expected = [item for item in items if item.applies_to(year, unit.level)]
    expected_codes = {item.code for item in expected}
    level_name = LEVEL_KEYS[unit.level]
    first_row: dict[str, int] = {}
    good: list[tuple[str, dict[str, Any]]] = []
    fr.rows_received = len(rows)
    for number, (code_cell, value_cell, evidence_cell) in rows:
        code = _cell_text(code_cell).upper()
        evidence = _cell_text(evidence_cell) or None
        cells = {"ma_tieu_chi": _clip(code_cell), "gia_tri": _clip(value_cell),
                 "minh_chung": _clip(evidence_cell)}

        def bad(kind: str, detail: str, column: str, *, _n=number, _code=code, _cells=cells):
            fr.problems.append(Problem(
                kind, rel, detail,
                record_key=f"{year}/{unit.code}/{_code}" if _code
                else f"{year}/{unit.code}/row {_n}",
                sheet=sheet, row=_n, column=f"{COLUMNS[column]} ({column})",
                item=_code or None, cells=_cells))

        if not code:
            bad("missing_item_code", f"a row with a value ({_cell_text(value_cell)!r}) but no "
                                     "item code", "ma_tieu_chi")
            continue
        if code in first_row:
            bad("duplicate_item", f"a second row for {code}; row {first_row[code]} is the one "
                                  "considered", "ma_tieu_chi")
            continue
        first_row[code] = number
        item = by_code.get(code)
        if item is None:
            bad("unknown_item", f"{code!r} is not an item of the list "
                                "(assessment_items.yaml)", "ma_tieu_chi")
            continue
        if code not in expected_codes:
            if level_name not in item.levels:
                why = f"reported by {' and '.join(item.levels)} only, not by {level_name}"
            else:
                why = (f"applies to {item.from_year or '…'}–{item.to_year or '…'}, "
                       f"not to {year}")
            bad("item_not_applicable", f"{code} is {why}", "ma_tieu_chi")
            continue
        try:
            value = item.check(value_cell)
        except ValueError as exc:
            bad(_value_kind(item, str(exc)), f"{exc} ({item.type} item)", "gia_tri")
            continue
        good.append((f"{year}/{unit.code}/{code}", {
            "ma_don_vi": unit.code, "nam": year, "ma_tieu_chi": code, "gia_tri": value,
            "minh_chung": evidence, "file": rel, "sheet": sheet, "row": number,
            "file_sha256": fr.sha256}))
    for item in expected:
        if item.code not in first_row:
            fr.problems.append(Problem(
                "missing_item", rel, f"no row for the required item {item.code} "
                                     f"({item.label_vi})",
                record_key=f"{year}/{unit.code}/{item.code}", item=item.code))
    return good


def _clip(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = _cell_text(value)
    return text if len(text) <= MAX_CELL_TEXT else text[:MAX_CELL_TEXT] + "…"


# ------------------------------------------------------------------------------ writing


def _write(conn, result: ReturnsResult, good: list[tuple[str, dict[str, Any]]],
           first_seen: dt.datetime, started: float) -> None:
    from psycopg import sql
    from psycopg.types.json import set_json_dumps

    set_json_dumps(_json_text, context=conn)
    problems = result.problems
    result.loaded = len(good)
    result.quarantined = len(problems)
    result.received = sum(f.rows_received for f in result.files) + sum(
        1 for p in problems if p.kind not in ROW_KINDS)
    cur = conn.execute(
        "insert into audit.load_batch (source_system, endpoint) values (%s, %s)"
        " returning batch_id", (SOURCE_SYSTEM, ENDPOINT))
    batch_id = result.batch_id = cur.fetchone()[0]
    copy_sql = sql.SQL("copy raw_files.assessment_returns ({}) from stdin (format binary)"
                       ).format(sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS)))
    with conn.cursor() as c, c.copy(copy_sql) as copy:
        copy.set_types(list(RAW_TYPES))
        for key, payload in good:
            copy.write_row((key, first_seen, payload, batch_id))
    with conn.cursor() as c, c.copy(
            "copy audit.quarantine (batch_id, source_system, endpoint, record_key, reason,"
            " payload) from stdin") as copy:
        for f in result.files:
            for p in f.problems:
                copy.write_row((batch_id, SOURCE_SYSTEM, ENDPOINT, p.record_key, p.reason,
                                _json_text(_quarantine_payload(p, f))))
    with conn.cursor() as c, c.copy(
            "copy raw_files.assessment_files (batch_id, path, unit_code, year, format,"
            " sha256, bytes, file_modified_at, first_seen_at, status, rows_received,"
            " rows_loaded, problems, reason) from stdin") as copy:
        for f in result.files:
            if f.status != UNCHANGED:
                copy.write_row((batch_id, f.path or None, f.unit_code, f.year, f.format,
                                f.sha256, f.size, f.modified_at, first_seen, f.status,
                                f.rows_received, f.rows_loaded, len(f.problems),
                                f.problems[0].reason if f.status == REJECTED else None))
    result.seconds = time.perf_counter() - started
    conn.execute(
        "update audit.load_batch set status = 'succeeded', finished_at = now(),"
        " received_count = %s, loaded_count = %s, quarantined_count = %s, seconds = %s"
        " where batch_id = %s",
        (result.received, result.loaded, result.quarantined, round(result.seconds, 3),
         batch_id))
    conn.commit()


def _quarantine_payload(p: Problem, fr: FileResult) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": p.kind, "file": p.file, "file_sha256": fr.sha256,
                           "ma_don_vi": fr.unit_code, "nam": fr.year}
    for name in ("sheet", "row", "column", "item"):
        if getattr(p, name) is not None:
            out[name] = getattr(p, name)
    if p.cells is not None:
        out.update(p.cells)
    return out
