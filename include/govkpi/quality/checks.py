"""The quality gate's checks, as data: what each stage's checkpoint verifies (docs/quality.md).

One place for the rules; ``setup_gx`` turns them into the committed GX project under
``expectations/``. Each check is one SQL query that returns the **bad rows** (a GX
``UnexpectedRowsExpectation`` that reads once: ``govkpi.quality.expectation``): it passes when
the query returns nothing, and when it fails the rows it returned are the sample the alert and
``audit.gate_result`` show. The first columns of every query name the row (a dossier code, a
unit and a year, a feed).

Four stages, one checkpoint each: ``raw_gate`` (the loaded batches), ``staging_gate`` (the
records as dbt stages them), ``marts_gate`` (the KPI facts) and ``ranking_gate`` (the ranking
marts). ``kpi_refresh`` runs the first three after its dbt build; ``annual_ranking`` runs all
four before it publishes.

Severity: ``critical`` blocks publication, ``warning`` is reported and recorded. Thresholds an
operator may tune live in ``audit.gate_setting`` (:data:`SETTINGS`, written from the
environment by the gate before it runs), so changing one needs no change to the committed JSON.

Query rules (GX substitutes ``{batch}`` with the asset's query): a query that joins writes
``{batch} as <alias>``; one that does not join writes ``{batch}`` bare (GX aliases it); no
``%``, ``?`` or literal braces (psycopg parameters, ``str.format``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

STAGES = ("raw", "staging", "marts", "ranking")
CRITICAL, WARNING = "critical", "warning"

# name → (environment variable, default, meaning); the gate writes them to audit.gate_setting
SETTINGS: dict[str, tuple[str, float, str]] = {
    "max_age_hours": ("GOVKPI_GATE_MAX_AGE_HOURS", 48,
                      "a feed whose last successful load is older than this is stale"),
    "volume_share": ("GOVKPI_GATE_VOLUME_SHARE", 0.5,
                     "a batch smaller than (1 − share) × the previous one of its kind is a "
                     "volume drop (critical); larger than (1 + share) × it, a spike (warning)"),
    "volume_min_rows": ("GOVKPI_GATE_VOLUME_MIN_ROWS", 100,
                        "volumes are compared only when the previous batch had this many rows"),
}


@dataclass(frozen=True)
class Check:
    name: str
    severity: str
    description: str  # what a failure means, in the words an operator reads in the alert
    query: str

    def __post_init__(self):
        joins = re.search(r"\bjoin\b", self.query, re.IGNORECASE) is not None
        aliased = re.search(r"\{batch\} as \w+", self.query) is not None
        if "{batch}" not in self.query or joins != aliased:
            raise ValueError(f"check {self.name}: a query that joins writes '{{batch}} as <alias>'"
                             ", one that does not writes '{batch}' bare")
        if re.search(r"[%?]", self.query):
            raise ValueError(f"check {self.name}: no '%' or '?' in a check's SQL")


@dataclass(frozen=True)
class AssetChecks:
    """The checks of one data asset (a query over one relation): one suite, one validation."""

    stage: str
    asset: str  # the asset, suite and validation definition name
    relation: str  # schema.table the asset selects from
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def query(self) -> str:
        return f"select * from {self.relation}"


# --- what the checks read: the dbt manifest (columns, accepted values) and the sources ---------

def _manifest(manifest_path: Path | None = None) -> dict:
    from govkpi import config

    path = manifest_path or config.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make manifest` (dbt parse) first")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class _Model:
    schema: str
    columns: tuple[str, ...]
    accepted_values: dict[str, tuple]  # column → the values of its accepted_values test

    def relation(self, name: str) -> str:
        return f"{self.schema}.{name}"


@cache
def _models(manifest_path: Path | None = None) -> dict[str, _Model]:
    manifest = _manifest(manifest_path)
    accepted: dict[str, dict[str, tuple]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") == "accepted_values":
            kwargs = meta["kwargs"]
            owner = (node.get("attached_node") or "").rsplit(".", 1)[-1]
            accepted.setdefault(owner, {})[kwargs["column_name"]] = tuple(kwargs["values"])
    return {
        node["name"]: _Model(node["schema"], tuple(node["columns"]),
                             accepted.get(node["name"], {}))
        for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }


def _sql_list(values) -> str:
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


def _bad_codes(column: str, values) -> str:
    return f"({column} is null or {column} not in ({_sql_list(values)}))"


# --- raw ---------------------------------------------------------------------------------------

_LOAD_KIND = ("case when lb.window_from is null and lb.window_to is null then 'full' "
              "when lb.window_to is null then 'incremental' else 'backfill' end")


def _raw_feed_checks() -> AssetChecks:
    volume = f"""
        with batches as (
            select lb.source_system, lb.endpoint, lb.batch_id, lb.received_count,
                   {_LOAD_KIND} as load_kind,
                   row_number() over (partition by lb.source_system, lb.endpoint, {_LOAD_KIND}
                                      order by lb.batch_id desc) as recency
            from {{batch}} as lb
            where lb.status = 'succeeded' and lb.source_system <> 'files'
        )
        select cur.source_system, cur.endpoint, cur.load_kind, cur.batch_id,
               cur.received_count, prev.batch_id as previous_batch_id,
               prev.received_count as previous_received_count
        from batches as cur
        join batches as prev
            on prev.source_system = cur.source_system and prev.endpoint = cur.endpoint
            and prev.load_kind = cur.load_kind and prev.recency = 2
        join audit.gate_setting as share on share.name = 'volume_share'
        join audit.gate_setting as floor on floor.name = 'volume_min_rows'
        where cur.recency = 1 and prev.received_count >= floor.value
          and cur.received_count {{op}} ({{bound}}) * prev.received_count
    """
    return AssetChecks("raw", "raw_load_batches", "audit.load_batch", (
        Check("raw_feed_fresh", CRITICAL,
              "a source feed has not loaded successfully within max_age_hours "
              "(audit.gate_setting): the ranking would be computed on stale data",
              """
              select lb.source_system, lb.endpoint, max(lb.finished_at) as last_loaded_at,
                     round(extract(epoch from now() - max(lb.finished_at)) / 3600, 1)
                         as hours_since_last_load,
                     s.value as max_age_hours
              from {batch} as lb
              join audit.gate_setting as s on s.name = 'max_age_hours'
              where lb.status = 'succeeded' and lb.source_system <> 'files'
              group by lb.source_system, lb.endpoint, s.value
              having now() - max(lb.finished_at) > s.value * interval '1 hour'
              """),
        Check("raw_feed_volume_drop", CRITICAL,
              "a feed's latest batch has far fewer records than its previous batch of the same "
              "kind (full, incremental, backfill): records are probably missing at the source",
              volume.replace("{op}", "<").replace("{bound}", "1 - share.value")),
        Check("raw_feed_volume_spike", WARNING,
              "a feed's latest batch has far more records than its previous batch of the same "
              "kind: check for a re-sent history or duplicates at the source",
              volume.replace("{op}", ">").replace("{bound}", "1 + share.value")),
        Check("raw_feed_last_attempt_failed", WARNING,
              "a feed's most recent load attempt failed (its earlier data is still loaded)",
              """
              select lb.source_system, lb.endpoint, lb.batch_id, lb.started_at, lb.error
              from {batch} as lb
              join (select source_system, endpoint, max(batch_id) as batch_id
                    from audit.load_batch group by source_system, endpoint) as latest
                  on latest.batch_id = lb.batch_id
              where lb.status = 'failed'
              """),
    ))


def _raw_table_checks() -> list[AssetChecks]:
    import msgspec

    from govkpi.load.assessments import ENDPOINT as FILES_ENDPOINT
    from govkpi.load.assessments import SOURCE_SYSTEM as FILES_SYSTEM
    from govkpi.sources.systems import SYSTEMS

    tables = [(system.name, name, [f.encode_name for f in msgspec.structs.fields(ep.struct)
                                   if f.required])
              for system in SYSTEMS.values() for name, ep in system.endpoints.items()]
    tables.append((FILES_SYSTEM, FILES_ENDPOINT, ["ma_don_vi", "nam", "ma_tieu_chi"]))
    out = []
    for system, endpoint, required in tables:
        latest = (f"(select max(batch_id) from audit.load_batch where source_system = "
                  f"'{system}' and endpoint = '{endpoint}' and status = 'succeeded')")
        # one "->> is null" per field rather than "exists (… unnest(array[…]) …)": the same rows,
        # without a subplan per record (2-2.5x faster over a 1M-record batch, bench/gate_share.py)
        lacks_field = " or ".join(["record_key is null",
                                   *(f"payload ->> '{f}' is null" for f in required)])
        out.append(AssetChecks("raw", f"raw_{system}_{endpoint}", f"raw_{system}.{endpoint}", (
            Check("raw_key_unique_in_batch", CRITICAL,
                  f"the latest batch of {system}.{endpoint} holds the same record version "
                  "(key, updated at) more than once",
                  f"""
                  select record_key, source_updated_at, batch_id, count(*) as copies
                  from {{batch}}
                  where batch_id = {latest}
                  group by record_key, source_updated_at, batch_id
                  having count(*) > 1
                  """),
            Check("raw_required_fields_present", CRITICAL,
                  f"records of the latest batch of {system}.{endpoint} lack a required field "
                  f"({', '.join(required)})",
                  f"""
                  select record_key, batch_id,
                         array_to_string(array(
                             select f from unnest(array[{_sql_list(required)}]) as f
                             where payload ->> f is null), ', ') as missing_fields
                  from {{batch}}
                  where batch_id = {latest}
                    and ({lacks_field})
                  """),
        )))
    return out


# --- staging -----------------------------------------------------------------------------------

def _rules_check(name: str, noun: str, columns: tuple[str, ...],
                 rules: list[tuple[str, str]], joins: str = "") -> Check:
    """One check of a staged relation: every rule evaluated in one pass (one read of millions of
    records, not one per rule); each bad row says which rules it breaks in ``problems``."""
    flags = ", ".join(f"case when {condition} then '{rule}' end" for rule, condition in rules)
    return Check(
        name, CRITICAL,
        f"a staged {noun} breaks a rule — " + "; ".join(rule.replace("_", " ")
                                                         for rule, _ in rules)
        + " (its problems column names them)",
        f"select * from (select {', '.join(f'r.{c}' for c in columns)}, "
        f"array_to_string(array_remove(array[{flags}], null), ', ') as problems "
        f"from {{batch}} as r {joins}) as checked where problems <> ''")


def _staging_checks(models: dict[str, _Model]) -> list[AssetChecks]:
    units = models["stg_onestop__units"].relation("stg_onestop__units")
    procedures = models["stg_onestop__procedures"].relation("stg_onestop__procedures")
    services = models["stg_dvc__services"].relation("stg_dvc__services")
    future = "now() + interval '5 minutes'"  # clocks of the source servers drift a little

    def codes(model: str) -> tuple[str, str]:
        values = models[model].accepted_values
        return ("code_not_accepted",
                " or ".join(_bad_codes(f"r.{c}", v) for c, v in sorted(values.items())))

    def relation(model: str) -> str:
        return models[model].relation(model)

    dossiers = _rules_check("dossier_records_valid", "dossier", (
        "dossier_code", "unit_code", "procedure_code", "received_at", "source_due_at",
        "processing_ended_at", "result_returned_at", "status_code", "channel_code"), [
        ("due_before_received", "r.source_due_at < r.received_at"),
        ("ended_before_received", "r.processing_ended_at < r.received_at "
                                  "or r.result_returned_at < r.received_at"),
        ("future_timestamp", f"r.received_at > {future} or r.processing_ended_at > {future} "
                             f"or r.result_returned_at > {future} "
                             f"or r.source_updated_at > {future}"),
        ("out_of_range", "r.received_at < date '2000-01-01' or r.fee_amount < 0 "
                         "or r.reschedule_count < 0 or r.apology_letter_count < 0"),
        ("unknown_unit", "u.unit_code is null"),
        ("unknown_procedure", "p.procedure_code is null"),
        codes("stg_onestop__dossiers"),
    ], f"left join {units} as u on u.unit_code = r.unit_code "
       f"left join {procedures} as p on p.procedure_code = r.procedure_code")
    documents = _rules_check("document_records_valid", "document", (
        "document_id", "unit_code", "signed_at", "issued_at", "arrived_at", "acknowledged_at",
        "direction_code", "status_code"), [
        ("acknowledged_before_arrival", "r.acknowledged_at < r.arrived_at"),
        ("future_timestamp", f"r.signed_at > {future} or r.issued_at > {future} "
                             f"or r.arrived_at > {future} or r.source_updated_at > {future}"),
        ("unknown_unit", "u.unit_code is null"),
        codes("stg_eoffice__documents"),
    ], f"left join {units} as u on u.unit_code = r.unit_code")
    submissions = _rules_check("submission_records_valid", "online application", (
        "submission_id", "service_id", "started_at", "submitted_at", "status",
        "account_type"), [
        ("submitted_before_start", "r.submitted_at < r.started_at"),
        ("future_timestamp", f"r.started_at > {future} or r.submitted_at > {future} "
                             f"or r.source_updated_at > {future}"),
        ("unknown_service", "s.service_id is null"),
        codes("stg_dvc__submissions"),
    ], f"left join {services} as s on s.service_id = r.service_id")
    return [AssetChecks("staging", model, relation(model), (check,)) for model, check in (
        ("stg_onestop__dossiers", dossiers), ("stg_eoffice__documents", documents),
        ("stg_dvc__submissions", submissions))]


# --- marts -------------------------------------------------------------------------------------

_KPI_FAMILIES = ("dossier_resolution", "document_processing", "online_service")
_RATE = re.compile(r"_(rate|share)(_portal)?$")


def _ratio_columns(columns: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(rate, numerator, denominator) of every KPI of a fact whose value is a share."""
    out = []
    for col in columns:
        m = _RATE.search(col)
        if not m:
            continue
        kpi, suffix = col.split("_", 1)[0], m.group(2) or ""
        num, den = f"{kpi}_numerator{suffix}", f"{kpi}_denominator{suffix}"
        if num in columns and den in columns:
            out.append((col, num, den))
    return out


def _marts_checks(models: dict[str, _Model]) -> list[AssetChecks]:
    out = []
    for family in _KPI_FAMILIES:
        for scope in ("unit", "province", "procedure"):
            for grain in ("month", "quarter", "year"):
                name = f"fct_{family}_{scope}_{grain}"
                if name not in models:
                    continue
                model = models[name]
                cols = model.columns
                keys = [c for c in ("unit_code", "procedure_code") if c in cols] + [
                    "period_start"]
                ratios = _ratio_columns(cols)
                rates = [r for r, _, _ in ratios]
                checks = [
                    Check("kpi_key_unique", CRITICAL,
                          f"{name} has more than one row for a {' × '.join(keys)}",
                          f"select {', '.join(keys)}, count(*) as copies from {{batch}} "
                          f"group by {', '.join(keys)} having count(*) > 1"),
                    Check("kpi_rates_between_0_and_1", CRITICAL,
                          f"{name}: a rate outside [0, 1]",
                          f"select {', '.join(keys)}, {', '.join(rates)} from {{batch}} where "
                          + " or ".join(f"{r} not between 0 and 1" for r in rates)),
                    Check("kpi_numerator_within_denominator", CRITICAL,
                          f"{name}: a KPI's numerator exceeds its denominator or is negative",
                          f"select {', '.join(keys)}, "
                          + ", ".join(f"{n}, {d}" for _, n, d in ratios) + " from {batch} where "
                          + " or ".join(f"{n} > {d} or {n} < 0" for _, n, d in ratios)),
                ]
                province = f"fct_{family}_province_{grain}"
                if scope == "unit" and province in models:
                    additive = [c for c in cols if c.endswith(("_count", "_numerator",
                                                               "_denominator",
                                                               "_numerator_portal",
                                                               "_denominator_portal"))
                                and c in models[province].columns
                                and not c.startswith("os7_")]
                    differs = " or ".join(f"u.{c} is distinct from p.{c}" for c in additive)
                    checks.append(Check(
                        "kpi_units_sum_to_province", CRITICAL,
                        f"{name}: the units' counts do not add up to {province}",
                        "with units as (select u.period_start, "
                        + ", ".join(f"sum(u.{c}) as {c}" for c in additive)
                        + " from {batch} as u group by u.period_start) "
                        "select p.period_start, " + ", ".join(
                            f"u.{c} as units_{c}, p.{c} as province_{c}" for c in additive[:3])
                        + f" from units as u full join {models[province].relation(province)} "
                        "as p on p.period_start = u.period_start where " + differs))
                if scope == "unit":
                    dim_unit = models["dim_unit"].relation("dim_unit")
                    checks.append(Check(
                        "kpi_every_unit_present", CRITICAL,
                        f"{name}: a unit that existed in a period (dim_unit) has no row",
                        f"with periods as (select distinct f.period_start, f.period_end "
                        f"from {{batch}} as f), expected as (select distinct p.period_start, "
                        f"d.unit_code from periods as p join {dim_unit} as d "
                        "on d.valid_from <= p.period_end and (d.valid_to is null or "
                        "d.valid_to >= p.period_start) where d.unit_level in (2, 3, 4)) "
                        f"select e.unit_code, e.period_start from expected as e "
                        f"where not exists (select 1 from {model.relation(name)} as x "
                        "where x.unit_code = e.unit_code and x.period_start = e.period_start)"))
                if name == "fct_dossier_resolution_unit_year":
                    checks.append(Check(
                        "kpi_late_share_high", WARNING,
                        "more than half of a unit's finished dossiers were late in a year "
                        "(possible, but worth a look before publishing)",
                        "select unit_code, period_year, os2_numerator, os2_denominator, "
                        "os2_late_rate from {batch} where os2_late_rate > 0.5"))
                out.append(AssetChecks("marts", name, model.relation(name), tuple(checks)))
    return out


# --- ranking -----------------------------------------------------------------------------------

_RANK_KEY = ("methodology_name", "content_sha256", "period_grain", "period_start")


def _ranking_checks(models: dict[str, _Model]) -> list[AssetChecks]:
    unit = models["fct_ranking_unit"].relation("fct_ranking_unit")
    indicator = models["fct_ranking_indicator_score"].relation("fct_ranking_indicator_score")
    group = models["fct_ranking_group_score"].relation("fct_ranking_group_score")
    on = " and ".join(f"{{0}}.{k} = u.{k}" for k in _RANK_KEY)
    return [
        AssetChecks("ranking", "fct_ranking_unit", unit, (
            Check("ranking_every_criterion_scored", CRITICAL,
                  "an assessed unit lacks a score for a criterion its methodology defines",
                  "with expected as (select methodology_name, content_sha256, unit_group, "
                  "count(*) as criteria from ranking_config.methodology_indicator "
                  "group by methodology_name, content_sha256, unit_group), "
                  f"scored as (select {', '.join(_RANK_KEY)}, unit_code, count(*) as criteria "
                  f"from {indicator} group by {', '.join(_RANK_KEY)}, unit_code) "
                  "select u.methodology_name, u.period_grain, u.period_start, u.unit_code, "
                  "e.criteria as expected_criteria, coalesce(s.criteria, 0) as scored_criteria "
                  "from {batch} as u join expected as e on e.methodology_name = "
                  "u.methodology_name and e.content_sha256 = u.content_sha256 and "
                  "e.unit_group = u.unit_group left join scored as s on "
                  + on.format("s") + " and s.unit_code = u.unit_code "
                  "where u.is_assessed and coalesce(s.criteria, 0) <> e.criteria"),
            Check("ranking_total_within_max", CRITICAL,
                  "a unit's total points are negative or exceed its achievable maximum",
                  "select methodology_name, period_grain, period_start, unit_code, total_points, "
                  "achievable_max_points, max_points from {batch} where is_assessed and "
                  "(total_points < 0 or total_points > achievable_max_points "
                  "or achievable_max_points > max_points)"),
            Check("ranking_share_matches_points", CRITICAL,
                  "a unit's share of the maximum is not its total over its achievable maximum",
                  "select methodology_name, period_grain, period_start, unit_code, total_points, "
                  "achievable_max_points, score_share from {batch} where is_assessed and "
                  "abs(score_share - total_points / nullif(achievable_max_points, 0)) > 0.000001"),
            Check("ranking_tier_matches_share", CRITICAL,
                  "a unit's tier is not the one its methodology gives its share of the maximum",
                  "select u.methodology_name, u.period_grain, u.period_start, u.unit_code, "
                  "u.score_share, u.tier_key, t.tier_key as expected_tier from {batch} as u "
                  "left join lateral (select tier_key from ranking_config.methodology_tier as mt"
                  " where mt.methodology_name = u.methodology_name and mt.content_sha256 = "
                  "u.content_sha256 and mt.min_share <= u.score_share "
                  "order by mt.min_share desc limit 1) as t on true "
                  "where u.is_assessed and u.tier_key is distinct from t.tier_key"),
            Check("ranking_rank_matches_share", CRITICAL,
                  "a unit's rank in its group is not 1 + the number of assessed units of the "
                  "group with a higher share",
                  "select u.methodology_name, u.period_grain, u.period_start, u.unit_group, "
                  "u.unit_code, u.score_share, u.rank_in_group, 1 + count(o.unit_code) "
                  f"as expected_rank from {{batch}} as u left join {unit} as o on "
                  + on.format("o") + " and o.unit_group = u.unit_group and o.is_assessed "
                  "and o.score_share > u.score_share where u.is_assessed group by "
                  "u.methodology_name, u.period_grain, u.period_start, u.unit_group, "
                  "u.unit_code, u.score_share, u.rank_in_group "
                  "having u.rank_in_group is distinct from 1 + count(o.unit_code)"),
        )),
        AssetChecks("ranking", "fct_ranking_indicator_score", indicator, (
            Check("ranking_points_within_max", CRITICAL,
                  "a criterion's points are negative or exceed its maximum",
                  "select methodology_name, period_grain, period_start, unit_code, "
                  "indicator_key, points, max_points from {batch} "
                  "where points < 0 or points > max_points"),
        )),
        AssetChecks("ranking", "fct_ranking_group_score", group, (
            Check("ranking_group_points_within_max", CRITICAL,
                  "a criterion group's points are negative or exceed its maximum",
                  "select methodology_name, period_grain, period_start, unit_code, group_key, "
                  "points, max_points from {batch} where points < 0 or points > max_points"),
        )),
    ]


def catalogue(manifest_path: Path | None = None) -> dict[str, list[AssetChecks]]:
    """Every stage's assets and their checks, in a stable order."""
    models = _models(manifest_path)
    return {
        "raw": [_raw_feed_checks(), *_raw_table_checks()],
        "staging": _staging_checks(models),
        "marts": _marts_checks(models),
        "ranking": _ranking_checks(models),
    }


def checkpoint_name(stage: str) -> str:
    return f"{stage}_gate"
