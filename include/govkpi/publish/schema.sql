-- Published ranking releases (docs/ranking.md, "Publication"): written by
-- govkpi.publish.release.publish(), read by the report, BI tools and anyone else.
-- Idempotent: applied before every publish. A release is a frozen copy of one (year,
-- methodology) of the ranking marts at year grain; it is never changed: publishing the year
-- again adds a release, and `current_ranking_release` shows the newest.
-- The release tables carry every column of their mart (same names, same order) after
-- release_id; a few columns are added from ranking_config so that a release explains itself
-- without the live config (titles, not-measured reasons, tier thresholds).
create schema if not exists published;

create table if not exists published.ranking_release (
    release_id           bigint generated always as identity primary key,
    year                 integer     not null,
    methodology_name     text        not null,
    methodology_sha256   text        not null check (methodology_sha256 ~ '^[0-9a-f]{64}$'),
    -- newest finished_at of the succeeded raw load batches: how fresh the data scored is
    data_watermark       timestamptz,
    -- the quality gate's verdict as passed in: {"passed": bool, "critical": [...], "warnings": [...]}
    gate_result          jsonb       not null check (jsonb_typeof(gate_result -> 'passed') = 'boolean'),
    created_at           timestamptz not null default clock_timestamp(),
    methodology_title_vi text        not null,
    methodology_title_en text        not null,
    methodology_basis    text        not null default ''
);

create index if not exists ranking_release_year_methodology_idx
    on published.ranking_release (year, methodology_name, release_id desc);

-- marts.fct_ranking_unit
create table if not exists published.ranking_release_unit (
    release_id             bigint   not null references published.ranking_release (release_id),
    methodology_name       text     not null,
    content_sha256         text     not null,
    period_grain           text     not null,
    period_start           date     not null,
    period_year            integer  not null,
    period_quarter         integer,
    period_month           integer,
    unit_code              text     not null,
    unit_name              text     not null,
    unit_group             text     not null,
    unit_group_label_vi    text     not null,
    unit_group_label_en    text     not null,
    is_assessed            boolean  not null,
    not_assessed_reason    text,
    total_points           numeric,
    max_points             numeric,
    achievable_max_points  numeric,
    score_share            numeric,
    tier_key               text,
    tier_label_vi          text,
    tier_label_en          text,
    tier_ordinal           integer,
    rank_in_group          integer,
    ranked_units_in_group  integer,
    previous_rank          integer,
    rank_change            integer,
    primary key (release_id, unit_code)
);

-- marts.fct_ranking_group_score
create table if not exists published.ranking_release_group_score (
    release_id             bigint   not null references published.ranking_release (release_id),
    methodology_name       text     not null,
    content_sha256         text     not null,
    period_grain           text     not null,
    period_start           date     not null,
    period_year            integer  not null,
    period_quarter         integer,
    period_month           integer,
    unit_code              text     not null,
    unit_name              text     not null,
    unit_group             text     not null,
    group_key              text     not null,
    group_number           integer  not null,
    group_label_vi         text     not null,
    group_label_en         text     not null,
    points                 numeric,
    max_points             numeric,
    achievable_max_points  numeric,
    primary key (release_id, unit_code, group_key)
);

-- marts.fct_ranking_indicator_score (+ the methodology's not-measured reason, and columns the
-- model may add beyond docs/ranking.md: the indicator's ordinal, convention, curve ...)
create table if not exists published.ranking_release_indicator (
    release_id             bigint   not null references published.ranking_release (release_id),
    methodology_name       text     not null,
    content_sha256         text     not null,
    period_grain           text     not null,
    period_start           date     not null,
    period_year            integer  not null,
    period_quarter         integer,
    period_month           integer,
    unit_code              text     not null,
    unit_name              text     not null,
    unit_group             text     not null,
    group_key              text     not null,
    group_number           integer  not null,
    group_label_vi         text     not null,
    group_label_en         text     not null,
    indicator_key          text     not null,
    indicator_label_vi     text     not null,
    indicator_label_en     text     not null,
    input_kind             text     not null,
    input_code             text,
    input_value            numeric,
    input_numerator        numeric,
    input_denominator      numeric,
    max_points             numeric  not null,
    points                 numeric,
    status                 text     not null,
    not_measured_reason    text,
    -- optional in the mart (NULL when it does not have them; govkpi.publish.release)
    indicator_ordinal      integer,
    input_convention       text,
    curve_type             text,
    when_missing           text,
    not_assessed_reason    text,
    primary key (release_id, unit_code, indicator_key)
);

-- marts.fct_ranking_tier_distribution (+ the tier's threshold)
create table if not exists published.ranking_release_tier (
    release_id             bigint   not null references published.ranking_release (release_id),
    methodology_name       text     not null,
    content_sha256         text     not null,
    period_grain           text     not null,
    period_start           date     not null,
    period_year            integer  not null,
    period_quarter         integer,
    period_month           integer,
    unit_group             text     not null,
    tier_key               text     not null,
    tier_label_vi          text     not null,
    tier_label_en          text     not null,
    tier_ordinal           integer  not null,
    unit_count             integer  not null,
    assessed_unit_count    integer  not null,
    unit_share             numeric,
    min_share              numeric,
    primary key (release_id, unit_group, tier_key)
);

-- Append-only: a published figure is never changed in place (an official may have quoted it).
create or replace function published.refuse_change() returns trigger
language plpgsql as $refuse_change$
begin
    raise exception 'published releases are append-only: publish a new release instead '
                    '(% on %.% refused)', tg_op, tg_table_schema, tg_table_name
        using errcode = 'restrict_violation',
              hint = 'run `govkpi rank` (or publish()) again: the new release becomes current';
end
$refuse_change$;

do $append_only$
declare
    t text;
begin
    foreach t in array array['ranking_release', 'ranking_release_unit',
                             'ranking_release_group_score', 'ranking_release_indicator',
                             'ranking_release_tier']
    loop
        execute format('create or replace trigger refuse_update_delete before update or delete '
                       'on published.%I for each row execute function published.refuse_change()',
                       t);
        execute format('create or replace trigger refuse_truncate before truncate '
                       'on published.%I for each statement '
                       'execute function published.refuse_change()', t);
    end loop;
end
$append_only$;

-- The newest release of each (year, methodology): what the report and BI show by default.
create or replace view published.current_ranking_release as
select distinct on (year, methodology_name)
    release_id, year, methodology_name, methodology_sha256, data_watermark, gate_result,
    created_at, methodology_title_vi, methodology_title_en, methodology_basis
from published.ranking_release
order by year, methodology_name, release_id desc;
