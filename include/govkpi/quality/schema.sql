-- The quality gate's tables (govkpi.quality.gate). Idempotent: run before every gate run.
create schema if not exists audit;

-- Thresholds the checks read (govkpi.quality.checks.SETTINGS), written from the environment by
-- each gate run, so tuning one needs no change to the committed GX project.
create table if not exists audit.gate_setting (
    name        text        primary key,
    value       numeric     not null,
    description text        not null,
    updated_at  timestamptz not null default now()
);

-- One row per checkpoint run, passed or not: what an operator, the alert and the report read.
create table if not exists audit.gate_result (
    gate_result_id   bigint generated always as identity primary key,
    checkpoint       text        not null,
    stage            text        not null,
    passed           boolean     not null,
    evaluated        integer     not null,
    critical_count   integer     not null,
    warning_count    integer     not null,
    failures         jsonb       not null,  -- [{check, severity, asset, description, bad_rows, sample}]
    settings         jsonb       not null,  -- the thresholds it ran with
    run_context      jsonb       not null default '{}'::jsonb,  -- dag, run id, task when in Airflow
    data_docs_path   text,
    started_at       timestamptz not null,
    finished_at      timestamptz not null default clock_timestamp()
);
create index if not exists gate_result_checkpoint_idx
    on audit.gate_result (checkpoint, finished_at desc);
