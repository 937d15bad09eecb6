"""Realistic mess in the simulated systems (govkpi.simulator.mess), through real HTTP crawls:
repeats, records moved during the crawl, missing optional keys and malformed records are in the
manifest and in the crawl; off, the crawl is the clean one; on, it is still deterministic."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections import Counter, defaultdict

import pytest

from govkpi.calendar import VN_TZ
from govkpi.simulator import SimulatedProvince
from govkpi.simulator.eoffice import parse_time
from govkpi.simulator.mess import DEFAULT_SPEC, Mess
from govkpi.simulator.world import generate_world
from govkpi.sources.onestop import ENDPOINTS, validate
from tests.unit.test_simulator_crawls import _get, crawl_dvc, crawl_eoffice, crawl_onestop

SPEC = "repeat=0.03,move=0.03,missing=0.03,malformed=0.03"
PATHS = {"onestop": ["/api/v1/donvi", "/api/v1/thutuc", "/api/v1/hoso"],
         "eoffice": ["/api/v2/documents"],
         "dvc": ["/api/services", "/api/submissions", "/api/payments", "/api/ratings"]}
CRAWL = {"onestop": crawl_onestop, "eoffice": crawl_eoffice, "dvc": crawl_dvc}
KEY = {"/api/v1/donvi": "MaDonVi", "/api/v1/thutuc": "MaTTHC", "/api/v1/hoso": "MaHoSo",
       "/api/v2/documents": "id", "/api/services": "service_id",
       "/api/submissions": "submission_id", "/api/payments": "payment_id",
       "/api/ratings": "rating_id"}
UPDATED = {"onestop": "NgayCapNhat", "eoffice": "ngay_sua", "dvc": "updated_at"}


def _crawl_all(province):
    env = province.environment()
    return {(system, path): CRAWL[system](env, path)
            for system, paths in PATHS.items() for path in paths}


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=2017, dossiers=1500)


@pytest.fixture(scope="module")
def clean(world):
    with SimulatedProvince(world=world) as province:
        return _crawl_all(province)


@pytest.fixture(scope="module")
def messy(world):
    with SimulatedProvince(world=world, mess=Mess.parse(SPEC, seed=7)) as province:
        return province.mess_manifest, _crawl_all(province)


def _modified(system, record):
    value = record[UPDATED[system]]
    if system == "eoffice":
        return parse_time(value)
    return value


def test_parse_none_and_errors():
    assert Mess.parse("none") == Mess.none()
    assert not Mess.none().active
    assert Mess.parse("", seed=3) == Mess(seed=3)
    mess = Mess.parse("repeat=0.002,move=0.002,missing=0.01,malformed=0.001", seed=5)
    assert (mess.repeat, mess.move, mess.missing, mess.malformed, mess.seed) == (
        0.002, 0.002, 0.01, 0.001, 5)
    assert Mess.parse(DEFAULT_SPEC).active
    for bad in ("repeat", "dup=0.1", "repeat=x", "move=2"):
        with pytest.raises(ValueError, match="mess"):
            Mess.parse(bad)


def test_mess_off_serves_the_clean_crawl(world, clean):
    with SimulatedProvince(world=world, mess=Mess.none(seed=7)) as province:
        assert province.mess_manifest == []
        assert _crawl_all(province) == clean


def test_every_kind_is_injected_in_every_system(messy):
    manifest, _ = messy
    kinds = Counter((e["system"], e["kind"]) for e in manifest)
    for system in ("onestop", "eoffice"):
        for kind in ("repeat", "move", "missing", "malformed"):
            assert kinds[(system, kind)] > 0, (system, kind)
    assert kinds[("dvc", "repeat")]
    assert kinds[("dvc", "malformed")]
    expected = {"repeat": "dedupe", "move": "keep-latest", "missing": "load-with-null"}
    for e in manifest:
        assert set(e) == {"system", "endpoint", "key", "kind", "field", "detail", "expected"}
        if e["kind"] == "malformed":
            assert e["expected"].startswith("quarantine: ")
            assert e["field"]
        else:
            assert e["expected"] == expected[e["kind"]]


def test_repeats_appear_twice_identically(messy, clean):
    manifest, crawls = messy
    for e in (e for e in manifest if e["kind"] == "repeat"):
        records, _ = crawls[(e["system"], e["endpoint"])]
        copies = [r for r in records if r[KEY[e["endpoint"]]] == e["key"]]
        assert len(copies) == 2, e
        assert copies[0] == copies[1], e


def test_a_repeat_can_straddle_a_page_boundary(world):
    mess = Mess.parse("repeat=0.05", seed=7)
    with SimulatedProvince(world=world, mess=mess) as province:
        env = province.environment()
        full, _ = crawl_onestop(env, "/api/v1/hoso")
        repeated = {e["key"] for e in province.mess_manifest if e["endpoint"] == "/api/v1/hoso"}
        first, key = next((i, r["MaHoSo"]) for i, r in enumerate(full)
                          if r["MaHoSo"] in repeated)  # page size first + 1 ≤ 1000
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": env["GOVKPI_ONESTOP_CLIENT_ID"],
                                       "client_secret": env["GOVKPI_ONESTOP_CLIENT_SECRET"]})
        token = json.loads(_get(env["GOVKPI_ONESTOP_URL"] + "/oauth/token", {},
                                form.encode())[0])["access_token"]
        pages = [json.loads(_get(f"{env['GOVKPI_ONESTOP_URL']}/api/v1/hoso?page={n}"
                                 f"&size={first + 1}",
                                 {"Authorization": f"Bearer {token}"})[0])["data"]
                 for n in (1, 2)]
    assert pages[0][-1]["MaHoSo"] == key
    assert pages[1][0]["MaHoSo"] == key


def test_moved_records_appear_twice_and_keeping_the_latest_gives_the_clean_view(messy,
                                                                                   clean):
    manifest, crawls = messy
    moved = [e for e in manifest if e["kind"] == "move"]
    assert {e["system"] for e in moved} >= {"onestop", "eoffice", "dvc"}
    for e in moved:
        records, _ = crawls[(e["system"], e["endpoint"])]
        versions = [r for r in records if r[KEY[e["endpoint"]]] == e["key"]]
        assert len(versions) == 2, e
        assert _modified(e["system"], versions[0]) < _modified(e["system"], versions[1])
        assert versions[0] != versions[1]
        clean_record = next(r for r in clean[(e["system"], e["endpoint"])][0]
                            if r[KEY[e["endpoint"]]] == e["key"])
        assert versions[1] == clean_record
    # merging by key, latest modification wins: the clean view, but for the other kinds
    other = {(e["endpoint"], e["key"]) for e in manifest if e["kind"] in ("missing",
                                                                         "malformed")}
    for (system, path), (records, _) in crawls.items():
        merged: dict[str, dict] = {}
        for r in records:  # served in (modification, key) order: later wins
            merged[r[KEY[path]]] = r
        expected = {r[KEY[path]]: r for r in clean[(system, path)][0]}
        assert merged.keys() == expected.keys()
        for key, r in merged.items():
            if (path, key) not in other:
                assert r == expected[key], (path, key)


def test_missing_keys_are_absent_not_null(messy, clean):
    manifest, crawls = messy
    missing = [e for e in manifest if e["kind"] == "missing"]
    assert {e["system"] for e in missing} >= {"onestop", "eoffice"}
    for e in missing:
        records, _ = crawls[(e["system"], e["endpoint"])]
        (record,) = [r for r in records if r[KEY[e["endpoint"]]] == e["key"]]
        dropped = e["field"].split(", ")
        assert not set(dropped) & set(record), e
        clean_record = next(r for r in clean[(e["system"], e["endpoint"])][0]
                            if r[KEY[e["endpoint"]]] == e["key"])
        assert record == {k: v for k, v in clean_record.items() if k not in dropped}
        if e["endpoint"] == "/api/v1/hoso":  # still a valid dossier: load with null
            assert validate(ENDPOINTS["hoso"], json.dumps(record).encode()).error is None


SEMANTIC = ("unknown MaDonVi", "unknown MaTTHC", "negative PhiLePhi",
            "NgayHenTra before NgayTiepNhan")


def test_malformed_onestop_dossiers_fail_validation_naming_the_field(messy):
    manifest, crawls = messy
    records, _ = crawls[("onestop", "/api/v1/hoso")]
    bad = [e for e in manifest if e["kind"] == "malformed" and e["system"] == "onestop"]
    assert len({e["expected"] for e in bad}) >= 5  # several kinds of defect
    for e in bad:
        (record,) = [r for r in records if r["MaHoSo"] == e["key"]]
        checked = validate(ENDPOINTS["hoso"], json.dumps(record, ensure_ascii=False).encode())
        if e["expected"].removeprefix("quarantine: ") in SEMANTIC:
            assert checked.error is None, e  # for a validator that knows the reference data
        else:
            assert checked.error is not None, e
            assert e["field"] in checked.error, (e, checked)
            assert checked.key == e["key"]


def test_malformed_eoffice_and_portal_records_show_their_defect(messy, world):
    manifest, crawls = messy
    units = {u["MaDonVi"] for u in world.units_as_of(world.default_as_of)}
    for e in (e for e in manifest if e["kind"] == "malformed" and e["system"] != "onestop"):
        records, _ = crawls[(e["system"], e["endpoint"])]
        (record,) = [r for r in records if r[KEY[e["endpoint"]]] == e["key"]]
        value = record[e["field"]]
        if e["field"] == "ngay_sua":
            with pytest.raises(ValueError, match="dd/MM/yyyy"):
                parse_time(value)
        elif e["field"] == "huong":
            assert value not in ("di", "den")
        elif e["field"] == "ma_don_vi":
            assert value not in units
        elif e["field"] == "updated_at":
            assert isinstance(value, str)
        elif e["field"] == "score":
            assert not 1 <= value <= 5
        elif e["field"] == "amount":
            assert value < 0
        else:
            assert e["field"] == "dossier_code"
            assert value not in {
                d["MaHoSo"] for d in world.dossiers_as_of(world.default_as_of)}


def test_messy_crawls_are_byte_identical_across_servers(world, messy):
    manifest, crawls = messy
    with SimulatedProvince(world=world, mess=Mess.parse(SPEC, seed=7)) as again:
        assert again.mess_manifest == manifest
        for (system, path), (_, raw) in _crawl_all(again).items():
            assert hashlib.sha256(raw).digest() == hashlib.sha256(
                crawls[(system, path)][1]).digest(), path


def test_other_seed_messes_other_records(world, messy):
    manifest, _ = messy
    with SimulatedProvince(world=world, mess=Mess.parse(SPEC, seed=8)) as other:
        assert {(e["key"], e["kind"]) for e in other.mess_manifest} != {
            (e["key"], e["kind"]) for e in manifest}


def test_set_as_of_rebuilds_the_manifest(world):
    with SimulatedProvince(world=world, mess=Mess.parse(SPEC, seed=7)) as province:
        late = len(province.mess_manifest)
        province.set_as_of(dt.datetime(2016, 6, 30, 12, tzinfo=VN_TZ))
        early = province.mess_manifest
        assert 0 < len(early) < late
        counts = defaultdict(int)
        for e in early:
            counts[e["endpoint"]] += 1
        assert counts["/api/v1/hoso"] > 0


def test_eoffice_cursor_serves_both_copies_of_a_repeat_across_pages(world):
    from govkpi.simulator.eoffice import EofficeServer

    with EofficeServer(world, mess=Mess.parse("repeat=0.05", seed=7)) as server:
        env = {"GOVKPI_EOFFICE_URL": server.url, "GOVKPI_EOFFICE_API_KEY": server.api_key}
        full, _ = crawl_eoffice(env, "/api/v2/documents")
        repeated = {e["key"] for e in server.mess_manifest}
        first, key = next((i, r["id"]) for i, r in enumerate(full) if r["id"] in repeated)
        auth = {"X-API-Key": server.api_key}
        url = f"{server.url}/api/v2/documents?limit={first + 1}"
        page1 = json.loads(_get(url, auth)[0])
        page2 = json.loads(_get(url + "&cursor=" + page1["next_cursor"], auth)[0])
    assert page1["items"][-1]["id"] == key
    assert page2["items"][0]["id"] == key
    assert page2["items"][1]["id"] != key
