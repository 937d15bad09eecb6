"""The demo's province reproduces the facts the seed article reports for 2017 (DOMAIN.md §2).

The fixture runs the pipeline as ``govkpi demo`` does, without Airflow: the binh_dinh scenario at
the demo's seed and size (2017, 10,000 dossiers over 2016–2017), the three systems extracted
with the production extractors, the self-assessment returns of 2016 and 2017 with the demo's
mess (2 % bad values, one unreadable file a year), the methodology ``binh_dinh_2017`` loaded,
the ranking models built, and 2016 and 2017 published. The facts are stated once, in
``govkpi.ranking.seed_facts`` (the province-scale bench checks the same ones); each is read from
the PUBLISHED release (its unit, group-score and tier rows), as a reader of the report would.

How the scenario produces these facts, and why they hold at any volume (1,000,000 dossiers a
year included), is in docs/simulator.md, "Calibration: the seed's 2017 ranking".
"""

from __future__ import annotations

import shutil

import pytest

from govkpi.extract import extract
from govkpi.load.assessments import load_returns
from govkpi.publish.release import publish
from govkpi.ranking import seed_facts
from govkpi.ranking.methodology import by_name, write_to_warehouse
from govkpi.simulator import SimulatedProvince
from govkpi.simulator.assessments import generate_returns
from tests.helpers import dbt, query
from tests.integration._ingest import settings

# govkpi demo (include/govkpi/cli.py, cmd_demo): seed, dossiers, return years and mess rate
SEED, DOSSIERS, RETURN_YEARS, MESS_RATE = 2017, 10_000, (2016, 2017), 0.02
METHODOLOGY = seed_facts.METHODOLOGY
GATE = {"passed": True, "critical": [], "warnings": []}


@pytest.fixture(scope="module")
def releases(fresh_warehouse_module, tmp_path_factory):
    """year → release id of the published ranking (2016, 2017)."""
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=SEED, dossiers=DOSSIERS) as province:
        conf = settings(province, page_size=1000)
        for system in ("onestop", "eoffice", "dvc"):
            extract(system, wh, conf[system], mode="full")
        world = province.world
    drop = tmp_path_factory.mktemp("drop")
    for year in RETURN_YEARS:
        generate_returns(world, year, drop, SEED, mess_rate=MESS_RATE)
    load_returns(wh, drop)
    shutil.rmtree(drop)
    write_to_warehouse(wh, by_name(METHODOLOGY))
    # the ranking models and everything upstream (seeds and the unit snapshot included); the
    # data tests of those models belong to their own suites
    dbt("build", "--select", "+tag:ranking", "--exclude-resource-type", "test", "unit_test")
    out = {year: publish(wh, year, METHODOLOGY, GATE) for year in RETURN_YEARS}
    current = dict(query(wh, "select year, release_id from published.current_ranking_release "
                             "where methodology_name = %s", (METHODOLOGY,)))
    assert current == out
    return wh, out


FACTS = ("assessed", "missing_listed", "ranks_dense", "tot_2017", "tot_2016", "leaders", "tn_mt",
         "gt_vt", "quy_nhon_first", "online_quy_nhon", "online_others")


@pytest.fixture(scope="module")
def facts(releases):
    wh, ids = releases
    return {fact.key: fact for fact in seed_facts.check(wh, ids)}


def test_the_checker_states_every_fact_of_the_article(facts):
    assert tuple(facts) == FACTS


@pytest.mark.parametrize("key", FACTS)
def test_the_published_release_shows_the_fact(facts, key):
    fact = facts[key]
    assert fact.holds, fact.line()


def test_the_missing_department_and_its_reason(releases):
    """Read directly, not through the checker: the one unreadable return of 2017 is the one the
    department that does not submit sends (generate_returns gives it a truncated upload)."""
    wh, ids = releases
    rows = query(wh, "select unit_name, not_assessed_reason, rank_in_group, tier_key, "
                     "score_share from published.ranking_release_unit "
                     "where release_id = %s and not is_assessed", (ids[2017],))
    assert [r[0] for r in rows] == list(seed_facts.MISSING_2017)
    _, reason, *rest = rows[0]
    assert reason.startswith("no self-assessment return (")
    assert rest == [None, None, None]


def test_the_checker_sees_a_fact_that_does_not_hold(releases):
    """2016's release read as 2017's (and the reverse): the 2017 facts must fail."""
    wh, ids = releases
    swapped = {f.key: f for f in seed_facts.check(wh, {2016: ids[2017], 2017: ids[2016]})}
    assert not swapped["assessed"].holds
    assert not swapped["tot_2017"].holds
    assert not swapped["tot_2016"].holds
    assert "DOES NOT HOLD" in swapped["tot_2017"].line()
    with pytest.raises(ValueError, match="missing: \\[2016\\]"):
        seed_facts.check(wh, {2017: ids[2017]})
