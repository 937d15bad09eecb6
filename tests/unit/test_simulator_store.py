"""The disk-backed version store: the same bytes as the in-memory one-stop views, the as-of
visibility rule, deterministic files, build-once reuse, and the HTTP contract on top."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from govkpi.simulator import store as store_mod
from govkpi.simulator.onestop import _SortedRecords
from govkpi.simulator.serving import BackgroundServer
from govkpi.simulator.store import (
    FOREVER,
    StoreView,
    build_onestop_store,
    build_store,
    create_store_app,
    get_or_build,
    micros,
)
from govkpi.simulator.world import VN_OFFSET, OneStopWorld, generate_world

VN = VN_OFFSET


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def world() -> OneStopWorld:
    return generate_world(seed=11, dossiers=600, years=(2017,))


@pytest.fixture(scope="module")
def store(world, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "onestop"
    build_onestop_store(path, world, run_size=500)  # several runs: the merge is exercised
    return path


AS_OFS = ["2017-01-01T00:00:00+07:00", "2017-03-14T09:12:00+07:00",
          "2017-07-01T15:00:00+07:00", "2017-12-29T16:59:00+07:00",
          "2018-01-15T08:00:00+07:00", "9999-12-31T23:59:59+07:00"]
FILTERS = [(None, None), ("2017-03-01T00:00:00+07:00", None),
           (None, "2017-06-15T10:30:00+07:00"),
           ("2017-05-02T08:00:00+07:00", "2017-05-20T00:00:00+07:00"),
           ("2018-06-01T00:00:00+07:00", None)]


@pytest.mark.parametrize("as_of", AS_OFS)
def test_store_pages_are_byte_identical_to_the_in_memory_view(world, store, as_of):
    moment = t(as_of)
    for view, key, table in (("dossiers_as_of", "MaHoSo", "hoso"),
                             ("units_as_of", "MaDonVi", "donvi"),
                             ("procedures_as_of", "MaTTHC", "thutuc")):
        expected = _SortedRecords(getattr(world, view)(moment), key)
        got = StoreView(store / table, moment)
        assert len(got.stamps) == len(expected.stamps)
        assert got.stamps.tolist() == expected.stamps
        for lo, hi in FILTERS:
            lo_us = None if lo is None else micros(t(lo))
            hi_us = None if hi is None else micros(t(hi))
            for size in (1, 7, 100, 1000):
                for page in (1, 2, 3, 50):
                    assert got.page(lo_us, hi_us, page, size) == expected.page(
                        lo_us, hi_us, page, size), (table, lo, hi, page, size)
        got.close()


def test_a_full_crawl_walks_every_record_once(world, store):
    moment = t(AS_OFS[3])
    view = StoreView(store / "hoso", moment)
    seen = []
    page = 1
    while True:
        body = json.loads(view.page(None, None, page, 97))
        seen += [r["MaHoSo"] for r in body["data"]]
        if page * 97 >= body["total"]:
            break
        page += 1
    assert seen == [r["MaHoSo"] for r in sorted(
        world.dossiers_as_of(moment), key=lambda r: (t(r["NgayCapNhat"]), r["MaHoSo"]))]
    assert len(set(seen)) == len(seen)


def test_a_version_is_visible_from_its_time_until_the_next_one(tmp_path):
    def rec(code: str, status: int, at: str) -> dict:
        return {"MaHoSo": code, "TrangThaiHoSo": status, "NgayCapNhat": at}

    a1, a2, a3 = "2017-03-01T08:00:00+07:00", "2017-03-02T09:00:00+07:00", \
        "2017-03-05T10:00:00+07:00"
    versions = [
        [(micros(t(a1)), rec("A", 1, a1)), (micros(t(a2)), rec("A", 2, a2)),
         (micros(t(a2)) + 5, rec("A", 2, a2)),  # unchanged: not a new version
         (micros(t(a3)), rec("A", 4, a3))],
        # B disappears (None) one hour after it appears; sorted by an explicit stamp and key
        [(micros(t(a1)), json.dumps(rec("B", 1, a1), separators=(",", ":")).encode(),
          micros(t(a1)), "B"), (micros(t(a1)) + 3_600_000_000, None)],
    ]
    path = tmp_path / "hoso"
    manifest = build_store(path, versions, key="MaHoSo", run_size=2)
    assert (manifest["versions"], manifest["records"]) == (4, 2)

    def visible(at: int) -> list[tuple[str, int]]:
        return [(r["MaHoSo"], r["TrangThaiHoSo"])
                for r in json.loads(StoreView(path, at).page(None, None, 1, 100))["data"]]

    assert visible(micros(t(a1)) - 1) == []
    assert visible(micros(t(a1))) == [("A", 1), ("B", 1)]
    assert visible(micros(t(a1)) + 3_600_000_000 - 1) == [("A", 1), ("B", 1)]
    assert visible(micros(t(a1)) + 3_600_000_000) == [("A", 1)]
    assert visible(micros(t(a2)) - 1) == [("A", 1)]
    assert visible(micros(t(a2))) == [("A", 2)]
    assert visible(micros(t(a3))) == [("A", 4)]
    assert visible(FOREVER - 1) == [("A", 4)]


def _digests(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_two_builds_give_byte_identical_files(world, store, tmp_path):
    again = tmp_path / "again"
    build_onestop_store(again, generate_world(seed=11, dossiers=600, years=(2017,)),
                        run_size=170)
    first, second = _digests(store), _digests(again)
    assert {"manifest.json", "hoso/data.bin", "hoso/stamp.npy", "hoso/valid_from.npy",
            "hoso/valid_until.npy", "hoso/offset.npy", "hoso/length.npy",
            "donvi/data.bin", "thutuc/manifest.json"} <= set(first)
    assert first == second


def test_get_or_build_builds_once_per_world_and_shards_keep_codes_unique(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "SHARD_DOSSIERS", 250)
    path, timings = get_or_build(seed=5, dossiers=700, years=[2017], root=tmp_path, workers=1)
    assert path == tmp_path / "binh_dinh-5-700-2017"
    assert timings is not None
    assert timings["build_wall_s"] > 0
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["params"]["shards"] == 3
    assert manifest["records"]["/api/v1/hoso"] == 700
    stamp = (path / "hoso" / "data.bin").stat().st_mtime_ns
    again, timings = get_or_build(seed=5, dossiers=700, years=[2017], root=tmp_path, workers=1)
    assert (again, timings) == (path, None)
    assert (path / "hoso" / "data.bin").stat().st_mtime_ns == stamp
    view = StoreView(path / "hoso", t("2018-01-15T08:00:00+07:00"))
    codes = [r["MaHoSo"] for r in json.loads(view.page(None, None, 1, 1000))["data"]]
    assert len(codes) == len(set(codes)) == 700
    # other generator code: rebuilt, not reused
    monkeypatch.setattr(store_mod, "generator_fingerprint", lambda: "changed")
    rebuilt, timings = get_or_build(seed=5, dossiers=700, years=[2017], root=tmp_path,
                                    workers=1)
    assert rebuilt == path
    assert timings is not None
    assert json.loads((path / "manifest.json").read_text())["params"]["generator"] == "changed"
    # another world, another store
    other, timings = get_or_build(seed=6, dossiers=700, years=[2017], root=tmp_path, workers=1)
    assert other != path
    assert timings is not None


def test_the_store_app_keeps_the_one_stop_contract(world, store):
    def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    as_of = t("2017-09-01T08:00:00+07:00")
    with BackgroundServer(create_store_app(store, as_of)) as server:
        assert get(f"{server.url}/api/v1/hoso")[0] == 401
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": "govkpi",
                                       "client_secret": "govkpi-secret"}).encode()
        with urllib.request.urlopen(f"{server.url}/oauth/token", data=form) as r:
            token = json.loads(r.read())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        query = urllib.parse.urlencode({"page": 2, "size": 50,
                                        "updated_from": "2017-04-01T00:00:00+07:00"})
        status, body = get(f"{server.url}/api/v1/hoso?{query}", auth)
        assert status == 200
        expected = _SortedRecords(world.dossiers_as_of(as_of), "MaHoSo")
        assert body == expected.page(micros(t("2017-04-01T00:00:00+07:00")), None, 2, 50)
        assert get(f"{server.url}/api/v1/hoso?size=1001", auth)[0] == 400
        status, body = get(f"{server.url}/health")
        assert json.loads(body)["records"]["/api/v1/hoso"] == len(expected.stamps)


def test_a_world_that_fits_in_one_shard_per_year_is_generate_world(world, store, tmp_path):
    path, _ = get_or_build(seed=11, dossiers=600, years=[2017], root=tmp_path, workers=1)
    built, direct = _digests(path), _digests(store)
    for name in ("data.bin", "stamp.npy", "valid_from.npy", "valid_until.npy", "offset.npy",
                 "length.npy"):
        for table in ("hoso", "donvi", "thutuc"):
            assert built[f"{table}/{name}"] == direct[f"{table}/{name}"], (table, name)
