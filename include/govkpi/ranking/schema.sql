-- Methodologies as data (docs/ranking.md): written by govkpi.ranking.methodology, read by the
-- dbt ranking models (source `ranking_config`). Idempotent: run before every methodology load.
-- A methodology's content is keyed by its name and the SHA-256 of its file: loading the same
-- file again changes nothing; a changed file adds a new content, which becomes the current one.
create schema if not exists ranking_config;

create table if not exists ranking_config.methodology (
    methodology_name text        not null,
    content_sha256   text        not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
    version          integer     not null,
    title_vi         text        not null,
    title_en         text        not null,
    basis            text        not null default '',
    periods          text[]      not null,
    source_file      text        not null,
    content          jsonb       not null,
    loaded_at        timestamptz not null default clock_timestamp(),
    primary key (methodology_name, content_sha256)
);

create table if not exists ranking_config.methodology_unit_group (
    methodology_name    text     not null,
    content_sha256      text     not null,
    unit_group          text     not null check (unit_group in ('departments', 'districts')),
    unit_level          smallint not null check (unit_level in (2, 3)),
    label_vi            text     not null,
    label_en            text     not null,
    requires_assessment boolean  not null,
    ordinal             integer  not null,
    primary key (methodology_name, content_sha256, unit_group),
    foreign key (methodology_name, content_sha256)
        references ranking_config.methodology (methodology_name, content_sha256)
);

create table if not exists ranking_config.methodology_tier (
    methodology_name text    not null,
    content_sha256   text    not null,
    tier_key         text    not null,
    label_vi         text    not null,
    label_en         text    not null,
    min_share        numeric not null check (min_share between 0 and 1),
    ordinal          integer not null,
    primary key (methodology_name, content_sha256, tier_key),
    foreign key (methodology_name, content_sha256)
        references ranking_config.methodology (methodology_name, content_sha256)
);

create table if not exists ranking_config.methodology_indicator (
    methodology_name    text    not null,
    content_sha256      text    not null,
    group_key           text    not null,
    group_number        integer not null,
    group_label_vi      text    not null,
    group_label_en      text    not null,
    indicator_key       text    not null,
    indicator_label_vi  text    not null,
    indicator_label_en  text    not null,
    unit_group          text    not null,
    max_points          numeric not null check (max_points >= 0),
    input_kind          text    not null check (input_kind in ('kpi', 'item', 'not_measured')),
    input_code          text,
    input_convention    text    not null default 'law'
        check (input_convention in ('law', 'portal')),
    not_measured_reason text,
    curve_type          text    not null check (curve_type in (
        'linear', 'cap', 'step', 'piecewise', 'boolean', 'inverse_linear', 'none')),
    curve_params        jsonb   not null default '{}'::jsonb,
    when_missing        text    not null
        check (when_missing in ('zero', 'full', 'not_measured', 'not_assessed')),
    ordinal             integer not null,
    primary key (methodology_name, content_sha256, indicator_key, unit_group),
    foreign key (methodology_name, content_sha256, unit_group)
        references ranking_config.methodology_unit_group (methodology_name, content_sha256,
                                                          unit_group),
    check ((input_kind = 'not_measured') = (input_code is null)),
    check ((input_kind = 'not_measured') = (not_measured_reason is not null))
);

-- The current content of each methodology: the most recently loaded.
create or replace view ranking_config.current_methodology as
select distinct on (methodology_name) *
from ranking_config.methodology
order by methodology_name, loaded_at desc, content_sha256;
