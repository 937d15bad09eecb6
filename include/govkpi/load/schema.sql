-- Landing and audit schemas owned by the loader. Idempotent: run before every load.
-- Raw tables are append-only: every extracted version of a record lands with its batch id;
-- staging picks the latest version (dbt), so re-ingesting a window never duplicates downstream.
create schema if not exists audit;
create schema if not exists raw_onestop;
create schema if not exists raw_eoffice;
create schema if not exists raw_dvc;

create table if not exists audit.load_batch (
    batch_id          bigint generated always as identity primary key,
    source_system     text        not null,
    endpoint          text        not null,
    window_from       timestamptz,
    window_to         timestamptz,
    started_at        timestamptz not null default now(),
    finished_at       timestamptz,
    status            text        not null default 'running'
        check (status in ('running', 'succeeded', 'failed')),
    received_count    bigint      not null default 0,
    loaded_count      bigint      not null default 0,
    quarantined_count bigint      not null default 0,
    duplicate_count   bigint      not null default 0,
    seconds           numeric(12, 3),
    error             text,
    constraint load_batch_counts_reconcile
        check (status <> 'succeeded' or received_count = loaded_count + quarantined_count)
);

create table if not exists audit.quarantine (
    quarantine_id bigint generated always as identity primary key,
    batch_id      bigint      not null references audit.load_batch (batch_id),
    source_system text        not null,
    endpoint      text        not null,
    record_key    text,
    reason        text        not null,
    payload       jsonb,
    created_at    timestamptz not null default now()
);
-- reference checks ask whether a code exists, loaded or quarantined (the record exists, it was
-- only malformed)
create index if not exists quarantine_key_idx
    on audit.quarantine (source_system, endpoint, record_key);

create table if not exists audit.watermark (
    source_system text        not null,
    endpoint      text        not null,
    watermark     timestamptz not null,
    batch_id      bigint      not null references audit.load_batch (batch_id),
    updated_at    timestamptz not null default now(),
    primary key (source_system, endpoint)
);

-- One table per one-stop endpoint: key columns + the record as sent (personal fields hashed).
create table if not exists raw_onestop.donvi (
    record_key        text        not null,
    source_updated_at timestamptz,
    payload           jsonb       not null,
    batch_id          bigint      not null,
    loaded_at         timestamptz not null default now()
);
create table if not exists raw_onestop.thutuc (like raw_onestop.donvi including all);
create table if not exists raw_onestop.hoso (like raw_onestop.donvi including all);

create index if not exists donvi_key_idx on raw_onestop.donvi (record_key, source_updated_at);
create index if not exists thutuc_key_idx on raw_onestop.thutuc (record_key, source_updated_at);
create index if not exists hoso_key_idx on raw_onestop.hoso (record_key, source_updated_at);
-- The versions of the newest batches (the incremental dbt models' changed dossiers) without
-- reading the table: batch ids grow with the load order, which BRIN summarises in a few pages.
-- Each load summarises the ranges it appended (load/raw.py): an unsummarised range matches
-- every scan, and a table loaded after this index was made would be read whole.
create index if not exists hoso_batch_idx on raw_onestop.hoso using brin (batch_id);

-- One table per e-office and portal endpoint, the same shape.
create table if not exists raw_eoffice.documents
    (like raw_onestop.donvi including all excluding indexes);
create table if not exists raw_dvc.services
    (like raw_onestop.donvi including all excluding indexes);
create table if not exists raw_dvc.submissions
    (like raw_onestop.donvi including all excluding indexes);
create table if not exists raw_dvc.payments
    (like raw_onestop.donvi including all excluding indexes);
create table if not exists raw_dvc.ratings
    (like raw_onestop.donvi including all excluding indexes);

create index if not exists documents_key_idx
    on raw_eoffice.documents (record_key, source_updated_at);
-- the newest batches' documents (stg_eoffice__documents restages them), as hoso_batch_idx
create index if not exists documents_batch_idx on raw_eoffice.documents using brin (batch_id);
create index if not exists services_key_idx on raw_dvc.services (record_key, source_updated_at);
create index if not exists submissions_key_idx
    on raw_dvc.submissions (record_key, source_updated_at);
create index if not exists payments_key_idx on raw_dvc.payments (record_key, source_updated_at);
create index if not exists ratings_key_idx on raw_dvc.ratings (record_key, source_updated_at);

-- Self-assessment returns (SOURCES.md §4), loaded by govkpi/load/assessments.py.
create schema if not exists raw_files;
-- one row per good item row of a return, the same shape as every raw table:
-- record_key "<year>/<unit>/<item>", source_updated_at = when this file content was first seen,
-- payload {ma_don_vi, nam, ma_tieu_chi, gia_tri (typed), minh_chung, file, sheet, row,
-- file_sha256}
create table if not exists raw_files.assessment_returns
    (like raw_onestop.donvi including all excluding indexes);
create index if not exists assessment_returns_key_idx
    on raw_files.assessment_returns (record_key, source_updated_at);
-- who submitted what: one row per file read (its content hash makes re-loads skip it) and one
-- 'not_submitted' row per expected unit and year with no file; append-only, like raw tables
create table if not exists raw_files.assessment_files (
    file_id          bigint generated always as identity primary key,
    batch_id         bigint      not null references audit.load_batch (batch_id),
    path             text,          -- relative to the drop folder: "<year>/<unit code>.xlsx"
    unit_code        text,
    year             integer,
    format           text,
    sha256           text,
    bytes            bigint,
    file_modified_at timestamptz,
    first_seen_at    timestamptz not null,
    status           text        not null
        check (status in ('loaded', 'loaded_with_errors', 'rejected', 'not_submitted')),
    rows_received    integer     not null default 0,
    rows_loaded      integer     not null default 0,
    problems         integer     not null default 0,
    reason           text,          -- why a rejected file was rejected
    loaded_at        timestamptz not null default now()
);
create index if not exists assessment_files_sha_idx on raw_files.assessment_files (path, sha256);
create index if not exists assessment_files_unit_idx
    on raw_files.assessment_files (year, unit_code, file_id);
-- the current state per (year, unit): its latest file, or not_submitted. A unit is assessed
-- for a year when its status is loaded or loaded_with_errors (a missing item is then scored as
-- unanswered); not_submitted and rejected mean not assessed. Created once (not "or replace":
-- loaders run this file concurrently); to change it, drop it in the same change.
do $$
begin
    if to_regclass('raw_files.assessment_file_status') is null then
        create view raw_files.assessment_file_status as
        select distinct on (year, unit_code)
               year, unit_code, status, path, sha256, rows_loaded, problems, reason,
               first_seen_at, batch_id
        from raw_files.assessment_files
        where unit_code is not null and year is not null
        order by year, unit_code, (status <> 'not_submitted') desc, file_id desc;
    end if;
end
$$;
