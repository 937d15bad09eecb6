"""A disk-backed store of record *versions*, so that the simulator serves province scale.

The one-stop API serves every dossier in its state at a simulated moment ``as_of``. Holding a
million dossiers (and their JSON) in memory costs well over a gigabyte; instead each record's
successive states are pre-rendered once per world into a local store and served from disk:

- a **version** is a record's API body (JSON bytes) together with the moment it appears
  (``valid_from``, µs since the epoch) and the moment the next version replaces it
  (``valid_until``; ``FOREVER`` for the last one) and its sort stamp (``NgayCapNhat`` in µs);
- a **table** is a directory holding the version bodies concatenated in (stamp, key,
  valid_from) order in ``data.bin``, five numpy arrays saved with :func:`numpy.save`
  (``stamp``, ``valid_from``, ``valid_until``, ``offset`` int64 and ``length`` int32, one row
  per version, in the same order) and a ``manifest.json``;
- a one-stop **store** is a directory with one table per endpoint (``hoso``, ``donvi``,
  ``thutuc``) and a top-level ``manifest.json`` naming the world that built it.

:class:`StoreView` is the store's counterpart of ``onestop._SortedRecords``: as of one moment it
selects the visible versions (``valid_from <= as_of < valid_until``) once with numpy, keeps only
their stamps, offsets and lengths (~20 bytes per record), and answers ``page(lo, hi, page,
size)`` with the very same bytes, reading the bodies with ``os.pread`` (never an mmap, so the
page cache does not count in the server's RSS).

Building never holds all bodies in memory: versions are sorted in runs of ``run_size`` into
temporary files, then k-way merged (``heapq.merge``) into ``data.bin``. Same inputs →
byte-identical files.

Big worlds are generated year by year and shard by shard (``SHARD_DOSSIERS`` at most) by
:func:`build_onestop_store_sharded`, in worker processes, each shard a
``world.iter_dossiers`` call: shard 0 of a year uses ``seed`` itself, the others seeds derived
from (seed, shard); within a year, dossier sequence numbers are interleaved across shards
(``(seq - 1) * shards + shard + 1``) so that codes stay unique. A world whose years each fit in
one shard is exactly ``generate_world(seed, dossiers, years, scenario)``.

Command line: ``python -m govkpi.simulator.store build|serve --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import heapq
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from govkpi.simulator.world import (
    Dossier,
    OneStopWorld,
    dossiers_per_year,
    generate_world,
    iso,
    iter_dossiers,
)

FORMAT_VERSION = 1
FOREVER = int(np.iinfo(np.int64).max)
RUN_VERSIONS = 250_000  # versions sorted in memory per temporary run file (~250 MB)
SHARD_DOSSIERS = 50_000  # dossiers generated per shard (one generate_world call)
ARRAYS = ("stamp", "valid_from", "valid_until", "offset", "length")
# endpoint path → (table directory, key field)
ONESTOP_TABLES = {
    "/api/v1/donvi": ("donvi", "MaDonVi"),
    "/api/v1/thutuc": ("thutuc", "MaTTHC"),
    "/api/v1/hoso": ("hoso", "MaHoSo"),
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# run-file row: stamp, valid_from, valid_until, key length, body length; then key, body
_HEAD = struct.Struct("<qqqII")

# one version as it travels through the sort: (stamp, key (UTF-8), valid_from, valid_until,
# body); keys compare as UTF-8 bytes, which is code-point order, as Python compares str
Row = tuple[int, bytes, int, int, bytes]


def micros(value: dt.datetime) -> int:
    """µs since the epoch of an aware datetime."""
    if value.tzinfo is None:
        raise ValueError(f"{value} has no UTC offset: pass an aware datetime")
    return (value - _EPOCH) // _MICROSECOND


def _stamp_of(record: dict[str, Any]) -> int:
    return micros(dt.datetime.fromisoformat(record["NgayCapNhat"]))


# --------------------------------------------------------------------------------------------
# version streams


def dossier_versions(dossiers: Iterable[Dossier | dict[str, Any]]
                     ) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Per dossier, its versions ``(time µs, API record)``: one per moment its record changes
    (each event, each apology letter), i.e. ``Dossier.as_of(moment)``. A hand-written dict is
    one version from its NgayTiepNhan on (as ``OneStopWorld.dossiers_as_of`` serves it)."""
    for d in dossiers:
        if isinstance(d, Dossier):
            moments = sorted({e.at for e in d.events} | {a.made_at for a in d.apologies})
            yield [(micros(t), d.as_of(t)) for t in moments]
        else:
            yield [(micros(dt.datetime.fromisoformat(d["NgayTiepNhan"])), dict(d))]


def reference_versions(items: Iterable[Any], key: str
                       ) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Units and procedures (objects with ``to_record()`` or API dicts): each version visible
    from its NgayCapNhat until the next version of the same ``key`` (``units_as_of`` serves
    a unit's latest version changed at or before the moment)."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        record = dict(item) if isinstance(item, dict) else item.to_record()
        by_key.setdefault(record[key], []).append(record)
    for records in by_key.values():
        yield [(_stamp_of(r), r) for r in sorted(records, key=_stamp_of)]


def _rows(versions_by_record: Iterable[Iterable[tuple]], key: str,
          counter: list[int] | None = None) -> Iterator[Row]:
    """Normalise a version stream into rows. A version is ``(time µs, payload)`` with a dict
    (encoded here) or JSON bytes, or ``(time µs, bytes, stamp µs, key)``; a None payload ends
    the previous version (the record disappears). Consecutive equal bodies are one version."""
    encode = msgspec.json.Encoder().encode
    for versions in versions_by_record:
        kept: list[tuple[int, int, bytes, bytes | None]] = []  # (time, stamp, key, body)
        for version in versions:
            t, payload = version[0], version[1]
            stamp, k = (version[2], version[3]) if len(version) == 4 else (None, None)
            if kept and t < kept[-1][0]:
                raise ValueError(f"versions of {kept[-1][2]!r} are not in time order")
            if kept and t == kept[-1][0]:
                kept.pop()  # two versions at one moment: the later one wins
            if payload is None:
                if kept and kept[-1][3] is not None:
                    kept.append((t, 0, kept[-1][2], None))
                continue
            if isinstance(payload, dict):
                body = encode(payload)
                record = payload
            else:
                body = bytes(payload)
                record = msgspec.json.decode(body) if stamp is None or k is None else None
            if stamp is None:
                stamp = _stamp_of(record)
            if k is None:
                k = record[key]
            if not isinstance(k, str):
                raise ValueError(f"key {key}={k!r} is not a string")
            if kept and kept[-1][3] == body:
                continue  # unchanged: the earlier version stays valid
            kept.append((t, stamp, k.encode(), body))
        if counter is not None and kept:
            counter[0] += 1
        for i, (t, stamp, k, body) in enumerate(kept):
            if body is not None:
                until = kept[i + 1][0] if i + 1 < len(kept) else FOREVER
                yield stamp, k, t, until, body


# --------------------------------------------------------------------------------------------
# building: sorted runs, then a k-way merge


def _write_run(rows: list[Row], path: Path) -> None:
    rows.sort()  # (stamp, key, valid_from, …): the body is compared only on full ties
    pack = _HEAD.pack
    with open(path, "wb", buffering=1 << 20) as f:
        for stamp, k, valid_from, valid_until, body in rows:
            f.write(pack(stamp, valid_from, valid_until, len(k), len(body)))
            f.write(k)
            f.write(body)


def _write_runs(rows: Iterable[Row], tmp_dir: Path, prefix: str,
                run_size: int = RUN_VERSIONS) -> list[str]:
    runs: list[str] = []
    buffer: list[Row] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= run_size:
            runs.append(str(tmp_dir / f"{prefix}-{len(runs):04d}.run"))
            _write_run(buffer, Path(runs[-1]))
            buffer = []
    if buffer:
        runs.append(str(tmp_dir / f"{prefix}-{len(runs):04d}.run"))
        _write_run(buffer, Path(runs[-1]))
    return runs


def _read_run(path: str) -> Iterator[Row]:
    size, unpack = _HEAD.size, _HEAD.unpack
    with open(path, "rb", buffering=1 << 20) as f:
        read = f.read
        while head := read(size):
            stamp, valid_from, valid_until, key_len, body_len = unpack(head)
            yield stamp, read(key_len), valid_from, valid_until, read(body_len)


def _merge_runs(runs: Sequence[str], table: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Merge sorted runs into ``table`` (data.bin + arrays + manifest.json)."""
    table.mkdir(parents=True, exist_ok=True)
    columns = {name: array("q") for name in ARRAYS if name != "length"}
    lengths = array("i")
    offset = 0
    stamp_col, from_col, until_col, offset_col = (columns[n] for n in ARRAYS[:4])
    with open(table / "data.bin", "wb", buffering=4 << 20) as data:
        write = data.write
        for stamp, _, valid_from, valid_until, body in heapq.merge(*map(_read_run, runs)):
            write(body)
            stamp_col.append(stamp)
            from_col.append(valid_from)
            until_col.append(valid_until)
            offset_col.append(offset)
            if len(body) >= 1 << 31:
                raise ValueError("a record body over 2 GiB")
            lengths.append(len(body))
            offset += len(body)
    for name, column in columns.items():
        np.save(table / f"{name}.npy", np.frombuffer(column, dtype=np.int64))
    np.save(table / "length.npy", np.frombuffer(lengths, dtype=np.int32))
    stamps = columns["stamp"]
    manifest = {**manifest, "format": FORMAT_VERSION, "versions": len(lengths),
                "data_bytes": offset,
                "first_stamp": stamps[0] if stamps else None,
                "last_stamp": stamps[-1] if stamps else None}
    _write_json(table / "manifest.json", manifest)
    return manifest


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def build_store(path: str | os.PathLike, versions_by_record: Iterable[Iterable[tuple]], *,
                key: str = "MaHoSo", params: dict[str, Any] | None = None,
                run_size: int = RUN_VERSIONS) -> dict[str, Any]:
    """Build one table at ``path`` (replaced if present) from a stream of per-record version
    lists (see :func:`dossier_versions`); returns its manifest. Memory: one run of
    ``run_size`` versions plus 36 bytes of index per version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        counter = [0]
        runs = _write_runs(_rows(versions_by_record, key, counter), work, "run", run_size)
        manifest = _merge_runs(runs, work / "table",
                               {"key": key, "records": counter[0], "params": params or {}})
        _replace_dir(work / "table", path)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _replace_dir(new: Path, path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    os.replace(new, path)


# --------------------------------------------------------------------------------------------
# the one-stop store


def _years_label(years: Sequence[int]) -> str:
    years = sorted(set(years))
    if years == list(range(years[0], years[-1] + 1)):
        return str(years[0]) if len(years) == 1 else f"{years[0]}_{years[-1]}"
    return "_".join(map(str, years))


def generator_fingerprint() -> str:
    """A digest of the code and scenario data that generate and render a world: a store built
    by other code is rebuilt rather than reused."""
    from govkpi import calendar
    from govkpi.simulator import scenario, world

    digest = hashlib.sha256()
    files = [Path(m.__file__) for m in (calendar, scenario, world)] + [Path(__file__)]
    files += sorted((Path(scenario.__file__).parent / "scenarios").glob("*"))
    for f in files:
        if f.is_file():
            digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def world_params(seed: int, dossiers: int, years: Sequence[int],
                 scenario: str = "binh_dinh") -> dict[str, Any]:
    """What identifies a generated world (and so its store)."""
    return {"scenario": scenario, "seed": seed, "dossiers": dossiers,
            "years": sorted(set(years)), "shard_dossiers": SHARD_DOSSIERS,
            "generator": generator_fingerprint()}


def _top_manifest(params: dict[str, Any], default_as_of: dt.datetime,
                  tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "kind": "onestop", "params": params,
            "default_as_of": iso(default_as_of),
            "endpoints": {p: name for p, (name, _) in ONESTOP_TABLES.items()},
            "records": {p: tables[name]["records"] for p, (name, _) in ONESTOP_TABLES.items()},
            "versions": {p: tables[name]["versions"] for p, (name, _) in ONESTOP_TABLES.items()}}


def _build_reference_tables(work: Path, world: OneStopWorld) -> dict[str, dict[str, Any]]:
    return {
        "donvi": build_store(work / "donvi", reference_versions(world.unit_history, "MaDonVi"),
                             key="MaDonVi"),
        "thutuc": build_store(work / "thutuc", reference_versions(world.procedures, "MaTTHC"),
                              key="MaTTHC"),
    }


def build_onestop_store(path: str | os.PathLike,
                        world_or_dossiers: OneStopWorld | Iterable[Dossier | dict[str, Any]], *,
                        world: OneStopWorld | None = None, params: dict[str, Any] | None = None,
                        run_size: int = RUN_VERSIONS) -> dict[str, Any]:
    """A one-stop store at ``path`` from a world, or from an iterable of dossiers (streamed;
    units, procedures and ``default_as_of`` then come from ``world``, which may hold no
    dossiers). Returns the top-level manifest."""
    if isinstance(world_or_dossiers, OneStopWorld):
        world, dossiers = world_or_dossiers, world_or_dossiers.dossiers
    else:
        dossiers = world_or_dossiers
        if world is None:
            raise ValueError("pass world= (units, procedures, default_as_of) with the dossiers")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tables = _build_reference_tables(work, world)
        tables["hoso"] = build_store(work / "hoso", dossier_versions(dossiers), key="MaHoSo",
                                     run_size=run_size)
        params = params or {"seed": world.seed, "scenario": getattr(world, "scenario", None)}
        manifest = _top_manifest(params, world.default_as_of, tables)
        _write_json(work / "manifest.json", manifest)
        _replace_dir(work, path)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def shard_seed(seed: int, shard: int) -> int:
    """The generate_world seed of one shard: shard 0 keeps ``seed``."""
    if shard == 0:
        return seed
    digest = hashlib.sha256(f"govkpi-simstore:{seed}:{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _renumber(d: Dossier, shard: int, shards: int) -> Dossier:
    head, _, seq = d.code.rpartition("-")
    return dataclasses.replace(d, code=f"{head}-{(int(seq) - 1) * shards + shard + 1:04d}")


def _shard_job(job: tuple[int, str, int, int, int, int, str, int]) -> dict[str, Any]:
    """Worker: generate one shard of one year, turn it into sorted run files."""
    seed, scenario, year, shard, shards, count, tmp_dir, run_size = job
    t0 = time.perf_counter()
    dossiers = list(iter_dossiers(shard_seed(seed, shard), {year: count}, scenario))
    if shards > 1:
        dossiers = [_renumber(d, shard, shards) for d in dossiers]
    t1 = time.perf_counter()
    counter = [0]
    runs = _write_runs(_rows(dossier_versions(dossiers), "MaHoSo", counter), Path(tmp_dir),
                       f"y{year}-s{shard:05d}", run_size)
    return {"runs": runs, "records": counter[0], "generate_s": t1 - t0,
            "versions_s": time.perf_counter() - t1}


def build_onestop_store_sharded(path: str | os.PathLike, *, seed: int = 2017,
                                dossiers: int = 1_000_000, years: Sequence[int] = (2017,),
                                scenario: str = "binh_dinh", workers: int | None = None,
                                run_size: int = RUN_VERSIONS,
                                progress: Callable[[str], None] | None = None
                                ) -> tuple[dict[str, Any], dict[str, float]]:
    """Generate a world year by year and shard by shard (at most ``SHARD_DOSSIERS`` dossiers
    per shard, ``workers`` processes) straight into a store at ``path``; returns (manifest,
    timings in seconds). Shard 0 of a year is ``iter_dossiers(seed, {year: n})`` itself, so
    a world whose years fit in one shard each is exactly ``generate_world(seed, dossiers,
    years, scenario)``."""
    params = world_params(seed, dossiers, years, scenario)
    years = params["years"]
    shard_size = params["shard_dossiers"]
    jobs_spec = []
    for year, n in dossiers_per_year(dossiers, years).items():
        shards = max(1, -(-n // shard_size))
        jobs_spec += [(year, i, shards, n // shards + (i < n % shards)) for i in range(shards)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs_spec)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    timings = {"generate_cpu_s": 0.0, "versions_cpu_s": 0.0}
    try:
        t0 = time.perf_counter()
        reference = generate_world(seed=seed, dossiers=0, years=years, scenario=scenario)
        tables = _build_reference_tables(work, reference)
        runs_dir = work / "runs"
        runs_dir.mkdir()
        jobs = [(seed, scenario, year, i, shards, count, str(runs_dir), run_size)
                for year, i, shards, count in jobs_spec]
        runs: list[str] = []
        records = 0
        pool = (ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
                if workers > 1 else None)
        try:
            results = pool.map(_shard_job, jobs) if pool else map(_shard_job, jobs)
            for i, result in enumerate(results):
                runs += result["runs"]
                records += result["records"]
                timings["generate_cpu_s"] += result["generate_s"]
                timings["versions_cpu_s"] += result["versions_s"]
                if progress:
                    progress(f"shard {i + 1}/{len(jobs)} done ({records:,} dossiers)")
        finally:
            if pool:
                pool.shutdown()
        timings["shards_wall_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        tables["hoso"] = _merge_runs(runs, work / "hoso",
                                     {"key": "MaHoSo", "records": records, "params": params})
        timings["merge_s"] = time.perf_counter() - t1
        shutil.rmtree(runs_dir)
        manifest = _top_manifest({**params, "shards": len(jobs)}, reference.default_as_of,
                                 tables)
        _write_json(work / "manifest.json", manifest)
        _replace_dir(work, path)
        timings["build_wall_s"] = time.perf_counter() - t0
        return manifest, timings
    finally:
        shutil.rmtree(work, ignore_errors=True)


def default_root() -> Path:
    """``.local/simstore`` of the project (env ``GOVKPI_SIMSTORE`` overrides)."""
    if os.environ.get("GOVKPI_SIMSTORE"):
        return Path(os.environ["GOVKPI_SIMSTORE"])
    from govkpi.config import LOCAL_DIR

    return LOCAL_DIR / "simstore"


def store_path(seed: int, dossiers: int, years: Sequence[int], scenario: str = "binh_dinh",
               root: str | os.PathLike | None = None) -> Path:
    """``<root>/<scenario>-<seed>-<dossiers>-<years>``."""
    root = Path(root) if root is not None else default_root()
    return root / f"{scenario}-{seed}-{dossiers}-{_years_label(years)}"


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    try:
        return json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def get_or_build(seed: int = 2017, dossiers: int = 1_000_000, years: Sequence[int] = (2017,),
                 scenario: str = "binh_dinh", root: str | os.PathLike | None = None,
                 workers: int | None = None, progress: Callable[[str], None] | None = None
                 ) -> tuple[Path, dict[str, float] | None]:
    """The store of this world, built once and reused while its manifest matches (format,
    parameters and :func:`generator_fingerprint`). Returns (path, build timings or None when
    reused)."""
    params = world_params(seed, dossiers, years, scenario)
    path = store_path(seed, dossiers, years, scenario, root)
    manifest = read_manifest(path)
    if manifest and manifest.get("format") == FORMAT_VERSION and all(
            manifest.get("params", {}).get(k) == v for k, v in params.items()):
        return path, None
    _, timings = build_onestop_store_sharded(path, seed=seed, dossiers=dossiers, years=years,
                                             scenario=scenario, workers=workers,
                                             progress=progress)
    return path, timings


# --------------------------------------------------------------------------------------------
# serving


class StoreView:
    """One table as of one moment: the drop-in counterpart of ``onestop._SortedRecords``.

    ``stamps`` (numpy int64, sorted) are the NgayCapNhat of the visible records; ``page(lo, hi,
    page, size)`` gives the same ``{"total","page","size","data"}`` bytes as _SortedRecords.
    """

    # read the covering byte span in one pread unless it is this much larger than the records
    SPAN_SLACK = 4

    def __init__(self, path: str | os.PathLike, as_of: dt.datetime | int) -> None:
        self._fd = -1
        path = Path(path)
        t = as_of if isinstance(as_of, int) else micros(as_of)
        valid_from = np.load(path / "valid_from.npy")
        visible = valid_from <= t
        del valid_from
        visible &= t < np.load(path / "valid_until.npy")
        index = np.flatnonzero(visible)
        del visible
        self.as_of_us = t
        self.stamps = np.ascontiguousarray(np.load(path / "stamp.npy")[index])
        self.offsets = np.ascontiguousarray(np.load(path / "offset.npy")[index])
        self.lengths = np.load(path / "length.npy")[index].astype(np.int64)
        self._fd = os.open(path / "data.bin", os.O_RDONLY)

    def __len__(self) -> int:
        return len(self.stamps)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    def bounds(self, lo: int | None, hi: int | None) -> tuple[int, int]:
        """Visible positions [start, stop) with lo <= stamp < hi."""
        start = 0 if lo is None else int(np.searchsorted(self.stamps, lo, "left"))
        stop = len(self.stamps) if hi is None else int(np.searchsorted(self.stamps, hi, "left"))
        return start, stop

    def bodies(self, first: int, last: int) -> list[bytes | memoryview]:
        """The JSON bodies of visible positions [first, last)."""
        if first >= last:
            return []
        offsets = self.offsets[first:last]
        lengths = self.lengths[first:last]
        begin = int(offsets[0])
        span = int(offsets[-1] + lengths[-1]) - begin
        needed = int(lengths.sum())
        fd = self._fd
        if span <= self.SPAN_SLACK * needed + (1 << 16):
            buffer = memoryview(os.pread(fd, span, begin))
            return [buffer[o:o + n] for o, n in zip((offsets - begin).tolist(),
                                                     lengths.tolist(), strict=True)]
        return [os.pread(fd, n, o) for o, n in zip(offsets.tolist(), lengths.tolist(),
                                                    strict=True)]

    def page(self, lo: int | None, hi: int | None, page: int, size: int) -> bytes:
        start, stop = self.bounds(lo, hi)
        total = max(0, stop - start)
        first = start + (page - 1) * size
        chunk = self.bodies(first, min(stop, first + size)) if first < stop else []
        return b"".join((b'{"total":%d,"page":%d,"size":%d,"data":[' % (total, page, size),
                         b",".join(chunk), b"]}"))


def store_views(path: str | os.PathLike, as_of: dt.datetime) -> dict[str, StoreView]:
    """The one-stop endpoints of a store as of ``as_of``."""
    path = Path(path)
    return {endpoint: StoreView(path / name, as_of)
            for endpoint, (name, _) in ONESTOP_TABLES.items()}


def create_store_app(path: str | os.PathLike, as_of: dt.datetime | None = None, **kwargs: Any):
    """The one-stop application (``onestop.create_app``: same auth, paging, filters, errors)
    serving the store at ``path``; ``kwargs`` go to create_app (client_id, faults, …).

    The world given to create_app is empty (it only carries the store's default as-of): every
    endpoint is served by :class:`StoreView` s of the store, also after ``set_as_of``."""
    from govkpi.simulator import onestop

    manifest = read_manifest(path)
    if manifest is None or manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a format-{FORMAT_VERSION} simulator store (rebuild it)")
    default_as_of = dt.datetime.fromisoformat(manifest["default_as_of"])
    empty = OneStopWorld(default_as_of=default_as_of, seed=manifest["params"].get("seed"))
    return onestop.create_app(empty, as_of, views_for=lambda t: store_views(path, t), **kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    from govkpi.simulator.serving import parse_as_of, parse_years, serve_until_signalled

    parser = argparse.ArgumentParser(
        prog="python -m govkpi.simulator.store",
        description="Build a one-stop version store (once per world) or serve one over HTTP "
                    "with the one-stop contract (SOURCES.md §1).")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or reuse) the store of a world; prints JSON",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    build.add_argument("--seed", type=int, default=2017)
    build.add_argument("--dossiers", type=int, default=1_000_000)
    build.add_argument("--years", type=parse_years, default=[2017])
    build.add_argument("--root", default=None, help="store root (default .local/simstore)")
    build.add_argument("--workers", type=int, default=None, help="shard processes")
    serve = sub.add_parser("serve", help="serve a store until SIGTERM/SIGINT",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    serve.add_argument("--store", required=True, help="store directory")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8801, help="0 = any free port")
    serve.add_argument("--as-of", type=parse_as_of, default=None,
                       help="simulated 'now'; default: the store's default_as_of")
    args = parser.parse_args(argv)
    if args.command == "build":
        path, timings = get_or_build(args.seed, args.dossiers, args.years, root=args.root,
                                     workers=args.workers,
                                     progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(json.dumps({"path": str(path), "reused": timings is None,
                          "timings": timings or {}}), flush=True)
        return
    app = create_store_app(args.store, args.as_of)
    serve_until_signalled(app, args.host, args.port, lambda bound: (
        f"one-stop store simulator listening on http://{args.host}:{bound} ({args.store})"))


if __name__ == "__main__":
    sys.exit(main())
