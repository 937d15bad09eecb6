"""The command line against a simulated province: ``govkpi extract`` (every system, or one
endpoint; arguments checked before anything runs) and ``govkpi load-returns``."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from govkpi.calendar import VN_TZ
from govkpi.cli import main
from govkpi.simulator import SimulatedProvince
from tests.helpers import query

SEED = 9


@pytest.fixture(scope="module")
def province():
    saved = dict(os.environ)
    with SimulatedProvince(seed=SEED, dossiers=300) as p:
        os.environ.update(p.environment())
        yield p
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize(("argv", "message"), [
    (["--system", "eoffice", "--endpoint", "hoso"],
     "unknown endpoint(s) hoso for --system eoffice: choose from documents"),
    (["--endpoint", "nope"], "unknown endpoint(s) nope for --system all"),
    (["--mode", "backfill"], "--mode backfill needs --from"),
    (["--from", "yesterday"], "--from='yesterday' is not an ISO-8601 date-time"),
])
def test_extract_refuses_bad_arguments_before_running(argv, message, capsys):
    assert main(["extract", "-q", *argv]) == 2
    assert message in capsys.readouterr().err


def test_extract_all_systems_prints_a_line_per_batch(fresh_warehouse, province, capsys):
    assert main(["extract", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" batch ")[0] for line in lines] == [
        "onestop.donvi", "onestop.thutuc", "onestop.hoso", "eoffice.documents",
        "dvc.services", "dvc.submissions", "dvc.payments", "dvc.ratings"]
    assert all("quarantined 0" in line for line in lines)
    assert query(fresh_warehouse, "select count(*) from audit.load_batch "
                 "where status = 'succeeded'") == [(8,)]


def test_extract_one_endpoint_of_all_systems_and_a_backfill(fresh_warehouse, province, capsys):
    assert main(["extract", "-q", "--system", "onestop"]) == 0
    capsys.readouterr()
    assert main(["extract", "-q", "--endpoint", "payments", "--mode", "backfill",
                 "--from", "2017-01-01", "--to", "2017-07-01"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("dvc.payments batch ")
    assert query(fresh_warehouse, "select window_from, window_to from audit.load_batch "
                 "where endpoint = 'payments'") == [  # a bare date is Vietnamese local time
        (dt.datetime(2017, 1, 1, tzinfo=VN_TZ), dt.datetime(2017, 7, 1, tzinfo=VN_TZ))]


def test_load_returns_command(fresh_warehouse, province, tmp_path, capsys):
    from govkpi.simulator.assessments import generate_returns

    assert main(["extract", "-q", "--system", "onestop", "--endpoint", "donvi"]) == 0
    generate_returns(province.world, 2017, tmp_path, SEED, mess_rate=0.05)
    capsys.readouterr()
    assert main(["load-returns", "--drop", str(tmp_path), "--year", "2017", "--show", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("files.assessment_returns batch ")
    assert len(out) >= 3  # the summary, then quarantine reasons (mess on)
    assert main(["load-returns", "--drop", str(tmp_path / "missing")]) == 2
