"""``govkpi`` command line: demo, extract, gate, kpis, warehouse.

Errors the operator can act on are printed as one line (``error: ...``) with exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time

from govkpi.errors import GovkpiError

DEMO_PII_KEY = "govkpi-demo-key-not-for-production-0000000000"
DEMO_YEAR = 2017


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


def cmd_extract(args) -> int:
    import datetime as dt

    from govkpi.config import OneStopSettings
    from govkpi.extract import extract_onestop

    wh = _warehouse()
    results = extract_onestop(
        wh, OneStopSettings.from_env(), args.endpoint or ("donvi", "thutuc", "hoso"),
        mode=args.mode,
        window_from=dt.datetime.fromisoformat(args.window_from) if args.window_from else None,
        window_to=dt.datetime.fromisoformat(args.window_to) if args.window_to else None,
        show_progress=not args.quiet)
    for r in results:
        print(r.summary())
    return 0


def cmd_gate(args) -> int:
    from govkpi.quality import run_gate

    _warehouse()
    result = run_gate(args.checkpoint)
    print(result.summary())
    return 0 if result.passed else 1


def cmd_kpis(args) -> int:
    from govkpi.report import kpi_table

    wh = _warehouse()
    print(kpi_table(wh, args.year))
    return 0


def cmd_demo(args) -> int:
    """Simulated one-stop system → warehouse → dbt KPIs → GX gate, all through Airflow."""
    from govkpi.config import LOCAL_DIR

    started = time.perf_counter()
    log_path = LOCAL_DIR / "demo" / "pipeline.log"
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
        from govkpi.airflow_env import run_dag

        _step("Airflow: ingest_onestop (extract → hash personal data → COPY → audit)")
        with _output_to(log_path):
            run_dag("ingest_onestop")
    from govkpi.report import load_summary

    print(load_summary(wh))
    _step("Airflow: kpi_refresh (dbt build through Cosmos → GX gate)")
    with _output_to(log_path):
        run_dag("kpi_refresh")
    _step(f"dbt models, tests and the gate passed (task logs: {log_path})")
    _step(f"KPI table {args.year}")
    from govkpi.report import kpi_table

    print(kpi_table(wh, args.year))
    _step(f"demo finished in {time.perf_counter() - started:.0f}s")
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

    d = sub.add_parser("demo", help="run the whole pipeline on a simulated province")
    d.add_argument("--seed", type=int, default=2017, help="simulator seed (default 2017)")
    d.add_argument("--dossiers", type=int, default=10_000, help="dossiers to simulate")
    d.add_argument("--year", type=int, default=DEMO_YEAR, help="year of the KPI table")
    d.add_argument("--database", default="govkpi_demo",
                   help="database the demo recreates on the warehouse server (govkpi_demo)")
    d.set_defaults(func=cmd_demo)

    e = sub.add_parser("extract", help="pull the one-stop system into raw_onestop",
                       description="Needs GOVKPI_ONESTOP_URL and GOVKPI_PII_KEY.")
    e.add_argument("--endpoint", action="append", choices=["donvi", "thutuc", "hoso"],
                   help="endpoint to pull (repeatable; default all)")
    e.add_argument("--mode", choices=["incremental", "backfill", "full"], default="incremental")
    e.add_argument("--from", dest="window_from", help="window start, ISO-8601 (+07:00)")
    e.add_argument("--to", dest="window_to", help="window end, ISO-8601 (+07:00)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_extract)

    g = sub.add_parser("gate", help="run a quality-gate checkpoint; exit 1 when it blocks")
    g.add_argument("checkpoint", nargs="?", default="marts_gate")
    g.set_defaults(func=cmd_gate)

    k = sub.add_parser("kpis", help="print the dossier-resolution KPIs per unit for a year")
    k.add_argument("--year", type=int, default=DEMO_YEAR)
    k.set_defaults(func=cmd_kpis)

    w = sub.add_parser("warehouse", help="resolve the warehouse and print its URL")
    w.set_defaults(func=cmd_warehouse)

    from govkpi.simulator.cli import add_parser as add_simulate

    add_simulate(sub)
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
