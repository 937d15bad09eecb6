"""Benchmark: end-to-end extract + load of the one-stop system at province scale.

Serves the cached scale-1.0 province store (``.local/simstore``; built or reused as
``bench/province_crawl.py`` does) with the one-stop store server in its own process
(``python -m govkpi.simulator.store serve --system onestop``), then runs the real extractor —
``govkpi.extract.extract("onestop", ...)``: OAuth2, concurrent page/size paging, msgspec
validation, semantic and reference checks, PII hashing, binary COPY, one transaction per
batch with its audit row and watermark — in a child process into a fresh database
(``govkpi_bench_extract``, dropped and recreated), units and procedures first, then the
dossiers. Reports dossiers/s of the ``hoso`` batch (and of the whole run), the extractor's
peak RSS (``ru_maxrss`` of the child), the server's peak RSS (VmHWM) and the PostgreSQL
backends' peak RSS seen while loading (sampled; shared buffers are counted in each backend
that touched them, so this is an upper bound). Results go to ``bench/results/``.

    .venv/bin/python bench/extract_load.py                    # 1,000,000 dossiers, 2017
    .venv/bin/python bench/extract_load.py --page-size 500 --concurrency 8

Targets (issue 4, 2-core machine, simulator and PostgreSQL beside it): >= 40,000 dossiers/s
and <= 400 MB peak RSS for the extractor.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

from province_crawl import ENV, PYTHON, build, start_server, stop_server, vm_hwm_mb  # noqa: E402

from govkpi.simulator.serving import parse_years  # noqa: E402
from govkpi.simulator.store import scale_dossiers  # noqa: E402

TARGET_DOSSIERS_PER_S = 40_000
TARGET_RSS_MB = 400
DATABASE = "govkpi_bench_extract"
BENCH_PII_KEY = "bench-key-0123456789abcdef0123456789abcdef"


def child(args: argparse.Namespace) -> None:
    """The extractor process: extract into the database named by the environment."""
    import logging

    from govkpi.config import OneStopSettings
    from govkpi.extract import extract
    from govkpi.warehouse import resolve_warehouse

    logging.basicConfig(level=logging.WARNING)
    wh = resolve_warehouse(create=False)
    settings = OneStopSettings(args.url, "govkpi", "govkpi-secret", page_size=args.page_size)
    t0 = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        results = profiler.runcall(extract, "onestop", wh, settings, mode="full")
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(30)
    else:
        results = extract("onestop", wh, settings, mode="full")
    wall = time.perf_counter() - t0
    out = {"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
           / 1024, "batches": [
               {"endpoint": r.endpoint, "received": r.received, "loaded": r.loaded,
                "quarantined": r.quarantined, "duplicates": r.duplicates,
                "seconds": r.seconds} for r in results]}
    print("RESULT " + json.dumps(out), flush=True)


class BackendSampler(threading.Thread):
    """Peak RSS of the PostgreSQL backends of one database, sampled from /proc."""

    def __init__(self, wh) -> None:
        super().__init__(daemon=True)
        self.wh = wh
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        with self.wh.with_database("postgres").connect(autocommit=True) as conn:
            while not self.stop.wait(0.25):
                pids = [p for (p,) in conn.execute(
                    "select pid from pg_stat_activity where datname = %s", (self.wh.dbname,))]
                for pid in pids:
                    # ended, or not readable (another user's process): skip it
                    with contextlib.suppress(OSError, KeyError):
                        self.peak_mb = max(self.peak_mb, vm_hwm_mb(pid))


def markdown(r: dict) -> str:
    h = r["hoso"]
    lines = [f"# Extract + load — one-stop, {r['dossiers']:,} dossiers "
             f"({', '.join(map(str, r['years']))}), page size {r['page_size']}", "",
             f"{r['when']} · {r['machine']} · load average before {r['load_before']}", "",
             "| batch | received | loaded | quarantined | seconds | records/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for b in r["batches"]:
        rate = round(b["received"] / b["seconds"]) if b["seconds"] else 0
        lines.append(f"| {b['endpoint']} | {b['received']:,} | {b['loaded']:,} | "
                     f"{b['quarantined']:,} | {b['seconds']:.2f} | {rate:,} |")
    lines += ["", "| measure | value | target |", "|---|---:|---:|",
              f"| dossiers/s (hoso batch) | {h['dossiers_per_s']:,} | ≥ "
              f"{TARGET_DOSSIERS_PER_S:,} |",
              f"| dossiers/s (whole run, process wall) | {r['dossiers_per_s_wall']:,} | |",
              f"| extractor peak RSS MB | {r['extractor_peak_rss_mb']} | ≤ {TARGET_RSS_MB} |",
              f"| simulator server peak RSS MB | {r['server_peak_rss_mb']} | |",
              f"| PostgreSQL backend peak RSS MB (sampled) | {r['postgres_backend_peak_rss_mb']}"
              " | |",
              "", f"- targets {'met' if r['targets_met'] else 'NOT met'}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--years", type=parse_years, default=[2017])
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--profile", default=None, help="cProfile the extractor to this file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    from govkpi.warehouse import resolve_warehouse

    dossiers = scale_dossiers(args.scale, args.years)
    args.systems = "onestop"
    store, _ = build(args, dossiers)
    wh = resolve_warehouse(create=False).with_database(DATABASE)
    wh.drop_database()
    wh.ensure_database()
    proc, url, _ = start_server(store, "onestop", None)
    sampler = BackendSampler(wh)
    try:
        env = {**ENV, **wh.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY}
        load_before = [round(x, 2) for x in os.getloadavg()]
        sampler.start()
        cmd = [PYTHON, str(Path(__file__).resolve()), "--child", "--url", url,
               "--page-size", str(args.page_size)]
        if args.profile:
            cmd += ["--profile", args.profile]
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        server_mb = vm_hwm_mb(proc.pid)
    finally:
        sampler.stop.set()
        stop_server(proc)
    if args.profile:
        print(done.stdout)
    child_out = json.loads(next(line for line in done.stdout.splitlines()
                                if line.startswith("RESULT "))[len("RESULT "):])
    hoso = next(b for b in child_out["batches"] if b["endpoint"] == "hoso")
    result = {
        "dossiers": dossiers, "years": args.years, "page_size": args.page_size,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "load_before": load_before, "store": str(store), "batches": child_out["batches"],
        "hoso": {"received": hoso["received"], "seconds": round(hoso["seconds"], 2),
                 "dossiers_per_s": round(hoso["received"] / hoso["seconds"])},
        "extractor_wall_s": round(child_out["wall_s"], 2),
        "dossiers_per_s_wall": round(hoso["received"] / child_out["wall_s"]),
        "extractor_peak_rss_mb": round(child_out["peak_rss_mb"], 1),
        "server_peak_rss_mb": round(server_mb, 1),
        "postgres_backend_peak_rss_mb": round(sampler.peak_mb, 1),
        "raw_hoso_bytes": None,
    }
    with wh.connect() as conn:
        result["raw_hoso_bytes"] = conn.execute(
            "select pg_total_relation_size('raw_onestop.hoso')").fetchone()[0]
    result["targets_met"] = (result["hoso"]["dossiers_per_s"] >= TARGET_DOSSIERS_PER_S
                             and result["extractor_peak_rss_mb"] <= TARGET_RSS_MB)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"extract_load-{dossiers}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
