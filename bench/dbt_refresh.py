"""Benchmark: the one-stop dbt chain, full refresh vs incremental after one more quarter, and
the Cosmos parse time of the ``kpi_refresh`` DAG.

Serves the cached province store (``.local/simstore/``, scale 1.0 = 1M dossiers a year; by
default 2016–2018, a warehouse with history as a province has it) at two moments from one store:
as of the end of Q3 of the last year (extract everything, ``dbt build``), then as of the end of
Q4 (extract incrementally from the watermark: one more quarter of new and changed dossiers).
The loaded database is then copied (``createdb -T``) once per repetition, and on the copy the
incremental ``dbt build`` and a ``dbt build --full-refresh`` of the same final data are
timed one after the other, same run, same selection (the one-stop chain: staging dossiers and
everything downstream of them, models and data tests). Medians over ``--reps``.

The Cosmos parse time is the wall time of importing ``dags/kpi_refresh.py`` afresh (module
import + ``DbtTaskGroup`` construction from ``manifest.json``), median of ``--parse-reps``
(each in a fresh interpreter, so nothing is cached between them).

    .venv/bin/python bench/dbt_refresh.py                 # scale 1.0, 2016-2018
    .venv/bin/python bench/dbt_refresh.py --scale 0.1     # quicker
    .venv/bin/python bench/dbt_refresh.py --years 2017    # one year: a quarter is ~30 % of it

Targets (issue 5): incremental <= 0.2 x full refresh; Cosmos parse of kpi_refresh < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

from province_crawl import ENV, PYTHON, build, start_server, stop_server  # noqa: E402

from govkpi.calendar import VN_TZ  # noqa: E402
from govkpi.simulator.serving import parse_years  # noqa: E402
from govkpi.simulator.store import scale_dossiers  # noqa: E402

DATABASE = "govkpi_bench_dbt_refresh"
BENCH_PII_KEY = "bench-key-0123456789abcdef0123456789abcdef"
TARGET_RATIO = 0.2
TARGET_PARSE_S = 1.0
DBT = str(ROOT / ".venv" / "bin" / "dbt")
DBT_DIR = ROOT / "dbt_project"
# The one-stop KPI chain, models and their data tests: the per-dossier models, the per-dossier x
# period models, the KPI model and the facts. Staging is a view (nothing to refresh); its data
# tests cost the same in both modes and are left out (README: dbt_refresh).
CHAIN = ["int_dossier_supplement_requests", "int_dossier_due_dates",
         "int_dossiers_with_deadlines_and_outcomes", "int_dossiers_classified_by_period",
         "int_dossiers_classified_by_deadline", "int_dossier_resolution_kpis"]
FACTS = [f"fct_dossier_resolution_{s}_{g}" for s, gs in (
    ("unit", ("month", "quarter", "year")), ("province", ("month", "quarter", "year")),
    ("procedure", ("year",))) for g in gs]
SELECT = " ".join(CHAIN + FACTS)
# The first build makes every node of the chain and everything it reads (seeds, snapshot,
# dimensions, staging).
SELECT_INITIAL = " ".join(f"+{node}" for node in CHAIN + FACTS)


def quarter_end(year: int, quarter: int) -> dt.datetime:
    """The last moment of a quarter, local time (the simulated 'now' of the second load)."""
    month = quarter * 3
    first_next = (dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=VN_TZ))
    return first_next - dt.timedelta(seconds=1)


def extract_as_of(store: Path, as_of: dt.datetime, wh) -> dict:
    """Serve the store as of ``as_of`` and extract the one-stop system (incremental from the
    watermark; the first extraction reads everything)."""
    from govkpi.config import OneStopSettings
    from govkpi.extract import extract

    proc, url, _ = start_server(store, "onestop", as_of)
    try:
        t0 = time.perf_counter()
        results = extract("onestop", wh, OneStopSettings(url, "govkpi", "govkpi-secret",
                                                        page_size=1000))
        seconds = time.perf_counter() - t0
    finally:
        stop_server(proc)
    return {"as_of": as_of.isoformat(), "seconds": round(seconds, 1),
            "batches": {r.endpoint: {"received": r.received, "loaded": r.loaded}
                        for r in results}}


def dbt_build(env: dict, *extra: str, select: str = SELECT) -> float:
    """Wall seconds of one ``dbt build`` of the one-stop chain; fails loudly."""
    cmd = [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--select", *select.split(), "--indirect-selection", "cautious", "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"dbt build {' '.join(extra)} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds


# The KPI table both builds must agree on, and its columns that record which run wrote a row
# (the incremental cursors): not compared.
KPI_TABLE = "intermediate.int_dossier_resolution_kpis"
KPI_CURSOR_COLUMNS = ("source_batch_id", "units_fingerprint")


def save_kpis(wh) -> None:
    """Copy the KPI table (as the incremental build left it) aside; not timed."""
    with wh.connect() as conn:
        conn.execute("drop schema if exists bench_incremental cascade")
        conn.execute("create schema bench_incremental")
        conn.execute(f"create table bench_incremental.kpis as select * from {KPI_TABLE}")
        conn.commit()


def kpi_differences(wh) -> dict[str, int]:
    """Rows of the KPI table only in the incremental build / only in the full refresh (EXCEPT
    ALL both ways over every column but the cursors); both 0 when the two builds agree."""
    with wh.connect() as conn:
        columns = ", ".join(c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema ="
            " 'intermediate' and table_name = 'int_dossier_resolution_kpis' and column_name"
            " <> all(%s) order by ordinal_position", (list(KPI_CURSOR_COLUMNS),)).fetchall())
        only = {}
        for name, left, right in (("only_incremental", "bench_incremental.kpis", KPI_TABLE),
                                  ("only_full_refresh", KPI_TABLE, "bench_incremental.kpis")):
            only[name] = conn.execute(
                f"select count(*) from (select {columns} from {left} except all"
                f" select {columns} from {right}) as differences").fetchone()[0]
        only["rows"] = conn.execute(f"select count(*) from {KPI_TABLE}").fetchone()[0]
        conn.execute("drop schema bench_incremental cascade")
        conn.commit()
    return only


def model_seconds() -> dict[str, float]:
    """Per-node execution seconds of the last dbt invocation (target/run_results.json)."""
    results = json.loads((DBT_DIR / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".", 2)[-1]: round(r["execution_time"], 2) for r in results}


def changed_dossiers(wh, first_batch: int) -> dict:
    with wh.connect() as conn:
        row = conn.execute(
            "select count(*), count(distinct record_key) from raw_onestop.hoso"
            " where batch_id > %s", (first_batch,)).fetchone()
        total = conn.execute("select count(distinct record_key) from raw_onestop.hoso"
                             ).fetchone()[0]
    return {"versions_loaded": row[0], "dossiers_touched": row[1], "dossiers_total": total}


def analyze_raw(wh) -> None:
    """Fresh planner statistics on the raw one-stop tables, as after a load that analyzes its
    table (autovacuum is too late for a dbt run minutes after a 1M-row COPY). Not timed."""
    with wh.connect(autocommit=True) as conn:
        conn.execute("analyze raw_onestop.hoso, raw_onestop.donvi, raw_onestop.thutuc")


def copy_database(wh, source: str, target: str) -> None:
    with wh.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target}"')
        conn.execute(f'create database "{target}" template "{source}"')


def drop_database(wh, name: str) -> None:
    with wh.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')


PARSE_SNIPPET = """
import os, sys, time
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
from airflow.dag_processing.dagbag import DagBag  # the DAG processor has Airflow loaded
path, warm = sys.argv[1], sys.argv[2] == "warm"
if warm:  # Cosmos and govkpi already imported: the DbtTaskGroup rendering alone
    import cosmos, govkpi.cosmos_config, govkpi.ingest_dag  # noqa: F401
t0 = time.perf_counter()
bag = DagBag(dag_folder=path)
seconds = time.perf_counter() - t0
dag = bag.dags.get("kpi_refresh")
if dag is None or bag.import_errors:
    raise SystemExit(f"kpi_refresh did not parse: {bag.import_errors}")
print("RESULT", seconds, len(dag.tasks))
"""


def cosmos_parse_seconds(reps: int, env: dict, mode: str) -> tuple[list[float], int]:
    """Seconds for a DagBag to parse dags/kpi_refresh.py (module import + Cosmos rendering of
    the dbt task group from manifest.json), each in a fresh interpreter with Airflow loaded, as
    the DAG processor has (its parsing_pre_import_modules pre-imports airflow.* modules only);
    ``cold``: Cosmos imported by the parse, as in the DAG processor; ``warm``: Cosmos and govkpi
    imported beforehand (the rendering from the manifest alone)."""
    times, tasks = [], 0
    for _ in range(reps):
        proc = subprocess.run([PYTHON, "-c", PARSE_SNIPPET, str(ROOT / "dags" / "kpi_refresh.py"),
                               mode], env=env, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
        if proc.returncode or not line:
            raise SystemExit(f"parsing kpi_refresh failed:\n{proc.stdout}\n{proc.stderr}")
        _, seconds, n = line[-1].split()
        times.append(float(seconds))
        tasks = int(n)
    return times, tasks


def markdown(r: dict) -> str:
    inc, full = r["incremental_build_s_median"], r["full_refresh_build_s_median"]
    lines = [
        f"# dbt refresh: one more quarter ({r['dossiers']:,} dossiers, scale {r['scale']})",
        "",
        f"{r['when']} · {r['machine']} · reps {r['reps']} · selection: the one-stop chain "
        f"(`{'`, `'.join(CHAIN)}` and the 7 `fct_dossier_resolution_*`), models + data tests",
        "",
        f"Loads: as of {r['loads'][0]['as_of']} (full extract), then as of "
        f"{r['loads'][1]['as_of']} (incremental extract): {r['changes']['dossiers_touched']:,}"
        f" of {r['changes']['dossiers_total']:,} dossiers new or changed "
        f"({r['changes']['versions_loaded']:,} versions).",
        "",
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| initial build (Q1–Q3), s | {r['initial_build_s']:.1f} | |",
        f"| full refresh after Q4 (`--full-refresh`), s, median | {full:.1f} | |",
        f"| incremental build after Q4, s, median | {inc:.1f} | |",
        f"| incremental / full refresh | {r['ratio']:.3f} | ≤ {TARGET_RATIO} |",
        f"| Cosmos parse of kpi_refresh ({r['kpi_refresh_tasks']} tasks), s, median of "
        f"{len(r['parse_s'])} (DagBag, Cosmos imported by the parse) | "
        f"{r['parse_s_median']:.3f} | < {TARGET_PARSE_S} |",
        f"| the same with Cosmos imported beforehand (rendering alone), s, median | "
        f"{r['parse_warm_s_median']:.3f} | |",
        f"The KPI table ({r['kpi_differences'][-1]['rows']:,} rows) is the same after both"
        " builds, every repetition (EXCEPT ALL both ways, cursor columns aside).",
        "",
        "Slowest nodes (seconds, last repetition):",
        "",
        "| node | full refresh | incremental |",
        "|---|---:|---:|",
    ]
    full_nodes, inc_nodes = r["nodes_full_refresh"], r["nodes_incremental"]
    for node in sorted(full_nodes, key=lambda n: -full_nodes[n])[:12]:
        lines.append(f"| {node} | {full_nodes[node]:.2f} | {inc_nodes.get(node, 0):.2f} |")
    lines += ["", f"Targets met: {'yes' if r['targets_met'] else 'NO'}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--years", type=parse_years, default=[2016, 2017, 2018])
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--first-quarter", type=int, default=3,
                        help="the first load is as of the end of this quarter of the last year;"
                             " the second one quarter later")
    parser.add_argument("--reps", type=int, default=1,
                        help="incremental + full-refresh pairs, each on a fresh copy of the"
                             " loaded database; medians are reported")
    parser.add_argument("--parse-reps", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the loaded database of a previous --keep run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)

    from govkpi.warehouse import resolve_warehouse

    dossiers = scale_dossiers(args.scale, args.years)
    year = args.years[-1]
    first, second = (quarter_end(year, args.first_quarter),
                     quarter_end(year, args.first_quarter + 1))
    server = resolve_warehouse(create=False)
    loaded = server.with_database(f"{DATABASE}_loaded")
    state_file = args.out / f".{DATABASE}_loaded.json"
    if args.reuse and state_file.exists():
        state = json.loads(state_file.read_text())
    else:
        args.systems = "onestop"
        store, _ = build(args, dossiers)
        drop_database(server, loaded.dbname)
        loaded.ensure_database()
        env = {**ENV, **loaded.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY}
        os.environ.update(env)
        loads = [extract_as_of(store, first, loaded)]
        with loaded.connect() as conn:
            first_batch = conn.execute("select max(batch_id) from raw_onestop.hoso").fetchone()[0]
        print(f"loaded as of {first:%Y-%m-%d}: {loads[0]}", flush=True)
        analyze_raw(loaded)
        initial = dbt_build(env, select=SELECT_INITIAL)
        print(f"initial build: {initial:.1f} s", flush=True)
        loads.append(extract_as_of(store, second, loaded))
        print(f"loaded as of {second:%Y-%m-%d}: {loads[1]}", flush=True)
        state = {"loads": loads, "initial_build_s": round(initial, 1),
                 "changes": changed_dossiers(loaded, first_batch), "store": str(store)}
        args.out.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state, indent=2) + "\n")

    work = server.with_database(DATABASE)
    env = {**ENV, **work.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY}
    load_before = [round(x, 2) for x in os.getloadavg()]
    incremental, full, differences = [], [], []
    for rep in range(1, args.reps + 1):
        copy_database(server, loaded.dbname, work.dbname)
        analyze_raw(work)
        incremental.append(dbt_build(env))
        nodes_incremental = model_seconds()
        save_kpis(work)
        full.append(dbt_build(env, "--full-refresh"))
        nodes_full = model_seconds()
        differences.append(kpi_differences(work))
        if differences[-1]["only_incremental"] or differences[-1]["only_full_refresh"]:
            raise SystemExit(f"rep {rep}: the incremental build and the full refresh disagree"
                             f" on {KPI_TABLE}: {differences[-1]}")
        print(f"rep {rep}/{args.reps}: incremental {incremental[-1]:.1f} s, full refresh "
              f"{full[-1]:.1f} s", flush=True)
    subprocess.run([DBT, "parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                    "--quiet"], env=env, check=True)
    parse_times, tasks = cosmos_parse_seconds(args.parse_reps, env, "cold")
    parse_warm, _ = cosmos_parse_seconds(args.parse_reps, env, "warm")
    if not args.keep:
        drop_database(server, work.dbname)
        drop_database(server, loaded.dbname)
        state_file.unlink(missing_ok=True)

    result = {
        "dossiers": dossiers, "scale": args.scale, "years": args.years, "select": SELECT,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "load_before": load_before, "reps": args.reps, **state,
        "incremental_build_s": [round(x, 2) for x in incremental],
        "full_refresh_build_s": [round(x, 2) for x in full],
        "incremental_build_s_median": round(statistics.median(incremental), 2),
        "full_refresh_build_s_median": round(statistics.median(full), 2),
        "nodes_incremental": nodes_incremental, "nodes_full_refresh": nodes_full,
        "kpi_differences": differences,
        "parse_s": [round(x, 4) for x in parse_times],
        "parse_warm_s": [round(x, 4) for x in parse_warm],
        "parse_warm_s_median": round(statistics.median(parse_warm), 4),
        "parse_s_median": round(statistics.median(parse_times), 4),
        "kpi_refresh_tasks": tasks,
    }
    result["ratio"] = round(result["incremental_build_s_median"]
                            / result["full_refresh_build_s_median"], 3)
    result["targets_met"] = (result["ratio"] <= TARGET_RATIO
                             and result["parse_s_median"] < TARGET_PARSE_S)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"dbt_refresh-{dossiers}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
