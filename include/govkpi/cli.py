"""``govkpi`` command line: demo, extract, load-returns, gate, kpis, rank, report, warehouse,
simulate, airflow.

Errors the operator can act on are printed as one line (``error: ...``) with exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import textwrap
import time

from govkpi.errors import GateFailed, GovkpiError

DEMO_PII_KEY = "govkpi-demo-key-not-for-production-0000000000"
DEMO_YEAR = 2017
RETURN_YEARS = (2016, 2017)  # self-assessment returns the demo drops
DEMO_MESS_RATE = 0.02  # bad values per row / file problems per file in the demo returns


def _step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


@contextlib.contextmanager
def _output_to(log_path):
    """Send this process's stdout/stderr (Airflow, Cosmos and dbt logs) to ``log_path``.

    File-descriptor level, so loggers that captured ``sys.stdout`` early are caught too; on
    failure the last lines are shown so the error is never hidden.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            tail = log_path.read_text(errors="replace").splitlines()[-40:]
            print("\n".join(["--- last lines of " + str(log_path), *tail, "---"]),
                  file=sys.stderr)
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _warehouse():
    from govkpi.warehouse import export_environment, resolve_warehouse

    wh = resolve_warehouse()
    export_environment(wh)
    return wh


def cmd_warehouse(args) -> int:
    wh = _warehouse()
    print(f"{wh.origin}: {wh.url}")
    return 0


def _endpoints_by_system(system_choice: str, endpoints: list[str] | None) -> dict[str, list]:
    """(system → endpoints to pull), in load order; ``endpoints`` validated against the choice."""
    from govkpi.sources.systems import SYSTEMS

    systems = list(SYSTEMS) if system_choice == "all" else [system_choice]
    known = {e: s for s in systems for e in SYSTEMS[s].endpoints}
    unknown = [e for e in endpoints or () if e not in known]
    if unknown:
        raise ValueError(f"unknown endpoint(s) {', '.join(unknown)} for --system "
                         f"{system_choice}: choose from {', '.join(known)}")
    return {s: [e for e in SYSTEMS[s].endpoints if not endpoints or e in endpoints]
            for s in systems if not endpoints or any(known[e] == s for e in endpoints)}


def cmd_extract(args) -> int:
    from govkpi.extract import extract
    from govkpi.pipeline import parse_window_bound

    try:
        plan = _endpoints_by_system(args.system, args.endpoint)
        window_from = parse_window_bound(args.window_from, "--from")
        window_to = parse_window_bound(args.window_to, "--to")
        if args.mode == "backfill" and window_from is None:
            raise ValueError("--mode backfill needs --from (and usually --to)")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    wh = _warehouse()
    for system, endpoints in plan.items():
        for endpoint in endpoints:  # one batch each: its progress bar, then its summary line
            (result,) = extract(system, wh, None, [endpoint], mode=args.mode,
                                window_from=window_from, window_to=window_to,
                                show_progress=not args.quiet)
            print(result.summary(), flush=True)
    return 0


def cmd_load_returns(args) -> int:
    from pathlib import Path

    from govkpi.config import drop_dir

    try:
        from govkpi.load.assessments import load_returns
    except ModuleNotFoundError as exc:
        if exc.name != "govkpi.load.assessments":
            raise
        print("error: the spreadsheet loader (govkpi.load.assessments) is not part of this "
              "checkout yet", file=sys.stderr)
        return 2
    drop = Path(args.drop) if args.drop else drop_dir()
    if not drop.is_dir():
        print(f"error: drop folder {drop} does not exist: pass --drop DIR (returns are "
              "expected as DIR/<year>/<unit code>.xlsx or .csv)", file=sys.stderr)
        return 2
    wh = _warehouse()
    result = load_returns(wh, drop, years=args.year)
    print(result.summary(), flush=True)
    for problem in result.problems[:args.show]:
        print(f"  {problem.reason}")
    if len(result.problems) > args.show:
        print(f"  … {len(result.problems) - args.show} more in audit.quarantine")
    return 0


def cmd_gate(args) -> int:
    if args.setup:
        from govkpi.quality.setup_gx import build

        print(f"GX project written to {build()} (commit it)")
        return 0
    from govkpi.pipeline import run_stage_gate
    from govkpi.quality.checks import STAGES

    unknown = sorted(set(args.stages) - set(STAGES))
    if unknown:
        print(f"error: unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}",
              file=sys.stderr)
        return 2
    _warehouse()
    blocked = False
    for stage in args.stages or STAGES:
        result = run_stage_gate(stage)
        print(result.summary())
        blocked = blocked or not result.passed
    return 1 if blocked else 0


def cmd_kpis(args) -> int:
    from govkpi.report import kpi_table

    wh = _warehouse()
    print(kpi_table(wh, args.year))
    return 0


def print_ranking(wh, year: int, methodology: str, release_id: int, lang: str = "vi") -> None:
    """The ranking summary of a release (``govkpi rank`` and the demo print the same)."""
    from govkpi.publish.report import ranking_summary

    print(ranking_summary(wh, year, methodology, release_id, lang=lang), flush=True)


def gate_line(wh, release_id: int) -> str:
    """What the quality gate said about a release, and where its Data Docs are."""
    from govkpi.publish.report import data_docs_index

    with wh.connect() as conn:
        (gate,) = conn.execute("select gate_result from published.ranking_release "
                               "where release_id = %s", (release_id,)).fetchone()
    stages = ", ".join(c.removesuffix("_gate") for c in gate.get("checkpoints") or [])
    docs = data_docs_index()
    warnings = len(gate.get("warnings") or [])
    return (f"quality gate ({stages}): passed, {gate.get('evaluated')} checks, "
            f"{warnings} warning{'' if warnings == 1 else 's'}"
            + (f"; Data Docs: {docs}" if docs else ""))


def cmd_rank(args) -> int:
    from govkpi.pipeline import (
        RANKING_SELECTOR,
        dbt_build,
        load_ranking_methodology,
        publish_ranking,
        ranking_gate,
        ranking_request,
        render_ranking_report,
    )

    request = ranking_request({"year": args.year, "methodology": args.methodology}, None)
    year, name = request["year"], request["methodology"]
    wh = _warehouse()
    loaded = load_ranking_methodology(name)
    _step(f"methodology {name} ({loaded['content_sha256'][:12]}): "
          + ("loaded into ranking_config" if loaded["loaded"] else "already current"))
    if args.skip_build:
        _step("dbt: skipped (--skip-build): ranking from the marts as they are")
    else:
        started = time.perf_counter()
        counts = dbt_build(RANKING_SELECTOR)
        done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        _step(f"dbt build --select {RANKING_SELECTOR}: {done} "
              f"({time.perf_counter() - started:.0f}s)")
    try:
        gate = ranking_gate()
    except GateFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _step(f"gate {', '.join(gate['checkpoints'])}: passed ({gate.get('evaluated')} checks, "
          f"{len(gate['warnings'])} warnings)")
    release_id = publish_ranking(year, name, gate)
    _step(f"published release {release_id}: {year} / {name}")
    print_ranking(wh, year, name, release_id, lang=args.lang)
    paths = render_ranking_report(year, name, release_id, out_dir=args.out, lang=args.lang)
    _step("report:")
    for path in (paths["html"], paths["xlsx"], *paths["csv"].values()):
        print(f"  {path}")
    return 0


def _assessments_loader_present() -> bool:
    from importlib.util import find_spec

    return find_spec("govkpi.load.assessments") is not None


def cmd_demo(args) -> int:
    """Simulated province (three systems + spreadsheets) → warehouse → dbt KPIs → GX gate,
    all through Airflow."""
    import shutil

    from govkpi.config import LOCAL_DIR

    started = time.perf_counter()
    log_path = LOCAL_DIR / "demo" / "pipeline.log"
    drop = LOCAL_DIR / "demo" / "drop"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    from govkpi.warehouse import export_environment, resolve_warehouse

    # the demo owns its database: recreated each run, so a run never mixes with an older world
    wh = resolve_warehouse(create=False).with_database(args.database)
    wh.drop_database()
    wh.ensure_database()
    export_environment(wh)
    _step(f"warehouse: {wh.origin} PostgreSQL at {wh.where}, database {wh.dbname} (recreated)")
    if not os.environ.get("GOVKPI_PII_KEY"):
        os.environ["GOVKPI_PII_KEY"] = DEMO_PII_KEY
        _step("GOVKPI_PII_KEY not set: using the demo key (set your own secret in production)")
    from govkpi.airflow_env import prepare_airflow

    _step("preparing the local Airflow (.local/airflow)")
    prepare_airflow()
    from govkpi.simulator import SimulatedProvince

    _step(f"simulating the province: seed {args.seed}, {args.dossiers} dossiers 2016–2017")
    with SimulatedProvince(seed=args.seed, dossiers=args.dossiers) as province:
        os.environ.update(province.environment())
        _step(f"one-stop at {province.onestop.url}, e-office at {province.eoffice.url}, "
              f"public-service portal at {province.dvc.url}")
        from govkpi.airflow_env import run_dag, task_result

        for dag_id, what in (
                ("ingest_onestop", "one-stop units, procedures, dossiers"),
                ("ingest_eoffice", "e-office documents"),
                ("ingest_dvc", "portal services, submissions, payments, ratings — after the "
                               "one-stop: payments reference its dossiers")):
            _step(f"Airflow: {dag_id} ({what})")
            with _output_to(log_path):
                run_dag(dag_id)
        world = province.world
    if _assessments_loader_present():
        from govkpi.simulator.assessments import generate_returns

        shutil.rmtree(drop, ignore_errors=True)
        for year in RETURN_YEARS:
            generate_returns(world, year, drop, args.seed, mess_rate=DEMO_MESS_RATE)
        files = sorted(p for p in drop.rglob("*") if p.is_file())
        _step(f"self-assessment returns {', '.join(map(str, RETURN_YEARS))}: {len(files)} "
              f"spreadsheets in {drop} (on purpose: a few bad values, one unreadable file a year)")
        _step("Airflow: ingest_assessments (read → check against the item list → COPY → audit)")
        os.environ["GOVKPI_DROP_DIR"] = str(drop)
        with _output_to(log_path):
            run_dag("ingest_assessments", conf={"drop_dir": str(drop)})
    else:
        _step("self-assessment returns: skipped (govkpi.load.assessments is not in this "
              "checkout yet)")
    from govkpi.report import load_summary

    print(load_summary(wh))
    _step("Airflow: kpi_refresh (dbt build through Cosmos → GX gate → close the quarter), run "
          f"as of the simulated now, {world.default_as_of:%Y-%m-%d %H:%M} in Vietnam")
    with _output_to(log_path):
        refresh = run_dag("kpi_refresh", run_after=world.default_as_of)
    _step(f"dbt models, tests and the gate passed (task logs: {log_path})")
    closed = task_result(refresh, "close_quarter")
    _step(f"quarter {closed['label']} ({closed['start']} – {closed['end']}) closed: "
          f"{closed['fact_rows']['fct_dossier_resolution_unit_quarter']} unit rows, "
          f"{closed['province']['received_count']} dossiers received "
          "(audit.kpi_refresh_quarter)")
    _step(f"KPI table {args.year}")
    from govkpi.report import kpi_table, province_summary

    print(kpi_table(wh, args.year))
    _step(f"KPI summary {args.year}: the province per quarter and for the year")
    print(province_summary(wh, args.year))
    from govkpi.pipeline import DEFAULT_METHODOLOGY as methodology

    _step(f"Airflow: annual_ranking {args.year} / {methodology} (methodology → ranking models "
          "through Cosmos, every year scored → GX gate → release → report)")
    with _output_to(log_path):
        run = run_dag("annual_ranking", conf={"year": args.year, "methodology": methodology})
    report = task_result(run, "render_report")
    _step(f"ranking {args.year}, published as release {report['release_id']}")
    print_ranking(wh, args.year, methodology, report["release_id"])
    _step(gate_line(wh, report["release_id"]))
    _step(f"demo finished in {time.perf_counter() - started:.0f}s")
    _step(f"ranking report (XLSX and CSV beside it): {report['html']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="govkpi",
        description="Digital-government KPIs for a Vietnamese province: ingest the source "
                    "systems, build KPI marts, gate them, publish.",
        epilog="Warehouse: GOVKPI_WAREHOUSE_URL, else 127.0.0.1:5432, else an embedded "
               "PostgreSQL in .local/pgdata.")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser(
        "demo", help="run the whole pipeline on a simulated province",
        description="Simulate the province's three systems and its self-assessment returns, "
                    "ingest them through Airflow (ingest_onestop, ingest_eoffice, ingest_dvc, "
                    "ingest_assessments), build the KPIs (kpi_refresh: dbt + GX gate), rank the "
                    "year (annual_ranking: ranking models + gate + release + report) and print "
                    "the load batches, the KPI table and the ranking. Recreates the database it "
                    "uses.")
    d.add_argument("--seed", type=int, default=2017, help="simulator seed (default 2017)")
    d.add_argument("--dossiers", type=int, default=10_000, help="dossiers to simulate")
    d.add_argument("--year", type=int, default=DEMO_YEAR,
                   help=f"year of the KPI table and the ranking (default {DEMO_YEAR})")
    d.add_argument("--database", default="govkpi_demo",
                   help="database the demo recreates on the warehouse server (govkpi_demo)")
    d.set_defaults(func=cmd_demo)

    from govkpi.extract import MODES
    from govkpi.sources.systems import SYSTEMS

    listing = "; ".join(f"{name}: {', '.join(s.endpoints)}" for name, s in SYSTEMS.items())
    e = sub.add_parser(
        "extract", help="pull source systems into raw_onestop / raw_eoffice / raw_dvc",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Extract changed records from the source systems, hash personal data and load "
            "them into raw_<system>.<endpoint>, one audited batch per endpoint, systems in "
            "load order (one-stop first: the others reference it). A progress bar per "
            "endpoint, then a summary line per batch.", 79) + "\n\n" + textwrap.fill(
            f"Endpoints — {listing}.", 79),
        epilog="Needs GOVKPI_PII_KEY and, per system, GOVKPI_ONESTOP_URL (+ _CLIENT_ID,\n"
               "_CLIENT_SECRET), GOVKPI_EOFFICE_URL (+ _API_KEY), GOVKPI_DVC_URL (+ _USERNAME,\n"
               "_PASSWORD).\n\nExamples:\n"
               "  govkpi extract                                  # everything, incremental\n"
               "  govkpi extract --system dvc --endpoint payments\n"
               "  govkpi extract --system onestop --mode backfill --from 2017-01-01 "
               "--to 2017-04-01")
    e.add_argument("--system", choices=[*SYSTEMS, "all"], default="all",
                   help="source system (default all, in load order)")
    e.add_argument("--endpoint", action="append", metavar="NAME",
                   help="endpoint of the chosen system (repeatable; default all of them)")
    e.add_argument("--mode", choices=MODES, default="incremental",
                   help="incremental: since the watermark minus an overlap (default); "
                        "backfill: the --from/--to window; full: everything")
    e.add_argument("--from", dest="window_from", metavar="TIME",
                   help="window start, ISO-8601 (no offset = +07:00)")
    e.add_argument("--to", dest="window_to", metavar="TIME",
                   help="window end (exclusive), ISO-8601 (no offset = +07:00)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_extract)

    r = sub.add_parser(
        "load-returns", help="load self-assessment spreadsheets into raw_files",
        description="Read the units' self-assessment returns (XLSX/CSV) from DIR/<year>/, check "
                    "them against the methodology's item list and load the good rows into "
                    "raw_files; bad rows and unreadable files are quarantined with file, row, "
                    "column and reason. Needs GOVKPI_PII_KEY.")
    r.add_argument("--drop", metavar="DIR", default=None,
                   help="drop folder (default GOVKPI_DROP_DIR, else .local/drop)")
    r.add_argument("--year", type=int, action="append", metavar="Y",
                   help="only DIR/<Y>/ (repeatable; default every year folder)")
    r.add_argument("--show", type=int, default=10, metavar="N",
                   help="print the first N quarantine reasons (default 10)")
    r.set_defaults(func=cmd_load_returns)

    from govkpi.quality.checks import STAGES

    g = sub.add_parser(
        "gate", help="run the quality gate's checkpoints; exit 1 when one blocks",
        description="Run the GX checkpoints of the given stages (default: all four) on the "
                    "warehouse, print what failed with sample bad rows, and record each run in "
                    "audit.gate_result. Thresholds: GOVKPI_GATE_MAX_AGE_HOURS, "
                    "GOVKPI_GATE_VOLUME_SHARE, GOVKPI_GATE_VOLUME_MIN_ROWS (docs/quality.md).")
    g.add_argument("stages", nargs="*", metavar="STAGE",
                   help=f"one or more of {', '.join(STAGES)} (default: all)")
    g.add_argument("--setup", action="store_true",
                   help="regenerate the committed GX project under expectations/ instead")
    g.set_defaults(func=cmd_gate)

    k = sub.add_parser("kpis", help="print the dossier-resolution KPIs per unit for a year")
    k.add_argument("--year", type=int, default=DEMO_YEAR)
    k.set_defaults(func=cmd_kpis)

    from govkpi.config import REPORTS_DIR_ENV
    from govkpi.pipeline import DEFAULT_METHODOLOGY, RANKING_GATE_STAGES
    from govkpi.publish.report import DEFAULT_OUT_DIR, LANGS
    from govkpi.publish.report import add_parser as add_report

    rk = sub.add_parser(
        "rank", help="rank a year: methodology → ranking models → gate → release → report",
        description=textwrap.fill(
            "Rank the departments and districts for a year under a methodology "
            "(docs/ranking.md): load the methodology file into ranking_config, dbt build the "
            "ranking models (tag:ranking; every year in the data is scored, so the previous "
            "ranks are there), run the quality gate (stages "
            f"{', '.join(RANKING_GATE_STAGES)}), publish the year as a new release "
            "(append-only), print the ranking and render the report "
            "(HTML, XLSX, CSV). The KPI marts must be built already (kpi_refresh, or dbt "
            "build). A blocked gate publishes nothing and exits 1.", 79),
        epilog="Examples:\n  govkpi rank --year 2017\n"
               "  govkpi rank --year 2017 --methodology qd766 --lang en",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rk.add_argument("--year", type=int, default=None, metavar="Y",
                    help="year to rank (default: last year, in Vietnam)")
    rk.add_argument("--methodology", default=DEFAULT_METHODOLOGY, metavar="NAME",
                    help=f"methodology file include/govkpi/methodologies/NAME.yaml (default "
                         f"{DEFAULT_METHODOLOGY})")
    rk.add_argument("--lang", choices=LANGS, default="vi",
                    help="language of the summary and the report (default vi)")
    rk.add_argument("--out", default=None, metavar="DIR",
                    help=f"report folder (default ${REPORTS_DIR_ENV}, else {DEFAULT_OUT_DIR})")
    rk.add_argument("--skip-build", action="store_true",
                    help="do not run dbt: gate and publish the ranking marts as they are")
    rk.set_defaults(func=cmd_rank)

    add_report(sub)

    w = sub.add_parser("warehouse", help="resolve the warehouse and print its URL")
    w.set_defaults(func=cmd_warehouse)

    from govkpi.simulator.cli import add_parser as add_simulate

    add_simulate(sub)

    from govkpi.airflow_local import add_parser as add_airflow

    add_airflow(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except GovkpiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
