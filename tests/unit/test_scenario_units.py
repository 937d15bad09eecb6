"""The binh_dinh scenario has the unit structure of DOMAIN.md §1, year by year."""

import datetime as dt
from collections import Counter

import pytest

from govkpi.simulator.scenario import Scenario, ScenarioError, load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("binh_dinh")


def levels_on(scenario, day):
    return Counter(u.level for u in scenario.units_valid_on(day))


@pytest.mark.parametrize("year", [2016, 2017, 2020, 2024])
def test_units_per_level_before_the_reorganisation(scenario, year):
    assert levels_on(scenario, dt.date(year, 6, 30)) == {1: 1, 2: 21, 3: 11, 4: 159}


def test_2025_mergers_and_the_end_of_districts(scenario):
    march = levels_on(scenario, dt.date(2025, 3, 1))
    assert march[2] == 21 - 6  # six departments merged on 1 March 2025
    assert march[3] == 11
    july = levels_on(scenario, dt.date(2025, 7, 1))
    assert july[3] == 0
    assert july[4] == sum(-(-n // 3) for n in (21, 15, 17, 10, 15, 18, 19, 15, 13, 7, 9))
    assert levels_on(scenario, dt.date(2025, 6, 30))[3] == 11


def test_every_ended_commune_and_department_has_a_valid_successor(scenario):
    history = scenario.unit_history()
    codes_after = {u.code for u in scenario.units_valid_on(dt.date(2025, 7, 1))}
    ended = [u for u in history if u.valid_to is not None and u.level in (2, 4)]
    assert len({u.code for u in ended}) == 6 + 159
    for u in ended:
        assert u.successor_code in codes_after, u
    tttt = next(u for u in ended if u.key == "STTTT")
    assert tttt.valid_to == dt.date(2025, 2, 28)
    assert next(u for u in history if u.code == tttt.successor_code).key == "SKHCN"


def test_hoai_nhon_becomes_a_town_in_2020(scenario):
    names = {d.year: next(u.name for u in scenario.units_valid_on(d) if u.key == "Hoài Nhơn")
             for d in (dt.date(2019, 12, 31), dt.date(2020, 6, 1))}
    assert names == {2019: "UBND huyện Hoài Nhơn", 2020: "UBND thị xã Hoài Nhơn"}


def test_a_broken_scenario_names_the_file_and_field():
    with pytest.raises(ScenarioError, match=r"x\.yaml: units.departments\[0\].maturity=2"):
        Scenario("x", {"units": {"departments": [{"key": "A", "name": "A", "maturity": 2}],
                                 "districts": []},
                       "reorganisation_2025": {"district_level_ends": dt.date(2025, 6, 30),
                                               "commune_group_size": 3}}, "x.yaml")
