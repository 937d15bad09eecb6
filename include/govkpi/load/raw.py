"""Land extracted records in ``raw_<system>.<endpoint>`` with binary COPY.

One batch = one transaction: the raw rows, the quarantined records, the ``audit.load_batch``
row with its counts and the watermark move together or not at all. Counts reconcile:
``received = loaded + quarantined``; exact repeats of a (key, version) inside a batch (offset
paging over moving data) are counted in ``duplicate_count`` and not loaded again.

The same code loads every (system, endpoint): the :class:`~govkpi.sources.records.Endpoint`
says what to check. A record is quarantined with a reason naming the field when it fails type
validation (the client), the endpoint's semantic check (a negative fee, a due date before
receipt) or a reference check (a unit, procedure or dossier code that is not among the records
already loaded or quarantined in the referenced raw table). A reference table that is still
empty cannot vouch for anything: its check is skipped with a warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import struct
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from importlib import resources

import msgspec

from govkpi.privacy import PiiHasher
from govkpi.sources.records import Endpoint, Record, Reference
from govkpi.warehouse import Warehouse

log = logging.getLogger(__name__)

RAW_COLUMNS = ("record_key", "source_updated_at", "payload", "batch_id")
RAW_TYPES = ("text", "timestamptz", "jsonb", "int8")


def ensure_schema(conn) -> None:
    """Create the landing and audit schemas (idempotent)."""
    conn.execute(resources.files("govkpi.load").joinpath("schema.sql").read_text())


@dataclass
class BatchResult:
    batch_id: int
    system: str
    endpoint: str
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    watermark: dt.datetime | None = None

    def summary(self) -> str:
        return (f"{self.system}.{self.endpoint} batch {self.batch_id}: received {self.received}, "
                f"loaded {self.loaded}, quarantined {self.quarantined}, "
                f"duplicates skipped {self.duplicates} in {self.seconds:.1f}s")


def _json_text(obj) -> str:
    return msgspec.json.encode(obj).decode()


def _json_bytes(obj) -> bytes:
    """psycopg's JSON dumper: a payload already in JSON bytes goes as is (binary jsonb is a
    version byte + the text), anything else is encoded with msgspec."""
    return obj if type(obj) is bytes else msgspec.json.encode(obj)


class _Scrubber:
    """The payload of a record to land: its JSON bytes as received, each personal field's value
    replaced by its keyed hash (:class:`PiiHasher`), without decoding and re-encoding the
    record (decode + scrub + encode of a dossier costs more than the rest of the loader).

    For each field the last ``"<field>":`` member is found (``bytes.rfind``: vendors put the
    applicant's fields last; a JSON key cannot occur inside a string, where its quotes are
    escaped) and its string value replaced. The result is then decoded for the personal fields
    only, as PostgreSQL will read it (the last of repeated keys wins, in both), and each must be
    absent, null or a hash. Anything else (whitespace around the colon, a key spelt with
    escapes, a number or an object as value, an escaped quote in the value, the same field in
    a nested object after the top-level one) falls back to decode → :meth:`PiiHasher.scrub` →
    encode, the reference behaviour. Hashes of repeated values (names, addresses) are cached
    per batch; ID numbers and phones (ASCII digits, unique) are hashed from their bytes.
    """

    CACHE_SIZE = 1 << 16

    def __init__(self, hasher: PiiHasher, fields: tuple[str, ...]) -> None:
        self.hasher = hasher
        self.fields = fields
        self.prefix = hasher.PREFIX
        self._open = b'"' + hasher.PREFIX.encode()
        self._cache: dict[bytes, bytes] = {}  # a string value's JSON → its replacement's JSON
        self.fallbacks = 0
        self._members = [(b'"%s":' % f.encode(), len(f) + 3) for f in fields]
        if fields:
            self._check = msgspec.json.Decoder(msgspec.defstruct(
                "PersonalFields", [(f, object, None) for f in fields], gc=False)).decode

    def _replace_string(self, text: bytes) -> bytes:
        """``text``: a JSON string with its quotes and no escaped quote."""
        value = text[1:-1].decode() if text.find(b"\\") < 0 else msgspec.json.decode(text)
        digest = self.hasher.hash_value(value)
        return b"null" if digest is None else b'"' + digest.encode() + b'"'

    def payload(self, raw: bytes) -> bytes:
        if not self.fields:
            return raw
        out = raw
        cache = self._cache
        for member, size in self._members:
            at = out.rfind(member)
            if at < 0:
                continue
            start = at + size
            if out[start] != 0x22:  # not a string
                if out.startswith(b"null", start):
                    continue
                return self._reference(raw)
            end = out.find(b'"', start + 1) + 1
            if end == 0 or out[end - 2] == 0x5C:  # unterminated, or an escaped quote
                return self._reference(raw)
            text = out[start:end]
            new = cache.get(text)
            if new is None:
                if text[1:-1].isdigit():  # ASCII digits (ID, phone): already normal
                    new = self._open + self.hasher.hmac_hex(text[1:-1]).encode() + b'"'
                else:
                    if len(cache) >= self.CACHE_SIZE:
                        cache.clear()
                    new = cache[text] = self._replace_string(text)
            out = out[:start] + new + out[end:]
        try:
            found = self._check(out)
        except msgspec.MsgspecError:
            return self._reference(raw)
        prefix = self.prefix
        for name in self.fields:
            value = getattr(found, name)
            if value is not None and not (type(value) is str and value.startswith(prefix)):
                return self._reference(raw)
        return out

    def _reference(self, raw: bytes) -> bytes:
        self.fallbacks += 1
        return msgspec.json.encode(self.hasher.scrub(msgspec.json.decode(raw), self.fields))


async def read_watermark(wh: Warehouse, system: str, endpoint: str) -> dt.datetime | None:
    async with await wh.connect_async() as conn:
        await conn.execute(resources.files("govkpi.load").joinpath("schema.sql").read_text())
        await conn.commit()
        cur = await conn.execute(
            "select watermark from audit.watermark where source_system = %s and endpoint = %s",
            (system, endpoint),
        )
        row = await cur.fetchone()
        return row[0] if row else None


_BATCH_LOCK_CLASS = 0x676B7069  # "gkpi": advisory lock class of running load batches
ABANDONED = ("abandoned: the loading session ended before the batch finished (process killed "
             "or connection lost); its rows were rolled back")


def _batch_lock(batch_id: int) -> tuple[int, int]:
    return _BATCH_LOCK_CLASS, (batch_id + 2**31) % 2**32 - 2**31  # two int4 keys


async def fail_abandoned_batches(conn) -> list[int]:
    """Mark ``failed`` every ``running`` batch whose loading session is gone.

    A batch's session holds an advisory lock on it from the moment its row is committed until
    the session ends; a batch still ``running`` whose lock can be taken was abandoned: its
    process was killed (SIGKILL, OOM) or lost its connection, so its transaction — rows,
    quarantine, watermark — was rolled back by the server. Called before each new batch;
    commits. Returns the batch ids marked.
    """
    cur = await conn.execute("select batch_id from audit.load_batch where status = 'running'")
    running = [batch_id for (batch_id,) in await cur.fetchall()]
    await conn.commit()
    marked = []
    for batch_id in running:
        async with conn.transaction():
            cur = await conn.execute("select pg_try_advisory_xact_lock(%s, %s)",
                                     _batch_lock(batch_id))
            if not (await cur.fetchone())[0]:
                continue  # its session is alive: still loading
            cur = await conn.execute(
                "update audit.load_batch set status = 'failed', error = %s,"
                " finished_at = coalesce(finished_at, now())"
                " where batch_id = %s and status = 'running' returning batch_id",
                (ABANDONED, batch_id))
            if await cur.fetchone():
                marked.append(batch_id)
    await conn.commit()
    if marked:
        log.warning("load batches %s were abandoned by a killed loader: marked failed", marked)
    return marked


async def load_batch(wh: Warehouse, system: str, endpoint: Endpoint,
                     pages: AsyncIterable[list[Record]], *, hasher: PiiHasher,
                     window_from: dt.datetime | None = None,
                     window_to: dt.datetime | None = None, progress=None) -> BatchResult:
    """Stream ``pages`` into the raw table as one batch; return its counts."""
    from psycopg import sql

    started = time.perf_counter()
    table = sql.Identifier(f"raw_{system}", endpoint.name)
    async with await wh.connect_async() as conn:
        await conn.execute(resources.files("govkpi.load").joinpath("schema.sql").read_text())
        await conn.commit()
        await fail_abandoned_batches(conn)
        cur = await conn.execute(
            "insert into audit.load_batch (source_system, endpoint, window_from, window_to) "
            "values (%s, %s, %s, %s) returning batch_id",
            (system, endpoint.name, window_from, window_to),
        )
        batch_id = (await cur.fetchone())[0]
        # held by this session until it ends: a 'running' batch whose lock is free was
        # abandoned (its process killed); taken before the row is visible to anyone
        await conn.execute("select pg_advisory_lock(%s, %s)", _batch_lock(batch_id))
        await conn.commit()  # the batch row survives a failure below, marked failed
        result = BatchResult(batch_id, system, endpoint.name)
        references = [_ReferenceCheck(ref) for ref in endpoint.references]
        try:
            async with conn.transaction():
                for ref in references:
                    await ref.prepare(conn, wh)
                rejected = await _copy_records(conn, table, endpoint, pages, hasher, result,
                                               progress, references)
                if rejected:
                    await _quarantine(conn, system, endpoint, rejected, hasher, batch_id)
                result.seconds = time.perf_counter() - started
                await conn.execute(
                    "update audit.load_batch set status = 'succeeded', finished_at = now(),"
                    " received_count = %s, loaded_count = %s, quarantined_count = %s,"
                    " duplicate_count = %s, seconds = %s where batch_id = %s",
                    (result.received, result.loaded, result.quarantined, result.duplicates,
                     round(result.seconds, 3), batch_id),
                )
                if result.watermark is not None:
                    await conn.execute(
                        "insert into audit.watermark (source_system, endpoint, watermark,"
                        " batch_id) values (%s, %s, %s, %s)"
                        " on conflict (source_system, endpoint) do update set"
                        " watermark = greatest(audit.watermark.watermark, excluded.watermark),"
                        " batch_id = excluded.batch_id, updated_at = now()",
                        (system, endpoint.name, result.watermark, batch_id),
                    )
        except BaseException as exc:
            await conn.execute(
                "update audit.load_batch set status = 'failed', finished_at = now(), error = %s,"
                " seconds = %s where batch_id = %s",
                (f"{type(exc).__name__}: {exc}"[:2000],
                 round(time.perf_counter() - started, 3), batch_id),
            )
            await conn.commit()
            raise
        finally:
            for ref in references:
                await ref.close()
        await _summarize_brin_indexes(conn, f"raw_{system}.{endpoint.name}")
        await _analyze_if_grown(conn, table, f"raw_{system}.{endpoint.name}", result.loaded)
    log.info(result.summary())
    return result


async def _analyze_if_grown(conn, table, name: str, loaded: int) -> None:
    """ANALYZE the raw table when this batch added a tenth or more of its rows (or it was never
    analyzed): a first load of millions of rows otherwise leaves the planner without
    statistics until autovacuum comes by, and the next endpoint's reference checks
    (``record_key = any(...)`` per page, e.g. the portal's payments against the dossiers) ran
    as parallel sequential scans — minutes for the payments at 4M dossiers (make bench,
    scale 4.0) instead of index lookups. Samples ~30,000 rows: well under a second."""
    from psycopg import sql

    cur = await conn.execute("select reltuples from pg_class where oid = %s::regclass", (name,))
    (reltuples,) = await cur.fetchone()
    if loaded and (reltuples < 0 or loaded >= 0.1 * reltuples):
        await conn.execute(sql.SQL("analyze {}").format(table))
        await conn.commit()


async def _summarize_brin_indexes(conn, table: str) -> None:
    """Summarise the page ranges the batch appended in ``table``'s BRIN indexes (schema.sql:
    the batch_id of raw_onestop.hoso and raw_eoffice.documents). Without it a range stays
    unsummarised until a vacuum reaches it, and a scan matches every unsummarised range: the
    incremental dbt models' "batch_id > cursor" read all 4.7 GB of a 3M-dossier history
    instead of the newest batch's pages (7 s per model, dbt_refresh bench). Cheap: only the
    new ranges are read, still in cache."""
    await conn.execute(
        "select brin_summarize_new_values(index.indexrelid) from pg_index as index"
        " join pg_class as relation on relation.oid = index.indexrelid"
        " join pg_am as method on method.oid = relation.relam"
        " where index.indrelid = %s::regclass and method.amname = 'brin'", (table,))
    await conn.commit()


# Binary COPY (PostgreSQL docs, "COPY", binary format): the file header, then per tuple an
# int16 field count and each field as an int32 length (-1: NULL) + its binary value, then an
# int16 -1 trailer. A raw row is (record_key text, source_updated_at timestamptz, payload
# jsonb, batch_id int8): text is UTF-8; timestamptz an int64 of microseconds since
# 2000-01-01 UTC; jsonb a version byte (1) + the JSON text; int8 big-endian.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_NULL = struct.pack("!i", -1)
_field_count_and_length = struct.Struct("!hi").pack
_stamp = struct.Struct("!iq").pack
_jsonb_head = struct.Struct("!iB").pack
_int8 = struct.Struct("!iq").pack
_FIELDS_PER_WRITE = 64 * 6  # 64 rows of 6 parts each


class RecentVersions:
    """The record versions (key UTF-8 + its binary timestamp) of a batch's recent pages, to skip
    a version served twice. Every source returns records ordered by (modification time, id), so
    a repeat is adjacent to its first copy (offset paging over a changing table serves it again
    at the start of the next page; SOURCES.md, the simulator's ``repeat`` mess): remembering the
    last ``2 * pages_per_generation`` pages finds every repeat while memory stays flat however
    large the batch. (Remembering the whole batch cost ~180 bytes per record: 0.53 GB of the
    extractor's 0.58 GB peak at 3M documents, 1.1 GB at 6M.) A repeat further away than that —
    a source breaking its ordering — loads twice and the raw gate's duplicate-key check blocks
    the batch: not silent.

    Two generations of dicts of bytes (not sets: CPython's collector does not track a dict
    holding only atomic keys and values); the older one is dropped each generation."""

    def __init__(self, pages_per_generation: int = 64) -> None:
        self.pages_per_generation = pages_per_generation
        self._current: dict[bytes, None] = {}
        self._previous: dict[bytes, None] = {}
        self._pages = 0

    def add(self, version: bytes) -> bool:
        """Remember ``version``; False when it was already seen (a repeat)."""
        if version in self._current or version in self._previous:
            return False
        self._current[version] = None
        return True

    def page_done(self) -> None:
        self._pages += 1
        if self._pages % self.pages_per_generation == 0:
            self._previous, self._current = self._current, {}

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)


async def _copy_records(conn, table, endpoint: Endpoint, pages, hasher: PiiHasher,
                        result: BatchResult, progress,
                        references: list[_ReferenceCheck]) -> list[Record]:
    """COPY each page's good records, packed here as binary COPY tuples (cheaper than
    psycopg's per-value dumpers), and return the rest. Rows go out ~64 at a time (~80 KB of
    dossiers): the server parses them on the other core while the next ones are packed; a
    megabyte-sized write per page would leave one side idle while the other works."""
    from psycopg import sql

    seen = RecentVersions()
    scrubber = _Scrubber(hasher, endpoint.pii_fields)
    rejected: list[Record] = []
    copy_sql = sql.SQL("copy {} ({}) from stdin (format binary)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS)))
    batch_field = _int8(8, result.batch_id)
    head = _field_count_and_length
    check_record = endpoint.check
    # (field, codes known to exist, check) of the active reference checks; the sets grow in
    # place as pages resolve new codes
    lookups = [(ref.ref.field, ref.known, ref) for ref in references if ref.active]
    async with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        await copy.write(COPY_HEADER)
        async for page in pages:
            for ref in references:
                await ref.resolve(page)
            rows = []
            for rec in page:
                if rec.error is None:
                    key = rec.key.encode()
                    stamp = (_NULL if rec.updated_at is None else
                             _stamp(8, (rec.updated_at - _PG_EPOCH) // _MICROSECOND))
                    version = key + stamp
                    if not seen.add(version):
                        result.duplicates += 1
                        continue
                    item = rec.item
                    error = check_record(item) if check_record is not None else None
                    if error is None:
                        for field, known, ref in lookups:
                            code = getattr(item, field)
                            if code is not None and code not in known:
                                error = ref.reason(code)
                                break
                    rec.error = error
                result.received += 1
                if rec.error is not None:
                    rejected.append(rec)
                    continue
                payload = scrubber.payload(rec.raw)
                rows += (head(4, len(key)), key, stamp, _jsonb_head(len(payload) + 1, 1),
                         payload, batch_field)
                updated_at = rec.updated_at
                if updated_at is not None and (result.watermark is None
                                               or updated_at > result.watermark):
                    result.watermark = updated_at
                if len(rows) >= _FIELDS_PER_WRITE:
                    result.loaded += len(rows) // 6
                    await copy.write(b"".join(rows))
                    rows = []
            if rows:
                result.loaded += len(rows) // 6
                await copy.write(b"".join(rows))
            seen.page_done()
            if progress is not None:
                progress(len(page))
        await copy.write(COPY_TRAILER)
    result.quarantined = len(rejected)
    return rejected


class _ReferenceCheck:
    """Which codes of a :class:`Reference` exist: all keys read once per batch (``preload``),
    or the codes of each page looked up on a second connection (a COPY holds the first)."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.active = True
        self.known: set[str] = set()
        self.unknown: set[str] = set()
        self._lookup = None  # the second connection, for references not preloaded

    def _keys_sql(self, condition: str):
        from psycopg import sql

        return sql.SQL(
            "select record_key from {table} where {cond} union select record_key from "
            "audit.quarantine where source_system = %s and endpoint = %s and {cond}"
        ).format(table=sql.Identifier(f"raw_{self.ref.system}", self.ref.endpoint),
                 cond=sql.SQL(condition))

    async def prepare(self, conn, wh: Warehouse) -> None:
        from psycopg import sql

        cur = await conn.execute(sql.SQL("select exists (select from {})").format(
            sql.Identifier(f"raw_{self.ref.system}", self.ref.endpoint)))
        if not (await cur.fetchone())[0]:
            self.active = False
            log.warning("reference check of %s skipped: %s is empty (load it first)",
                        self.ref.field, self.ref.table)
            return
        if self.ref.preload:
            cur = await conn.execute(self._keys_sql("true"), (self.ref.system, self.ref.endpoint))
            self.known = {key for (key,) in await cur.fetchall()}
        else:
            self._lookup = await wh.connect_async()

    async def resolve(self, page: list[Record]) -> None:
        if not self.active or self.ref.preload:
            return
        codes = {getattr(r.item, self.ref.field) for r in page if r.item is not None}
        codes -= self.known | self.unknown
        codes.discard(None)
        if not codes:
            return
        wanted = list(codes)
        cur = await self._lookup.execute(self._keys_sql("record_key = any(%s)"),
                                         (wanted, self.ref.system, self.ref.endpoint, wanted))
        found = {key for (key,) in await cur.fetchall()}
        self.known |= found
        self.unknown |= codes - found

    def reason(self, code: str) -> str:
        """Why a record whose code is not :attr:`known` is quarantined."""
        return (f"unknown {self.ref.field}: unknown {self.ref.noun} {code!r} "
                f"(not among the records of {self.ref.table})")

    async def close(self) -> None:
        if self._lookup is not None:
            await self._lookup.close()
            self._lookup = None


async def _quarantine(conn, system: str, endpoint: Endpoint, rejected: list[Record],
                      hasher: PiiHasher, batch_id: int) -> None:
    """Keep each rejected record with its reason; personal fields hashed like loaded ones."""
    async with conn.cursor() as cur, cur.copy(
        "copy audit.quarantine (batch_id, source_system, endpoint, record_key, reason, payload)"
        " from stdin"
    ) as copy:
        for rec in rejected:
            loose = rec.as_dict()
            # an unparseable record may hold personal data we cannot find: keep only its digest
            payload = (hasher.scrub(loose, endpoint.pii_fields) if loose is not None
                       else {"unparsed_sha256": hashlib.sha256(rec.raw).hexdigest(),
                             "bytes": len(rec.raw)})
            await copy.write_row((batch_id, system, endpoint.name, rec.key, rec.error,
                                  _json_text(payload)))
    log.warning("%s.%s batch %d: %d records quarantined, first: %s", system, endpoint.name,
                batch_id, len(rejected), rejected[0].error)
