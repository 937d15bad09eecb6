"""Incremental extraction of the e-office and the portal with a moving clock: the second run reads
only what changed since the watermark plus the overlap window (the e-office filter in naive
local time, the portal's in epoch milliseconds), the watermark moves with its batch, and the
latest state per key equals a full crawl."""

from __future__ import annotations

import datetime as dt

import msgspec

from govkpi.calendar import VN_TZ
from govkpi.extract import extract
from govkpi.simulator import SimulatedProvince
from tests.helpers import query
from tests.integration._ingest import served, settings

FIRST = dt.datetime(2017, 6, 30, 18, 0, tzinfo=VN_TZ)
SECOND = dt.datetime(2017, 12, 29, 10, 30, tzinfo=VN_TZ)
OVERLAP = dt.timedelta(hours=1)
ENDPOINTS = [("eoffice", "documents"), ("dvc", "services"), ("dvc", "submissions"),
             ("dvc", "payments"), ("dvc", "ratings")]


def _run(wh, conf):
    return {(system, r.endpoint): r for system in ("onestop", "eoffice", "dvc")
            for r in extract(system, wh, conf[system])}


def test_second_run_reads_changes_only_and_ends_in_the_latest_state(fresh_warehouse):
    wh = fresh_warehouse
    with SimulatedProvince(seed=44, dossiers=1200, as_of=FIRST) as province:
        conf = settings(province, page_size=100)
        before = {ep: served(province, *ep, FIRST) for ep in ENDPOINTS}
        first = _run(wh, conf)
        marks = dict(((s, e), m) for s, e, m in query(
            wh, "select source_system, endpoint, watermark from audit.watermark"))
        province.set_as_of(SECOND)
        after = {ep: served(province, *ep, SECOND) for ep in ENDPOINTS}
        second = _run(wh, conf)

    for ep in ENDPOINTS:
        old, new = before[ep], after[ep]
        assert first[ep].loaded == len(old), ep
        newest = max(t for t, _ in old.values())
        assert marks[ep] == newest, ep
        changed = {k for k, (t, r) in new.items() if k not in old or old[k][1] != r}
        assert changed or ep == ("dvc", "services"), ep  # the clock moved this endpoint on
        # what the second run must read: everything modified since the mark minus the overlap
        window = {k for k, (t, _) in new.items() if t >= newest - OVERLAP}
        assert changed <= window, ep
        assert second[ep].received == len(window), ep
        assert second[ep].loaded == len(window), ep
        assert second[ep].received < len(new), ep  # not a full crawl
        assert query(wh, "select window_from from audit.load_batch where batch_id = %s",
                     (second[ep].batch_id,)) == [(newest - OVERLAP,)], ep
        assert query(wh, "select watermark, batch_id from audit.watermark where "
                         "source_system = %s and endpoint = %s", ep) == [
            (max(t for t, _ in new.values()), second[ep].batch_id)], ep
        # the latest loaded version of every key is the full crawl's record
        latest = {key: msgspec.json.decode(payload) for key, payload in query(
            wh, f"select distinct on (record_key) record_key, payload::text from "
                f"raw_{ep[0]}.{ep[1]} order by record_key, source_updated_at desc, "
                "batch_id desc")}
        assert latest == {k: r for k, (_, r) in new.items()}, ep
