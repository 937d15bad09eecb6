"""Incremental extraction against a simulator whose clock moves: only what changed is read,
the watermark moves with the batch, and staging ends with the latest state of every dossier."""

from __future__ import annotations

import datetime as dt

from govkpi.calendar import VN_TZ
from govkpi.config import OneStopSettings
from govkpi.extract import extract_onestop
from govkpi.simulator import OneStopServer, generate_world
from tests.helpers import dbt, query

FIRST = dt.datetime(2017, 12, 31, 23, 0, tzinfo=VN_TZ)
SECOND = dt.datetime(2018, 1, 15, 8, 0, tzinfo=VN_TZ)


def test_incremental_reads_changes_only_and_keeps_latest_state(fresh_warehouse):
    wh = fresh_warehouse
    world = generate_world(seed=3, dossiers=800)
    before = {d["MaHoSo"]: d for d in world.dossiers_as_of(FIRST)}
    after = {d["MaHoSo"]: d for d in world.dossiers_as_of(SECOND)}
    changed = {k for k, d in after.items() if k not in before or d != before[k]}
    assert changed  # the clock moves dossiers on

    with OneStopServer(world, as_of=FIRST) as srv:
        settings = OneStopSettings(srv.url, srv.client_id, srv.client_secret, page_size=50,
                                   overlap_seconds=3600)
        *_, first = extract_onestop(wh, settings)
        mark1 = query(wh, "select watermark, batch_id from audit.watermark "
                      "where endpoint = 'hoso'")[0]
        srv.set_as_of(SECOND)
        *_, second = extract_onestop(wh, settings)
        mark2 = query(wh, "select watermark, batch_id from audit.watermark "
                      "where endpoint = 'hoso'")[0]

    assert first.endpoint == "hoso"
    assert first.loaded == len(before)
    newest = max(dt.datetime.fromisoformat(d["NgayCapNhat"]) for d in before.values())
    assert mark1 == (newest, first.batch_id)
    # second batch: what changed after the first crawl, plus the overlap hour before the mark
    overlap = {k for k, d in before.items()
               if dt.datetime.fromisoformat(d["NgayCapNhat"]) >= newest - dt.timedelta(hours=1)}
    assert second.received == len(changed | (overlap - changed))
    assert mark2[1] == second.batch_id
    assert mark2[0] == max(dt.datetime.fromisoformat(d["NgayCapNhat"]) for d in after.values())

    dbt("build", "--select", "+staging", "--indirect-selection", "cautious")
    rows = query(wh, "select dossier_code, status_code, source_updated_at "
                 "from staging.stg_onestop__dossiers")
    assert len(rows) == len(after)
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        k: (d["TrangThaiHoSo"], dt.datetime.fromisoformat(d["NgayCapNhat"]))
        for k, d in after.items()}
