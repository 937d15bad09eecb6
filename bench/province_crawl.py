"""Benchmark: full crawls of the three simulated systems of a province at a scale.

Builds (or reuses) the province store of a world (``govkpi.simulator.store``, under
``.local/simstore/``: one-stop, e-office and portal tables, SOURCES.md §5 volumes times
``--scale`` per year), then for each system starts the store-backed server as a separate
process (``python -m govkpi.simulator.store serve --system ...``), crawls every endpoint to the
last page at the maximum page size (1000) from a local aiohttp client with each system's own
auth and paging (one-stop: OAuth2 + page/size; e-office: API key + cursor; portal: Basic +
offset/limit and Link), and reports records/s and the server's peak RSS (VmHWM). The store
build time is reported apart. Results go to ``bench/results/`` (JSON + markdown).

    .venv/bin/python bench/province_crawl.py                  # scale 1.0, 2017
    .venv/bin/python bench/province_crawl.py --scale 0.2      # quicker

Targets (issue 3): >= 60,000 records/s and <= 1 GB RSS per server on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
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
from govkpi.simulator.store import (  # noqa: E402
    DVC_TABLES,
    EOFFICE_TABLES,
    ONESTOP_TABLES,
    read_manifest,
    scale_dossiers,
)

PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT / "include"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
TARGET_RECORDS_PER_S = 60_000
TARGET_RSS_MB = 1024
PAGE = 1000


class OneStopPage(msgspec.Struct):
    total: int
    data: list[msgspec.Raw]


class EofficePage(msgspec.Struct):
    items: list[msgspec.Raw]
    next_cursor: str | None


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmHWM")


def build(args: argparse.Namespace, dossiers: int) -> tuple[Path, dict]:
    cmd = [PYTHON, "-m", "govkpi.simulator.store", "build", "--seed", str(args.seed),
           "--dossiers", str(dossiers), "--years", ",".join(map(str, args.years)),
           "--systems", getattr(args, "systems", "all")]
    if args.root:
        cmd += ["--root", args.root]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, check=True, text=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    path = Path(out["path"])
    info = {"path": str(path), "reused": out["reused"],
            "wall_s": round(time.perf_counter() - t0, 2),
            "store_bytes": sum(p.stat().st_size for p in path.rglob("*") if p.is_file()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                                 1) if not out["reused"] else None}
    timings = out["timings"]
    if out["reused"] and (path / "build.json").exists():  # the build that made it
        timings = json.loads((path / "build.json").read_text())
        info["timings_from"] = "build.json of the earlier build"
    info.update({k: round(v, 2) for k, v in timings.items()})
    return path, info


def start_server(store: Path, system: str, as_of: dt.datetime | None
                 ) -> tuple[subprocess.Popen, str, float]:
    cmd = [PYTHON, "-m", "govkpi.simulator.store", "serve", "--store", str(store),
           "--system", system, "--port", "0"]
    if as_of:
        cmd += ["--as-of", as_of.isoformat()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, text=True)
    banner = proc.stdout.readline()
    if "listening on" not in banner:
        proc.kill()
        raise SystemExit(f"the {system} server did not start: {banner!r}")
    return proc, banner.split("listening on ", 1)[1].split()[0], time.perf_counter() - t0


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def crawl_onestop(session, url: str) -> dict[str, int]:
    form = {"grant_type": "client_credentials", "client_id": "govkpi",
            "client_secret": "govkpi-secret"}
    async with session.post(f"{url}/oauth/token", data=form) as r:
        token = (await r.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    decode = msgspec.json.Decoder(OneStopPage).decode
    counts = {}
    for endpoint in ONESTOP_TABLES:
        page, n = 1, 0
        while True:
            async with session.get(f"{url}{endpoint}", params={"page": page, "size": PAGE},
                                   headers=headers) as r:
                r.raise_for_status()
                body = decode(await r.read())
            n += len(body.data)
            if page * PAGE >= body.total:
                break
            page += 1
        counts[endpoint] = n
    return counts


async def crawl_eoffice(session, url: str) -> dict[str, int]:
    headers = {"X-API-Key": "govkpi-eoffice-key"}
    decode = msgspec.json.Decoder(EofficePage).decode
    counts = {}
    for endpoint in EOFFICE_TABLES:
        cursor, n = None, 0
        while True:
            params = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            async with session.get(f"{url}{endpoint}", params=params, headers=headers) as r:
                r.raise_for_status()
                body = decode(await r.read())
            n += len(body.items)
            cursor = body.next_cursor
            if cursor is None:
                break
        counts[endpoint] = n
    return counts


async def crawl_dvc(session, url: str) -> dict[str, int]:
    headers = {"Authorization": "Basic " + base64.b64encode(
        b"govkpi:govkpi-dvc-secret").decode()}
    decode = msgspec.json.Decoder(list[msgspec.Raw]).decode
    counts = {}
    for endpoint in DVC_TABLES:
        following: str | None = f"{url}{endpoint}?offset=0&limit={PAGE}"
        n = 0
        while following:
            async with session.get(following, headers=headers) as r:
                r.raise_for_status()
                n += len(decode(await r.read()))
                link = r.headers.get("Link")
            following = link.split(">", 1)[0].lstrip("<") if link else None
        counts[endpoint] = n
    return counts


CRAWLS = {"onestop": crawl_onestop, "eoffice": crawl_eoffice, "dvc": crawl_dvc}


async def crawl(system: str, url: str) -> dict:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        t0 = time.perf_counter()
        counts = await CRAWLS[system](session, url)
        seconds = time.perf_counter() - t0
    records = sum(counts.values())
    return {"records": records, "per_endpoint": counts, "seconds": round(seconds, 3),
            "records_per_s": round(records / seconds) if seconds else None}


def markdown(result: dict) -> str:
    b = result["build"]
    lines = [f"# Province crawl — scale {result['scale']:g} "
             f"({result['dossiers']:,} dossiers, {', '.join(map(str, result['years']))}), "
             f"page size {PAGE}", "",
             f"{result['when']} · {result['machine']} · load average before the crawls "
             f"{result['load_before']} · store `{b['path']}`", "",
             "| system | endpoints (records) | records | seconds | records/s | "
             "server peak RSS MB |", "|---|---|---:|---:|---:|---:|"]
    for system, r in result["systems"].items():
        endpoints = ", ".join(f"{e} {n:,}" for e, n in r["per_endpoint"].items())
        lines.append(f"| {system} | {endpoints} | {r['records']:,} | {r['seconds']} | "
                     f"{r['records_per_s']:,} | {r['server_peak_rss_mb']} |")
    lines += ["", f"- targets: ≥ {TARGET_RECORDS_PER_S:,} records/s and ≤ {TARGET_RSS_MB} MB "
                  f"per server: {'met' if result['targets_met'] else 'NOT met'}",
              f"- store: {'reused' if b['reused'] else 'built'}; "
              f"{b['store_bytes'] / 2**30:.2f} GiB on disk"]
    if "build_wall_s" in b:
        lines.append(
            f"- build (reported apart{'; ' + b['timings_from'] if b.get('timings_from') else ''}"
            f"): {b['build_wall_s']} s wall; CPU in shard workers: generation "
            f"{b.get('generate_cpu_s')} s, one-stop versions {b.get('versions_cpu_s')} s, "
            f"e-office {b.get('eoffice_cpu_s')} s, portal {b.get('dvc_cpu_s')} s "
            f"({b.get('shards_wall_s')} s wall); merges {b.get('merge_s')} s"
            + (f"; peak RSS of the largest build process {b['peak_rss_mb']} MB"
               if b.get("peak_rss_mb") else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--years", type=parse_years, default=[2017])
    parser.add_argument("--as-of", type=parse_as_of, default=None)
    parser.add_argument("--root", default=None, help="store root (default .local/simstore)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--systems", default="onestop,eoffice,dvc")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    dossiers = scale_dossiers(args.scale, args.years)
    print(f"store: building or reusing ({dossiers:,} dossiers)…", file=sys.stderr, flush=True)
    store, build_info = build(args, dossiers)
    manifest = read_manifest(store)
    print(f"store: {store} ({'reused' if build_info['reused'] else 'built'})", file=sys.stderr)
    result = {"scale": args.scale, "dossiers": dossiers, "years": args.years,
              "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                         f"{platform.python_version()}",
              "load_before": [round(x, 2) for x in os.getloadavg()], "build": build_info,
              "manifest_records": manifest["records"], "systems": {}}
    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        proc, url, startup = start_server(store, system, args.as_of)
        try:
            after_start = vm_hwm_mb(proc.pid)
            r = asyncio.run(crawl(system, url))
            r.update(server_peak_rss_mb=round(vm_hwm_mb(proc.pid), 1),
                     server_rss_after_start_mb=round(after_start, 1),
                     startup_s=round(startup, 2))
        finally:
            stop_server(proc)
        result["systems"][system] = r
        print(f"{system}: {r['records']:,} records in {r['seconds']} s = "
              f"{r['records_per_s']:,} records/s; server peak RSS {r['server_peak_rss_mb']} MB",
              file=sys.stderr, flush=True)
    result["targets_met"] = all(
        r["records_per_s"] >= TARGET_RECORDS_PER_S and r["server_peak_rss_mb"] <= TARGET_RSS_MB
        for r in result["systems"].values())
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"province_crawl-{args.scale:g}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
