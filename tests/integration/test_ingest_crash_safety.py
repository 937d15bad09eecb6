"""Crash safety: an extraction killed with SIGKILL in the middle of a batch, then run again,
leaves exactly the warehouse state of an uninterrupted run.

The extraction runs as a real subprocess (``python -c`` calling :func:`govkpi.extract.extract`
with the environment pointing at a fresh database and at a simulated province served from this
process, with latency and a small page size so that the dossier crawl takes seconds). It is
killed once the unit and procedure batches have committed and the dossier batch's COPY has
streamed rows into its open transaction (seen in ``pg_stat_progress_copy``). What must hold:

- the killed batch contributes nothing: no raw row, no quarantined record, no watermark — the
  server rolled its one transaction back;
- it stays visible in ``audit.load_batch`` as not succeeded: right after the kill it reads
  ``running`` (the process could not write anything), and the next load's startup sweep
  (:func:`govkpi.load.raw.fail_abandoned_batches`: a running batch whose session's advisory
  lock is free) marks it ``failed`` with the reason ``abandoned: …``;
- the re-run (incremental, as a scheduler would retry) ends in the same state as one
  uninterrupted run into a second fresh database: the same latest version of every key in
  every raw table (key, modification time, payload hash), the same set of distinct versions,
  the same watermarks and the same quarantine (key, reason, hashed payload).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from govkpi.config import PROJECT_ROOT
from govkpi.simulator import SimulatedProvince
from govkpi.simulator.mess import Mess
from govkpi.simulator.serving import Faults
from govkpi.sources.systems import SYSTEMS
from tests.helpers import query

DOSSIERS = 4000
PAGE_SIZE = 50  # 80+ dossier pages …
LATENCY_MS = 120  # … at 4 concurrent requests of 120 ms: ~3 s of dossier crawl
MESS = Mess.parse("repeat=0.02,malformed=0.03,missing=0.02", seed=5)
RAW_TABLES = [f"raw_onestop.{name}" for name in SYSTEMS["onestop"].endpoints]

RUNNER = """
import sys
from govkpi.extract import extract
from govkpi.warehouse import resolve_warehouse

for result in extract("onestop", resolve_warehouse(create=False), mode="incremental"):
    print(result.summary(), flush=True)
"""


def _environment(wh, province) -> dict[str, str]:
    include = str(PROJECT_ROOT / "include")
    return {**os.environ, **wh.environment(), **province.environment(),
            "GOVKPI_ONESTOP_PAGE_SIZE": str(PAGE_SIZE),
            "PYTHONPATH": os.pathsep.join(filter(None, [include, str(PROJECT_ROOT),
                                                        os.environ.get("PYTHONPATH")]))}


def _start(wh, province) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUNNER], env=_environment(wh, province),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_to_completion(wh, province) -> None:
    proc = _start(wh, province)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"extract failed ({proc.returncode}):\n{out}\n{err[-3000:]}"


def _hoso_copy_in_flight(wh) -> tuple[int, int] | None:
    """(batch id, backend pid) once the dossier batch is running and its COPY has rows."""
    if query(wh, "select to_regclass('audit.load_batch')") == [(None,)]:
        return None  # the loader has not created its schema yet
    rows = query(wh, "select batch_id from audit.load_batch where endpoint = 'hoso' and "
                     "status = 'running'")
    done = query(wh, "select count(*) from audit.load_batch where endpoint in "
                     "('donvi', 'thutuc') and status = 'succeeded'")[0][0]
    if not rows or done < 2:
        return None
    copying = query(wh, "select pid, tuples_processed from pg_stat_progress_copy p join "
                        "pg_class c on c.oid = p.relid where c.relname = 'hoso' and "
                        "p.datname = current_database()")
    if not copying or copying[0][1] == 0:
        return None
    return rows[0][0], copying[0][0]


def _state(wh) -> dict[str, object]:
    """Everything an uninterrupted run determines, without batch ids and load times."""
    state: dict[str, object] = {}
    for table in RAW_TABLES:
        state[f"{table} latest"] = query(
            wh, f"select distinct on (record_key) record_key, source_updated_at, "
                f"md5(payload::text) from {table} "
                f"order by record_key, source_updated_at desc, batch_id desc")
        state[f"{table} versions"] = query(
            wh, f"select distinct record_key, source_updated_at, md5(payload::text) "
                f"from {table} order by 1, 2, 3")
    state["watermarks"] = query(wh, "select source_system, endpoint, watermark from "
                                    "audit.watermark order by 1, 2")
    state["quarantine"] = query(
        wh, "select distinct q.source_system, q.endpoint, q.record_key, q.reason, "
            "md5(q.payload::text) from audit.quarantine q join audit.load_batch b "
            "using (batch_id) where b.status = 'succeeded' order by 1, 2, 3, 4, 5")
    return state


@pytest.fixture
def second_warehouse(server):
    from tests.conftest import _own_database

    yield from _own_database(server)


def test_sigkill_mid_batch_then_rerun_equals_an_uninterrupted_run(fresh_warehouse,
                                                                  second_warehouse):
    killed_wh, clean_wh = fresh_warehouse, second_warehouse
    faults = Faults(latency_ms=LATENCY_MS)
    with SimulatedProvince(seed=31, dossiers=DOSSIERS, years=(2017,), faults=faults,
                           mess=MESS) as province:
        proc = _start(killed_wh, province)
        in_flight = None
        deadline = time.monotonic() + 120
        try:
            while in_flight is None:
                assert proc.poll() is None, (
                    "the extraction ended before it could be killed mid-batch: "
                    f"{proc.communicate()}")
                assert time.monotonic() < deadline, "the dossier batch never started copying"
                time.sleep(0.05)
                in_flight = _hoso_copy_in_flight(killed_wh)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        killed_batch, backend = in_flight

        # the server notices the closed socket and rolls the batch's transaction back
        deadline = time.monotonic() + 30
        while query(killed_wh, "select 1 from pg_stat_activity where pid = %s", (backend,)):
            assert time.monotonic() < deadline, "the killed loader's session did not end"
            time.sleep(0.05)
        assert query(killed_wh, "select status, error from audit.load_batch where "
                                "batch_id = %s", (killed_batch,)) == [("running", None)]
        assert query(killed_wh, "select count(*) from raw_onestop.hoso") == [(0,)]
        assert query(killed_wh, "select count(*) from audit.quarantine where batch_id = %s",
                     (killed_batch,)) == [(0,)]
        assert query(killed_wh, "select endpoint from audit.watermark order by 1") == [
            ("donvi",), ("thutuc",)]

        _run_to_completion(killed_wh, province)  # the retry
        _run_to_completion(clean_wh, province)  # the reference: never interrupted

    status, error = query(killed_wh, "select status, error from audit.load_batch where "
                                     "batch_id = %s", (killed_batch,))[0]
    assert status == "failed", (status, error)
    assert error.startswith("abandoned: "), error
    for table in RAW_TABLES:
        assert query(killed_wh, f"select count(*) from {table} where batch_id = %s",
                     (killed_batch,)) == [(0,)], table
    assert query(killed_wh, "select count(*) from audit.load_batch where status = 'running'"
                 ) == [(0,)]
    assert query(killed_wh, "select count(*) from audit.quarantine where batch_id = %s",
                 (killed_batch,)) == [(0,)]

    got, want = _state(killed_wh), _state(clean_wh)
    assert want["raw_onestop.hoso latest"]  # a real comparison …
    assert want["quarantine"]  # … with quarantined records
    for part in want:
        assert got[part] == want[part], part
