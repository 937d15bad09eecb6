"""The self-assessment returns (SOURCES.md §4) loaded from a drop folder into PostgreSQL:
clean returns load completely and reconcile, messy ones (the simulator's and hand-made bad files)
are quarantined record by record with their own reason while the good rows load, and loading the
same files again adds nothing.

The kinds of bad records and bad spreadsheets covered (each a kind of
``govkpi.load.assessments.KINDS``, the prefix of its quarantine reason), in
:func:`test_each_bad_input_is_quarantined_with_its_reason`:

Bad rows (the row is quarantined, naming file, sheet, row, column and item; the file loads):
 1. value out of range — a percent above 100 (``out_of_range``)
 2. value out of range — a negative count (``out_of_range``)
 3. text in a numeric item, "khoảng 40" (``non_numeric``), also in a CSV
 4. a fraction in an integer item (``not_whole_number``)
 5. an invalid boolean, "x" for co/khong (``invalid_value``)
 6. an invalid enum value (``invalid_value``)
 7. an empty value (``empty_value``)
 8. an unknown item code, "HT-99" (``unknown_item``)
 9. an item of the list the unit's level does not report — a district item in a department's
    return (``item_not_applicable``)
10. a duplicate item row (``duplicate_item``)
11. a value without an item code (``missing_item_code``)
Bad files, one file-level record (the file's good rows still load):
12. a missing required item (``missing_item``)
13. a wrong unit code in the info sheet (``wrong_unit_code``)
14. a wrong year in the info sheet (``wrong_year``)
15. an XLSX without the info sheet (``bad_info_sheet``)
Bad files, rejected as one record (nothing of them loads):
16. an unknown unit code in the file name (``unknown_unit``)
17. a unit that does not report — a commune (``unit_not_reporting``)
18. a unit that did not exist in the year (``unit_not_valid``)
19. a year folder that is not a year, and a file outside any year folder (``bad_year_folder``)
20. a file that is not .xlsx/.csv (``unsupported_file_type``)
21. the same unit twice, .xlsx and .csv (``duplicate_file``)
22. an empty file, 0 bytes (``empty_file``)
23. a corrupt (truncated) XLSX (``corrupt_file``)
24. a CSV that is not UTF-8 (Windows-1258) (``not_utf8``)
25. a CSV with a wrong header (semicolon-separated) (``wrong_header``)
26. an XLSX without the tu_danh_gia sheet (``missing_return_sheet``)
27. a return with a header and no rows (``empty_return``)
Plus every problem kind of the simulator's mess injector (XLSX and CSV), matched one to one
against its manifest.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from govkpi.assessment_items import items_for, load_items
from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.load import assessments
from govkpi.load.assessments import (
    KINDS,
    REJECTING_KINDS,
    AssessmentLoadError,
    load_returns,
)
from govkpi.simulator import OneStopServer, generate_world
from govkpi.simulator.assessments import (
    HEADER,
    INFO_HEADER,
    INFO_SHEET,
    RETURN_SHEET,
    generate_returns,
    reporting_units,
)
from tests.helpers import query

SEED = 7
MISSING_2017 = "000.00.20.H08"  # the simulator's non-submitting department of 2017


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=2017, dossiers=50)


@pytest.fixture(scope="module")
def wh(fresh_warehouse_module, world):
    """A warehouse with the one-stop units loaded (what a return is checked against)."""
    with OneStopServer(world) as srv:
        extract_onestop(fresh_warehouse_module,
                        OneStopSettings(srv.url, srv.client_id, srv.client_secret),
                        endpoints=("donvi",), mode="full")
    return fresh_warehouse_module


def table_counts(wh) -> dict[str, int]:
    return {t: query(wh, f"select count(*) from {t}")[0][0] for t in (
        "raw_files.assessment_returns", "audit.quarantine", "raw_files.assessment_files")}


def batch_quarantine(wh, batch_id) -> list[tuple[str, str, dict]]:
    return query(wh, "select record_key, reason, payload from audit.quarantine where "
                     "batch_id = %s order by quarantine_id", (batch_id,))


def assert_batch_reconciles(wh, result) -> None:
    assert result.received == result.loaded + result.quarantined
    assert query(wh, "select source_system, endpoint, status, received_count, loaded_count,"
                     " quarantined_count from audit.load_batch where batch_id = %s",
                 (result.batch_id,)) == [("files", "assessment_returns", "succeeded",
                                          result.received, result.loaded, result.quarantined)]
    assert query(wh, "select count(*) from raw_files.assessment_returns where batch_id = %s",
                 (result.batch_id,)) == [(result.loaded,)]
    assert len(batch_quarantine(wh, result.batch_id)) == result.quarantined


# ------------------------------------------------------------------------------ clean


def test_clean_returns_load_completely_and_reload_adds_nothing(wh, world, tmp_path):
    batch = generate_returns(world, 2017, tmp_path, SEED, mess_rate=0)
    assert batch.missing == [MISSING_2017]
    result = load_returns(wh, tmp_path)
    assert_batch_reconciles(wh, result)
    units = {u.code: u for u in reporting_units(world, 2017)}
    expected = {f"2017/{code}/{item.code}" for code, u in units.items() if code != MISSING_2017
                for item in items_for(2017, u.level)}
    assert result.quarantined == 0, [p.reason for p in result.problems]
    assert result.received == result.loaded == len(expected)
    keys = [k for (k,) in query(wh, "select record_key from raw_files.assessment_returns "
                                    "where batch_id = %s", (result.batch_id,))]
    assert sorted(keys) == sorted(expected)  # every item of every return, once
    assert {f.status for f in result.files if f.path} == {"loaded"}
    assert len(result.by_status("loaded")) == len(units) - 1

    # the payload: typed values as the item list parses them, where they came from
    wb = openpyxl.load_workbook(tmp_path / "2017" / "000.00.01.H08.xlsx", read_only=True)
    sheet_rows = list(wb[RETURN_SHEET].iter_rows(values_only=True))
    wb.close()
    by_code = {item.code: item for item in load_items()}
    code, value, evidence = sheet_rows[3]
    (payload,) = query(wh, "select payload from raw_files.assessment_returns where "
                           "record_key = %s", (f"2017/000.00.01.H08/{code}",))[0]
    assert payload == {"ma_don_vi": "000.00.01.H08", "nam": 2017, "ma_tieu_chi": code,
                       "gia_tri": by_code[code].check(value), "minh_chung": evidence,
                       "file": "2017/000.00.01.H08.xlsx", "sheet": RETURN_SHEET, "row": 4,
                       "file_sha256": result.files[0].sha256}
    types = dict(query(wh, "select payload->>'ma_tieu_chi', jsonb_typeof(payload->'gia_tri') "
                           "from raw_files.assessment_returns where record_key like %s",
                       ("2017/000.00.01.H08/%",)))
    assert types["HT-03"] == "boolean"
    assert types["HT-01"] == "number"
    assert types["DV-01"] == "string"

    # who submitted: the missing department is visible, with no rows
    assert query(wh, "select count(*) from raw_files.assessment_returns where "
                     "payload->>'ma_don_vi' = %s", (MISSING_2017,)) == [(0,)]
    assert result.not_submitted[2017] == [MISSING_2017]
    assert query(wh, "select status, path, sha256 from raw_files.assessment_file_status "
                     "where year = 2017 and unit_code = %s", (MISSING_2017,)) == [
        ("not_submitted", None, None)]
    statuses = Counter(s for (s,) in query(wh, "select status from "
                                               "raw_files.assessment_file_status where "
                                               "year = 2017"))
    assert statuses == {"loaded": len(units) - 1, "not_submitted": 1}

    # the same files again: skipped by content hash, nothing added anywhere downstream
    before = table_counts(wh)
    other_year = load_returns(wh, tmp_path, years=[2099])
    assert (other_year.files, other_year.not_submitted) == ([], {})
    again = load_returns(wh, tmp_path)
    assert sorted(again.unchanged) == sorted(f"2017/{p.name}" for p in batch)
    assert (again.received, again.loaded, again.quarantined) == (0, 0, 0)
    assert table_counts(wh) == before
    assert_batch_reconciles(wh, again)


# ------------------------------------------------------------------------------ simulator mess

# the simulator's problem kind → the loader's kind (a corrupt CSV is garbled bytes: not UTF-8)
SIM_KINDS = {"corrupt_file": {"xlsx": "corrupt_file", "csv": "not_utf8"}}


@pytest.mark.parametrize(("fmt", "year"), [("xlsx", 2018), ("csv", 2019)])
def test_simulator_mess_is_quarantined_one_to_one(wh, world, tmp_path, fmt, year):
    batch = generate_returns(world, year, tmp_path, SEED, mess_rate=0.06, fmt=fmt)
    made = Counter()
    for entry in batch.manifest:
        name = f"{year}/{entry['path'].name}"
        for p in entry["problems"]:
            kind = SIM_KINDS.get(p["kind"], {}).get(fmt, p["kind"])
            row = p["row"] if p.get("sheet") == RETURN_SHEET else None
            made[(kind, name, row, p["item"] if p["kind"] != "corrupt_file" else None)] += 1
    assert len({k for k, _, _, _ in made}) >= 5, made  # a real mix of problems
    result = load_returns(wh, tmp_path)
    assert_batch_reconciles(wh, result)
    found = Counter((p.kind, p.file, p.row if p.sheet != INFO_SHEET else None, p.item)
                    for p in result.problems)
    assert found == made
    # each reason names the file, row and column; the good rows of the same files load
    for key, reason, payload in batch_quarantine(wh, result.batch_id):
        assert reason.startswith(f"{payload['kind']}: {payload['file']}"), reason
        if payload.get("row") and payload.get("sheet") != INFO_SHEET:
            assert f"row {payload['row']}, column " in reason
            assert key.startswith(f"{year}/")
    rejected = {p.file for p in result.problems if p.kind in REJECTING_KINDS}
    assert len(rejected) == 1  # the one corrupt file of the batch
    bad_rows = {(p.file, p.row) for p in result.problems if p.kind in assessments.ROW_KINDS}
    assert bad_rows
    loaded = query(wh, "select payload->>'file', (payload->>'row')::int from "
                       "raw_files.assessment_returns where batch_id = %s", (result.batch_id,))
    assert not set(loaded) & bad_rows
    expected_good = sum(f.rows_received for f in result.files) - sum(
        1 for p in result.problems if p.kind in assessments.ROW_KINDS)
    assert len(loaded) == result.loaded == expected_good
    assert {f for f, _ in loaded} == {f.path for f in result.files
                                      if f.status in ("loaded", "loaded_with_errors")}
    # the file table tells loaded / loaded with errors / rejected apart
    status = dict(query(wh, "select path, status from raw_files.assessment_files where "
                            "batch_id = %s and path is not null", (result.batch_id,)))
    for entry in batch.manifest:
        name = f"{year}/{entry['path'].name}"
        kinds = {p["kind"] for p in entry["problems"]}
        assert status[name] == ("rejected" if "corrupt_file" in kinds else
                                "loaded_with_errors" if kinds else "loaded"), name
    before = table_counts(wh)
    assert load_returns(wh, tmp_path).loaded == 0
    assert table_counts(wh) == before


# ------------------------------------------------------------------------------ hand-made bad files


def read_return(path: Path) -> list[list]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in wb[RETURN_SHEET].iter_rows(values_only=True)][1:]
    wb.close()
    return rows


def write_xlsx(path: Path, rows, info=None, *, return_sheet=RETURN_SHEET, header=HEADER):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = return_sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    if info is not None:
        sheet = wb.create_sheet(INFO_SHEET)
        sheet.append(INFO_HEADER)
        sheet.append(info)
    wb.save(path)


def csv_bytes(rows, header=HEADER, *, encoding="utf-8-sig", delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode(encoding)


def set_value(rows: list[list], code: str, value) -> int:
    """Replace the value of item ``code``; its sheet row number."""
    for index, row in enumerate(rows):
        if row[0] == code:
            row[1] = value
            return index + 2
    raise KeyError(code)


def test_each_bad_input_is_quarantined_with_its_reason(wh, world, tmp_path):
    year = 2020
    drop = tmp_path
    generate_returns(world, year, drop, SEED, mess_rate=0, missing_units=())
    folder = drop / str(year)
    departments = [u for u in reporting_units(world, year) if u.level == 2]
    district = next(u for u in reporting_units(world, year) if u.level == 3)
    commune = next(u for u in world.units if u.level == 4)
    d = [u.code for u in departments]
    expected: list[tuple] = []  # (kind, file, row, column, item, a fragment of the detail)

    # 1–11: bad rows, all in one department's return (its other rows load)
    f1 = f"{year}/{d[0]}.xlsx"
    rows = read_return(folder / f"{d[0]}.xlsx")
    row_cases = [
        ("out_of_range", "HT-01", 150, "above the maximum 100 %"),  # percent above 100
        ("out_of_range", "TT-03", -3, "below the minimum 0"),  # negative count
        ("non_numeric", "HT-02", "khoảng 40", "is not a number"),
        ("not_whole_number", "UD-03", 12.5, "not a whole number"),
        ("invalid_value", "HT-03", "x", "is not co/khong"),  # boolean
        ("invalid_value", "DV-01", "chưa rõ", "is not one of"),  # enum
        ("empty_value", "NL-03", None, "empty value"),
    ]
    for kind, code, value, fragment in row_cases:
        row = set_value(rows, code, value)
        expected.append((kind, f1, row, "B (gia_tri)", code, fragment))
    n = len(rows) + 1
    rows += [["HT-99", 5, None], ["HT-06", 80, None], [rows[4][0], rows[4][1], None],
             [None, 7, "ghi chú"]]
    expected += [
        ("unknown_item", f1, n + 1, "A (ma_tieu_chi)", "HT-99", "not an item of the list"),
        ("item_not_applicable", f1, n + 2, "A (ma_tieu_chi)", "HT-06",
         "reported by districts only"),
        ("duplicate_item", f1, n + 3, "A (ma_tieu_chi)", rows[4][0],
         "row 6 is the one considered"),
        ("missing_item_code", f1, n + 4, "A (ma_tieu_chi)", None, "no item code"),
    ]
    write_xlsx(folder / f"{d[0]}.xlsx", rows, (d[0], "Sở", year))

    # 3 again, in a CSV: a CSV names row and column, no sheet
    rows = read_return(folder / f"{d[1]}.xlsx")
    row = set_value(rows, "UD-01", "N/A")
    (folder / f"{d[1]}.xlsx").unlink()
    (folder / f"{d[1]}.csv").write_bytes(csv_bytes(rows))
    expected.append(("non_numeric", f"{year}/{d[1]}.csv", row, "B (gia_tri)", "UD-01",
                     "'N/A' is not a number"))

    # 12–15: file-level problems; the rest of the file loads
    rows = read_return(folder / f"{d[2]}.xlsx")
    gone = rows.pop(5)[0]
    write_xlsx(folder / f"{d[2]}.xlsx", rows, (d[2], "Sở", year))
    expected.append(("missing_item", f"{year}/{d[2]}.xlsx", None, None, gone,
                     f"no row for the required item {gone}"))
    write_xlsx(folder / f"{d[3]}.xlsx", read_return(folder / f"{d[3]}.xlsx"),
               ("000.00.00.H08", "UBND tỉnh", year))
    expected.append(("wrong_unit_code", f"{year}/{d[3]}.xlsx", 2, "A (ma_don_vi)", None,
                     "ma_don_vi is '000.00.00.H08'"))
    write_xlsx(folder / f"{d[4]}.xlsx", read_return(folder / f"{d[4]}.xlsx"),
               (d[4], "Sở", year - 1))
    expected.append(("wrong_year", f"{year}/{d[4]}.xlsx", 2, "C (nam)", None,
                     f"nam is '{year - 1}', the folder is {year}"))
    write_xlsx(folder / f"{d[5]}.xlsx", read_return(folder / f"{d[5]}.xlsx"), None)
    expected.append(("bad_info_sheet", f"{year}/{d[5]}.xlsx", None, None, None,
                     "no sheet 'thong_tin'"))
    partly = {f"{year}/{d[i]}.xlsx" for i in (2, 3, 4, 5)} | {f1, f"{year}/{d[1]}.csv"}

    # 16–27: rejected files
    clean = (folder / f"{district.code}.xlsx").read_bytes()
    rejected = [
        ("unknown_unit", f"{year}/000.00.99.H08.xlsx", clean, "not the code of a known unit"),
        ("unit_not_reporting", f"{year}/{commune.code}.xlsx", clean, "is of level 4"),
        ("unit_not_valid", f"2014/{d[0]}.xlsx", clean, "did not exist in 2014"),
        ("bad_year_folder", f"nam_2020/{d[0]}.xlsx", clean, "folder 'nam_2020' is not a year"),
        ("bad_year_folder", f"{d[0]}.xlsx", clean, "must be in a folder named by its year"),
        ("unsupported_file_type", f"{year}/{d[6]}.xls", clean, "'.xls' is not a return"),
        ("duplicate_file", f"{year}/{d[7]}.csv", csv_bytes([["HT-01", 50, ""]]),
         f"{year}/{d[7]}.xlsx is the one loaded"),
        ("empty_file", f"{year}/{d[8]}.xlsx", b"", "0 bytes"),
        ("corrupt_file", f"{year}/{d[9]}.xlsx",
         (folder / f"{d[9]}.xlsx").read_bytes()[:3000], "not a readable XLSX"),
        ("not_utf8", f"{year}/{d[10]}.csv",
         csv_bytes([["HT-01", 50, "Báo cáo năm 2020"]], encoding="cp1258"),
         "not UTF-8"),
        ("wrong_header", f"{year}/{d[11]}.csv", csv_bytes([["HT-01", 50, ""]], delimiter=";"),
         "semicolon-separated"),
        ("missing_return_sheet", f"{year}/{d[12]}.xlsx", None, "no sheet 'tu_danh_gia'"),
        ("empty_return", f"{year}/{d[13]}.xlsx", None, "no item rows"),
    ]
    for i in (9, 10, 11, 12, 13):
        (folder / f"{d[i]}.xlsx").unlink()
    write_xlsx(folder / f"{d[12]}.xlsx", read_return(folder / f"{d[14]}.xlsx"),
               (d[12], "Sở", year), return_sheet="Sheet1")
    write_xlsx(folder / f"{d[13]}.xlsx", [], (d[13], "Sở", year))
    for _, name, data, _ in rejected:
        if data is not None:
            (drop / name).parent.mkdir(exist_ok=True)
            (drop / name).write_bytes(data)
    (folder / "~$lock.xlsx").write_bytes(b"owner")  # Excel's lock file: not a return
    expected += [(kind, name, None, None, None, fragment)
                 for kind, name, _, fragment in rejected]

    # the list in the module docstring covers every kind the loader knows (but a file the
    # loader may not read: the tests run as root, who reads everything)
    assert {e[0] for e in expected} == set(KINDS) - {"unreadable_file"}
    assert len({e[0] for e in expected}) >= 15

    result = load_returns(wh, drop)
    assert_batch_reconciles(wh, result)
    found = {(p.kind, p.file, p.row, p.column, p.item): p for p in result.problems}
    assert len(found) == len(result.problems) == len(expected)
    for kind, name, row, column, item, fragment in expected:
        p = found.get((kind, name, row, column, item))
        assert p is not None, (kind, name, row, column, item, sorted(found))
        assert fragment in p.detail, (p.reason, fragment)
        # the stored reason names kind, file, row, column and item
        assert p.reason.startswith(f"{kind}: {name}")
        for part in (f"row {row}" if row else None, f"column {column}" if column else None,
                     f"item {item}" if item else None):
            assert part is None or part in p.reason, (part, p.reason)
    stored = {reason for _, reason, _ in batch_quarantine(wh, result.batch_id)}
    assert stored == {p.reason for p in result.problems}

    files = {f.path: f for f in result.files if f.path}
    assert "~$lock.xlsx" not in str(sorted(files))
    for _, name, *_ in rejected:
        assert files[name].status == "rejected", name
        assert files[name].rows_loaded == 0
    # the good rows of the partly bad files load; the untouched files load completely
    loaded_by_file = Counter(f for (f,) in query(
        wh, "select payload->>'file' from raw_files.assessment_returns where batch_id = %s",
        (result.batch_id,)))
    n_items = len(items_for(year, 2))
    assert loaded_by_file[f1] == n_items - len(row_cases)
    assert loaded_by_file[f"{year}/{d[1]}.csv"] == n_items - 1
    assert loaded_by_file[f"{year}/{d[2]}.xlsx"] == n_items - 1
    for i in (3, 4, 5):
        assert loaded_by_file[f"{year}/{d[i]}.xlsx"] == n_items
    for name in partly:
        assert files[name].status == "loaded_with_errors", name
    assert files[f"{year}/{district.code}.xlsx"].status == "loaded"
    assert loaded_by_file[f"{year}/{district.code}.xlsx"] == len(items_for(year, 3))
    assert loaded_by_file[f"{year}/{d[7]}.xlsx"] == n_items  # the duplicate's xlsx loads
    assert set(loaded_by_file) <= {f for f, r in files.items()
                                   if r.status in ("loaded", "loaded_with_errors")}
    # a missing item leaves the unit assessed; a rejected file means not assessed
    assert query(wh, "select status from raw_files.assessment_file_status where year = %s "
                     "and unit_code = %s", (year, d[2])) == [("loaded_with_errors",)]
    assert query(wh, "select status from raw_files.assessment_file_status where year = %s "
                     "and unit_code = %s", (year, d[9])) == [("rejected",)]
    assert result.not_submitted[year] == []  # everyone sent something
    assert result.not_submitted[2014] == []  # no unit existed yet

    # again: nothing new; then one corrected file: only it loads
    before = table_counts(wh)
    again = load_returns(wh, drop)
    assert (again.received, again.quarantined) == (0, 0)
    assert len(again.unchanged) == len(files)
    assert table_counts(wh) == before
    write_xlsx(folder / f"{d[2]}.xlsx", read_return(folder / f"{d[14]}.xlsx"),
               (d[2], "Sở", year))
    fixed = load_returns(wh, drop)
    assert [f.path for f in fixed.files if f.status != "unchanged"] == [f"{year}/{d[2]}.xlsx"]
    assert (fixed.loaded, fixed.quarantined) == (n_items, 0)
    assert query(wh, "select status from raw_files.assessment_file_status where year = %s "
                     "and unit_code = %s", (year, d[2])) == [("loaded",)]


def test_returns_need_the_units_first(fresh_warehouse, tmp_path):
    (tmp_path / "2017").mkdir()
    with pytest.raises(AssessmentLoadError, match="load the one-stop units first"):
        load_returns(fresh_warehouse, tmp_path)
    assert query(fresh_warehouse, "select status, error like '%%units first%%' from "
                                  "audit.load_batch") == [("failed", True)]
