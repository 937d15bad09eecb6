"""Benchmark: a full crawl of the simulated one-stop system at province scale.

Builds (or reuses) the version store of a world (``govkpi.simulator.store``, under
``.local/simstore/``), starts the store-backed one-stop server as a separate process, crawls
every page of ``/api/v1/hoso`` at page size 1000 from a local aiohttp client (sequentially,
then with N concurrent pages), and reports records/s served, the server's peak RSS (VmHWM) and
the client's; as a baseline measured in the same run, the speed of reading the same records
straight from the store's data file. Results go to ``bench/results/`` (JSON + markdown).

    .venv/bin/python bench/simulator_crawl.py                  # 1,000,000 dossiers, 2017
    .venv/bin/python bench/simulator_crawl.py --dossiers 200000 --years 2016-2017

Targets (issue 3): >= 60,000 records/s and <= 1 GB server RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from govkpi.simulator.serving import parse_as_of, parse_years  # noqa: E402
from govkpi.simulator.store import StoreView, read_manifest  # noqa: E402

PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT / "include"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
TARGET_RECORDS_PER_S = 60_000
TARGET_RSS_MB = 1024


class Envelope(msgspec.Struct):
    total: int
    page: int
    size: int
    data: list[msgspec.Raw]


def proc_status_mb(pid: int | str, field: str) -> float:
    """VmHWM (peak RSS) / VmRSS of a process, in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


# ------------------------------------------------------------------------------------- build


def build(args: argparse.Namespace) -> tuple[Path, dict]:
    cmd = [PYTHON, "-m", "govkpi.simulator.store", "build", "--seed", str(args.seed),
           "--dossiers", str(args.dossiers), "--years", ",".join(map(str, args.years))]
    if args.root:
        cmd += ["--root", args.root]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, check=True, text=True)
    wall = time.perf_counter() - t0
    out = json.loads(done.stdout.strip().splitlines()[-1])
    path = Path(out["path"])
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    info = {"path": str(path), "reused": out["reused"], "wall_s": round(wall, 2),
            "store_bytes": size,
            # the largest of the build process and its shard workers (RUSAGE_CHILDREN)
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                                 1) if not out["reused"] else None,
            **{k: round(v, 2) for k, v in out["timings"].items()}}
    return path, info


# ------------------------------------------------------------------------------------- serve


def start_server(store: Path, as_of: dt.datetime | None) -> tuple[subprocess.Popen, str, float]:
    cmd = [PYTHON, "-m", "govkpi.simulator.store", "serve", "--store", str(store),
           "--port", "0"]
    if as_of:
        cmd += ["--as-of", as_of.isoformat()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, text=True)
    banner = proc.stdout.readline()
    if "listening on" not in banner:
        proc.kill()
        raise SystemExit(f"the server did not start: {banner!r}")
    url = banner.split("listening on ", 1)[1].split()[0]
    return proc, url, time.perf_counter() - t0


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------------------------- crawl


async def crawl(url: str, size: int, concurrency: int) -> dict:
    import aiohttp

    decode = msgspec.json.Decoder(Envelope).decode
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{url}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": "govkpi",
                "client_secret": "govkpi-secret"}) as r:
            token = (await r.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def fetch(page: int) -> tuple[bytes, Envelope]:
            async with session.get(f"{url}/api/v1/hoso", params={"page": page, "size": size},
                                   headers=headers) as r:
                r.raise_for_status()
                body = await r.read()
            return body, decode(body)

        t0 = time.perf_counter()
        body, first = await fetch(1)
        pages = max(1, -(-first.total // size))
        digests: dict[int, bytes] = {1: hashlib.sha256(body).digest()}
        records, nbytes = len(first.data), len(body)
        todo = iter(range(2, pages + 1))

        async def worker() -> None:
            nonlocal records, nbytes
            for page in todo:
                body, env = await fetch(page)
                if env.total != first.total:
                    raise RuntimeError(f"page {page}: total {env.total} != {first.total}")
                digests[page] = hashlib.sha256(body).digest()
                records += len(env.data)
                nbytes += len(body)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    if records != first.total:
        raise RuntimeError(f"crawled {records} records, the server announced {first.total}")
    digest = hashlib.sha256(b"".join(digests[p] for p in range(1, pages + 1))).hexdigest()
    return {"concurrency": concurrency, "pages": pages, "records": records, "bytes": nbytes,
            "seconds": round(seconds, 3), "records_per_s": round(records / seconds),
            "mb_per_s": round(nbytes / seconds / 2**20, 1), "sha256": digest}


def raw_baselines(store: Path, as_of: dt.datetime, size: int) -> list[dict]:
    """The same records read straight from the data file, in this process (no HTTP)."""
    view = StoreView(store / "hoso", as_of)
    n = len(view)
    pages = max(1, -(-n // size))
    out = []
    # 1. the page bodies exactly as served (pread + envelope), hashed like the crawl
    t0 = time.perf_counter()
    digests, nbytes = [], 0
    for page in range(1, pages + 1):
        body = view.page(None, None, page, size)
        nbytes += len(body)
        digests.append(hashlib.sha256(body).digest())
    seconds = time.perf_counter() - t0
    out.append({"what": "StoreView.page in-process (pread + envelope + sha256)", "records": n,
                "bytes": nbytes, "seconds": round(seconds, 3),
                "records_per_s": round(n / seconds),
                "sha256": hashlib.sha256(b"".join(digests)).hexdigest()})
    # 2. bare preads of each page's records (one pread per page's covering span)
    fd = os.open(store / "hoso" / "data.bin", os.O_RDONLY)
    try:
        t0 = time.perf_counter()
        nbytes = 0
        for first in range(0, n, size):
            last = min(n, first + size) - 1
            begin = int(view.offsets[first])
            nbytes += len(os.pread(fd, int(view.offsets[last] + view.lengths[last]) - begin,
                                   begin))
        seconds = time.perf_counter() - t0
    finally:
        os.close(fd)
    out.append({"what": "bare pread of each page's byte span", "records": n, "bytes": nbytes,
                "seconds": round(seconds, 3), "records_per_s": round(n / seconds)})
    view.close()
    return out


# ------------------------------------------------------------------------------------ report


def markdown(result: dict) -> str:
    b, s = result["build"], result["server"]
    lines = [
        f"# Simulator crawl — {result['dossiers']:,} dossiers ({result['years']}), "
        f"page size {result['page_size']}",
        "",
        f"{result['started']} · {result['machine']} · load average before the crawls "
        f"{result['load_average']} · store `{b['path']}`",
        "",
        "| crawl | records | seconds | records/s | MB/s | server peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in result["crawls"]:
        lines.append(f"| HTTP, {c['concurrency']} concurrent page(s) | {c['records']:,} | "
                     f"{c['seconds']} | {c['records_per_s']:,} | {c['mb_per_s']} | "
                     f"{c['server_peak_rss_mb']} |")
    for r in result["raw"]:
        lines.append(f"| raw: {r['what']} | {r['records']:,} | {r['seconds']} | "
                     f"{r['records_per_s']:,} | {r['bytes'] / r['seconds'] / 2**20:.1f} | — |")
    best = max(c["records_per_s"] for c in result["crawls"])
    raw = result["raw"][0]["records_per_s"]
    lines += [
        "",
        f"- best HTTP crawl: **{best:,} records/s** = {best / raw:.0%} of the in-process page "
        f"speed ({raw:,} records/s); target ≥ {TARGET_RECORDS_PER_S:,}: "
        f"{'met' if best >= TARGET_RECORDS_PER_S else 'NOT met'}",
        f"- server peak RSS (VmHWM): **{s['peak_rss_mb']} MB** (after start-up: "
        f"{s['startup_rss_mb']} MB; start-up {s['startup_s']} s); target ≤ {TARGET_RSS_MB} MB: "
        f"{'met' if s['peak_rss_mb'] <= TARGET_RSS_MB else 'NOT met'}",
        f"- client peak RSS: {result['client_peak_rss_mb']} MB",
        f"- crawls byte-identical to each other and to the file read: "
        f"{result['checksums_agree']}",
        f"- store: {'reused' if b['reused'] else 'built'}; "
        f"{b['store_bytes'] / 2**30:.2f} GiB on disk; {result['versions']:,} versions",
    ]
    if not b["reused"]:
        lines.append(
            f"- build (reported apart): {b['wall_s']} s wall; generation "
            f"{b.get('generate_cpu_s')} s CPU + versions/runs {b.get('versions_cpu_s')} s CPU "
            f"in shard workers ({b.get('shards_wall_s')} s wall), merge {b.get('merge_s')} s; "
            f"peak RSS of the largest build process {b['peak_rss_mb']} MB")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Full crawl of the store-backed one-stop simulator: records/s served and "
                    "the server's peak RSS (issue 3 target: >= 60,000 records/s, <= 1 GB).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--years", type=parse_years, default=[2017],
                        help="a range 2016-2017 or a list 2016,2017")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--size", type=int, default=1000, help="page size")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="concurrent pages of the second crawl")
    parser.add_argument("--as-of", type=parse_as_of, default=None,
                        help="simulated 'now' (default: the world's default as-of)")
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"),
                        help="directory for the JSON and markdown results")
    args = parser.parse_args(argv)

    started = dt.datetime.now().astimezone().replace(microsecond=0)
    print(f"building/reusing the store of {args.dossiers:,} dossiers …", flush=True)
    store, build_info = build(args)
    print(json.dumps(build_info), flush=True)
    manifest = read_manifest(store)
    as_of = args.as_of or dt.datetime.fromisoformat(manifest["default_as_of"])

    load_before = [round(x, 2) for x in os.getloadavg()]
    proc, url, startup = start_server(store, as_of)
    try:
        server = {"pid": proc.pid, "startup_s": round(startup, 2),
                  "startup_rss_mb": round(proc_status_mb(proc.pid, "VmRSS"), 1)}
        crawls = []
        for concurrency in (1, args.concurrency):
            print(f"crawling with {concurrency} concurrent page(s) …", flush=True)
            c = asyncio.run(crawl(url, args.size, concurrency))
            c["server_peak_rss_mb"] = round(proc_status_mb(proc.pid, "VmHWM"), 1)
            print(json.dumps(c), flush=True)
            crawls.append(c)
        server["peak_rss_mb"] = round(proc_status_mb(proc.pid, "VmHWM"), 1)
        server["final_rss_mb"] = round(proc_status_mb(proc.pid, "VmRSS"), 1)
    finally:
        stop_server(proc)
    client_peak = round(proc_status_mb("self", "VmHWM"), 1)
    print("reading the same records straight from the data file …", flush=True)
    raw = raw_baselines(store, as_of, args.size)

    result = {
        "benchmark": "simulator_crawl", "started": started.isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
        # other work on the machine skews the numbers: the load average before the crawls
        "load_average": load_before,
        "dossiers": args.dossiers, "years": ",".join(map(str, args.years)), "seed": args.seed,
        "as_of": as_of.isoformat(), "page_size": args.size,
        "versions": manifest["versions"]["/api/v1/hoso"],
        "build": build_info, "server": server, "crawls": crawls, "raw": raw,
        "client_peak_rss_mb": client_peak,
        "checksums_agree": len({c["sha256"] for c in crawls} | {raw[0]["sha256"]}) == 1,
        "targets": {"records_per_s": TARGET_RECORDS_PER_S, "server_rss_mb": TARGET_RSS_MB},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"simulator_crawl-{args.dossiers}-{started:%Y%m%dT%H%M%S}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report = markdown(result)
    (out / f"{stem}.md").write_text(report, encoding="utf-8")
    print(report)
    print(f"results: {out / stem}.json / .md")
    ok = (max(c["records_per_s"] for c in crawls) >= TARGET_RECORDS_PER_S
          and server["peak_rss_mb"] <= TARGET_RSS_MB and result["checksums_agree"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
