"""Benchmark: a province's whole year through the pipeline, stage by stage, against floors
measured in the same run (issue 9) — what ``make bench`` runs.

At ``--scale`` 1.0 a year is 1,000,000 one-stop dossiers and ~3,000,000 e-office documents
plus the portal's services, submissions, payments and ratings (SOURCES.md §5). Stages, each in
its own child process (its peak RSS is the child's own ``ru_maxrss``; the ``wait4`` figure of
the child and the processes it started — the simulated servers during ingest — is kept apart):

1. **world** (reported apart, not a pipeline stage): build or reuse the province store — the
   simulated world generated and every record version pre-rendered (``province_crawl.build``).
2. **ingest**: each system served in turn by the store server (its own process, as of the
   last moment of the year) and pulled by the real extractor (``extract``, mode ``full``),
   the year's self-assessment returns loaded, the raw tables analyzed, the methodology loaded.
3. **load floor**: the same raw rows, exported beforehand (not timed) as binary COPY data,
   copied with psycopg ``COPY … FROM STDIN (FORMAT binary)`` into tables made ``like`` the raw
   ones (indexes included), one transaction per table. Beside it, the loader alone against
   psycopg binary COPY from the same in-memory records (``bench/loader_copy.py`` on
   ``--loader-dossiers`` dossiers of the same store): the issue-4 overhead ratio.
4. **dbt**: one plain ``dbt build`` of the whole project (``dbtRunner``, the profile's threads).
5. **gates**: the four GX checkpoints (raw, staging, marts, ranking), then **publish**: the
   ranking release of the year.
6. **Cosmos**: on a copy of the database taken right after ingest (``createdb -T``), the real
   ``kpi_refresh`` and ``annual_ranking`` DAGs through ``dag.test()`` — the same build, one
   Airflow task per dbt node — against the plain ``dbt build`` of 4. Beside it, on the
   database of 4 after the gates, ``dbt build --full-refresh --threads 1``: the same build one
   node at a time, as ``dag.test()`` runs the tasks, which splits Cosmos' overhead into the
   parallelism it gives up (serial / plain) and its cost per task (Cosmos / serial).
7. **quarterly refresh**: on a third database, the year as of 30 September loaded and built
   (not timed), then the fourth quarter extracted incrementally and ``dbt build`` run
   incrementally — against the full build of 4, which built the same data from scratch.

Results: ``bench/results/province_year-<scale>-<time>.json`` and ``.md`` (git-ignored); the
table is printed. Exit status 0 when every target holds.

    make bench                                              # scale 1.0, 2017
    .venv/bin/python bench/province_year.py --scale 0.1     # quicker (~5 min)
    .venv/bin/python bench/province_year.py --skip cosmos,quarter   # the pipeline stages only
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

from extract_load import BENCH_PII_KEY, BackendSampler, speed_index  # noqa: E402
from gate_share import ingest_table, raw_counts, write_results  # noqa: E402
from province_crawl import ENV, PYTHON, build  # noqa: E402

from govkpi.simulator.store import read_manifest, scale_dossiers  # noqa: E402

DATABASE = "govkpi_bench_year"
SYSTEMS = ("onestop", "eoffice", "dvc")  # in this order: portal payments name one-stop dossiers
OPTIONAL = ("floor", "loader", "cosmos", "quarter")
TARGETS = {
    "pipeline_s": 360.0,             # ingest + dbt + gates + publish, world generation apart
    "loader_ratio": 1.25,            # load_batch / psycopg binary COPY, same records
    "cosmos_overhead": 0.10,         # Cosmos-run dbt / plain dbt build - 1
    "quarter_ratio": 0.20,           # incremental quarter / full build
    "gate_share": 0.05,              # gates / pipeline
    "peak_rss_mb": 1024.0,           # any pipeline process
}


def progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def year_end(year: int) -> dt.datetime:
    from dbt_refresh import quarter_end

    return quarter_end(year, 4)


# ---------------------------------------------------------------- child stages (own process)

def _child_setup(spec: dict):
    import logging

    from govkpi import config
    from govkpi.warehouse import resolve_warehouse

    logging.basicConfig(level=logging.WARNING)
    if spec.get("gx_dir"):
        config.GX_PROJECT_DIR = Path(spec["gx_dir"])
    return resolve_warehouse(create=False)


def stage_ingest(spec: dict) -> dict:
    """Extract every system (served in turn as of ``spec['as_of']``), then — unless
    ``spec['incremental']`` — load the returns and the methodology; ANALYZE the raw tables.
    Server start-up and the writing of the return files are not timed."""
    from gate_share import analyze_raw, extract_system, write_and_load_returns

    wh = _child_setup(spec)
    store, as_of = Path(spec["store"]), dt.datetime.fromisoformat(spec["as_of"])
    incremental = bool(spec.get("incremental"))
    out: dict = {"systems": {
        system: extract_system(store, system, wh, spec["page_size"], as_of=as_of,
                               mode="incremental" if incremental else "full")
        for system in SYSTEMS}}
    out["servers_peak_rss_mb"] = {k: v["server_peak_rss_mb"] for k, v in out["systems"].items()}
    seconds = sum(s["seconds"] for s in out["systems"].values())
    if not incremental:
        out["returns"] = write_and_load_returns(wh, spec["seed"], spec["years"],
                                                spec["scenario"], spec["returns_mess_rate"])
        seconds += out["returns"]["seconds"]
    out["analyze_s"] = analyze_raw(wh)
    seconds += out["analyze_s"]
    if not incremental:
        from govkpi.pipeline import load_ranking_methodology

        t0 = time.perf_counter()
        load_ranking_methodology(spec["methodology"])
        out["methodology_s"] = round(time.perf_counter() - t0, 2)
        seconds += out["methodology_s"]
    out["seconds"] = round(seconds, 2)
    batches = [b for s in out["systems"].values() for b in s["batches"].values()]
    returns = out.get("returns", {})
    out["received"] = sum(b["received"] for b in batches) + returns.get("received", 0)
    out["loaded"] = sum(b["loaded"] for b in batches) + returns.get("loaded", 0)
    return out


def stage_dbt(spec: dict) -> dict:
    from gate_share import dbt_build_all

    _child_setup(spec)
    return dbt_build_all(Path(spec["target"]), *spec.get("dbt_args", ()))


def stage_gates(spec: dict) -> dict:
    """The four checkpoints, then the release of the year under their verdicts (timed apart).
    GX's import is paid first and reported apart (each Airflow gate task pays it too)."""
    from gate_share import run_gates

    _child_setup(spec)
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    gx_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    gates, payloads = run_gates()
    gates_s = time.perf_counter() - t0
    from govkpi.pipeline import publish_ranking

    t0 = time.perf_counter()
    release = publish_ranking(spec["year"], spec["methodology"], payloads)
    publish_s = time.perf_counter() - t0
    return {"gx_import_s": round(gx_import, 2), "seconds": round(gates_s, 2),
            "checkpoints": gates, "publish_s": round(publish_s, 2), "release": release}


def stage_cosmos(spec: dict) -> dict:
    """``kpi_refresh`` then ``annual_ranking`` through ``dag.test()`` (a private Airflow home);
    per DAG its wall and the span and sum of its Cosmos dbt tasks."""
    wh = _child_setup(spec)
    from govkpi.warehouse import export_environment

    export_environment(wh)
    os.environ["AIRFLOW_HOME"] = spec["airflow_home"]
    os.environ["GOVKPI_REPORTS_DIR"] = spec["reports_dir"]
    from govkpi.airflow_env import prepare_airflow, run_dag

    prepare_airflow(Path(spec["airflow_home"]))
    out: dict = {}
    runs = (("kpi_refresh", {}, "dbt_build."),
            ("annual_ranking", {"year": spec["year"], "methodology": spec["methodology"]},
             "dbt_ranking."))
    for dag_id, conf, group in runs:
        progress(f"  Cosmos: {dag_id} …")
        t0 = time.perf_counter()
        run = run_dag(dag_id, conf=conf or None,
                      run_after=dt.datetime.fromisoformat(spec["run_after"]))
        wall = time.perf_counter() - t0
        tis = [ti for ti in run.get_task_instances() if ti.task_id.startswith(group)
               and ti.start_date and ti.end_date]
        out[dag_id] = {
            "wall_s": round(wall, 2), "dbt_tasks": len(tis),
            "dbt_span_s": round((max(t.end_date for t in tis)
                                 - min(t.start_date for t in tis)).total_seconds(), 2),
            "dbt_task_sum_s": round(sum((t.end_date - t.start_date).total_seconds()
                                        for t in tis), 2),
            "slowest_tasks": dict(sorted(
                ((t.task_id, round((t.end_date - t.start_date).total_seconds(), 1))
                 for t in tis), key=lambda kv: -kv[1])[:8])}
        progress(f"  Cosmos: {dag_id} in {wall:.1f} s ({len(tis)} dbt tasks, span "
                 f"{out[dag_id]['dbt_span_s']:.1f} s)")
    return out


STAGES = {"ingest": stage_ingest, "dbt": stage_dbt, "gates": stage_gates,
          "cosmos": stage_cosmos}


def child_main(stage: str, spec_path: Path, result_path: Path) -> int:
    import resource

    spec = json.loads(spec_path.read_text())
    result = STAGES[stage](spec)
    # the stage's own process; wait4 in the parent also counts the processes it started and
    # reaped (ingest: the simulated servers)
    result["process_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result_path.write_text(json.dumps(result, default=str))
    return 0


# ---------------------------------------------------------------- parent: orchestration

def run_stage(stage: str, spec: dict, wh, tmp: Path) -> dict:
    """Run a stage in a child process against ``wh``'s database; wall seconds, the child's
    peak RSS (``wait4``), the PostgreSQL backends' peak RSS (sampled), its result."""
    spec_path, result_path = tmp / f"{stage}.spec.json", tmp / f"{stage}.result.json"
    spec_path.write_text(json.dumps(spec, default=str))
    result_path.unlink(missing_ok=True)
    env = {**ENV, **wh.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY,
           "GX_ANALYTICS_ENABLED": "false"}
    sampler = BackendSampler(wh)
    sampler.start()
    before = load()
    t0 = time.perf_counter()
    proc = subprocess.Popen([PYTHON, str(Path(__file__).resolve()), "--child", stage,
                             str(spec_path), str(result_path)], env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"stage {stage} failed (exit {proc.returncode}); see the output above")
    result = json.loads(result_path.read_text())
    return {"wall_s": round(wall, 2), "peak_rss_mb": result.pop("process_peak_rss_mb"),
            "process_tree_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "postgres_backend_peak_rss_mb": round(sampler.peak_mb, 1), "load_before": before,
            "result": result}


def copy_floor(wh, tables: dict[str, int], tmp: Path) -> dict:
    """Each raw table's rows, exported as binary COPY data (not timed), copied back with
    psycopg into a table ``like`` it (indexes included), one transaction per table (timed)."""
    out: dict = {"tables": {}}
    total = 0.0
    with wh.connect(autocommit=True) as conn:
        conn.execute("drop schema if exists bench_floor cascade")
        conn.execute("create schema bench_floor")
        for name, rows in tables.items():
            if not rows:
                continue
            schema, table = name.split(".")
            path = tmp / f"{name}.copy"
            with path.open("wb") as f, conn.cursor().copy(
                    f'copy "{schema}"."{table}" to stdout (format binary)') as copy:
                for chunk in copy:
                    f.write(chunk)
            target = f'bench_floor."{schema}__{table}"'
            conn.execute(f'create table {target} (like "{schema}"."{table}" including all)')
            conn.execute("checkpoint")
            t0 = time.perf_counter()
            with conn.transaction(), path.open("rb") as f, conn.cursor().copy(
                    f"copy {target} from stdin (format binary)") as copy:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            seconds = time.perf_counter() - t0
            total += seconds
            out["tables"][name] = {"rows": rows, "bytes": path.stat().st_size,
                                   "seconds": round(seconds, 2)}
            path.unlink()
            conn.execute(f"drop table {target}")
        conn.execute("drop schema bench_floor cascade")
    out["seconds"] = round(total, 2)
    out["rows"] = sum(v["rows"] for v in out["tables"].values())
    return out


def loader_ratio(args, store: Path, tmp: Path) -> dict:
    """``bench/loader_copy.py`` on the same store: load_batch vs psycopg binary COPY of the
    same in-memory dossiers (``--loader-dossiers``, ``--loader-reps``)."""
    out_dir = tmp / "loader"
    cmd = [PYTHON, str(ROOT / "bench" / "loader_copy.py"), "--store", str(store),
           "--dossiers", str(args.loader_dossiers), "--reps", str(args.loader_reps),
           "--out", str(out_dir)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: ran, target missed
        raise SystemExit("bench/loader_copy.py failed")
    result = json.loads(next(out_dir.glob("*.json")).read_text())
    return {"wall_s": round(time.perf_counter() - t0, 2), "dossiers": result["dossiers"],
            "reps": result["reps"], "loader_median_s": result["loader_median_s"],
            "copy_median_s": result["copy_median_s"], "ratio": result["ratio"],
            "loader_rows_per_s": result["loader_rows_per_s"],
            "copy_rows_per_s": result["copy_rows_per_s"],
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def copy_database(wh, source: str, target: str) -> None:
    with wh.with_database("postgres").connect(autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            (source,))
        conn.execute(f'drop database if exists "{target}"')
        conn.execute(f'create database "{target}" template "{source}"')


def private_dirs(tmp: Path) -> dict:
    from gate_share import private_gx_project

    return {"gx_dir": str(private_gx_project(tmp)),
            "airflow_home": str(tmp / "airflow"), "reports_dir": str(tmp / "reports")}


def fmt_rate(rows: int | None, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if rows and seconds else ""


def summarise(r: dict) -> dict:
    """The headline figures and whether each target holds."""
    s = r["stages"]
    ingest, dbt = s["ingest"]["wall_s"], s["dbt"]["wall_s"]
    gates = s["gates"]["result"]["seconds"]
    publish = s["gates"]["result"]["publish_s"]
    pipeline = ingest + dbt + gates + publish
    out = {"pipeline_s": round(pipeline, 1), "gate_share": round(gates / pipeline, 4)}
    rss = {"ingest": s["ingest"]["peak_rss_mb"], "dbt": s["dbt"]["peak_rss_mb"],
           "gates": s["gates"]["peak_rss_mb"]}
    if "cosmos" in s:
        rss["cosmos"] = s["cosmos"]["peak_rss_mb"]
        cosmos = sum(d["dbt_span_s"] for d in s["cosmos"]["result"].values())
        out["cosmos_dbt_s"] = round(cosmos, 1)
        out["cosmos_overhead"] = round(cosmos / dbt - 1, 4)
    if "cosmos" in s and "dbt_serial" in s:
        serial = s["dbt_serial"]["wall_s"]
        out["dbt_serial_s"] = serial
        out["serial_over_plain"] = round(serial / dbt, 3)
        out["cosmos_over_serial"] = round(out["cosmos_dbt_s"] / serial, 3)
    if "quarter" in r:
        out["quarter_ratio"] = round(r["quarter"]["dbt"]["wall_s"] / dbt, 4)
    if "loader" in r:
        out["loader_ratio"] = r["loader"]["ratio"]
        rss["loader_copy"] = r["loader"]["peak_rss_mb"]
    if "floor" in r:
        out["ingest_over_floor"] = round(ingest / r["floor"]["seconds"], 2)
    out["peak_rss_mb"] = max(rss.values())
    out["peak_rss_by_process"] = rss
    out["met"] = {k: (out[k] <= TARGETS[k]) for k in TARGETS if k in out}
    return out


def markdown(r: dict) -> str:
    s, h = r["stages"], r["summary"]
    raw_rows = sum(r["raw_rows"].values())
    ing = s["ingest"]
    g = s["gates"]["result"]
    lines = [
        f"# Province year — scale {r['scale']:g}: {r['dossiers']:,} dossiers, "
        f"{r['raw_rows'].get('raw_eoffice.documents', 0):,} documents ({r['year']})", "",
        f"{r['when']} · {r['machine']} · commit {r['commit']} · load average at the start "
        f"{r['load_start']} · speed index (ms, lower is faster) {r['speed_index_before']} → "
        f"{r['speed_index_after']}", "",
        f"World generation (not a pipeline stage): store "
        f"{'reused' if r['build']['reused'] else 'built'} — "
        + ", ".join(f"{k} {v}" for k, v in r["build"].items()
                    if k.endswith("_s") and v is not None), "",
        "| stage | wall s | rows | rows/s | peak RSS MB (process) | PostgreSQL backend peak "
        "RSS MB | load at start |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| ingest (extract 3 systems + returns + analyze + methodology) | {ing['wall_s']:.1f} "
        f"| {ing['result']['loaded']:,} | {fmt_rate(ing['result']['loaded'], ing['wall_s'])} | "
        f"{ing['peak_rss_mb']:.0f} | {ing['postgres_backend_peak_rss_mb']:.0f} | "
        f"{ing['load_before']} |",
        f"| dbt build (plain, one invocation) | {s['dbt']['wall_s']:.1f} | {raw_rows:,} raw | "
        f"{fmt_rate(raw_rows, s['dbt']['wall_s'])} | {s['dbt']['peak_rss_mb']:.0f} | "
        f"{s['dbt']['postgres_backend_peak_rss_mb']:.0f} | {s['dbt']['load_before']} |",
        f"| gates (4 checkpoints) | {g['seconds']:.1f} | {raw_rows:,} raw | "
        f"{fmt_rate(raw_rows, g['seconds'])} | {s['gates']['peak_rss_mb']:.0f} | "
        f"{s['gates']['postgres_backend_peak_rss_mb']:.0f} | {s['gates']['load_before']} |",
        f"| publish | {g['publish_s']:.1f} | | | (with gates) | | |",
        f"| **pipeline** (ingest + dbt + gates + publish) | **{h['pipeline_s']:.1f}** | | | "
        f"**{max(ing['peak_rss_mb'], s['dbt']['peak_rss_mb'], s['gates']['peak_rss_mb']):.0f}**"
        " | | |"]
    if "cosmos" in s:
        c = s["cosmos"]
        lines.append(
            f"| Cosmos: kpi_refresh + annual_ranking (dag.test, separate copy) | "
            f"{sum(d['wall_s'] for d in c['result'].values()):.1f} (dbt tasks "
            f"{h['cosmos_dbt_s']:.1f}) | {raw_rows:,} raw | | {c['peak_rss_mb']:.0f} | "
            f"{c['postgres_backend_peak_rss_mb']:.0f} | {c['load_before']} |")
    if "dbt_serial" in s:
        d1 = s["dbt_serial"]
        lines.append(
            f"| dbt build --full-refresh --threads 1 (serial reference) | {d1['wall_s']:.1f} | "
            f"{raw_rows:,} raw | | {d1['peak_rss_mb']:.0f} | "
            f"{d1['postgres_backend_peak_rss_mb']:.0f} | {d1['load_before']} |")
    if "floor" in r:
        f = r["floor"]
        lines.append(f"| load floor: binary COPY of the same raw rows | {f['seconds']:.1f} | "
                     f"{f['rows']:,} | {fmt_rate(f['rows'], f['seconds'])} | | | "
                     f"{f['load_before']} |")
    if "quarter" in r:
        q = r["quarter"]
        lines += [
            f"| quarter: incremental extract of Q4 | {q['ingest']['wall_s']:.1f} | "
            f"{q['ingest']['result']['loaded']:,} | "
            f"{fmt_rate(q['ingest']['result']['loaded'], q['ingest']['wall_s'])} | "
            f"{q['ingest']['peak_rss_mb']:.0f} | | {q['ingest']['load_before']} |",
            f"| quarter: incremental dbt build | {q['dbt']['wall_s']:.1f} | | | "
            f"{q['dbt']['peak_rss_mb']:.0f} | | {q['dbt']['load_before']} |"]
    met = h["met"]

    def verdict(key: str) -> str:
        return "met" if met.get(key) else "**NOT met**"

    lines += ["", "| target | measured | target | verdict |", "|---|---:|---:|---|",
              f"| full province-year, all stages | {h['pipeline_s']:.0f} s | ≤ "
              f"{TARGETS['pipeline_s']:.0f} s | {verdict('pipeline_s')} |"]
    if "loader_ratio" in h:
        lo = r["loader"]
        lines.append(f"| loader / psycopg binary COPY ({lo['dossiers']:,} dossiers, median of "
                     f"{lo['reps']}: {lo['loader_median_s']} s / {lo['copy_median_s']} s) | "
                     f"{h['loader_ratio']:.2f}× | ≤ {TARGETS['loader_ratio']}× | "
                     f"{verdict('loader_ratio')} |")
    if "ingest_over_floor" in h:
        lines.append(f"| ingest (HTTP from the simulators included) / COPY floor of its rows | "
                     f"{h['ingest_over_floor']:.2f}× | (information) | |")
    if "cosmos_overhead" in h:
        lines.append(f"| Cosmos dbt tasks / plain dbt build − 1 | "
                     f"{h['cosmos_overhead']:+.1%} | ≤ {TARGETS['cosmos_overhead']:.0%} | "
                     f"{verdict('cosmos_overhead')} |")
    if "serial_over_plain" in h:
        lines += [f"| — one thread / plain build (the parallelism dag.test gives up) | "
                  f"{h['serial_over_plain']:.2f}× | (information) | |",
                  f"| — Cosmos dbt tasks / one thread (Cosmos' cost per task) | "
                  f"{h['cosmos_over_serial']:.2f}× | (information) | |"]
    if "quarter_ratio" in h:
        lines.append(f"| incremental quarter dbt / full build | {h['quarter_ratio']:.3f} | ≤ "
                     f"{TARGETS['quarter_ratio']} | {verdict('quarter_ratio')} |")
    lines += [f"| gate share of the pipeline | {h['gate_share']:.2%} | ≤ "
              f"{TARGETS['gate_share']:.0%} | {verdict('gate_share')} |",
              f"| peak RSS of any pipeline process | {h['peak_rss_mb']:.0f} MB | ≤ "
              f"{TARGETS['peak_rss_mb']:.0f} MB | {verdict('peak_rss_mb')} |", ""]
    lines += ["Ingest per batch:", "", *ingest_table(ing["result"]["systems"],
                                                      ing["result"].get("returns"))]
    if r.get("database_bytes"):
        lines += ["", f"Database after the pipeline: {r['database_bytes'] / 2**30:.2f} GiB "
                      f"(raw rows, staged and built models, audit)."]
    lines += ["", "Simulated servers' peak RSS (not pipeline processes): " + ", ".join(
        f"{k} {v:.0f} MB" for k, v in ing["result"]["servers_peak_rss_mb"].items())]
    d = s["dbt"]["result"]
    lines += ["", "dbt: " + ", ".join(f"{n} {k}" for k, n in sorted(d["counts"].items()))
              + "; slowest nodes (s): " + ", ".join(f"`{k}` {v}"
                                                    for k, v in d["slowest_nodes"].items())]
    if "floor" in r:
        lines += ["", "Load floor per table (s): " + ", ".join(
            f"{t} {v['seconds']}" for t, v in r["floor"]["tables"].items())]
    lines += ["", "Gates (s): " + ", ".join(
        f"{k} {v['seconds']}" for k, v in g["checkpoints"].items())
        + f"; GX import {g['gx_import_s']} s (paid once here, by each gate task in Airflow)"]
    if "cosmos" in s:
        for dag_id, v in s["cosmos"]["result"].items():
            lines += ["", f"Cosmos `{dag_id}`: wall {v['wall_s']} s, {v['dbt_tasks']} dbt tasks, "
                          f"span {v['dbt_span_s']} s, sum {v['dbt_task_sum_s']} s; slowest: "
                      + ", ".join(f"`{k}` {t}" for k, t in v["slowest_tasks"].items())]
    if "quarter" in r:
        q = r["quarter"]
        lines += ["", f"Quarterly refresh: loaded and built as of {q['first_as_of']} (not "
                      f"timed: extract {q['setup']['ingest_s']} s, build {q['setup']['dbt_s']} s)"
                      f", then Q4 extracted incrementally (as of {q['as_of']}) and built "
                      "incrementally; slowest nodes (s): " + ", ".join(
                          f"`{k}` {v}" for k, v in q["dbt"]["result"]["slowest_nodes"].items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Targets (2-core machine): pipeline ≤ 6 min, loader ≤ 1.25× COPY, Cosmos "
               "overhead ≤ 10 %, incremental quarter ≤ 0.2× full, gate ≤ 5 %, peak RSS ≤ 1 GB.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0: a province's year (1M dossiers, ~3M documents)")
    parser.add_argument("--year", type=int, default=2017, help="the year simulated and ranked")
    parser.add_argument("--seed", type=int, default=2017, help="world seed")
    parser.add_argument("--methodology", default="binh_dinh_2017", help="ranking methodology")
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="store build processes")
    parser.add_argument("--page-size", type=int, default=1000, help="records per API page")
    parser.add_argument("--returns-mess-rate", type=float, default=0.02,
                        help="share of bad values in the self-assessment returns")
    parser.add_argument("--loader-dossiers", type=int, default=200_000,
                        help="dossiers for the loader-vs-COPY ratio")
    parser.add_argument("--loader-reps", type=int, default=3,
                        help="repetitions of the loader-vs-COPY pair (median reported)")
    parser.add_argument("--skip", default="",
                        help=f"comma-separated optional parts to skip: {', '.join(OPTIONAL)}")
    parser.add_argument("--database", default=DATABASE,
                        help="the bench database (recreated; _cosmos and _quarter beside it)")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results",
                        help="where the JSON and markdown results go")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(OPTIONAL):
        parser.error(f"--skip takes {', '.join(OPTIONAL)}")
    args.years = [args.year]
    args.systems = "all"

    from govkpi import config

    if not config.DBT_MANIFEST.exists():
        raise SystemExit(f"{config.DBT_MANIFEST} is missing: run `make manifest` first")
    dossiers = scale_dossiers(args.scale, args.years)
    result: dict = {
        "scale": args.scale, "year": args.year, "dossiers": dossiers,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}",
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip(),
        "load_start": load(), "speed_index_before": speed_index(), "targets": TARGETS}
    progress(f"world: building or reusing the store ({dossiers:,} dossiers, all systems) …")
    store, result["build"] = build(args, dossiers)
    scenario = (read_manifest(store) or {}).get("params", {}).get("scenario") or "binh_dinh"
    progress(f"world: {store} ({'reused' if result['build']['reused'] else 'built'})")

    from govkpi.warehouse import resolve_warehouse

    base = resolve_warehouse(create=False)
    wh = base.with_database(args.database)
    wh_cosmos = base.with_database(f"{args.database}_cosmos")
    wh_quarter = base.with_database(f"{args.database}_quarter")
    tmp = Path(tempfile.mkdtemp(prefix="province_year_"))
    spec = {"store": str(store), "as_of": year_end(args.year).isoformat(),
            "page_size": args.page_size, "years": args.years, "year": args.year,
            "seed": args.seed, "scenario": scenario, "methodology": args.methodology,
            "returns_mess_rate": args.returns_mess_rate, **private_dirs(tmp),
            "target": str(tmp / "dbt_target"),
            "run_after": (year_end(args.year) + dt.timedelta(days=15)).isoformat()}
    stages: dict = {}
    result["stages"] = stages
    try:
        wh.drop_database()
        wh.ensure_database()
        progress("ingest …")
        stages["ingest"] = run_stage("ingest", spec, wh, tmp)
        result["raw_rows"] = raw_counts(wh)
        progress(f"ingest: {stages['ingest']['wall_s']:.1f} s, "
                 f"{stages['ingest']['result']['loaded']:,} rows loaded")
        if "cosmos" not in skip:
            copy_database(wh, args.database, wh_cosmos.dbname)
        if "floor" not in skip:
            progress("load floor: binary COPY of the same raw rows …")
            result["floor"] = {**copy_floor(wh, result["raw_rows"], tmp),
                               "load_before": load()}
            progress(f"load floor: {result['floor']['seconds']:.1f} s")
        progress("dbt build …")
        stages["dbt"] = run_stage("dbt", spec, wh, tmp)
        progress(f"dbt: {stages['dbt']['wall_s']:.1f} s")
        progress("gates + publish …")
        stages["gates"] = run_stage("gates", spec, wh, tmp)
        progress(f"gates: {stages['gates']['result']['seconds']:.1f} s, publish "
                 f"{stages['gates']['result']['publish_s']:.1f} s")
        with wh.connect() as conn:
            result["database_bytes"] = conn.execute(
                "select pg_database_size(current_database())").fetchone()[0]
        if "cosmos" not in skip:
            progress("dbt build --full-refresh --threads 1 (the serial reference) …")
            stages["dbt_serial"] = run_stage(
                "dbt", {**spec, "dbt_args": ["--full-refresh", "--threads", "1"]}, wh, tmp)
            progress(f"dbt, one thread: {stages['dbt_serial']['wall_s']:.1f} s")
        if not args.keep:
            wh.drop_database()
        if "loader" not in skip:
            progress(f"loader vs COPY ({args.loader_dossiers:,} dossiers) …")
            result["loader"] = loader_ratio(args, store, tmp)
            progress(f"loader vs COPY: {result['loader']['ratio']}×")
        if "cosmos" not in skip:
            progress("Cosmos: the DAGs through dag.test on the copy …")
            stages["cosmos"] = run_stage("cosmos", spec, wh_cosmos, tmp)
            if not args.keep:
                wh_cosmos.drop_database()
        if "quarter" not in skip:
            result["quarter"] = quarterly(args, spec, wh_quarter, tmp)
            if not args.keep:
                wh_quarter.drop_database()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["speed_index_after"] = speed_index()
    result["summary"] = summarise(result)
    stem = write_results(args.out, f"province_year-{args.scale:g}", result, markdown(result))
    progress(f"results: {stem}.md and .json")
    return 0 if all(result["summary"]["met"].values()) else 1


def quarterly(args, spec: dict, wh, tmp: Path) -> dict:
    """The year as of 30 September loaded and built (not timed), then Q4 extracted
    incrementally and built incrementally (timed)."""
    from dbt_refresh import quarter_end

    first = quarter_end(args.year, 3)
    wh.drop_database()
    wh.ensure_database()
    progress(f"quarter: loading and building as of {first:%Y-%m-%d} (setup, not timed) …")
    setup_ingest = run_stage("ingest", {**spec, "as_of": first.isoformat()}, wh, tmp)
    setup_dbt = run_stage("dbt", spec, wh, tmp)
    progress("quarter: Q4 extracted incrementally …")
    ingest = run_stage("ingest", {**spec, "incremental": True}, wh, tmp)
    progress("quarter: incremental dbt build …")
    dbt = run_stage("dbt", spec, wh, tmp)
    progress(f"quarter: extract {ingest['wall_s']:.1f} s, dbt {dbt['wall_s']:.1f} s")
    return {"first_as_of": first.isoformat(), "as_of": spec["as_of"],
            "setup": {"ingest_s": setup_ingest["wall_s"], "dbt_s": setup_dbt["wall_s"]},
            "ingest": ingest, "dbt": dbt}


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
