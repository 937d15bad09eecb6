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

**The e-office and the portal** are built in the same pass (``systems``), per shard of
dossiers: that shard's documents (``DOCUMENTS_PER_DOSSIER`` per dossier, year by year, seeds
derived per shard, so_ky_hieu numbers interleaved) and, once the portal's service catalogue is
known, that shard's submissions, payments and ratings (ids interleaved across shards). The
catalogue needs the global set of (procedure, unit) pairs with online dossiers: each shard
reports its pairs (small), the catalogue is built from their union, then the shards' portal
records. Their tables keep each system's own order: e-office (ngay_sua, id) with ngay_sua in
seconds of naive local time; portal (updated_at ms, id). A world of one shard (one year, at
most ``SHARD_DOSSIERS`` dossiers) is byte for byte the in-memory servers' world. Stores are
clean: mess is applied to in-memory views only.

Command line: ``python -m govkpi.simulator.store build|serve --help``.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime as dt
import hashlib
import heapq
import json
import os
import pickle
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
EOFFICE_TABLES = {"/api/v2/documents": ("eoffice/documents", "id")}
DVC_TABLES = {
    "/api/services": ("dvc/services", "service_id"),
    "/api/submissions": ("dvc/submissions", "submission_id"),
    "/api/payments": ("dvc/payments", "payment_id"),
    "/api/ratings": ("dvc/ratings", "rating_id"),
}
SYSTEMS = ("onestop", "eoffice", "dvc")
SYSTEM_TABLES = {"onestop": ONESTOP_TABLES, "eoffice": EOFFICE_TABLES, "dvc": DVC_TABLES}
# SOURCES.md §5: one province-year at scale 1.0
DOSSIERS_PER_YEAR = 1_000_000

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


def document_versions(documents: Iterable[Any]) -> Iterator[list[tuple]]:
    """Per e-office ``Document``, its versions ``(time µs, record, ngay_sua stamp, id)``: one
    per distinct event time (the record as ``Document.as_of`` shows it from then on)."""
    from govkpi.calendar import VN_TZ
    from govkpi.simulator.eoffice import _stamp as eoffice_stamp

    for d in documents:
        times = sorted({t for t in (d.created_at, d.submitted_at, d.signed_at, d.issued_at,
                                    d.acknowledged_at, d.processed_at) if t is not None})
        versions = []
        for t in times:
            modified, record = d._record(t)
            versions.append((micros(t.replace(tzinfo=VN_TZ)), record, eoffice_stamp(modified),
                             d.id))
        yield versions


def dvc_versions(records: Iterable[Any]) -> Iterator[list[tuple]]:
    """Per portal ``DvcRecord``, its versions ``(time µs, state, updated_at ms, id)``."""
    for r in records:
        yield [(t * 1000, state, state["updated_at"], r.id)
               for t, state in zip(r.times, r.states, strict=True)]


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
    from govkpi.simulator import dvc, eoffice, scenario, strata, world

    digest = hashlib.sha256()
    files = [Path(m.__file__) for m in (calendar, scenario, strata, world, eoffice, dvc)]
    files += [Path(__file__)]
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
                  tables: dict[str, dict[str, Any]], systems: Sequence[str] = ("onestop",),
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    endpoints = {p: spec for system in systems for p, spec in SYSTEM_TABLES[system].items()}
    return {"format": FORMAT_VERSION, "kind": "onestop" if list(systems) == ["onestop"]
            else "province", "systems": list(systems), "params": params,
            "default_as_of": iso(default_as_of),
            "endpoints": {p: name for p, (name, _) in endpoints.items()},
            "records": {p: tables[name]["records"] for p, (name, _) in endpoints.items()},
            "versions": {p: tables[name]["versions"] for p, (name, _) in endpoints.items()},
            **(extra or {})}


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


def _derived_seed(seed: int, tag: str, shard: int) -> int:
    """The seed of one shard's e-office documents: shard 0 keeps ``seed``."""
    if shard == 0:
        return seed
    digest = hashlib.sha256(f"govkpi-simstore-{tag}:{seed}:{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


_REFERENCE: dict[tuple, OneStopWorld] = {}


def _reference_world(seed: int, years: Sequence[int], scenario: str) -> OneStopWorld:
    """Units and procedures of the world (no dossiers), once per process."""
    key = (seed, tuple(years), scenario)
    if key not in _REFERENCE:
        _REFERENCE[key] = generate_world(seed=seed, dossiers=0, years=years, scenario=scenario)
    return _REFERENCE[key]


@dataclasses.dataclass(frozen=True)
class _Shard:
    seed: int
    scenario: str
    years: tuple[int, ...]  # of the whole world
    year: int
    shard: int  # within the year
    shards: int  # within the year
    index: int  # among all shards of the world
    total: int  # shards of the world
    count: int  # dossiers
    tmp_dir: str
    run_size: int
    systems: tuple[str, ...]


def _runs_of(shard: _Shard, table: str, versions: Iterable[Iterable[tuple]], key: str
             ) -> tuple[list[str], int]:
    out = Path(shard.tmp_dir) / table.replace("/", "-")
    out.mkdir(exist_ok=True)
    counter = [0]
    runs = _write_runs(_rows(versions, key, counter), out,
                       f"y{shard.year}-s{shard.shard:05d}", shard.run_size)
    return runs, counter[0]


def _shard_job(shard: _Shard) -> dict[str, Any]:
    """Worker, pass 1: generate one shard of one year; write the sorted runs of its dossiers
    (and of its documents); keep its portal facts in a file and report what the portal's
    service catalogue needs of them."""
    t0 = time.perf_counter()
    dossiers = list(iter_dossiers(shard_seed(shard.seed, shard.shard), {shard.year: shard.count},
                                  shard.scenario))
    if shard.shards > 1:
        dossiers = [_renumber(d, shard.shard, shard.shards) for d in dossiers]
    t1 = time.perf_counter()
    result: dict[str, Any] = {"runs": {}, "records": {}, "generate_s": t1 - t0}
    if "onestop" in shard.systems:
        result["runs"]["hoso"], result["records"]["hoso"] = _runs_of(
            shard, "hoso", dossier_versions(dossiers), "MaHoSo")
    t2 = time.perf_counter()
    result["versions_s"] = t2 - t1
    if "eoffice" in shard.systems:
        from govkpi.simulator.eoffice import DOCUMENTS_PER_DOSSIER, build_eoffice_world

        reference = _reference_world(shard.seed, shard.years, shard.scenario)
        documents = build_eoffice_world(
            reference, _derived_seed(shard.seed, "eoffice", shard.index),
            DOCUMENTS_PER_DOSSIER * shard.count, [shard.year],
            per_year={shard.year: shard.count}, numbering=(shard.index, shard.total)).documents
        table = EOFFICE_TABLES["/api/v2/documents"][0]
        result["runs"][table], result["records"][table] = _runs_of(
            shard, table, document_versions(documents), "id")
        del documents
    t3 = time.perf_counter()
    result["eoffice_s"] = t3 - t2
    if "dvc" in shard.systems:
        from govkpi.simulator.dvc import _facts, dossier_pairs, first_online

        facts = [_facts(d) for d in dossiers]
        path = Path(shard.tmp_dir) / f"facts-{shard.index:05d}.pickle"
        path.write_bytes(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
        result["facts"] = str(path)
        result["first_online"] = first_online(facts)
        result["pairs"] = dossier_pairs(facts)
        result["span"] = ((min(f.received for f in facts), max(f.received for f in facts))
                          if facts else None)
    result["dvc_s"] = time.perf_counter() - t3
    return result


def _portal_job(job: tuple[_Shard, str, dict, dict, set]) -> dict[str, Any]:
    """Worker, pass 2: one shard's submissions, payments and ratings, now that the service
    catalogue (ids and lifetimes by pair) is known."""
    from govkpi.simulator.dvc import _build_payments, _build_ratings, _build_submissions

    shard, facts_path, service_ids, lifetimes, used = job
    t0 = time.perf_counter()
    facts = pickle.loads(Path(facts_path).read_bytes())
    numbering = (shard.index, shard.total)
    tag = "" if shard.index == 0 else f"{shard.index}:"
    records = {
        "/api/submissions": _build_submissions(facts, shard.seed, service_ids, lifetimes,
                                               used=used, extra_tag=tag, numbering=numbering),
        "/api/payments": _build_payments(facts, shard.seed, numbering),
        "/api/ratings": _build_ratings(facts, shard.seed, numbering),
    }
    result: dict[str, Any] = {"runs": {}, "records": {}}
    for endpoint, timelines in records.items():
        table, key = DVC_TABLES[endpoint]
        result["runs"][table], result["records"][table] = _runs_of(
            shard, table, dvc_versions(timelines), key)
    Path(facts_path).unlink()
    result["dvc_s"] = time.perf_counter() - t0
    return result


def build_onestop_store_sharded(path: str | os.PathLike, *, seed: int = 2017,
                                dossiers: int = 1_000_000, years: Sequence[int] = (2017,),
                                scenario: str = "binh_dinh", workers: int | None = None,
                                run_size: int = RUN_VERSIONS,
                                progress: Callable[[str], None] | None = None,
                                systems: Sequence[str] = ("onestop",)
                                ) -> tuple[dict[str, Any], dict[str, float]]:
    """Generate a world year by year and shard by shard (at most ``SHARD_DOSSIERS`` dossiers
    per shard, ``workers`` processes) straight into a store at ``path``; returns (manifest,
    timings in seconds). Shard 0 of a year is ``iter_dossiers(seed, {year: n})`` itself, so
    a world whose years fit in one shard each is exactly ``generate_world(seed, dossiers,
    years, scenario)``. ``systems`` (of :data:`SYSTEMS`; the one-stop is always built) adds
    the e-office and portal tables, see the module documentation."""
    systems = tuple(s for s in SYSTEMS if s in set(systems) | {"onestop"})
    params = world_params(seed, dossiers, years, scenario)
    years = params["years"]
    shard_size = params["shard_dossiers"]
    jobs_spec = []
    for year, n in dossiers_per_year(dossiers, years).items():
        shards = max(1, -(-n // shard_size))
        jobs_spec += [(year, i, shards, n // shards + (i < n % shards)) for i in range(shards)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs_spec)))
    say = progress or (lambda _: None)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    timings = {"generate_cpu_s": 0.0, "versions_cpu_s": 0.0}
    if "eoffice" in systems:
        timings["eoffice_cpu_s"] = 0.0
    if "dvc" in systems:
        timings["dvc_cpu_s"] = 0.0
    try:
        t0 = time.perf_counter()
        reference = _reference_world(seed, years, scenario)
        tables = _build_reference_tables(work, reference)
        runs_dir = work / "runs"
        runs_dir.mkdir()
        jobs = [_Shard(seed, scenario, tuple(years), year, i, shards, g, len(jobs_spec), count,
                       str(runs_dir), run_size, systems)
                for g, (year, i, shards, count) in enumerate(jobs_spec)]
        runs: dict[str, list[str]] = {}
        records: dict[str, int] = {}
        facts: list[tuple[_Shard, str]] = []
        first: dict[tuple[str, str], int] = {}
        pairs: set[tuple[str, str]] = set()
        span: tuple[int, int] | None = None

        def collect(result: dict[str, Any]) -> None:
            for table, table_runs in result["runs"].items():
                runs.setdefault(table, []).extend(table_runs)
                records[table] = records.get(table, 0) + result["records"][table]

        pool = (ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
                if workers > 1 else None)
        try:
            results = pool.map(_shard_job, jobs) if pool else map(_shard_job, jobs)
            for job, result in zip(jobs, results, strict=True):
                collect(result)
                timings["generate_cpu_s"] += result["generate_s"]
                timings["versions_cpu_s"] += result["versions_s"]
                if "eoffice" in systems:
                    timings["eoffice_cpu_s"] += result["eoffice_s"]
                if "dvc" in systems:
                    timings["dvc_cpu_s"] += result["dvc_s"]
                    facts.append((job, result["facts"]))
                    for pair, ms in result["first_online"].items():
                        first[pair] = min(ms, first.get(pair, ms))
                    pairs |= result["pairs"]
                    if result["span"]:
                        lo, hi = result["span"]
                        span = (min(lo, span[0]), max(hi, span[1])) if span else (lo, hi)
                say(f"shard {job.index + 1}/{len(jobs)} generated ({job.year}, "
                    f"{records.get('hoso', 0):,} dossiers"
                    + (f", {records.get('eoffice/documents', 0):,} documents"
                       if "eoffice" in systems else "")
                    + f"; {time.perf_counter() - t0:.0f} s)")
            if "dvc" in systems:
                from govkpi.simulator.dvc import PORTAL_LAUNCH, _candidate_pairs, build_services
                from govkpi.simulator.dvc import epoch_ms as dvc_ms

                span = span or (dvc_ms(PORTAL_LAUNCH), dvc_ms(PORTAL_LAUNCH) + 86_400_000)
                services, ids, lifetimes = build_services(
                    reference, first, _candidate_pairs(reference, dossiers=False) | pairs,
                    seed, span)
                table, key = DVC_TABLES["/api/services"]
                tables[table] = build_store(work / table, dvc_versions(services), key=key)
                used = {ids[pair] for pair in first}
                say(f"portal: {len(services):,} services; submissions, payments and ratings "
                    f"shard by shard ({time.perf_counter() - t0:.0f} s)")
                portal_jobs = [(job, f, ids, lifetimes, used) for job, f in facts]
                results = (pool.map(_portal_job, portal_jobs) if pool
                           else map(_portal_job, portal_jobs))
                for (job, *_), result in zip(portal_jobs, results, strict=True):
                    collect(result)
                    timings["dvc_cpu_s"] += result["dvc_s"]
                    if (job.index + 1) % 10 == 0 or job.index + 1 == len(jobs):
                        say(f"portal shard {job.index + 1}/{len(jobs)} done "
                            f"({time.perf_counter() - t0:.0f} s)")
        finally:
            if pool:
                pool.shutdown()
        timings["shards_wall_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for table in sorted(runs):
            key = next(k for spec in SYSTEM_TABLES.values() for name, k in spec.values()
                       if name == table)
            t2 = time.perf_counter()
            tables[table] = _merge_runs(runs[table], work / table,
                                        {"key": key, "records": records[table],
                                         "params": params})
            say(f"merged {table}: {tables[table]['versions']:,} versions "
                f"({time.perf_counter() - t2:.0f} s)")
            for run in runs[table]:  # the disk peak is the runs + one merged table, not 2x
                Path(run).unlink()
        timings["merge_s"] = time.perf_counter() - t1
        shutil.rmtree(runs_dir)
        extra = {}
        if "eoffice" in systems:
            extra["eoffice_cursor_secret"] = f"{seed}|{records['eoffice/documents']}"
        manifest = _top_manifest({**params, "shards": len(jobs)}, reference.default_as_of,
                                 tables, systems, extra)
        _write_json(work / "manifest.json", manifest)
        _replace_dir(work, path)
        timings["build_wall_s"] = time.perf_counter() - t0
        _write_json(path / "build.json", timings)  # how long it took (not part of the world)
        say(f"store built in {timings['build_wall_s']:.0f} s: {path}")
        return manifest, timings
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scale_dossiers(scale: float, years: Sequence[int]) -> int:
    """Dossiers of a world at ``scale`` (SOURCES.md §5: 1,000,000 per province-year at 1.0),
    split over the years with the world's growth (:func:`world.dossiers_per_year`)."""
    if scale <= 0:
        raise ValueError(f"scale={scale}: must be > 0")
    return max(1, round(DOSSIERS_PER_YEAR * scale)) * len(set(years))


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
                 workers: int | None = None, progress: Callable[[str], None] | None = None,
                 systems: Sequence[str] = ("onestop",)
                 ) -> tuple[Path, dict[str, float] | None]:
    """The store of this world, built once and reused while its manifest matches (format,
    parameters and :func:`generator_fingerprint`) and holds ``systems`` (``SYSTEMS`` for the
    whole province). Returns (path, build timings or None when reused)."""
    params = world_params(seed, dossiers, years, scenario)
    path = store_path(seed, dossiers, years, scenario, root)
    manifest = read_manifest(path)
    if manifest and manifest.get("format") == FORMAT_VERSION and all(
            manifest.get("params", {}).get(k) == v for k, v in params.items()) and set(
            systems) <= set(manifest.get("systems", ["onestop"])):
        return path, None
    _, timings = build_onestop_store_sharded(path, seed=seed, dossiers=dossiers, years=years,
                                             scenario=scenario, workers=workers,
                                             progress=progress, systems=systems)
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


class _Id(msgspec.Struct):
    id: str


_decode_id = msgspec.json.Decoder(_Id).decode


class EofficeStoreView(StoreView):
    """The e-office documents of a store as of one moment: the counterpart of
    ``eoffice._SortedDocuments`` (cursor positions by (ngay_sua, id); a clean store serves each
    document once, so the occurrence of a cursor is always 0)."""

    @property
    def manifest(self) -> list:
        return []  # no injected mess

    def position_since(self, since: int) -> int:
        return self.bounds(since, None)[0]

    def position_after(self, stamp: int, doc_id: str, occurrence: int) -> int:
        lo, hi = self.bounds(stamp, stamp + 1)
        ids = [_decode_id(bytes(body)).id for body in self.bodies(lo, hi)]
        return lo + bisect.bisect_right(ids, doc_id)

    def key_at(self, position: int) -> tuple[int, str, int]:
        body = self.bodies(position, position + 1)[0]
        return int(self.stamps[position]), _decode_id(bytes(body)).id, 0

    def chunk(self, start: int, stop: int) -> list[bytes | memoryview]:
        return self.bodies(start, stop)


class DvcStoreView(StoreView):
    """One portal endpoint of a store as of one moment: the counterpart of
    ``dvc._SortedRecords`` (offset/limit from the first record with updated_at >= since)."""

    def page(self, since: int | None, offset: int, limit: int  # type: ignore[override]
             ) -> tuple[bytes, bool]:
        n = len(self.stamps)
        first = (0 if since is None else self.bounds(since, None)[0]) + offset
        stop = first + limit
        chunk = self.bodies(first, min(stop, n)) if first < n else []
        return b"[" + b",".join(chunk) + b"]", stop < n


def _aware(as_of: dt.datetime) -> dt.datetime:
    """E-office moments may be naive local time."""
    from govkpi.calendar import VN_TZ

    return as_of if as_of.tzinfo else as_of.replace(tzinfo=VN_TZ)


def eoffice_view(path: str | os.PathLike, as_of: dt.datetime) -> EofficeStoreView:
    """The e-office documents of a province store as of ``as_of``."""
    return EofficeStoreView(Path(path) / EOFFICE_TABLES["/api/v2/documents"][0], _aware(as_of))


def dvc_views(path: str | os.PathLike, as_of: dt.datetime) -> dict[str, DvcStoreView]:
    """The portal endpoints of a province store as of ``as_of``."""
    return {endpoint: DvcStoreView(Path(path) / name, as_of)
            for endpoint, (name, _) in DVC_TABLES.items()}


def _store_manifest(path: str | os.PathLike, system: str) -> dict[str, Any]:
    manifest = read_manifest(path)
    if manifest is None or manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a format-{FORMAT_VERSION} simulator store (rebuild it)")
    if system not in manifest.get("systems", ["onestop"]):
        raise ValueError(f"{path}: the store holds no {system} tables (rebuild it with "
                         f"systems={SYSTEMS})")
    return manifest


def store_worlds(path: str | os.PathLike) -> dict[str, Any]:
    """The empty worlds (default as-of, seed) and the settings that the three systems'
    ``create_app(..., views_for=...)`` need to serve the store at ``path``."""
    from govkpi.simulator.dvc import DvcWorld
    from govkpi.simulator.eoffice import EofficeWorld

    manifest = _store_manifest(path, "onestop")
    default_as_of = dt.datetime.fromisoformat(manifest["default_as_of"])
    seed = manifest["params"].get("seed")
    out: dict[str, Any] = {
        "onestop": OneStopWorld(default_as_of=default_as_of, seed=seed),
        "onestop_views": lambda t: store_views(path, t),
        "manifest": manifest,
    }
    systems = manifest.get("systems", ["onestop"])
    if "eoffice" in systems:
        out["eoffice"] = EofficeWorld([], [], default_as_of=default_as_of, seed=seed)
        out["eoffice_views"] = lambda t: eoffice_view(path, t)
        out["eoffice_cursor_secret"] = manifest["eoffice_cursor_secret"].encode()
    if "dvc" in systems:
        out["dvc"] = DvcWorld((), (), (), (), default_as_of=default_as_of, seed=seed)
        out["dvc_views"] = lambda t: dvc_views(path, t)
    return out


def create_eoffice_store_app(path: str | os.PathLike, as_of: dt.datetime | None = None,
                             **kwargs: Any):
    """The e-office application (``eoffice.create_app``: same key, cursors, filter, errors)
    serving the store at ``path``; ``kwargs`` go to create_app (api_key, faults, …)."""
    from govkpi.simulator import eoffice

    _store_manifest(path, "eoffice")
    worlds = store_worlds(path)
    return eoffice.create_app(worlds["eoffice"], as_of, views_for=worlds["eoffice_views"],
                              cursor_secret=worlds["eoffice_cursor_secret"], **kwargs)


def create_dvc_store_app(path: str | os.PathLike, as_of: dt.datetime | None = None,
                         **kwargs: Any):
    """The portal application (``dvc.create_app``: same Basic auth, paging, Link, errors)
    serving the store at ``path``; ``kwargs`` go to create_app (username, faults, …)."""
    from govkpi.simulator import dvc

    _store_manifest(path, "dvc")
    worlds = store_worlds(path)
    return dvc.create_app(worlds["dvc"], as_of, views_for=worlds["dvc_views"], **kwargs)


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
    build.add_argument("--systems", default="onestop",
                       help="comma-separated tables to build: onestop, eoffice, dvc (the "
                            "one-stop is always built); 'all' = the whole province")
    serve = sub.add_parser("serve", help="serve a store until SIGTERM/SIGINT",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    serve.add_argument("--store", required=True, help="store directory")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8801, help="0 = any free port")
    serve.add_argument("--as-of", type=parse_as_of, default=None,
                       help="simulated 'now'; default: the store's default_as_of")
    serve.add_argument("--system", choices=SYSTEMS, default="onestop",
                       help="which system of the store to serve")
    args = parser.parse_args(argv)
    if args.command == "build":
        systems = SYSTEMS if args.systems == "all" else tuple(
            s.strip() for s in args.systems.split(",") if s.strip())
        unknown = set(systems) - set(SYSTEMS)
        if unknown:
            parser.error(f"--systems: unknown {', '.join(sorted(unknown))}; "
                         f"choose among {', '.join(SYSTEMS)} or 'all'")
        path, timings = get_or_build(args.seed, args.dossiers, args.years, root=args.root,
                                     workers=args.workers, systems=systems,
                                     progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(json.dumps({"path": str(path), "reused": timings is None,
                          "timings": timings or {}}), flush=True)
        return
    create = {"onestop": create_store_app, "eoffice": create_eoffice_store_app,
              "dvc": create_dvc_store_app}[args.system]
    app = create(args.store, args.as_of)
    serve_until_signalled(app, args.host, args.port, lambda bound: (
        f"{args.system} store simulator listening on http://{args.host}:{bound} "
        f"({args.store})"))


if __name__ == "__main__":
    sys.exit(main())
