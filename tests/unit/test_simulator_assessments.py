"""Self-assessment items (assessment_items.yaml) and the simulated yearly returns
(SOURCES.md §4): one spreadsheet per department/district, valid when clean, messy on request."""

from __future__ import annotations

import csv
import io
import statistics
import time
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from govkpi.assessment_items import (
    DEFAULT_PATH,
    AssessmentItemsError,
    Item,
    items_for,
    load_catalog,
    load_items,
)
from govkpi.simulator import OneStopWorld, generate_world
from govkpi.simulator.assessments import (
    DEFAULT_MISSING_UNITS,
    HEADER,
    INFO_HEADER,
    INFO_SHEET,
    PROBLEM_KINDS,
    RETURN_SHEET,
    generate_returns,
    reporting_units,
)

GROUPS = ("infrastructure", "internal_operations", "website", "online_services", "security",
          "policy", "staff_investment")
SEED = 42


@pytest.fixture(scope="module")
def world() -> OneStopWorld:
    return generate_world(seed=2017, dossiers=300)


@pytest.fixture(scope="module")
def catalog() -> dict[str, Item]:
    return {item.code: item for item in load_items()}


def read_xlsx(path: Path) -> tuple[list[tuple], list[tuple], list[str]]:
    """(rows of the return sheet incl. header, rows of the info sheet, sheet names)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(wb[RETURN_SHEET].iter_rows(values_only=True))
        info = list(wb[INFO_SHEET].iter_rows(values_only=True))
        return rows, info, wb.sheetnames
    finally:
        wb.close()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


# ------------------------------------------------------------------------------ the item file


def test_item_file_loads_with_the_seven_groups(catalog):
    loaded = load_catalog()
    assert tuple(loaded.groups) == GROUPS
    assert [g.number for g in loaded.groups.values()] == [1, 2, 3, 4, 5, 6, 7]
    assert 25 <= len(catalog) <= 35
    assert {item.group for item in catalog.values()} == set(GROUPS)
    assert {item.type for item in catalog.values()} == {"integer", "decimal", "percent",
                                                         "boolean", "enum"}
    for item in catalog.values():
        assert item.code.split("-")[0] == {
            "infrastructure": "HT", "internal_operations": "UD", "website": "TT",
            "online_services": "DV", "security": "AT", "policy": "CS",
            "staff_investment": "NL"}[item.group]
        assert any(ch in item.label_vi for ch in "ơưăâêôđạảãáàệố"), item.code  # diacritics
        if item.type == "percent":
            assert (item.min, item.max) == (0, 100)
    assert catalog["HT-04"].unit == "Mbps"
    assert catalog["AT-05"].value_codes == ("khong", "thu_cong", "dinh_ky", "tu_dong_ngoai_vi")


def test_items_depend_on_year_and_level():
    dept_2017 = {i.code for i in items_for(2017, 2)}
    dist_2017 = {i.code for i in items_for(2017, "districts")}
    assert dist_2017 - dept_2017 == {"HT-06", "UD-05"}  # communes' connectivity, e-office
    assert "HT-07" not in dept_2017
    assert "HT-07" in {i.code for i in items_for(2018, 2)}
    assert "TT-01" in dept_2017
    assert "TT-02" not in dept_2017
    later = {i.code for i in items_for(2023, 2)}
    assert "TT-02" in later
    assert "TT-01" not in later
    with pytest.raises(ValueError, match="does not report"):
        items_for(2017, 4)


@pytest.mark.parametrize(("code", "cell", "expected"), [
    ("HT-03", "co", True), ("HT-03", " Có ", True), ("HT-03", "khong", False),
    ("HT-03", "KHÔNG", False), ("HT-03", True, True),
    ("HT-01", 85, 85.0), ("HT-01", "85%", 85.0), ("HT-01", "85,5", 85.5), ("HT-01", "0", 0.0),
    ("UD-03", "12", 12), ("UD-03", 12.0, 12), ("HT-04", "12,5", 12.5),
    ("AT-05", "dinh_ky", "dinh_ky"), ("AT-05", " Dinh_ky", "dinh_ky"),
])
def test_check_parses_cells(catalog, code, cell, expected):
    value = catalog[code].check(cell)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("code", "cell", "reason"), [
    ("HT-03", "có (một phần)", "not co/khong"), ("HT-03", 1, "not co/khong"),
    ("HT-03", None, "empty"), ("HT-03", "  ", "empty"),
    ("HT-01", 120, "above the maximum 100"), ("HT-01", -1, "below the minimum 0"),
    ("HT-01", "khoảng 80", "not a number"), ("HT-01", True, "not a number"),
    ("UD-03", 12.5, "not a whole number"), ("UD-03", "1.234.567", "not a number"),
    ("HT-04", "20 Mbps", "not a number"), ("HT-04", float("nan"), "not a number"),
    ("AT-05", "hang_ngay", "not one of khong, thu_cong"),
])
def test_check_rejects_with_a_reason(catalog, code, cell, reason):
    with pytest.raises(ValueError, match=reason):
        catalog[code].check(cell)


@pytest.mark.parametrize(("old", "new", "field"), [
    ("    type: decimal\n    min: 0\n    max: 10000\n",
     "    type: float\n    min: 0\n    max: 10000\n", "type"),
    ("    type: decimal\n    min: 0\n    max: 10000\n",
     "    type: decimal\n    min: 0\n    max: -1\n", "max"),
    ("    unit: Mbps\n", "    unit: Mbps\n    colour: red\n", "colour"),
    ("    label_en: Total Internet bandwidth\n", "", "label_en"),
    ("    levels: [departments, districts]\n    to_year: 2022\n",
     "    levels: [departments, communes]\n    to_year: 2022\n", "levels"),
])
def test_a_broken_item_file_names_file_line_item_and_field(tmp_path, old, new, field):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1
    broken = tmp_path / "items.yaml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(AssessmentItemsError) as info:
        load_catalog(broken)
    message = str(info.value)
    assert message.startswith(f"{broken}:")
    assert int(message.split(":")[1]) > 0  # the line
    assert f"field '{field}'" in message
    assert "items[" in message
    assert "(HT-04)" in message or "(TT-01)" in message


def test_a_duplicate_code_is_an_error(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("code: HT-02", "code: HT-01")
    broken = tmp_path / "items.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(AssessmentItemsError, match=r"items\[1\] \(HT-01\), field 'code': dup"):
        load_catalog(broken)


# ------------------------------------------------------------------------------ the returns


def test_one_file_per_department_and_district(world, tmp_path):
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=(), mess_rate=0)
    expected = {u.code for u in world.units if u.level in (2, 3)}
    assert len(expected) == 32
    assert {p.name for p in batch} == {f"{code}.xlsx" for code in expected}
    assert {p.name for p in (tmp_path / "2017").iterdir()} == {p.name for p in batch}
    assert {u.code for u in reporting_units(world, 2017)} == expected
    assert batch.missing == []


def test_missing_units_leave_no_file(world, tmp_path):
    # default 2017: the seed's one department that did not submit (20 of 21)
    batch = generate_returns(world, 2017, tmp_path, SEED, mess_rate=0)
    (missing,) = DEFAULT_MISSING_UNITS[2017]
    assert batch.missing == [missing]
    assert len(batch) == 31
    assert not (tmp_path / "2017" / f"{missing}.xlsx").exists()
    levels = Counter(u.level for u in world.units if f"{u.code}.xlsx" in {p.name for p in batch})
    assert levels == {2: 20, 3: 11}
    # an explicit list; a stale file from an earlier run is removed
    quy_nhon = "000.00.31.H08"
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=[quy_nhon], mess_rate=0)
    assert not (tmp_path / "2017" / f"{quy_nhon}.xlsx").exists()
    assert len(list((tmp_path / "2017").iterdir())) == len(batch) == 31


def test_header_row_info_sheet_and_clean_values(world, tmp_path, catalog):
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=(), mess_rate=0)
    units = {u.code: u for u in world.units}
    for entry in batch.manifest:
        assert entry["problems"] == []
        path = entry["path"]
        rows, info, sheets = read_xlsx(path)
        assert sheets == [RETURN_SHEET, INFO_SHEET]
        assert rows[0] == HEADER
        unit = units[path.stem]
        assert info == [INFO_HEADER, (unit.code, unit.name, 2017)]
        required = [i.code for i in items_for(2017, unit.level)]
        assert [r[0] for r in rows[1:]] == required  # every item once, in form order
        for code, value, evidence in rows[1:]:
            catalog[code].check(value)  # raises if invalid
            assert evidence is None or isinstance(evidence, str)
    # evidence is Vietnamese text
    rows, _, _ = read_xlsx(batch[0])
    assert any(e and "ngày" in e for _, _, e in rows[1:])


def test_mess_is_injected_and_listed_in_the_manifest(world, tmp_path, catalog):
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=(), mess_rate=0.3)
    kinds = Counter(p["kind"] for e in batch.manifest for p in e["problems"])
    assert set(kinds) == set(PROBLEM_KINDS)
    assert kinds["corrupt_file"] == 1
    for entry in batch.manifest:
        path, problems = entry["path"], entry["problems"]
        if any(p["kind"] == "corrupt_file" for p in problems):
            assert problems[0]["row"] is None
            assert len(problems) == 1
            with pytest.raises(zipfile.BadZipFile):
                openpyxl.load_workbook(path)
            continue
        rows, info, _ = read_xlsx(path)
        codes = [r[0] for r in rows]
        for p in problems:
            kind = p["kind"]
            if kind in ("out_of_range", "non_numeric", "invalid_value"):
                code, value, _ = rows[p["row"] - 1]
                assert code == p["item"]
                with pytest.raises(ValueError, match=r"not|above|below|empty"):
                    catalog[code].check(value)
            elif kind == "missing_item":
                assert p["item"] not in codes
                assert p["row"] is None
            elif kind == "duplicate_item":
                assert codes.count(p["item"]) == 2
                assert rows[p["row"] - 1][0] == p["item"]
            elif kind == "unknown_item":
                assert p["item"] not in catalog
                assert rows[p["row"] - 1][0] == p["item"]
            elif kind == "wrong_unit_code":
                assert info[1][0] != path.stem
            elif kind == "wrong_year":
                assert info[1][2] != 2017
        # nothing unlisted: every other row is valid, and the info sheet is right
        listed_rows = {p["row"] for p in problems if p.get("sheet") == RETURN_SHEET}
        for number, (code, value, _) in enumerate(rows[1:], start=2):
            if number not in listed_rows:
                catalog[code].check(value)
        if not any(p["kind"] == "wrong_unit_code" for p in problems):
            assert info[1][0] == path.stem
        if not any(p["kind"] == "wrong_year" for p in problems):
            assert info[1][2] == 2017


def test_mess_does_not_change_clean_values(world, tmp_path):
    clean = generate_returns(world, 2017, tmp_path / "a", SEED, missing_units=(), mess_rate=0,
                             fmt="csv")
    messy = generate_returns(world, 2017, tmp_path / "b", SEED, missing_units=(),
                             mess_rate=0.05, fmt="csv")
    for a, b, entry in zip(clean, messy, messy.manifest, strict=True):
        if not entry["problems"]:
            assert a.read_bytes() == b.read_bytes()


def _score(rows, catalog) -> float:
    """A crude 0–1 score: the mean of each item's value scaled to its range."""
    parts = []
    for code, cell, _ in rows:
        item = catalog[code]
        value = item.check(cell)
        if item.type == "boolean":
            parts.append(float(value))
        elif item.type == "enum":
            parts.append(item.value_codes.index(value) / (len(item.values) - 1))
        else:
            parts.append((value - item.min) / (item.max - item.min))
    return statistics.mean(parts)


def test_mature_units_and_later_years_score_higher(world, tmp_path, catalog):
    units = {u.code: u for u in world.units}
    scores = {}
    for year in (2017, 2020):
        batch = generate_returns(world, year, tmp_path, SEED, missing_units=(), mess_rate=0,
                                 fmt="csv")
        scores[year] = {p.stem: _score(read_csv(p)[1:], catalog) for p in batch}
    by_maturity = sorted(scores[2017], key=lambda code: units[code].maturity)
    half = len(by_maturity) // 2
    low = statistics.mean(scores[2017][c] for c in by_maturity[:half])
    high = statistics.mean(scores[2017][c] for c in by_maturity[half:])
    assert high > low + 0.1
    # Sở Tài chính and Sở TT&TT (the seed's leaders) beat the median department
    dept = sorted(scores[2017][c] for c in scores[2017] if units[c].level == 2)
    for leader in ("000.00.05.H08", "000.00.11.H08"):
        assert scores[2017][leader] > statistics.median(dept)
    assert statistics.mean(scores[2020].values()) > statistics.mean(scores[2017].values())


def test_regeneration_is_byte_identical(world, tmp_path, monkeypatch):
    first = generate_returns(world, 2017, tmp_path / "a", SEED, mess_rate=0.3)
    # a year later by the clock: nothing in the files may depend on it
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 400 * 86400)
    second = generate_returns(world, 2017, tmp_path / "b", SEED, mess_rate=0.3)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    readable = next(e["path"] for e in first.manifest
                    if all(p["kind"] != "corrupt_file" for p in e["problems"]))
    with zipfile.ZipFile(readable) as z:
        core = z.read("docProps/core.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(2018, 1, 15, 1, 0, 0)}
    assert "2018-01-15T01:00:00Z" in core
    # another seed gives other values; one unit's file does not depend on the others
    other = generate_returns(world, 2017, tmp_path / "c", SEED + 1, mess_rate=0)
    assert first[0].read_bytes() != other[0].read_bytes()
    alone = generate_returns(world, 2017, tmp_path / "d", SEED, mess_rate=0,
                             missing_units=[u.code for u in reporting_units(world, 2017)][1:])
    full = generate_returns(world, 2017, tmp_path / "e", SEED, mess_rate=0, missing_units=())
    assert alone[0].read_bytes() == full[0].read_bytes()


def test_csv_variant_is_excel_csv_utf8(world, tmp_path, catalog):
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=(), mess_rate=0,
                             fmt="csv")
    assert len(batch) == 32
    assert all(p.suffix == ".csv" for p in batch)
    units = {u.code: u for u in world.units}
    for path in batch:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" in data
        rows = read_csv(path)
        assert tuple(rows[0]) == HEADER  # the BOM does not leak into the first column name
        assert [r[0] for r in rows[1:]] == [i.code for i in items_for(2017, units[path.stem].level)]
        for code, value, _ in rows[1:]:
            catalog[code].check(value)
    # a plain reader sees the BOM: it is there, as Excel writes it
    first = next(csv.reader(io.StringIO(batch[0].read_text(encoding="utf-8"))))
    assert first[0] == "\ufeffma_tieu_chi"


def test_csv_mess_has_no_info_sheet_problems(world, tmp_path):
    batch = generate_returns(world, 2017, tmp_path, SEED, missing_units=(), mess_rate=0.3,
                             fmt="csv")
    kinds = {p["kind"] for e in batch.manifest for p in e["problems"]}
    assert kinds == set(PROBLEM_KINDS) - {"wrong_unit_code", "wrong_year"}
    corrupt = next(e["path"] for e in batch.manifest
                   if e["problems"] and e["problems"][0]["kind"] == "corrupt_file")
    with pytest.raises(UnicodeDecodeError):
        corrupt.read_text(encoding="utf-8-sig")


def test_bad_arguments_are_refused(world, tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        generate_returns(world, 2017, tmp_path, SEED, fmt="ods")
    with pytest.raises(ValueError, match="mess_rate"):
        generate_returns(world, 2017, tmp_path, SEED, mess_rate=2)

