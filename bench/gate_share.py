"""Benchmark: the quality gate's share of the whole pipeline's wall time at a scale.

Builds (or reuses) the province store at ``--scale`` (all three systems, as
``bench/province_crawl.py``), serves each system with the store server in its own process and
runs the real extractor (``govkpi.extract.extract``, mode ``full``) for all of them into a fresh
database (``govkpi_bench_gate``), loads the self-assessment returns of the ranking year
(generated from the world's units: ``govkpi.simulator.assessments.generate_returns``) and the
methodology — together "ingest"; then ``dbt build`` of every model, seed, snapshot and test in
this process ("dbt"); then each of the four gate checkpoints (``run_stage_gate``: raw, staging,
marts, ranking; "gates"); then publishes the ranking year with their combined verdict
("publish"). Gate share = gates / (ingest + dbt + gates + publish). Afterwards every check of
``govkpi.quality.checks.catalogue()`` is timed straight against the database, as the gate's
expectation runs it (one query: the bad rows and their count), so the report shows where gate
time goes. Results go to ``bench/results/`` (JSON + markdown).

    .venv/bin/python bench/gate_share.py                  # scale 1.0, 2017
    .venv/bin/python bench/gate_share.py --scale 0.1      # quicker
    .venv/bin/python bench/gate_share.py --years 2016-2017  # + the seed's facts at scale

Every year of ``--years`` gets its self-assessment returns and is published, in order. When
2016 and 2017 are published under ``binh_dinh_2017``, the facts the seed article reports
(DOMAIN.md §2, ``govkpi.ranking.seed_facts``) are read from the published releases and
reported (issue 6: they must hold at scale 1.0).

Target (issue 7): at scale 1.0 all gate checkpoints together take <= 5 % of the pipeline's wall
time (ingest + dbt + gates + publish). Exit status 0 when met (and every seed fact checked
holds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

from extract_load import BENCH_PII_KEY, speed_index  # noqa: E402
from province_crawl import build, start_server, stop_server, vm_hwm_mb  # noqa: E402

from govkpi.simulator.serving import parse_years  # noqa: E402
from govkpi.simulator.store import read_manifest, scale_dossiers  # noqa: E402

DATABASE = "govkpi_bench_gate"
TARGET_SHARE = 0.05
SYSTEMS = ("onestop", "eoffice", "dvc")  # in this order: portal payments name one-stop dossiers


def progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def settings_for(system: str, url: str, page_size: int):
    from govkpi.config import DvcSettings, EofficeSettings, OneStopSettings

    if system == "onestop":
        return OneStopSettings(url, "govkpi", "govkpi-secret", page_size=page_size)
    if system == "eoffice":
        return EofficeSettings(url, "govkpi-eoffice-key", page_size=page_size)
    return DvcSettings(url, "govkpi", "govkpi-dvc-secret", page_size=page_size)


def extract_system(store: Path, system: str, wh, page_size: int, *,
                   as_of: dt.datetime | None = None, mode: str = "full") -> dict:
    """Serve ``system`` from the store (as of ``as_of``) with the store server in its own
    process and run the real extractor against it; the extract's wall seconds (server start-up
    apart), the server's peak RSS and every batch's counts."""
    from govkpi.extract import extract

    proc, url, startup = start_server(store, system, as_of)
    try:
        t0 = time.perf_counter()
        results = extract(system, wh, settings_for(system, url, page_size), mode=mode)
        wall = time.perf_counter() - t0
        server_rss = vm_hwm_mb(proc.pid)
    finally:
        stop_server(proc)
    progress(f"ingest: {system} ({mode}) in {wall:.1f} s: "
             + ", ".join(f"{r.endpoint} {r.loaded:,}" for r in results))
    return {"seconds": round(wall, 2), "server_startup_s": round(startup, 2),
            "server_peak_rss_mb": round(server_rss, 1),
            "batches": {r.endpoint: {"received": r.received, "loaded": r.loaded,
                                     "quarantined": r.quarantined, "duplicates": r.duplicates,
                                     "seconds": round(r.seconds, 2)} for r in results}}


def analyze_raw(wh) -> float:
    """ANALYZE every raw table (the loader analyzes a table only after a batch that grew it by
    a tenth; the dbt models' plans need statistics on all of them); its seconds."""
    t0 = time.perf_counter()
    with wh.connect(autocommit=True) as conn:
        for schema in ("raw_onestop", "raw_eoffice", "raw_dvc", "raw_files"):
            for (table,) in conn.execute(
                    "select tablename from pg_tables where schemaname = %s", (schema,)).fetchall():
                conn.execute(f'analyze "{schema}"."{table}"')
    return round(time.perf_counter() - t0, 2)


def ingest(args, store: Path, manifest: dict, wh) -> dict:
    """Extract every system (each served in turn), load the returns, ANALYZE the raw tables,
    load the methodology. Server start-up and the generation of the return files are not
    timed (the simulated province's work, not the pipeline's)."""
    out: dict = {"systems": {}, "load_before": load()}
    for system in SYSTEMS:
        out["systems"][system] = extract_system(store, system, wh, args.page_size)
    seconds = sum(s["seconds"] for s in out["systems"].values())
    out["returns"] = load_returns(args, manifest, wh)
    seconds += out["returns"].get("seconds", 0.0)
    out["analyze_s"] = analyze_raw(wh)
    seconds += out["analyze_s"]
    from govkpi.pipeline import load_ranking_methodology

    t0 = time.perf_counter()
    load_ranking_methodology(args.methodology)
    out["methodology_s"] = round(time.perf_counter() - t0, 2)
    seconds += out["methodology_s"]
    out["seconds"] = round(seconds, 2)
    return out


def load_returns(args, manifest: dict, wh) -> dict:
    """The returns of every year in ``--years``, written and loaded (:func:`write_and_load_
    returns`), unless ``--no-returns``."""
    if args.no_returns:
        return {"skipped": "--no-returns: units are not assessed", "seconds": 0.0}
    scenario = (manifest.get("params") or {}).get("scenario") or "binh_dinh"
    return write_and_load_returns(wh, args.seed, args.years, scenario, args.returns_mess_rate)


def write_and_load_returns(wh, seed: int, years, scenario: str, mess_rate: float) -> dict:
    """Generate the self-assessment returns of ``years`` from the world's units (the store
    keeps no world, but its units are those of ``generate_world(seed, dossiers=0, years,
    scenario)``, the very call the store build makes for its reference tables) and load them
    (the load timed)."""
    from govkpi.load.assessments import load_returns as load_files
    from govkpi.simulator.assessments import generate_returns
    from govkpi.simulator.world import generate_world

    world = generate_world(seed=seed, dossiers=0, years=years, scenario=scenario)
    with tempfile.TemporaryDirectory(prefix="bench_drop_") as drop:
        files = [f for year in years for f in generate_returns(
            world, year, drop, seed, mess_rate=mess_rate)]
        progress(f"ingest: {len(files)} return files for {list(years)}; loading …")
        t0 = time.perf_counter()
        result = load_files(wh, drop, years=list(years))
        wall = time.perf_counter() - t0
    return {"files": len(files), "received": result.received, "loaded": result.loaded,
            "quarantined": result.quarantined, "seconds": round(wall, 2),
            "scenario": scenario}


def dbt_build_all(target: Path, *extra: str) -> dict:
    """``dbt build`` of the whole project in this process (what kpi_refresh + annual_ranking
    build between them), into a private target path (the checkout's ``target/`` is shared with
    whoever runs ``dbt parse``), with ``extra`` arguments (e.g. ``--threads 1``); wall seconds,
    node counts, the sum of the nodes' times and the slowest nodes."""
    from dbt.cli.main import dbtRunner

    from govkpi import config

    cmd = ["build", "--project-dir", str(config.DBT_PROJECT_DIR),
           "--profiles-dir", str(config.DBT_PROJECT_DIR), "--target-path", str(target),
           "--log-path", str(target / "logs"), "--quiet", *extra]
    t0 = time.perf_counter()
    res = dbtRunner().invoke(cmd)
    wall = time.perf_counter() - t0
    nodes, counts, failed = {}, {}, []
    for r in getattr(res.result, "results", None) or []:
        status = str(r.status)
        counts[status] = counts.get(status, 0) + 1
        kind, _project, name = r.node.unique_id.split(".", 2)
        nodes[f"{kind}.{name}"] = round(r.execution_time or 0.0, 2)
        if status not in ("success", "pass", "warn", "skipped"):
            failed.append(f"{r.node.name}: {status} {(r.message or '').strip()}"[:300])
    if not res.success:
        raise SystemExit(f"dbt build failed: {'; '.join(failed[:5]) or res.exception}")
    by_type: dict[str, float] = {}
    for node, s in nodes.items():
        kind = node.split(".", 1)[0]
        by_type[kind] = round(by_type.get(kind, 0.0) + s, 2)
    slowest = dict(sorted(nodes.items(), key=lambda kv: -kv[1])[:15])
    return {"seconds": round(wall, 2), "counts": counts, "node_seconds_by_type": by_type,
            "node_seconds_sum": round(sum(nodes.values()), 1), "slowest_nodes": slowest}


def private_gx_project(tmp: Path) -> Path:
    """A copy of the committed GX project (not its ``uncommitted/`` results and Data Docs), so
    the bench neither writes the checkout's Data Docs nor races other gate runs on them."""
    from govkpi import config

    dest = tmp / "expectations"
    shutil.copytree(config.GX_PROJECT_DIR, dest, ignore=lambda d, names: [
        n for n in names if Path(d).name == "uncommitted" and n in ("validations", "data_docs")])
    return dest


def run_gates() -> tuple[dict, list]:
    from govkpi.pipeline import RANKING_GATE_STAGES, run_stage_gate
    from govkpi.publish.release import gate_payload

    out, payloads = {}, []
    for stage in RANKING_GATE_STAGES:
        progress(f"gate: {stage} …")
        t0 = time.perf_counter()
        result = run_stage_gate(stage)
        wall = time.perf_counter() - t0
        payloads.append(gate_payload(result))
        out[stage] = {"seconds": round(wall, 2), "passed": result.passed,
                      "evaluated": result.evaluated,
                      "failures": [f.line()[:300] for f in result.failures]}
        progress(f"gate: {stage} {'passed' if result.passed else 'BLOCKED'} "
                 f"({result.evaluated} checks) in {wall:.1f} s")
    return out, payloads


def time_checks(wh, reps: int, checks: dict, stages=None) -> list[dict]:
    """Each check's SQL (``checks``: a ``catalogue()``) as the gate's expectation runs it —
    ``{batch}`` replaced by the asset's query, aliased as GX aliases it, in the one query of
    ``govkpi.quality.expectation.bad_rows_sql`` — ``reps`` times; the best of the reps."""
    from govkpi.quality.expectation import bad_rows_sql

    out = []
    with wh.connect(autocommit=True) as conn:
        for stage, assets in checks.items():
            if stages is not None and stage not in stages:
                continue
            for asset in assets:
                batch = f"({asset.query})"
                for check in asset.checks:
                    joined = re.search(r"\{batch\} as \w+", check.query) is not None
                    sql = bad_rows_sql(check.query.replace(
                        "{batch}", batch if joined else f"{batch} AS subselect"))
                    best = float("inf")
                    bad = 0
                    for _ in range(reps):
                        t0 = time.perf_counter()
                        rows = conn.execute(sql).fetchall()
                        best = min(best, time.perf_counter() - t0)
                        bad = rows[0][-1] if rows else 0
                    out.append({"stage": stage, "asset": asset.asset, "check": check.name,
                                "bad_rows": bad, "seconds": round(best, 3)})
    return out


def check_seed_facts(args, wh, releases: dict[int, int]) -> list[dict] | None:
    """DOMAIN.md §2 read from the published releases, when this run published them (the
    binh_dinh scenario, ``--methodology binh_dinh_2017``, ``--years`` 2016 and 2017)."""
    from govkpi.ranking import seed_facts

    if args.methodology != seed_facts.METHODOLOGY or not all(
            y in releases for y in seed_facts.YEARS):
        return None
    facts = seed_facts.check(wh, releases)
    for fact in facts:
        progress(f"seed fact: {fact.line()}")
    return [{"key": f.key, "statement": f.statement, "expected": repr(f.expected),
             "actual": repr(f.actual), "holds": f.holds} for f in facts]


def raw_counts(wh) -> dict[str, int]:
    with wh.connect() as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables where schemaname like 'raw\\_%%' "
            "order by 1, 2").fetchall()
        return {f"{s}.{t}": conn.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
                for s, t in tables}


def write_results(out: Path, name: str, result: dict, text: str) -> Path:
    """``<out>/<name>-<UTC time>.json`` and ``.md``; the markdown printed. The stem returned."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    # not with_suffix: a scale such as 0.1 puts a dot in the name
    Path(f"{stem}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    Path(f"{stem}.md").write_text(text)
    print(text)
    return stem


def ingest_table(systems: dict, returns: dict | None) -> list[str]:
    """The markdown table of an ingest: one row per batch, then the returns."""
    lines = ["| system | batch | received | loaded | quarantined | s |",
             "|---|---|---:|---:|---:|---:|"]
    for system, v in systems.items():
        for ep, b in v["batches"].items():
            lines.append(f"| {system} | {ep} | {b['received']:,} | {b['loaded']:,} | "
                         f"{b['quarantined']:,} | {b['seconds']} |")
    if returns and "skipped" in returns:
        lines.append(f"| files | returns | — | — | — | not assessed: {returns['skipped']} |")
    elif returns:
        lines.append(f"| files | returns ({returns['files']} files) | {returns['received']:,} | "
                     f"{returns['loaded']:,} | {returns['quarantined']:,} | "
                     f"{returns['seconds']} |")
    return lines


def markdown(r: dict) -> str:
    s = r["stages"]
    total = r["pipeline_s"]
    lines = [f"# Gate share — scale {r['scale']:g} ({r['dossiers']:,} dossiers, "
             f"{', '.join(map(str, r['years']))}), ranking {r['year']} / {r['methodology']}", "",
             f"{r['when']} · {r['machine']} · store `{r['store']}` "
             f"({'reused' if r['store_reused'] else 'built'})", "",
             f"Load average (1, 5, 15 min) at the start of each stage: ingest "
             f"{r['ingest']['load_before']}, dbt {r['dbt']['load_before']}, gates "
             f"{r['gates_load_before']}, publish {r['publish']['load_before']}; machine speed "
             f"index (ms, lower is faster) before {r['speed_index_before']}, after "
             f"{r['speed_index_after']}. Another engineer's work shared the 2 cores.", "",
             "| stage | wall s | share |", "|---|---:|---:|"]
    for name in ("ingest", "dbt", "gates", "publish"):
        lines.append(f"| {name} | {s[name]:.1f} | {s[name] / total:.1%} |")
    lines += [f"| **pipeline** | **{total:.1f}** | |", "",
              f"**Gate share = {r['gate_share']:.2%}** (target ≤ {TARGET_SHARE:.0%}: "
              f"{'met' if r['target_met'] else 'NOT met'})", ""]
    if r.get("gx_import_s") is not None:
        lines += [f"GX import, paid once here before the first gate (not in the share): "
                  f"{r['gx_import_s']:.1f} s; in Airflow each of the four gate tasks is its own "
                  f"process and pays it: the share would be {r['gate_share_with_imports']:.2%}.",
                  ""]
    lines += ["Ingest:", "", *ingest_table(r["ingest"]["systems"], r["ingest"]["returns"])]
    lines += ["", f"ANALYZE of the raw tables {r['ingest']['analyze_s']} s; methodology "
              f"{r['ingest']['methodology_s']} s. Raw rows: "
              + ", ".join(f"{t} {n:,}" for t, n in r["raw_rows"].items()), "",
              f"dbt: {', '.join(f'{n} {k}' for k, n in sorted(r['dbt']['counts'].items()))}; "
              "node seconds by type: " + ", ".join(
                  f"{k} {v:.0f}" for k, v in r["dbt"]["node_seconds_by_type"].items()),
              "", "Checkpoints:", "",
              "| checkpoint | wall s | checks | verdict | checks' SQL s (direct) |",
              "|---|---:|---:|---|---:|"]
    for stage, g in r["gates"].items():
        sql = r["check_seconds_by_stage"].get(stage)
        lines.append(f"| {stage}_gate | {g['seconds']:.1f} | {g['evaluated']} | "
                     f"{'passed' if g['passed'] else 'BLOCKED'} | "
                     f"{'' if sql is None else f'{sql:.1f}'} |")
    failures = [f for g in r["gates"].values() for f in g["failures"]]
    if failures:
        lines += ["", "Gate failures:", "", *(f"- {f}" for f in failures)]
    if r["checks"]:
        lines += ["", f"Slowest checks, timed directly after the run (best of "
                  f"{r['check_reps']}; the data is warm in the buffers by then):", "",
                  "| stage | asset | check | bad rows | s |", "|---|---|---|---:|---:|"]
        for c in sorted(r["checks"], key=lambda c: -c["seconds"])[:15]:
            lines.append(f"| {c['stage']} | {c['asset']} | {c['check']} | {c['bad_rows']:,} | "
                         f"{c['seconds']:.2f} |")
    if r.get("seed_facts") is not None:
        held = sum(f["holds"] for f in r["seed_facts"])
        lines += ["", f"Seed facts (DOMAIN.md §2) read from the published releases: "
                  f"{held} of {len(r['seed_facts'])} hold", "", "| fact | value | holds |",
                  "|---|---|---|"]
        lines += [f"| {f['statement']} | `{f['actual']}` | "
                  f"{'yes' if f['holds'] else 'NO, expected `' + f['expected'] + '`'} |"
                  for f in r["seed_facts"]]
    lines += ["", f"Publish: {r['publish']}", "",
              f"Database size at the end: {r['database_bytes'] / 2**30:.2f} GiB "
              f"({'kept' if r['kept'] else 'dropped'})"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--years", type=parse_years, default=[2017])
    parser.add_argument("--year", type=int, default=None,
                        help="ranking year (default: the last of --years)")
    parser.add_argument("--methodology", default="binh_dinh_2017")
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--returns-mess-rate", type=float, default=0.02,
                        help="generate_returns mess rate (bad values, one unreadable file)")
    parser.add_argument("--no-returns", action="store_true",
                        help="load no self-assessment returns (units are then not assessed)")
    parser.add_argument("--check-reps", type=int, default=1,
                        help="repetitions of each check's query (best reported); "
                             "0: do not time the checks")
    parser.add_argument("--database", default=DATABASE, help="the bench database (recreated)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.year = args.year or args.years[-1]
    args.systems = "all"

    from govkpi import config

    if not config.DBT_MANIFEST.exists():
        raise SystemExit(f"{config.DBT_MANIFEST} is missing: run `make manifest` first")
    logging.basicConfig(level=logging.WARNING)
    dossiers = scale_dossiers(args.scale, args.years)
    progress(f"store: building or reusing ({dossiers:,} dossiers, all systems) …")
    store, build_info = build(args, dossiers)
    manifest = read_manifest(store) or {}
    progress(f"store: {store} ({'reused' if build_info['reused'] else 'built'})")

    from govkpi.warehouse import resolve_warehouse

    wh = resolve_warehouse(create=False).with_database(args.database)
    os.environ.update({**wh.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY,
                       "GX_ANALYTICS_ENABLED": "false"})
    wh.drop_database()
    wh.ensure_database()
    from govkpi.quality.checks import catalogue

    # the checks timed at the end are those of the GX project copied now (checks.py may change
    # while the bench runs)
    checks = catalogue()
    tmp = Path(tempfile.mkdtemp(prefix="gate_share_"))
    config.GX_PROJECT_DIR = private_gx_project(tmp)
    result = {"scale": args.scale, "dossiers": dossiers, "years": args.years, "year": args.year,
              "methodology": args.methodology, "store": str(store),
              "store_reused": build_info["reused"], "build": build_info,
              "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                         f"{platform.python_version()}",
              "speed_index_before": speed_index(), "check_reps": args.check_reps}
    try:
        result["ingest"] = ingest(args, store, manifest, wh)
        result["raw_rows"] = raw_counts(wh)
        progress(f"ingest: {result['ingest']['seconds']:.1f} s")

        dbt_load = load()
        progress("dbt build (everything) …")
        result["dbt"] = {**dbt_build_all(tmp / "dbt_target"), "load_before": dbt_load}
        progress(f"dbt: {result['dbt']['seconds']:.1f} s {result['dbt']['counts']}")

        t0 = time.perf_counter()
        import great_expectations  # noqa: F401  (paid once; reported apart)

        result["gx_import_s"] = round(time.perf_counter() - t0, 2)
        result["gates_load_before"] = load()
        result["gates"], payloads = run_gates()

        from govkpi.errors import GovkpiError
        from govkpi.pipeline import publish_ranking

        publish = {"load_before": load(), "releases": {}}
        t0 = time.perf_counter()
        try:  # every year in order (a year's previous rank is the release before it)
            for year in args.years:
                progress(f"publish {year} / {args.methodology} …")
                publish["releases"][year] = publish_ranking(year, args.methodology, payloads)
        except GovkpiError as exc:  # a blocked gate publishes nothing: say so, keep the times
            publish["error"] = str(exc)[:500]
        publish["seconds"] = round(time.perf_counter() - t0, 2)
        result["publish"] = publish
        result["seed_facts"] = check_seed_facts(args, wh, publish["releases"])

        if args.check_reps > 0:
            progress("timing each check's SQL …")
            result["checks"] = time_checks(wh, args.check_reps, checks)
        else:
            result["checks"] = []
        with wh.connect() as conn:
            result["database_bytes"] = conn.execute(
                "select pg_database_size(current_database())").fetchone()[0]
    finally:
        result["kept"] = args.keep
        if not args.keep:
            wh.drop_database()
        shutil.rmtree(tmp, ignore_errors=True)
    result["speed_index_after"] = speed_index()

    gates = sum(g["seconds"] for g in result["gates"].values())
    stages = {"ingest": result["ingest"]["seconds"], "dbt": result["dbt"]["seconds"],
              "gates": round(gates, 2), "publish": result["publish"]["seconds"]}
    result["stages"] = stages
    result["pipeline_s"] = round(sum(stages.values()), 2)
    result["gate_share"] = round(gates / result["pipeline_s"], 4)
    imports = 4 * result["gx_import_s"]
    result["gate_share_with_imports"] = round(
        (gates + imports) / (result["pipeline_s"] + imports), 4)
    by_stage: dict[str, float] = {}
    for c in result["checks"]:
        by_stage[c["stage"]] = round(by_stage.get(c["stage"], 0.0) + c["seconds"], 2)
    result["check_seconds_by_stage"] = by_stage
    result["gates_passed"] = all(g["passed"] for g in result["gates"].values())
    result["target_met"] = result["gate_share"] <= TARGET_SHARE
    facts_hold = result["seed_facts"] is None or all(f["holds"] for f in result["seed_facts"])
    result["df_root_after"] = shutil.disk_usage("/").free
    write_results(args.out, f"gate_share-{args.scale:g}", result, markdown(result))
    return 0 if result["target_met"] and facts_hold else 1


if __name__ == "__main__":
    sys.exit(main())
