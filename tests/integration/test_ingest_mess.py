"""Realistic mess in all three systems (govkpi.simulator.mess): every problem in the simulator's
manifest is handled as its ``expected`` says, and the good rows load.

Kinds of bad records covered (each quarantined with its own reason naming the field):

one-stop dossiers
  1. NgayTiepNhan an impossible date (30 February)           "NgayTiepNhan is not a valid date"
  2. NgayCapNhat without a UTC offset             "NgayCapNhat has no UTC offset (expected +07:00)"
  3. KenhThucHien sent as a string                          "KenhThucHien is not an integer"
  4. KenhThucHien out of range (9)                          "KenhThucHien must be 1, 2 or 3"
  5. TrangThaiHoSo out of range (0)                         "TrangThaiHoSo must be between 1 and 8"
  6. MaDonVi not among the loaded units                     "unknown MaDonVi: unknown unit code …"
  7. MaTTHC not among the loaded procedures            "unknown MaTTHC: unknown procedure code …"
  8. negative PhiLePhi                                      "negative PhiLePhi: …"
  9. NgayHenTra before NgayTiepNhan                         "NgayHenTra before NgayTiepNhan: …"
e-office documents
 10. ngay_sua in ISO 8601 instead of dd/MM/yyyy HH:mm:ss    "ngay_sua is not dd/MM/yyyy HH:mm:ss"
 11. huong neither di nor den                               "huong must be 'di' or 'den'"
 12. ma_don_vi not among the loaded units                   "unknown ma_don_vi: unknown unit code …"
portal services, submissions, payments, ratings
 13. updated_at sent as a string             "updated_at is not epoch milliseconds (integer)"
 14. rating score 7                                         "score must be 1 to 5"
 15. negative payment amount                                "negative amount: …"
 16. payment of a dossier the one-stop system does not have
                                                  "unknown dossier_code: unknown dossier code …"

and the problems that are not errors: a record served twice (deduplicated: counted as a
duplicate, loaded once), a record moved during the crawl (both versions land, the latest is the
served one), optional keys absent from the JSON (loaded; the key reads as null).
"""

from __future__ import annotations

from collections import Counter

import pytest

from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from govkpi.simulator.mess import Mess
from tests.helpers import query
from tests.integration._ingest import (
    BY_PATH,
    ENDPOINTS,
    latest_loaded,
    quarantined,
    served,
    settings,
)

MESS = Mess.parse("repeat=0.03,move=0.03,missing=0.03,malformed=0.04", seed=7)


@pytest.fixture(scope="module")
def messy(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=2017, dossiers=1500, mess=MESS) as province:
        conf = settings(province, page_size=200)
        results = {(system, r.endpoint): r for system in ("onestop", "eoffice", "dvc")
                   for r in extract(system, wh, conf[system], mode="full")}
        manifest = province.mess_manifest
        clean = {ep: served(province, *ep) for ep in ENDPOINTS}
    return wh, results, manifest, clean


def _entries(manifest, expected_prefix):
    return [e for e in manifest if e["expected"].startswith(expected_prefix)]


def test_the_manifest_covers_every_kind(messy):
    _, _, manifest, _ = messy
    reasons = {e["expected"] for e in _entries(manifest, "quarantine: ")}
    assert len(reasons) >= 15, sorted(reasons)
    assert {e["expected"] for e in manifest} >= {"dedupe", "keep-latest", "load-with-null"}


def test_malformed_records_are_quarantined_with_their_reason(messy):
    wh, _, manifest, _ = messy
    for e in _entries(manifest, "quarantine: "):
        system, endpoint = BY_PATH[e["endpoint"]]
        reasons = quarantined(wh, system, endpoint)
        assert e["key"] in reasons, e
        reason = reasons[e["key"]]
        assert e["expected"].removeprefix("quarantine: ") in reason, (e, reason)
        assert e["field"] in reason, (e, reason)
        assert not query(wh, f"select 1 from raw_{system}.{endpoint} where record_key = %s",
                         (e["key"],)), e


def test_repeats_are_counted_as_duplicates_and_loaded_once(messy):
    wh, results, manifest, _ = messy
    repeats = Counter(BY_PATH[e["endpoint"]] for e in _entries(manifest, "dedupe"))
    assert sum(repeats.values()) > 20
    for endpoint in ENDPOINTS:
        assert results[endpoint].duplicates == repeats[endpoint], endpoint
    for e in _entries(manifest, "dedupe"):
        system, endpoint = BY_PATH[e["endpoint"]]
        assert query(wh, f"select count(*) from raw_{system}.{endpoint} where record_key = %s",
                     (e["key"],)) == [(1,)], e


def test_moved_records_keep_their_latest_version(messy):
    wh, _, manifest, clean = messy
    moved = _entries(manifest, "keep-latest")
    assert moved
    for e in moved:
        endpoint = BY_PATH[e["endpoint"]]
        rows = query(wh, f"select source_updated_at from raw_{endpoint[0]}.{endpoint[1]} "
                         "where record_key = %s order by 1", (e["key"],))
        assert len(rows) == 2, e  # the previous version and the current one both landed
        assert rows[-1][0] == clean[endpoint][e["key"]][0], e


def test_missing_keys_load_and_read_as_null(messy):
    wh, _, manifest, _ = messy
    missing = _entries(manifest, "load-with-null")
    assert missing
    for e in missing:
        system, endpoint = BY_PATH[e["endpoint"]]
        for field in e["field"].split(", "):
            assert query(wh, f"select payload ? %s, payload ->> %s from raw_{system}."
                             f"{endpoint} where record_key = %s",
                         (field, field, e["key"])) == [(False, None)], e


def test_good_rows_load_and_every_key_is_accounted_for(messy):
    wh, results, manifest, clean = messy
    bad = {(BY_PATH[e["endpoint"]], e["key"]) for e in _entries(manifest, "quarantine: ")}
    for endpoint in ENDPOINTS:
        loaded = latest_loaded(wh, *endpoint)
        rejected = quarantined(wh, *endpoint)
        assert set(rejected) == {k for ep, k in bad if ep == endpoint}, endpoint
        assert len(loaded) + len(rejected) == len(clean[endpoint]), endpoint
        good = {k: t for k, (t, _) in clean[endpoint].items() if k not in rejected}
        assert loaded == good, endpoint
        batch = results[endpoint]
        assert batch.received == batch.loaded + batch.quarantined, endpoint
        assert batch.quarantined == len(rejected), endpoint
