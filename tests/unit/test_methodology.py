"""Ranking methodologies (docs/ranking.md): the shipped files load with the point tables they
document, and a malformed file is refused with an error naming the file, the line and the
field path."""

from __future__ import annotations

import hashlib

import pytest

from govkpi.ranking.methodology import (
    METHODOLOGY_DIR,
    MethodologyError,
    available,
    by_name,
    load,
)

# A small valid methodology; the cases below edit one line of it. Line numbers are 1-based.
TINY = """\
version: 1
name: tiny
title_vi: Thử
title_en: Tiny
periods: [year]
unit_groups:
  - key: departments
    label_vi: Sở
    label_en: Departments
    requires_assessment: true
  - key: districts
    label_vi: Huyện
    label_en: Districts
    requires_assessment: false
tiers:
  - {key: tot, label_vi: Tốt, label_en: Good, min_share: 0.8}
  - {key: yeu, label_vi: Yếu, label_en: Weak, min_share: 0}
groups:
  - key: services
    number: 1
    label_vi: Dịch vụ
    label_en: Services
    indicators:
      - key: "1.1"
        label_vi: Trực tuyến
        label_en: Online
        max_points: 60
        input: {kpi: DVC-4}
        curve: {type: step, steps: [[0.01, 20], [0.1, 40], [0.3, 60]]}
      - key: "1.2"
        label_vi: Máy tính
        label_en: Computers
        max_points: 40
        input: {item: HT-01}
        curve: {type: linear}
        when_missing: zero
      - key: "1.3"
        label_vi: Không đo
        label_en: Not measured
        max_points: 10
        input: {not_measured: no source}
"""
LINE = {text.strip(): number for number, text in enumerate(TINY.splitlines(), 1)}
IND0 = "groups[0].indicators[0]"
IND1 = "groups[0].indicators[1]"


def write(tmp_path, text: str, name: str = "tiny"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edit(old: str, new: str) -> str:
    assert TINY.count(old) == 1, old
    return TINY.replace(old, new)


def refused(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(MethodologyError) as info:
        load(path)
    return str(info.value).removeprefix(f"{path}:")


# ------------------------------------------------------------------------------ shipped files


def test_the_shipped_methodologies_load():
    assert [path.name for path in available()] == ["binh_dinh_2017.yaml", "qd766.yaml"]
    for path in available():
        methodology = load(path)
        assert methodology.name == path.stem
        assert methodology.content_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert [t.label_vi for t in methodology.tiers] == ["Tốt", "Khá", "Trung bình", "Yếu"]
        assert [t.min_share for t in methodology.tiers] == [0.8, 0.6, 0.4, 0]
    assert by_name("qd766").source_file == METHODOLOGY_DIR / "qd766.yaml"


def test_binh_dinh_2017_point_table():
    m = by_name("binh_dinh_2017")
    assert m.periods == ("year",)
    assert [(g.key, g.unit_level, g.requires_assessment) for g in m.unit_groups] == [
        ("departments", 2, True), ("districts", 3, True)]
    assert [g.number for g in m.groups] == [1, 2, 3, 4, 5, 6, 7]
    assert [m.max_points("departments", g.key) for g in m.groups] == [
        120, 200, 120, 200, 120, 100, 140]
    assert [m.max_points("districts", g.key) for g in m.groups] == [
        120 + 20, 200 + 20, 120, 160, 120, 100, 140]
    assert m.max_points("departments") == m.max_points("districts") == 1000
    # DOMAIN.md §2: the district online-service criterion is worth 160, DVC-4 weighted most
    online = [i for g, i in m.indicators("districts") if g.key == "online_services"]
    assert [(i.input.code, i.max_points) for i in online] == [("DVC-1", 40), ("DVC-4", 120)]
    for indicator in online:
        assert indicator.curve.type == "step"
        assert all(points % 20 == 0 for _, points in indicator.curve.params["steps"])
    # Quy Nhơn's 100/160 is reachable (40 + 60), and so are 20 and 40 for the others
    coverage, take_up = ({p for _, p in i.curve.params["steps"]} | {0} for i in online)
    assert {a + b for a in coverage for b in take_up} >= {20, 40, 100}
    # the 2017 methodology reads only items that exist in 2017 returns
    items = {i.input.code for _, i in m.indicators() if i.input.kind == "item"}
    assert not items & {"HT-07", "UD-04", "TT-05", "AT-06", "TT-02"}


def test_qd766_point_table():
    m = by_name("qd766")
    assert m.periods == ("year", "quarter", "month")
    assert not any(g.requires_assessment for g in m.unit_groups)
    for unit_group in ("departments", "districts"):
        assert m.max_points(unit_group) == 100
        assert [m.max_points(unit_group, g.key) for g in m.groups] == [18, 20, 12, 10, 22, 18]
    indicators = {i.key: i for _, i in m.indicators()}
    assert {k for k, i in indicators.items() if i.input.kind == "not_measured"} == {
        "1.1", "1.2", "1.3", "4.4", "4.x", "5.2", "5.3"}
    assert sum(i.max_points for i in indicators.values() if i.input.kind == "not_measured") == 30
    assert all(i.curve.type == "none" and i.when_missing == "not_measured"
               for i in indicators.values() if i.input.kind == "not_measured")
    assert (indicators["2.1"].input.code, indicators["2.1"].input.convention) == ("OS-1b", "portal")
    assert (indicators["2.2"].max_points, indicators["2.2"].input.code) == (0, "OS-7")
    assert indicators["3.3"].curve.params == {"at": 0.5}
    assert (indicators["5.4"].curve.params, indicators["5.4"].when_missing) == ({"at": 0.9}, "zero")
    assert indicators["3.6"].when_missing == "not_measured"  # the default for KPIs
    groups = {g.key: [i.key for i in g.indicators] for g in m.groups}
    assert groups["online_services"] == ["3.1", "3.2", "3.3"]
    assert groups["online_payment"] == ["3.5", "3.5b", "3.6"]


def test_the_sha_is_of_the_file_bytes(tmp_path):
    path = write(tmp_path, TINY)
    assert load(path).content_sha256 == hashlib.sha256(TINY.encode()).hexdigest()
    path.write_text(TINY + "# a comment changes the content\n", encoding="utf-8")
    assert load(path).content_sha256 != hashlib.sha256(TINY.encode()).hexdigest()


def test_the_tiny_file_loads_with_defaults(tmp_path):
    m = load(write(tmp_path, TINY))
    a, b, c = (i for _, i in m.indicators())
    assert a.unit_groups == b.unit_groups == ("departments", "districts")
    assert (a.when_missing, b.when_missing, c.when_missing) == ("not_measured", "zero",
                                                                 "not_measured")
    assert (a.input.convention, c.input.not_measured_reason) == ("law", "no source")
    assert m.content["groups"][0]["indicators"][0]["curve"]["steps"][0] == [0.01, 20]
    assert m.basis == ""


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(MethodologyError, match=r"available: binh_dinh_2017, qd766"):
        by_name("../qd766")


# ------------------------------------------------------------------------------ curves


@pytest.mark.parametrize(("curve", "params"), [
    ("{type: linear}", {}),
    ("{type: cap, at: 1}", {"at": 1}),
    ("{type: cap, at: 0.25}", {"at": 0.25}),
    ("{type: step, steps: [[0, 0], [0.5, 60]]}", {"steps": [[0, 0], [0.5, 60]]}),
    ("{type: piecewise, points: [[0, 0], [0.5, 0.8], [0.9, 1]]}",
     {"points": [[0, 0], [0.5, 0.8], [0.9, 1]]}),
    ("{type: inverse_linear, best: 3, worst: 15}", {"best": 3, "worst": 15}),
])
def test_every_curve_type_loads(tmp_path, curve, params):
    text = edit("curve: {type: step, steps: [[0.01, 20], [0.1, 40], [0.3, 60]]}",
                f"curve: {curve}")
    indicator = load(write(tmp_path, text)).groups[0].indicators[0]
    assert (indicator.curve.type, indicator.curve.params) == (curve[7:].split(",")[0]
                                                              .rstrip("}"), params)


def test_a_boolean_curve_reads_a_yes_no_item(tmp_path):
    text = edit("input: {item: HT-01}\n        curve: {type: linear}",
                "input: {item: HT-03}\n        curve: {type: boolean}")
    indicator = load(write(tmp_path, text)).groups[0].indicators[1]
    assert (indicator.input.code, indicator.curve.type) == ("HT-03", "boolean")


@pytest.mark.parametrize(("curve", "field", "reason"), [
    ("{type: linear, at: 0.5}", "curve.at",
     "unknown field (allowed: type)"),
    ("{type: cap}", "curve.at", "missing (required)"),
    ("{type: cap, at: 0}", "curve.at", "0 is not in (0, 1]"),
    ("{type: cap, at: 1.2}", "curve.at", "1.2 is not in (0, 1]"),
    ("{type: cap, at: high}", "curve.at", "expected a number, got 'high'"),
    ("{type: step, steps: []}", "curve.steps", "expected a non-empty list of [threshold, points]"),
    ("{type: step, steps: [[0.1, 20, 3]]}", "curve.steps[0]",
     "expected a pair [threshold, points], got [0.1, 20, 3]"),
    ("{type: step, steps: [[0.1, 20], [0.1, 40]]}", "curve.steps[1]",
     "thresholds must ascend (0.1 after 0.1)"),
    ("{type: step, steps: [[0.1, -5]]}", "curve.steps[0]",
     "points -5 are not within 0..max_points (60)"),
    ("{type: piecewise, points: [[0, 0]]}", "curve.points", "expected at least 2 [x, share]"),
    ("{type: piecewise, points: [[0.5, 0], [0.2, 1]]}", "curve.points[1]",
     "x must ascend (0.2 after 0.5)"),
    ("{type: piecewise, points: [[0, 0], [1, 60]]}", "curve.points[1]",
     "share 60 is not in [0, 1]"),
    ("{type: inverse_linear, best: 15, worst: 3}", "curve.worst",
     "worst (3) must be above best (15)"),
    ("{type: inverse_linear, best: 3}", "curve.worst", "missing (required)"),
    ("{type: boolean}", "curve.type", "a boolean curve needs a yes/no item; DVC-4 is not one"),
    ("{type: sigmoid}", "curve.type",
     "'sigmoid' is not a curve type (use linear, cap, step, piecewise, boolean, "
     "inverse_linear)"),
])
def test_curve_parameters_are_validated(tmp_path, curve, field, reason):
    text = edit("curve: {type: step, steps: [[0.01, 20], [0.1, 40], [0.3, 60]]}",
                f"curve: {curve}")
    line = LINE["curve: {type: step, steps: [[0.01, 20], [0.1, 40], [0.3, 60]]}"]
    assert refused(tmp_path, text) == f"{line}: {IND0}.{field}: {reason}"


# ------------------------------------------------------------------------------ malformed files


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("version: 1", "version: 2", 1,
     "version: expected 1 (the format this code reads), got 2"),
    ("name: tiny", "name: small", 2,
     "name: 'small' must equal the file name without .yaml ('tiny')"),
    ("periods: [year]", "periods: [year, week]", 5,
     "periods[1]: 'week' is not a grain (use year, quarter, month)"),
    ("  - key: departments", "  - key: communes", 7,
     "unit_groups[0].key: 'communes' is not a unit group (use departments, districts)"),
    ("    requires_assessment: false", "    requires_assessment: maybe", 14,
     "unit_groups[1].requires_assessment: expected true or false, got 'maybe'"),
    ("min_share: 0}", "min_share: 0.9}", 17,
     "tiers[1].min_share: tiers go strongest first: min_share must decrease (0.9 after 0.8)"),
    ("min_share: 0}", "min_share: 0.1}", 17,
     "tiers[1].min_share: the last tier must have min_share 0, so that every assessed unit "
     "gets a tier"),
    ("[0.1, 40], [0.3, 60]]", "[0.1, 40], [0.05, 60]]", 29,
     f"{IND0}.curve.steps[2]: thresholds must ascend (0.05 after 0.1)"),
    ("[0.1, 40], [0.3, 60]]", "[0.1, 40], [0.3, 80]]", 29,
     f"{IND0}.curve.steps[2]: points 80 are not within 0..max_points (60)"),
    ("        curve: {type: linear}", "        curv: {type: linear}", 35,
     f"{IND1}.curv: unknown field (allowed: key, label_vi, label_en, max_points, input, "
     "unit_groups, curve, when_missing); did you mean curve?"),
    ("input: {kpi: DVC-4}", "input: {kpi: DVC-4, item: HT-01}", 28,
     f"{IND0}.input: expected exactly one of kpi, item, not_measured, got kpi and item"),
    ("input: {kpi: DVC-4}", "input: {}", 28,
     f"{IND0}.input: expected exactly one of kpi, item, not_measured"),
    ("input: {kpi: DVC-4}", "input: {kpi: DVC-44}", 28,
     f"{IND0}.input.kpi: unknown KPI 'DVC-44'; did you mean DVC-4? (known: DOMAIN.md §4 and the "
     "QD766-* indicators of docs/ranking.md)"),
    ("input: {kpi: DVC-4}", "input: {kpi: DVC-4, convention: portal}", 28,
     f"{IND0}.input.convention: only the one-stop KPIs (OS-*) have a portal convention, "
     "not DVC-4"),
    ("input: {kpi: DVC-4}", "input: {kpi: OS-1b, convention: national}", 28,
     f"{IND0}.input.convention: 'national' is not one of law, portal"),
    ("input: {item: HT-01}", "input: {item: HT-1}", 34,
     f"{IND1}.input.item: unknown self-assessment item 'HT-1'; did you mean HT-01? (see "
     "assessment_items.yaml)"),
    ("input: {item: HT-01}", "input: {item: HT-06}", 34,
     f"{IND1}.input.item: item HT-06 is not reported by departments (its levels: "
     "districts); restrict the indicator with unit_groups"),
    ("periods: [year]", "periods: [year, month]", 34,
     f"{IND1}.input.item: items are reported once a year, but the methodology also scores "
     "month: use a kpi input"),
    ("input: {item: HT-01}", "input: {item: UD-03}", 35,
     f"{IND1}.curve.type: a linear curve reads a share in [0, 1], but UD-03 is a count "
     "(phần mềm): use step or piecewise"),
    ("input: {item: HT-01}", "input: {item: HT-01, convention: portal}", 34,
     f"{IND1}.input.convention: only a kpi input has a convention"),
    ("        when_missing: zero", "        when_missing: sometimes", 36,
     f"{IND1}.when_missing: 'sometimes' is not one of zero, full, not_measured, not_assessed"),
    ("        max_points: 40", "        max_points: -40", 33,
     f"{IND1}.max_points: -40 is negative"),
    ("        max_points: 40", "        max_points: forty", 33,
     f"{IND1}.max_points: expected a number, got 'forty'"),
    ('      - key: "1.2"', '      - key: "1.1"', 30,
     "groups[0].indicators[1].key: indicator key '1.1' is already used by "
     "groups[0].indicators[0]"),
    ('      - key: "1.2"', "      - key: 1.2", 30,
     f"{IND1}.key: expected a non-empty text, got 1.2 (quote it: \"4.2\")"),
    ("        max_points: 40", "        unit_groups: [communes]\n        max_points: 40", 33,
     f"{IND1}.unit_groups[0]: 'communes' is not a unit group of this methodology "
     "(departments, districts)"),
    ("        input: {not_measured: no source}",
     "        input: {not_measured: no source}\n        curve: {type: linear}", 42,
     "groups[0].indicators[2].curve: a not_measured input is never scored: remove curve"),
    ("        input: {kpi: DVC-4}\n        curve: {type: step, steps: [[0.01, 20], [0.1, 40], "
     "[0.3, 60]]}\n", "        input: {kpi: DVC-4}\n", 24,
     f"{IND0}.curve: missing (required for a kpi or item input)"),
    ("        max_points: 40", "        max_points: 40\n        max_points: 50", 34,
     f"{IND1}.max_points: duplicate key (YAML would silently keep the last one)"),
    ("    number: 1", "    number: 0", 20,
     "groups[0].number: expected a whole number ≥ 1, got 0"),
    ("title_en: Tiny\n", "", None, "title_en: missing (required)"),  # no line to name
    ("periods: [year]", "periods: [year]\ncolour: red", 6,
     "colour: unknown field (allowed: version, name, title_vi, title_en, periods, "
     "unit_groups, tiers, groups, basis)"),
])
def test_a_malformed_file_names_file_line_and_field(tmp_path, old, new, line, message):
    assert refused(tmp_path, edit(old, new)) == (f"{line}: {message}" if line else
                                                 f" {message}")


def test_a_unit_group_without_points_is_refused(tmp_path):
    text = TINY
    for points in ("60", "40"):  # only the not-measured 1.3 is left for departments
        text = text.replace(f"        max_points: {points}",
                            f"        unit_groups: [districts]\n        max_points: {points}")
    assert refused(tmp_path, text) == (
        f"{LINE['- key: departments']}: unit_groups[0]: "
        "no measured indicator with max_points > 0 applies to departments: its units could "
        "never be scored")


def test_invalid_yaml_names_the_line(tmp_path):
    message = refused(tmp_path, edit("title_en: Tiny", "title_en: [Tiny"))
    assert message.startswith("5: not valid YAML (while parsing a flow sequence")


@pytest.mark.parametrize("version", ["true", "1.0", "'1'"])
def test_the_error_is_a_value_error(tmp_path, version):
    with pytest.raises(ValueError, match=r"tiny\.yaml:1: version: expected 1"):
        load(write(tmp_path, edit("version: 1", f"version: {version}")))
