"""``govkpi simulate serve | generate-files | describe`` — the sandbox province."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections import Counter
from pathlib import Path

from govkpi.simulator.serving import (
    add_mess_argument,
    add_scale_argument,
    parse_as_of,
    parse_years,
)


def _world_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=2017, help="random seed of the world (2017)")
    p.add_argument("--dossiers", type=int, default=10_000, help="one-stop dossiers (10000)")
    p.add_argument("--years", type=parse_years, default=[2016, 2017],
                   help="years of activity: a range 2016-2017 or a list (2016-2017)")


def add_parser(sub) -> None:
    sim = sub.add_parser("simulate", help="the simulated province: serve its three systems, "
                                          "write self-assessment files, describe it")
    ssub = sim.add_subparsers(dest="simulate_command", required=True, metavar="ACTION")

    s = ssub.add_parser(
        "serve", help="serve the one-stop, e-office and portal APIs until Ctrl-C",
        description="Serve the three vendor systems of a deterministic synthetic province "
                    "(SOURCES.md §1–3) on consecutive ports.")
    _world_args(s)
    s.add_argument("--as-of", type=parse_as_of, help="simulated 'now' (ISO 8601 with offset)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8801,
                   help="one-stop port; e-office and portal take the next two (8801)")
    s.add_argument("--faults", default="",
                   help="inject faults in every system, e.g. 5xx=0.02,429=0.01,latency=50")
    add_mess_argument(s)
    add_scale_argument(s)
    s.set_defaults(func=cmd_serve)

    g = ssub.add_parser("generate-files", help="write the units' self-assessment returns "
                                               "(XLSX or CSV) into a drop folder")
    _world_args(g)
    g.add_argument("--year", type=int, action="append",
                   help="assessment year (repeatable; default: every year of --years)")
    g.add_argument("--drop", type=Path, default=Path(".local/drop"),
                   help="drop folder; files go to <drop>/<year>/<unit code>.xlsx")
    g.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    g.add_argument("--mess-rate", type=float, default=0.02,
                   help="share of item rows given a realistic mistake (0 = all clean)")
    g.set_defaults(func=cmd_generate_files)

    d = ssub.add_parser("describe", help="print what the simulated province holds")
    _world_args(d)
    d.add_argument("--as-of", type=parse_as_of, help="simulated 'now' (ISO 8601 with offset)")
    add_scale_argument(d)
    d.set_defaults(func=cmd_describe)


def cmd_serve(args) -> int:
    from govkpi.simulator.mess import Mess
    from govkpi.simulator.province import SimulatedProvince
    from govkpi.simulator.serving import Faults, describe_mess

    try:
        faults = Faults.parse(args.faults, seed=args.seed) if args.faults else None
        mess = Mess.parse(args.mess, seed=args.seed)
    except ValueError as exc:
        raise SystemExit(f"govkpi simulate serve: {exc}") from None
    if args.scale is not None and mess.active:
        print("govkpi simulate serve: --scale serves a disk store of clean records; --mess is "
              "not applied", file=sys.stderr)
        mess = Mess.none(seed=args.seed)
    province = SimulatedProvince(args.seed, args.dossiers, args.years, as_of=args.as_of,
                                 faults=faults, host=args.host,
                                 ports=(args.port, args.port + 1, args.port + 2),
                                 mess=mess if mess.active else None, scale=args.scale)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with province:
        print(f"Simulated province listening (Ctrl-C to stop; "
              f"{describe_mess(province.mess_manifest)}). Point the extractors at it:")
        for key, value in province.environment().items():
            print(f"  export {key}={value}")
        stop.wait()
    return 0


def cmd_generate_files(args) -> int:
    from govkpi.simulator.assessments import generate_returns
    from govkpi.simulator.world import generate_world

    world = generate_world(seed=args.seed, dossiers=args.dossiers, years=args.years)
    for year in args.year or args.years:
        batch = generate_returns(world, year, args.drop, args.seed, mess_rate=args.mess_rate,
                                 fmt=args.format)
        messy = [m for m in batch.manifest if m["problems"]]
        print(f"{year}: {len(batch)} returns in {args.drop / str(year)}; "
              f"{len(messy)} with injected problems; not submitted: "
              f"{', '.join(batch.missing) or 'none'}")
    return 0


def _describe_store(args) -> int:
    from govkpi.simulator import store

    def progress(message: str) -> None:
        print(f"[simstore] {message}", file=sys.stderr, flush=True)

    dossiers = store.scale_dossiers(args.scale, args.years)
    path, _ = store.get_or_build(args.seed, dossiers, args.years, progress=progress,
                                 systems=store.SYSTEMS)
    worlds = store.store_worlds(path)
    manifest = worlds["manifest"]
    as_of = args.as_of or worlds["onestop"].default_as_of
    views = {**store.store_views(path, as_of), "/api/v2/documents": store.eoffice_view(path, as_of),
             **store.dvc_views(path, as_of)}
    print(f"Simulated Bình Định — seed {args.seed}, scale {args.scale:g} "
          f"({dossiers:,} dossiers over {', '.join(map(str, args.years))}), "
          f"as of {as_of.isoformat()}")
    print(f"  store: {path}")
    print(f"  {'endpoint':<20} {'records now':>12} {'ever':>12} {'versions':>12}")
    for endpoint, view in views.items():
        print(f"  {endpoint:<20} {len(view):>12,} {manifest['records'][endpoint]:>12,} "
              f"{manifest['versions'][endpoint]:>12,}")
        view.close()
    return 0


def cmd_describe(args) -> int:
    from govkpi.simulator.world import generate_world

    if args.scale is not None:
        return _describe_store(args)
    world = generate_world(seed=args.seed, dossiers=args.dossiers, years=args.years)
    as_of = args.as_of or world.default_as_of
    units = world.units_as_of(as_of)
    dossiers = world.dossiers_as_of(as_of)
    levels = Counter(u["CapDonVi"] for u in units)
    by_year = Counter(d["NgayTiepNhan"][:4] for d in dossiers)
    online = Counter(d["NgayTiepNhan"][:4] for d in dossiers if d["KenhThucHien"] == 2)
    status = Counter(d["TrangThaiHoSo"] for d in dossiers)
    print(f"Simulated Bình Định — seed {args.seed}, as of {as_of.isoformat()}")
    print(f"  units: {len(units)} (province {levels[1]}, departments {levels[2]}, "
          f"district-level {levels[3]}, communes {levels[4]})")
    print(f"  procedures: {len(world.procedures_as_of(as_of))}")
    for year in sorted(by_year):
        print(f"  dossiers {year}: {by_year[year]:>8}  online {online[year] / by_year[year]:6.1%}")
    print("  dossier status now: " + ", ".join(f"{k}: {v}" for k, v in sorted(status.items())))
    return 0
