{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dossier_code',
        on_schema_change='fail',
        pre_hook='{{ incremental_run_settings() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['dossier_code', 'period_year'], 'unique': true},
            {'columns': ['batch_id']},
            {'columns': ['refreshed_at']},
            {'columns': ['unit_code', 'period_year']},
            {'columns': ['procedure_code', 'period_year']},
        ]
    )
}}

-- The calendar-year rows of int_dossiers_classified_by_period with the law convention's due
-- date and class: one row per dossier and year (kept for the yearly reports and checks).
-- Incremental like int_dossiers_classified_by_period: the dossiers changed since the newest batch
-- seen here and every unfinished dossier are recomputed (delete+insert on dossier_code).
-- The post-hook analyzes the table: the next models plan (and the next run deletes) on fresh
-- statistics, not on those of an empty table.
with dossier_periods as (

    select * from {{ ref('int_dossiers_classified_by_period') }}

),

dossiers as (

    select * from {{ ref('int_dossiers_with_deadlines_and_outcomes') }} as all_dossiers
    {% if is_incremental() %}
    where all_dossiers.finished_at is null
        or all_dossiers.batch_id > {{ incremental_cursor('batch_id') }}
    {% endif %}

)

select
    dossier_periods.dossier_code,
    dossier_periods.unit_code,
    dossier_periods.procedure_code,
    dossier_periods.period_year,
    dossier_periods.period_start,
    dossier_periods.period_end,
    dossier_periods.received_at,
    dossiers.legal_due_date,
    dossier_periods.due_date,
    dossier_periods.due_date_portal,
    dossier_periods.finished_at,
    dossier_periods.is_received_in_period,
    dossier_periods.is_finished_in_period,
    dossier_periods.deadline_class,
    dossier_periods.deadline_class_portal,
    dossiers.batch_id,
    -- when this run wrote the row: the data tests check the latest refresh (macro
    -- get_where_subquery)
    '{{ run_started_at }}'::timestamptz as refreshed_at
from dossier_periods
inner join dossiers
    on dossier_periods.dossier_code = dossiers.dossier_code
where dossier_periods.period_grain = 'year'
