"""Benchmark: end-to-end extract + load of the one-stop system at province scale.

Serves the cached scale-1.0 province store (``.local/simstore``; built or reused as
``bench/province_crawl.py`` does) with the one-stop store server in its own process
(``python -m govkpi.simulator.store serve --system onestop``), then runs the real extractor —
``govkpi.extract.extract("onestop", ...)``: OAuth2, concurrent page/size paging, msgspec
validation, semantic and reference checks, PII hashing, binary COPY, one transaction per
batch with its audit row and watermark — in a child process into a fresh database
(``govkpi_bench_extract``, dropped and recreated), units and procedures first, then the
dossiers; ``--reps`` times (one server, a fresh database each time). Reports per run and as
the median: dossiers/s of the ``hoso`` batch (and of the whole extractor process), the
extractor's peak RSS (``ru_maxrss`` of the child), the server's peak RSS (VmHWM), the
PostgreSQL backends' peak RSS seen while loading (sampled; shared buffers are counted in each
backend that touched them, so an upper bound), and where the CPU went: µs per dossier of the
extractor, the simulator, the PostgreSQL backends and the whole machine (on 2 cores, 40,000
dossiers/s leaves 50 µs of CPU per dossier for all of them). Results go to
``bench/results/``.

    .venv/bin/python bench/extract_load.py                    # 1,000,000 dossiers, 3 runs
    .venv/bin/python bench/extract_load.py --reps 5 --page-size 500

Targets (issue 4, 2-core machine, simulator and PostgreSQL beside it): >= 40,000 dossiers/s
(median) and <= 400 MB peak RSS for the extractor.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import statistics
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
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
           "peak_rss_mb": usage.ru_maxrss / 1024, "batches": [
               {"endpoint": r.endpoint, "received": r.received, "loaded": r.loaded,
                "quarantined": r.quarantined, "duplicates": r.duplicates,
                "seconds": r.seconds} for r in results]}
    print("RESULT " + json.dumps(out), flush=True)


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (``/proc/stat``: all but idle + iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class BackendSampler(threading.Thread):
    """Peak RSS and CPU time of the PostgreSQL backends of one database, sampled from /proc
    (a backend's last CPU reading before it ends is kept: a lower bound by < 0.25 s each)."""

    def __init__(self, wh) -> None:
        super().__init__(daemon=True)
        self.wh = wh
        self.peak_mb = 0.0
        self.cpu: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        with self.wh.with_database("postgres").connect(autocommit=True) as conn:
            while not self.stop.wait(0.25):
                pids = [p for (p,) in conn.execute(
                    "select pid from pg_stat_activity where datname = %s", (self.wh.dbname,))]
                for pid in pids:
                    # ended, or not readable (another user's process): skip it
                    with contextlib.suppress(OSError, KeyError, ValueError, IndexError):
                        self.peak_mb = max(self.peak_mb, vm_hwm_mb(pid))
                        self.cpu[pid] = cpu_seconds(pid)


def speed_index() -> float:
    """Milliseconds for a fixed pure-Python workload: how fast this (shared, noisy) machine is
    right now, printed beside each run so that runs can be compared."""
    t0 = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i % 7
    return round((time.perf_counter() - t0) * 1000, 1)


def one_run(args: argparse.Namespace, wh, env: dict, proc, url: str) -> dict:
    """One extraction into a freshly recreated database; its figures."""
    wh.drop_database()
    wh.ensure_database()
    speed = speed_index()
    sampler = BackendSampler(wh)
    sampler.start()
    try:
        server_cpu0, machine_cpu0 = cpu_seconds(proc.pid), machine_cpu_seconds()
        cmd = [PYTHON, str(Path(__file__).resolve()), "--child", "--url", url,
               "--page-size", str(args.page_size)]
        if args.profile:
            cmd += ["--profile", args.profile]
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        server_cpu = cpu_seconds(proc.pid) - server_cpu0
        machine_cpu = machine_cpu_seconds() - machine_cpu0
    finally:
        sampler.stop.set()
        sampler.join()
    if args.profile:
        print(done.stdout)
    out = json.loads(next(line for line in done.stdout.splitlines()
                          if line.startswith("RESULT "))[len("RESULT "):])
    hoso = next(b for b in out["batches"] if b["endpoint"] == "hoso")
    n = hoso["received"]
    return {
        "speed_index": speed, "batches": out["batches"],
        "hoso_seconds": round(hoso["seconds"], 2),
        "dossiers_per_s": round(n / hoso["seconds"]),
        "extractor_wall_s": round(out["wall_s"], 2),
        "dossiers_per_s_wall": round(n / out["wall_s"]),
        "extractor_peak_rss_mb": round(out["peak_rss_mb"], 1),
        "postgres_backend_peak_rss_mb": round(sampler.peak_mb, 1),
        # CPU time over the whole extractor run (all endpoints), µs per dossier
        "cpu_us_per_dossier": {
            "extractor": round(out["cpu_s"] / n * 1e6, 1),
            "server": round(server_cpu / n * 1e6, 1),
            "postgres_backends": round(sum(sampler.cpu.values()) / n * 1e6, 1),
            "machine": round(machine_cpu / n * 1e6, 1),
        },
    }


def markdown(r: dict) -> str:
    lines = [f"# Extract + load — one-stop, {r['dossiers']:,} dossiers "
             f"({', '.join(map(str, r['years']))}), page size {r['page_size']}", "",
             f"{r['when']} · {r['machine']} · load average before {r['load_before']}", "",
             "Last run's batches:", "",
             "| batch | received | loaded | quarantined | seconds | records/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for b in r["batches"]:
        rate = round(b["received"] / b["seconds"]) if b["seconds"] else 0
        lines.append(f"| {b['endpoint']} | {b['received']:,} | {b['loaded']:,} | "
                     f"{b['quarantined']:,} | {b['seconds']:.2f} | {rate:,} |")
    lines += ["", "Each run, into a fresh database (CPU in µs per dossier over the whole run; "
              "machine = every process; speed index = ms for a fixed pure-Python loop just "
              "before the run, lower is faster: the machine is shared):", "",
              "| run | dossiers/s (hoso batch) | extractor RSS MB | CPU extractor | "
              "CPU simulator | CPU PostgreSQL | CPU machine | speed index |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, run in enumerate(r["runs"], 1):
        cpu = run["cpu_us_per_dossier"]
        lines.append(f"| {i} | {run['dossiers_per_s']:,} | {run['extractor_peak_rss_mb']} | "
                     f"{cpu['extractor']} | {cpu['server']} | {cpu['postgres_backends']} | "
                     f"{cpu['machine']} | {run['speed_index']} |")
    lines += ["", "| measure | value | target |", "|---|---:|---:|",
              f"| dossiers/s (hoso batch), median of {r['reps']} | "
              f"{r['dossiers_per_s_median']:,} | ≥ {TARGET_DOSSIERS_PER_S:,} |",
              f"| dossiers/s (whole extractor process), median | "
              f"{r['dossiers_per_s_wall_median']:,} | |",
              f"| extractor peak RSS MB, max | {r['extractor_peak_rss_mb']} | "
              f"≤ {TARGET_RSS_MB} |",
              f"| simulator server peak RSS MB | {r['server_peak_rss_mb']} | |",
              f"| PostgreSQL backend peak RSS MB (sampled), max | "
              f"{r['postgres_backend_peak_rss_mb']} | |",
              f"| raw_onestop.hoso size MB | {r['raw_hoso_bytes'] / 2**20:,.0f} | |",
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
    parser.add_argument("--reps", type=int, default=3,
                        help="extractions (each into a fresh database); the median is reported")
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
    proc, url, _ = start_server(store, "onestop", None)
    runs = []
    try:
        env = {**ENV, **wh.environment(), "GOVKPI_PII_KEY": BENCH_PII_KEY}
        load_before = [round(x, 2) for x in os.getloadavg()]
        for rep in range(1, args.reps + 1):
            runs.append(one_run(args, wh, env, proc, url))
            run = runs[-1]
            print(f"run {rep}/{args.reps}: {run['dossiers_per_s']:,} dossiers/s, extractor "
                  f"{run['extractor_peak_rss_mb']} MB, CPU µs/dossier {run['cpu_us_per_dossier']}"
                  f", machine speed index {run['speed_index']}", flush=True)
        server_mb = vm_hwm_mb(proc.pid)
    finally:
        stop_server(proc)
    with wh.connect() as conn:
        raw_bytes = conn.execute("select pg_total_relation_size('raw_onestop.hoso')").fetchone()[0]
    result = {
        "dossiers": dossiers, "years": args.years, "page_size": args.page_size,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        "load_before": load_before, "store": str(store), "reps": args.reps, "runs": runs,
        "batches": runs[-1]["batches"],
        "dossiers_per_s_median": round(statistics.median(r["dossiers_per_s"] for r in runs)),
        "dossiers_per_s_wall_median": round(statistics.median(
            r["dossiers_per_s_wall"] for r in runs)),
        "extractor_peak_rss_mb": max(r["extractor_peak_rss_mb"] for r in runs),
        "server_peak_rss_mb": round(server_mb, 1),
        "postgres_backend_peak_rss_mb": max(r["postgres_backend_peak_rss_mb"] for r in runs),
        "raw_hoso_bytes": raw_bytes,
    }
    result["targets_met"] = (result["dossiers_per_s_median"] >= TARGET_DOSSIERS_PER_S
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
