"""The quality gate's checks, as data: what each stage's checkpoint verifies (docs/quality.md).

One place for the rules; ``setup_gx`` turns them into the committed GX project under
``expectations/``. Each check is one SQL query that returns the **bad rows** (a GX
``UnexpectedRowsExpectation``): it passes when the query returns nothing, and when it fails the
rows it returned are the sample the alert and ``audit.gate_result`` show. The first columns of
every query name the row (a dossier code, a unit and a year, a feed).

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
                    and (record_key is null or exists (
                        select 1 from unnest(array[{_sql_list(required)}]) as f
                        where payload ->> f is null))
                  """),
        )))
    return out


# --- staging -----------------------------------------------------------------------------------

def _staging_checks(models: dict[str, _Model]) -> list[AssetChecks]:
    stg = models["stg_onestop__dossiers"]
    units = models["stg_onestop__units"].relation("stg_onestop__units")
    procedures = models["stg_onestop__procedures"].relation("stg_onestop__procedures")
    services = models["stg_dvc__services"].relation("stg_dvc__services")
    future = "now() + interval '5 minutes'"  # clocks of the source servers drift a little

    def accepted(model: str, key: str) -> Check:
        values = models[model].accepted_values
        bad = " or ".join(_bad_codes(c, v) for c, v in sorted(values.items()))
        return Check(f"{model.split('__')[1]}_codes_accepted", CRITICAL,
                     f"{model}: a code outside its documented values "
                     f"({', '.join(sorted(values))})",
                     f"select {key}, {', '.join(sorted(values))} from {{batch}} where {bad}")

    dossiers = AssetChecks("staging", "stg_onestop__dossiers",
                           stg.relation("stg_onestop__dossiers"), (
        Check("dossier_due_not_before_received", CRITICAL,
              "a dossier is due before it was received",
              "select dossier_code, unit_code, received_at, source_due_at from {batch} "
              "where source_due_at < received_at"),
        Check("dossier_end_not_before_received", CRITICAL,
              "a dossier's processing ended or its result was returned before it was received",
              "select dossier_code, unit_code, received_at, processing_ended_at, "
              "result_returned_at from {batch} where processing_ended_at < received_at "
              "or result_returned_at < received_at"),
        Check("dossier_no_future_timestamps", CRITICAL,
              "a dossier was received, ended, returned or updated in the future",
              "select dossier_code, unit_code, received_at, processing_ended_at, "
              f"result_returned_at, source_updated_at from {{batch}} where received_at > {future}"
              f" or processing_ended_at > {future} or result_returned_at > {future}"
              f" or source_updated_at > {future}"),
        Check("dossier_values_in_range", CRITICAL,
              "a dossier received before 2000 or with a negative fee or count",
              "select dossier_code, received_at, fee_amount, reschedule_count, "
              "apology_letter_count from {batch} where received_at < date '2000-01-01' "
              "or fee_amount < 0 or reschedule_count < 0 or apology_letter_count < 0"),
        Check("dossier_unit_known", CRITICAL,
              "a dossier names a unit the one-stop unit list does not have",
              f"select d.dossier_code, d.unit_code from {{batch}} as d left join {units} as u "
              "on u.unit_code = d.unit_code where u.unit_code is null"),
        Check("dossier_procedure_known", CRITICAL,
              "a dossier names a procedure the one-stop procedure list does not have",
              f"select d.dossier_code, d.procedure_code from {{batch}} as d "
              f"left join {procedures} as p on p.procedure_code = d.procedure_code "
              "where p.procedure_code is null"),
        accepted("stg_onestop__dossiers", "dossier_code"),
    ))
    documents = AssetChecks("staging", "stg_eoffice__documents",
                            models["stg_eoffice__documents"].relation("stg_eoffice__documents"), (
        Check("document_acknowledged_not_before_arrival", CRITICAL,
              "an incoming document was acknowledged before it arrived",
              "select document_id, unit_code, arrived_at, acknowledged_at from {batch} "
              "where acknowledged_at < arrived_at"),
        Check("document_no_future_timestamps", CRITICAL,
              "a document was signed, issued, arrived or updated in the future",
              "select document_id, unit_code, signed_at, issued_at, arrived_at, "
              f"source_updated_at from {{batch}} where signed_at > {future} "
              f"or issued_at > {future} or arrived_at > {future} or source_updated_at > {future}"),
        Check("document_unit_known", CRITICAL,
              "a document names a unit the one-stop unit list does not have",
              f"select d.document_id, d.unit_code from {{batch}} as d left join {units} as u "
              "on u.unit_code = d.unit_code where u.unit_code is null"),
        accepted("stg_eoffice__documents", "document_id"),
    ))
    submissions = AssetChecks("staging", "stg_dvc__submissions",
                              models["stg_dvc__submissions"].relation("stg_dvc__submissions"), (
        Check("submission_not_before_start", CRITICAL,
              "an online application was submitted before it was started",
              "select submission_id, service_id, started_at, submitted_at from {batch} "
              "where submitted_at < started_at"),
        Check("submission_no_future_timestamps", CRITICAL,
              "an online application was started, submitted or updated in the future",
              "select submission_id, started_at, submitted_at, source_updated_at from {batch} "
              f"where started_at > {future} or submitted_at > {future} "
              f"or source_updated_at > {future}"),
        Check("submission_service_known", CRITICAL,
              "an online application names a service the portal's catalogue does not have",
              f"select a.submission_id, a.service_id from {{batch}} as a left join {services} "
              "as s on s.service_id = a.service_id where s.service_id is null"),
        accepted("stg_dvc__submissions", "submission_id"),
    ))
    return [dossiers, documents, submissions]


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
