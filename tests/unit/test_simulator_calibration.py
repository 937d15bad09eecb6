"""The simulator's calibration mechanics (issue 6, docs/simulator.md "Calibration"): maturity
trajectories, stratified decisions that keep a unit's rates on target at any volume, the
scenario's non-submitting units, and return values that are step functions of the strength.
The facts they reproduce are checked end to end in tests/integration/test_seed_facts_2017.py."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from govkpi.assessment_items import items_for
from govkpi.simulator import generate_world
from govkpi.simulator.assessments import (
    DEFAULT_MISSING_UNITS,
    _clean_rows,
    generate_returns,
    reporting_units,
    strength,
)
from govkpi.simulator.eoffice import _signature_share, build_eoffice_world
from govkpi.simulator.scenario import Scenario, ScenarioError, load_scenario
from govkpi.simulator.strata import Strata
from govkpi.simulator.world import _online_share

TN_MT, GT_VT, NN_PTNT, DAN_TOC = "000.00.10.H08", "000.00.08.H08", "000.00.07.H08", "000.00.20.H08"


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=2017, dossiers=6000)


def test_strata_count_stays_within_one_of_the_expected_count():
    rng = random.Random(1)
    strata = Strata("test", 1)
    expected: dict[str, float] = defaultdict(float)
    hits: Counter[str] = Counter()
    for _ in range(20_000):
        key = rng.choice("abc")
        p = rng.random() * (0.2 if key == "a" else 1.0)  # varying probabilities
        expected[key] += p
        hits[key] += strata.hit(key, p)
    for key, total in expected.items():
        assert abs(hits[key] - total) < 1
    # deterministic in (salt, key, earlier decisions); another salt decides otherwise
    def decisions(*salt):
        strata = Strata(*salt)
        return [strata.hit("k", 0.3) for _ in range(60)]

    assert decisions("test", 1) == decisions("test", 1)
    assert decisions("test", 1) != decisions("test", 2)
    assert sum(decisions("test", 2)) in (17, 18)


def test_maturity_trajectories_come_from_the_scenario(world):
    units = {u.code: u for u in world.units}
    assert units[TN_MT].maturity_in(2016) == 0.70
    assert units[TN_MT].maturity_in(2017) == units[TN_MT].maturity == 0.86
    assert units[GT_VT].maturity_in(2016) < units[GT_VT].maturity_in(2017)
    assert units[NN_PTNT].maturity_in(2016) > units[NN_PTNT].maturity_in(2017)
    assert units[DAN_TOC].maturity_in(2016) == units[DAN_TOC].maturity  # no trajectory
    data = {"units": {"departments": [{"key": "A", "name": "A", "maturity": 0.5,
                                       "maturity_by_year": {2016: 1.5}}], "districts": []},
            "reorganisation_2025": {"district_level_ends": None, "commune_group_size": 3}}
    with pytest.raises(ScenarioError, match=r"maturity_by_year\.2016=1\.5"):
        Scenario("x", data, "x.yaml")


def test_each_units_online_share_is_on_target_in_every_year(world):
    """Stratified channel: per unit and year the online dossiers are within one of the sum of
    the unit's online share (DVC-2 on target even for a unit with a few dozen dossiers)."""
    expected: dict[tuple[str, int], float] = defaultdict(float)
    online: Counter[tuple[str, int]] = Counter()
    units = {u.code: u for u in world.units}
    for d in world.dossiers:
        u, year = units[d.unit_code], d.received_at.year
        expected[u.code, year] += _online_share(year, u.maturity_in(year), u.level)
        online[u.code, year] += d.channel == 2
    assert expected
    for key, total in expected.items():
        assert abs(online[key] - total) < 1, key
    # 2017: the leaders' wave, Quy Nhơn's 7.5 %, nobody below maturity 0.72
    assert _online_share(2017, 0.99, 2) == 0.45
    assert _online_share(2017, 0.86, 2) == 0.25
    assert _online_share(2017, 0.9, 3) == pytest.approx(0.075)
    assert _online_share(2017, 0.66, 2) == _online_share(2017, 0.55, 3) == 0
    # a unit's share never falls from one year to the next
    for m in (0.3, 0.6, 0.75, 0.8, 0.9, 0.99):
        shares = [_online_share(y, m, 2) for y in range(2016, 2027)]
        assert shares == sorted(shares), m


def test_document_rates_are_on_target_per_unit_and_year(world):
    """EO-1's documents signed by the person and the organisation are stratified per unit and
    year: within a few documents of their expected count, where a random draw would miss by
    ±√n (the units of a demo world have a few dozen outgoing documents a year)."""
    eoffice = build_eoffice_world(world, 2017)
    units = {u.code: u for u in world.units}
    expected: dict[tuple[str, int], float] = defaultdict(float)
    signed: Counter[tuple[str, int]] = Counter()
    for d in eoffice.documents:
        if d.direction != "di":
            continue
        day = d.created_at
        key = (d.unit_code, day.year)
        when = day.year + (day.timetuple().tm_yday - 1) / 366
        expected[key] += 0.88 * _signature_share(when, units[d.unit_code].maturity_in(day.year))
        signed[key] += d.signed_by_person and d.signed_by_organisation
    assert max(abs(signed[k] - e) for k, e in expected.items()) < 3
    # the leaders sign most documents in 2017, the weakest units hardly any
    def share(code: str) -> float:
        n = sum(1 for d in eoffice.documents if d.unit_code == code and d.direction == "di"
                and d.created_at.year == 2017)
        return signed[code, 2017] / n

    assert share("000.00.05.H08") > 0.7 > 0.2 > share(DAN_TOC)


def test_non_submitting_units_follow_the_scenario(world, tmp_path):
    assert load_scenario("binh_dinh").not_submitted() == DEFAULT_MISSING_UNITS
    assert set(DEFAULT_MISSING_UNITS[2016]) == {"000.00.14.H08", "000.00.18.H08",
                                                 "000.00.19.H08", DAN_TOC}
    assert DEFAULT_MISSING_UNITS[2017] == (DAN_TOC,)
    clean = generate_returns(world, 2016, tmp_path / "clean", 7, mess_rate=0)
    assert len(clean) == 17 + 11
    assert sorted(clean.missing) == sorted(DEFAULT_MISSING_UNITS[2016])
    # with mess, the batch's one unreadable file is sent by one of the non-submitting units:
    # the units without a usable return stay the same
    messy = generate_returns(world, 2016, tmp_path / "messy", 7, mess_rate=0.02)
    (corrupt,) = [e["unit_code"] for e in messy.manifest
                  if any(p["kind"] == "corrupt_file" for p in e["problems"])]
    assert corrupt in DEFAULT_MISSING_UNITS[2016]
    assert sorted([*messy.missing, corrupt]) == sorted(DEFAULT_MISSING_UNITS[2016])
    assert len(messy) == 17 + 11 + 1
    # a year without non-submitting units: a submitting unit's file is the unreadable one
    later = generate_returns(world, 2018, tmp_path / "later", 7, mess_rate=0.02)
    assert later.missing == []
    assert sum(any(p["kind"] == "corrupt_file" for p in e["problems"])
               for e in later.manifest) == 1


def test_booleans_enums_and_counts_are_step_functions_of_the_strength(world):
    units = [u for u in reporting_units(world, 2017)]
    for unit in units:
        items = items_for(2017, unit.level)
        rows = {seed: {r.code: r.value for r in _clean_rows(unit, 2017, seed, items)}
                for seed in (1, 2)}
        for item in items:
            a, b = rows[1][item.code], rows[2][item.code]
            if item.type == "percent":
                assert abs(a - b) <= 5, (unit.code, item.code)
            else:  # the same for every seed
                assert a == b, (unit.code, item.code)
    # 2016 and 2017 alike (the returns improve from 2018 on); the strength follows maturity
    assert strength(0.86, 2016) == strength(0.86, 2017) == pytest.approx(0.874)
    assert strength(0.86, 2018) > strength(0.86, 2017)
    by_code = {u.code: u for u in units}
    staff = {code: {r.code: r.value for r in _clean_rows(by_code[code], 2017, 1,
                                                          items_for(2017, 2))}["NL-01"]
             for code in (TN_MT, GT_VT)}
    assert staff == {TN_MT: 2, GT_VT: 1}  # Sở TN-MT ahead of Sở GT-VT in 2017
