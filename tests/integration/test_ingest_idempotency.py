"""Idempotency: re-running a window changes nothing.

A full extraction of the three systems from one simulated province, then ``dbt build``, gives a
fingerprint of the warehouse: per raw table the number of distinct keys and a hash of the
latest version of every key (key, modification time, payload), and the row count and a content
hash of ``marts.fct_dossier_resolution_unit_year``. Re-running the same window — a backfill
of exactly the window the first run covered, a backfill of a sub-window, then an incremental
run (overlap re-read) — each followed by ``dbt build``, leaves the same fingerprint, the same
watermarks and the same quarantine. Raw tables are append-only, so re-read versions do add raw
rows; what must not change is every distinct key's latest state and everything built on it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from tests.helpers import dbt, query
from tests.integration._ingest import ENDPOINTS, settings

FACT = "marts.fct_dossier_resolution_unit_year"
SYSTEM_NAMES = ("onestop", "eoffice", "dvc")


def fingerprint(wh) -> dict[str, tuple]:
    parts: dict[str, tuple] = {}
    for system, endpoint in ENDPOINTS:
        table = f"raw_{system}.{endpoint}"
        parts[table] = query(
            wh, "select count(*), md5(coalesce(string_agg(line, E'\\n' order by line), '')) "
                "from (select distinct on (record_key) record_key || '|' || "
                "coalesce(source_updated_at::text, '') || '|' || md5(payload::text) as line "
                f"from {table} order by record_key, source_updated_at desc, batch_id desc) v")[0]
    parts[FACT] = query(wh, "select count(*), md5(coalesce(string_agg(to_jsonb(f)::text, "
                            f"E'\\n' order by to_jsonb(f)::text), '')) from {FACT} f")[0]
    parts["watermarks"] = tuple(query(wh, "select source_system, endpoint, watermark from "
                                          "audit.watermark order by 1, 2"))
    parts["quarantine"] = tuple(query(
        wh, "select distinct source_system, endpoint, record_key, reason, md5(payload::text) "
            "from audit.quarantine order by 1, 2, 3, 4, 5"))
    return parts


def _run(wh, conf, **kwargs) -> list:
    results = [r for system in SYSTEM_NAMES for r in extract(system, wh, conf[system], **kwargs)]
    dbt("build")
    return results


@pytest.fixture(scope="module")
def runs(fresh_warehouse_module):
    wh = fresh_warehouse_module
    with SimulatedProvince(seed=53, dossiers=1500, years=(2016, 2017)) as province:
        conf = settings(province, page_size=150)
        first = _run(wh, conf, mode="full")
        after_full = fingerprint(wh)
        low, high = query(wh, "select min(t), max(t) from (" + " union all ".join(
            f"select source_updated_at as t from raw_{s}.{e}" for s, e in ENDPOINTS) + ") a")[0]
        window = (low, high + dt.timedelta(seconds=1))  # the whole of what the first run read
        sub_window = (dt.datetime(2017, 3, 1, tzinfo=low.tzinfo),
                      dt.datetime(2017, 9, 1, tzinfo=low.tzinfo))
        reruns = {}
        for name, kwargs in (
                ("backfill of the same window", dict(mode="backfill", window_from=window[0],
                                                     window_to=window[1])),
                ("backfill of a sub-window", dict(mode="backfill", window_from=sub_window[0],
                                                  window_to=sub_window[1])),
                ("incremental", dict(mode="incremental"))):
            results = _run(wh, conf, **kwargs)
            reruns[name] = (results, fingerprint(wh))
    return wh, first, after_full, reruns


def test_the_first_run_fills_every_table(runs):
    _, first, after_full, _ = runs
    assert all(r.loaded > 0 for r in first)
    for (system, endpoint) in ENDPOINTS:
        assert after_full[f"raw_{system}.{endpoint}"][0] > 0, (system, endpoint)
    assert after_full[FACT][0] > 0
    assert len(after_full["watermarks"]) == len(ENDPOINTS)


@pytest.mark.parametrize("rerun", ["backfill of the same window", "backfill of a sub-window",
                                   "incremental"])
def test_a_rerun_changes_nothing(runs, rerun):
    _, _, after_full, reruns = runs
    results, after = reruns[rerun]
    received = {r.endpoint: r.received for r in results}
    assert received["hoso"] > 0, (rerun, received)  # it re-read
    assert received["documents"] > 0, (rerun, received)
    for part in after_full:
        assert after[part] == after_full[part], (rerun, part)


def test_reruns_reread_and_every_batch_succeeded(runs):
    wh, first, _, reruns = runs
    same_window = reruns["backfill of the same window"][0]
    assert [r.received for r in same_window] == [r.received for r in first]
    assert query(wh, "select status, count(*) from audit.load_batch group by 1") == [
        ("succeeded", len(ENDPOINTS) * 4)]
    assert query(wh, "select count(*) from audit.load_batch where "
                     "received_count <> loaded_count + quarantined_count") == [(0,)]
