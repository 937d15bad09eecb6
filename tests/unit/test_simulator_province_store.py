"""The province store: e-office and portal served from disk give the very bytes of the
in-memory servers; SimulatedProvince(scale=...) serves all three systems from one store; store
builds are deterministic."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from govkpi.simulator.dvc import DvcServer
from govkpi.simulator.eoffice import EofficeServer
from govkpi.simulator.province import SimulatedProvince
from govkpi.simulator.serving import BackgroundServer
from govkpi.simulator.store import (
    SYSTEMS,
    build_onestop_store_sharded,
    create_dvc_store_app,
    create_eoffice_store_app,
    get_or_build,
    scale_dossiers,
)
from govkpi.simulator.world import generate_world

SEED, DOSSIERS = 11, 600
AS_OFS = [None, "2017-03-14T09:12:00+07:00", "2017-12-29T16:59:00+07:00",
          "9999-12-31T23:59:59+07:00"]
BASIC = "Basic " + base64.b64encode(b"govkpi:govkpi-dvc-secret").decode()


def t(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, str | None]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, r.read(), r.headers.get("Link")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), None


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=SEED, dossiers=DOSSIERS, years=(2017,))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("province") / "store"
    build_onestop_store_sharded(path, seed=SEED, dossiers=DOSSIERS, years=[2017], workers=1,
                                systems=SYSTEMS, run_size=700)
    return path


def eoffice_crawl(url: str, limit: int, since: str | None = None) -> list[bytes]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **({"modified_since": since} if since else {}),
                 **({"cursor": cursor} if cursor else {})}
        status, body, _ = get(f"{url}/api/v2/documents?{urllib.parse.urlencode(query)}",
                              {"X-API-Key": "govkpi-eoffice-key"})
        assert status == 200, body
        pages.append(body)
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:
            return pages


def dvc_crawl(url: str, endpoint: str, limit: int, since: int | None = None) -> list:
    pages, offset = [], 0
    while True:
        query = {"offset": offset, "limit": limit, **({"since": since} if since else {})}
        status, body, link = get(f"{url}{endpoint}?{urllib.parse.urlencode(query)}",
                                 {"Authorization": BASIC})
        assert status == 200, body
        pages.append((body, link.replace(url, "") if link else None))
        if link is None:
            return pages
        offset += limit


@pytest.mark.parametrize("as_of", AS_OFS)
def test_eoffice_store_answers_are_the_in_memory_bytes(world, store, as_of):
    with EofficeServer(world, t(as_of), seed=SEED) as memory, \
            BackgroundServer(create_eoffice_store_app(store, t(as_of))) as disk:
        for limit, since in ((1000, None), (37, None), (50, "01/06/2017 00:00:00"),
                             (1, "29/12/2017 16:00:00")):
            assert eoffice_crawl(disk.url, limit, since) == eoffice_crawl(memory.url, limit,
                                                                          since)
        assert get(f"{disk.url}/health")[1] == get(f"{memory.url}/health")[1]
        assert get(f"{disk.url}/api/v2/documents")[0] == 401
        bad = get(f"{disk.url}/api/v2/documents?cursor=forged",
                  {"X-API-Key": "govkpi-eoffice-key"})
        assert bad[:2] == get(f"{memory.url}/api/v2/documents?cursor=forged",
                              {"X-API-Key": "govkpi-eoffice-key"})[:2]


@pytest.mark.parametrize("as_of", AS_OFS)
def test_portal_store_answers_are_the_in_memory_bytes(world, store, as_of):
    since = 1_496_275_200_000  # 2017-06-01T00:00:00Z
    with DvcServer(world, t(as_of), seed=SEED) as memory, \
            BackgroundServer(create_dvc_store_app(store, t(as_of))) as disk:
        for endpoint in ("/api/services", "/api/submissions", "/api/payments", "/api/ratings"):
            for limit, s in ((1000, None), (7, None), (25, since)):
                assert dvc_crawl(disk.url, endpoint, limit, s) == dvc_crawl(
                    memory.url, endpoint, limit, s), (endpoint, limit, s)
            assert get(f"{disk.url}{endpoint}?offset=100000", {"Authorization": BASIC})[1] == b"[]"
        assert get(f"{disk.url}/health")[1] == get(f"{memory.url}/health")[1]
        assert get(f"{disk.url}/api/services")[0] == 401


def _digests(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and p.name != "build.json"}


def test_province_store_builds_are_deterministic(store, tmp_path, monkeypatch):
    from govkpi.simulator import store as store_mod

    again = tmp_path / "again"
    build_onestop_store_sharded(again, seed=SEED, dossiers=DOSSIERS, years=[2017], workers=1,
                                systems=SYSTEMS)
    first, second = _digests(store), _digests(again)
    assert {"eoffice/documents/data.bin", "dvc/services/data.bin", "dvc/submissions/stamp.npy",
            "dvc/payments/offset.npy", "dvc/ratings/valid_until.npy"} <= set(first)
    assert first == second
    # several shards and years: ids stay unique, each system's records are there
    monkeypatch.setattr(store_mod, "SHARD_DOSSIERS", 300)
    path, timings = get_or_build(seed=5, dossiers=1000, years=[2016, 2017], root=tmp_path,
                                 workers=1, systems=SYSTEMS)
    assert timings is not None
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["params"]["shards"] == 4
    assert manifest["systems"] == list(SYSTEMS)
    assert manifest["records"]["/api/v2/documents"] == 3000
    assert get_or_build(seed=5, dossiers=1000, years=[2016, 2017], root=tmp_path,
                        workers=1, systems=SYSTEMS) == (path, None)
    with BackgroundServer(create_eoffice_store_app(path, t(AS_OFS[-1]))) as disk:
        docs = [d for page in eoffice_crawl(disk.url, 1000) for d in json.loads(page)["items"]]
    assert len({d["id"] for d in docs}) == len(docs) == 3000
    numbers = [(d["so_ky_hieu"], d["ma_don_vi"], d["ngay_ky"][6:10]) for d in docs
               if d["huong"] == "di" and d["so_ky_hieu"]]
    assert len(set(numbers)) == len(numbers)
    with BackgroundServer(create_dvc_store_app(path, t(AS_OFS[-1]))) as disk:
        for endpoint, key in (("/api/submissions", "submission_id"),
                              ("/api/payments", "payment_id"), ("/api/ratings", "rating_id")):
            records = [r for body, _ in dvc_crawl(disk.url, endpoint, 1000)
                       for r in json.loads(body)]
            assert records
            assert len({r[key] for r in records}) == len(records)


def test_simulated_province_with_a_scale_serves_all_three_from_the_store(world, tmp_path):
    assert scale_dossiers(0.0006, [2017]) == DOSSIERS
    assert scale_dossiers(1.0, [2016, 2017]) == 2_000_000
    messages: list[str] = []
    t1 = t("2017-09-01T08:00:00+07:00")
    with SimulatedProvince(SEED, years=[2017], scale=0.0006, store_root=tmp_path, as_of=t1,
                           workers=1, progress=messages.append) as scaled, \
            SimulatedProvince(SEED, DOSSIERS, [2017], as_of=t1) as memory:
        assert scaled.store is not None
        assert scaled.build_timings is not None
        assert any("shard 1/1" in m for m in messages)
        for a, b in zip(scaled.systems, memory.systems, strict=True):
            assert get(f"{a.url}/health")[1] == get(f"{b.url}/health")[1]
        assert eoffice_crawl(scaled.eoffice.url, 100) == eoffice_crawl(memory.eoffice.url, 100)
        assert dvc_crawl(scaled.dvc.url, "/api/submissions", 50) == dvc_crawl(
            memory.dvc.url, "/api/submissions", 50)
        t2 = t("2018-01-15T08:00:00+07:00")
        scaled.set_as_of(t2)
        memory.set_as_of(t2)
        for a, b in zip(scaled.systems, memory.systems, strict=True):
            assert get(f"{a.url}/health")[1] == get(f"{b.url}/health")[1]
        assert scaled.mess_manifest == []
        assert set(scaled.environment()) == set(memory.environment())
    # built once: the second province reuses the store
    with SimulatedProvince(SEED, years=[2017], scale=0.0006, store_root=tmp_path,
                           progress=messages.append) as again:
        assert again.build_timings is None
        assert again.store == scaled.store
