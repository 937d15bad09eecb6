"""annual_ranking through Airflow (``dag.test()``) on a small simulated province: the
methodology is loaded, the ranking models build through Cosmos (every year: 2016 gives 2017's
previous ranks), the gate passes, 2017 alone is published and the report is written; then a
CRITICAL gate failure fails the run and publishes nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import dbt, query
from tests.integration._ingest import ingest_small_province

pytestmark = pytest.mark.slow
SEED = 11
DOSSIERS = 1500
YEARS = (2016, 2017)
CONF = {"year": 2017, "methodology": "binh_dinh_2017"}


@pytest.fixture(scope="module")
def province_marts(fresh_warehouse_module, airflow_db, tmp_path_factory):
    """Raw data of a small province and its returns for both years, the KPI marts built (what
    kpi_refresh leaves behind); reports go to a temporary folder."""
    wh = fresh_warehouse_module
    world = ingest_small_province(wh, SEED, DOSSIERS, YEARS, tmp_path_factory.mktemp("drop"))
    # what the ranking reads and the gate checks, tests aside: kpi_refresh's job, tested
    # elsewhere
    started = time.monotonic()
    dbt("build", "--exclude", "tag:ranking", "--exclude-resource-type", "test", "unit_test")
    print(f"KPI models: {time.monotonic() - started:.0f}s")
    reports = tmp_path_factory.mktemp("reports")
    saved = os.environ.get("GOVKPI_REPORTS_DIR")
    os.environ["GOVKPI_REPORTS_DIR"] = str(reports)
    yield wh, world, reports
    if saved is None:
        os.environ.pop("GOVKPI_REPORTS_DIR", None)
    else:
        os.environ["GOVKPI_REPORTS_DIR"] = saved


@pytest.fixture(scope="module")
def ranked(province_marts):
    from govkpi.airflow_env import run_dag, task_result

    wh, world, reports = province_marts
    run = run_dag("annual_ranking", conf=CONF)
    return wh, world, reports, run, task_result(run, "load_methodology"), task_result(
        run, "render_report")


def test_the_run_loaded_the_methodology_and_ranked_the_requested_year(ranked):
    wh, *_, request, _ = ranked
    assert request["year"] == 2017
    assert request["methodology"] == "binh_dinh_2017"
    assert query(wh, "select methodology_name, content_sha256 from "
                     "ranking_config.current_methodology") == [
        ("binh_dinh_2017", request["content_sha256"])]


def test_every_year_is_scored_and_2017_alone_published(ranked):
    wh, *_ = ranked
    scored = query(wh, "select distinct period_year from marts.fct_ranking_unit "
                       "where period_grain = 'year'")
    assert {2016, 2017} <= {y for (y,) in scored}  # (and the days of 2018 before the as-of)
    ((release_id, year, name, gate),) = query(
        wh, "select release_id, year, methodology_name, gate_result from "
            "published.ranking_release")
    assert (year, name) == (2017, "binh_dinh_2017")
    assert gate["passed"] is True
    assert gate["checkpoints"] == ["raw_gate", "staging_gate", "marts_gate", "ranking_gate"]
    assert gate["critical"] == []
    rows = query(wh, "select unit_group, count(*), count(rank_in_group), "
                     "count(previous_rank) from published.ranking_release_unit "
                     "where release_id = %s group by 1 order by 1", (release_id,))
    assert [r[0] for r in rows] == ["departments", "districts"]
    for group, units, ranked_units, with_previous in rows:
        assert units >= ranked_units > 0, group
        assert with_previous > 0, f"{group}: no 2016 ranks carried as previous_rank"
    published = query(wh, "select count(*) from published.ranking_release_unit "
                          "where release_id = %s", (release_id,))[0][0]
    in_mart = query(wh, "select count(*) from marts.fct_ranking_unit where period_grain = "
                        "'year' and period_year = 2017")[0][0]
    assert published == in_mart
    tiers = query(wh, "select unit_group, sum(unit_count), max(assessed_unit_count) from "
                      "published.ranking_release_tier where release_id = %s group by 1 "
                      "order by 1", (release_id,))
    assert [(g, int(n)) for g, n, _ in tiers] == [(g, r) for g, _, r, _ in rows]


def test_the_report_is_written_and_its_paths_returned(ranked):
    wh, _, reports, _, _, report = ranked
    (release_id,) = query(wh, "select release_id from published.ranking_release")[0]
    assert report["release_id"] == release_id
    paths = [report["html"], report["xlsx"], *report["csv"].values()]
    assert len(paths) == 5
    for path in paths:
        assert os.path.dirname(path) == str(reports)
        assert os.path.getsize(path) > 0, path
    assert os.path.basename(report["html"]) == (
        f"ranking_binh_dinh_2017_2017_release{release_id}_vi.html")
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert "Sở, ban, ngành" in html
    assert "năm 2017" in html


def test_the_cli_summary_of_the_release(ranked):
    from govkpi.publish.report import ranking_summary

    wh, *_ = ranked
    text = ranking_summary(wh, 2017, "binh_dinh_2017")
    assert text.startswith("Kết quả xếp hạng năm 2017 — binh_dinh_2017 (Bản công bố số ")
    assert "Sở, ban, ngành: " in text
    assert "UBND cấp huyện" in text or "huyện" in text
    assert "Tốt: " in text


def test_govkpi_rank_and_report_commands(ranked, tmp_path, capsys):
    """The same steps from the command line (plain dbt): a second release of the year
    (append-only), the summary, the report paths; ``govkpi report`` renders it again."""
    from govkpi.cli import main

    wh, *_ = ranked
    assert main(["rank", "--year", "2017", "--out", str(tmp_path / "rank")]) == 0
    out = capsys.readouterr().out
    releases = query(wh, "select release_id from published.ranking_release order by 1")
    assert len(releases) == 2
    latest = releases[-1][0]
    assert "==> dbt build --select tag:ranking: " in out
    assert "==> gate raw_gate, staging_gate, marts_gate, ranking_gate: passed" in out
    assert f"==> published release {latest}: 2017 / binh_dinh_2017" in out
    assert f"Kết quả xếp hạng năm 2017 — binh_dinh_2017 (Bản công bố số {latest})" in out
    assert out.rstrip().endswith(f"ranking_binh_dinh_2017_2017_release{latest}_vi_tiers.csv")
    assert len(list((tmp_path / "rank").iterdir())) == 5
    assert main(["report", "--year", "2017", "--lang", "en", "--out", str(tmp_path / "en")]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[0].endswith(f"release{latest}_en.html")
    assert len(printed) == 5


@pytest.fixture
def alert_webhook(monkeypatch):
    """A real HTTP server on 127.0.0.1 that records the alerts POSTed to it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GOVKPI_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_a_blocked_gate_fails_the_run_and_publishes_nothing(ranked, alert_webhook):
    """Runs last: it corrupts the KPI mart the gate checks (a rate above 1: CRITICAL). The run
    fails, nothing is published, the previous release stays current and its report is
    rendered again with the blocked run, and the alert names the check and the bad row."""
    from airflow.dag_processing.dagbag import DagBag

    from govkpi import config

    wh, *_ = ranked
    before = query(wh, "select count(*) from published.ranking_release")
    (current,) = query(wh, "select release_id from published.current_ranking_release "
                           "where year = 2017")[0]
    (unit,) = query(wh, "select min(unit_code) from marts.fct_dossier_resolution_unit_year")[0]
    with wh.connect() as conn:
        conn.execute("update marts.fct_dossier_resolution_unit_year set os1a_on_time_rate = 1.5 "
                     "where unit_code = %s and period_year = 2017", (unit,))
    dag = DagBag(dag_folder=str(config.DAGS_DIR / "annual_ranking.py")).get_dag("annual_ranking")
    run = dag.test(run_conf=CONF)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert states["load_methodology"] == "success"
    assert states["quality_gate_marts"] == "failed"
    for stage in ("raw", "staging", "ranking"):
        assert states[f"quality_gate_{stage}"] == "success", stage
    assert states["publish_release"] == "upstream_failed"
    assert states["render_report"] == "upstream_failed"
    assert states["report_last_good_release"] == "success"
    assert query(wh, "select count(*) from published.ranking_release") == before
    assert query(wh, "select release_id from published.current_ranking_release "
                     "where year = 2017") == [(current,)]
    # the alert: one, for the gate task, naming the check and the bad row
    (alert,) = [a for a in alert_webhook if a["task_id"] == "quality_gate_marts"]
    assert alert["subject"].startswith("[govkpi] annual_ranking.quality_gate_marts failed")
    assert "kpi_rates_between_0_and_1 on fct_dossier_resolution_unit_year, 1 bad row" in \
        alert["text"]
    assert unit in alert["text"]
    assert "1.5" in alert["text"]
    # stored, and shown in the report of the release that stays current
    ((passed, context),) = query(wh, "select passed, run_context from audit.gate_result where "
                                     "checkpoint = 'marts_gate' order by gate_result_id desc "
                                     "limit 1")
    assert passed is False
    assert (context["dag_id"], context["task_id"]) == ("annual_ranking", "quality_gate_marts")
    from govkpi.airflow_env import task_result

    report = task_result(run, "report_last_good_release")
    assert report["release_id"] == current
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert "marts_gate chặn công bố" in html
    assert "kpi_rates_between_0_and_1 — fct_dossier_resolution_unit_year (1)" in html
