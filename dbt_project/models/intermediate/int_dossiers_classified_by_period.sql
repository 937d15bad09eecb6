{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dossier_code',
        on_schema_change='fail',
        pre_hook='{{ incremental_run_settings() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['dossier_code', 'period_grain', 'period_start'], 'unique': true},
            {'columns': ['contribution_batch_id']},
            {'columns': ['refreshed_at']},
            {'columns': ['period_grain', 'period_start', 'unit_code']},
        ]
    )
}}

-- One row per dossier, period grain (month, quarter, year) and period, from the period of
-- receipt through the period it finished (or, while unfinished, the latest period in the data),
-- classified at the period end by the national portal's definitions (DOMAIN §3) under both
-- supplement conventions. A pending dossier is judged by what was known at the period end: the
-- due-date version in force then, the supplement requests made by then, and whether it was
-- waiting for the citizen then (the clock stands still: pending within deadline).
-- Incremental (delete+insert on dossier_code): a run recomputes every period of the dossiers
-- changed since the newest batch seen here, and of every unfinished dossier, the only ones whose
-- periods depend on the data horizon (they run to the latest period in the data). The periods of
-- a finished, unchanged dossier never change.
-- contribution_batch_id is the cursor of int_dossier_resolution_kpis: the newest batch_id of
-- int_dossiers_with_deadlines_and_outcomes (the "watermark") when what the row adds to
-- its period's KPIs last changed (kept from the previous row when a recomputed row contributes
-- the same): int_dossier_resolution_kpis recomputes only the periods holding such rows.
-- The post-hook analyzes the table: the next models plan (and the next run deletes) on fresh
-- statistics, not on those of an empty table.
{%- set raw_watermark -%}
    (select coalesce(max(watermark.batch_id), 0) from all_dossiers as watermark)
{%- endset %}
-- Not materialized: every reference reads the table itself, through its indexes.
with all_dossiers as not materialized (

    select * from {{ ref('int_dossiers_with_deadlines_and_outcomes') }}

),

dossiers as (

    select * from all_dossiers
    {% if is_incremental() %}
    where all_dossiers.finished_at is null
        or all_dossiers.batch_id > {{ incremental_cursor('batch_id') }}
    {% endif %}

),

due_date_versions as (

    select * from {{ ref('int_dossier_due_dates') }}

),

supplement_requests as (

    select
        dossier_code,
        {{ to_local_date('requested_at') }} as requested_date,
        {{ to_local_date('wait_ended_at') }} as wait_ended_date
    from {{ ref('int_dossier_supplement_requests') }}

),

data_horizon as (

    select max(greatest(received_date, finished_date)) as last_date
    from all_dossiers

),

grains (period_grain, period_length) as (

    values
        ('month', interval '1 month'),
        ('quarter', interval '3 months'),
        ('year', interval '1 year')

),

dossier_periods as (

    select
        dossiers.*,
        grains.period_grain,
        periods.period_start::date as period_start,
        (periods.period_start + grains.period_length - interval '1 day')::date as period_end
    from dossiers
    cross join data_horizon
    cross join grains
    cross join lateral generate_series(
        date_trunc(grains.period_grain, dossiers.received_date::timestamp),
        date_trunc(
            grains.period_grain,
            greatest(
                dossiers.received_date,
                coalesce(dossiers.finished_date, data_horizon.last_date)
            )::timestamp
        ),
        grains.period_length
    ) as periods (period_start)

),

known_at_period_end as (

    select
        dossier_periods.*,
        coalesce(finished_date <= period_end, false) as is_finished_by_period_end,
        version_in_force.due_date as due_date_at_period_end,
        version_in_force.due_date_portal as due_date_portal_at_period_end,
        coalesce(requests_by_then.request_count, 0) as supplement_requests_by_period_end,
        coalesce(requests_by_then.is_waiting, false) as is_awaiting_supplement_at_period_end
    from dossier_periods
    left join lateral (
        select
            due_date_versions.due_date,
            due_date_versions.due_date_portal
        from due_date_versions
        where due_date_versions.dossier_code = dossier_periods.dossier_code
            and due_date_versions.clock_restart_date <= dossier_periods.period_end
        order by due_date_versions.version_number desc
        limit 1
    ) as version_in_force on true
    left join lateral (
        select
            count(*) as request_count,
            bool_or(
                supplement_requests.wait_ended_date is null
                or supplement_requests.wait_ended_date > dossier_periods.period_end
            ) as is_waiting
        from supplement_requests
        where supplement_requests.dossier_code = dossier_periods.dossier_code
            and supplement_requests.requested_date <= dossier_periods.period_end
    ) as requests_by_then on true

),

classified as (

    select
        dossier_code,
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        period_end,
        extract(year from period_start)::integer as period_year,
        extract(quarter from period_start)::integer as period_quarter,
        extract(month from period_start)::integer as period_month,
        received_at,
        finished_at,
        outcome,
        date_trunc(period_grain, received_date::timestamp)::date = period_start
            as is_received_in_period,
        coalesce(finished_date between period_start and period_end, false)
            as is_finished_in_period,
        -- Finished: classified once and for all at the end of processing. Pending: judged at
        -- the period end; a dossier waiting for the citizen's supplement is within deadline.
        case when is_finished_by_period_end then due_date else due_date_at_period_end end
            as due_date,
        case
            when is_finished_by_period_end then due_date_portal
            else due_date_portal_at_period_end
        end as due_date_portal,
        case
            when is_finished_by_period_end
                then case is_late when true then 'late' when false then 'on_time' end
            when due_date_at_period_end is null then null
            when is_awaiting_supplement_at_period_end then 'pending_within_deadline'
            when period_end <= due_date_at_period_end then 'pending_within_deadline'
            else 'overdue'
        end as deadline_class,
        case
            when is_finished_by_period_end
                then case is_late_portal when true then 'late' when false then 'on_time' end
            when due_date_portal_at_period_end is null then null
            -- Portal: more than one supplement request counts as late.
            when supplement_requests_by_period_end > 1 then 'overdue'
            when is_awaiting_supplement_at_period_end then 'pending_within_deadline'
            when period_end <= due_date_portal_at_period_end then 'pending_within_deadline'
            else 'overdue'
        end as deadline_class_portal,
        supplement_request_count,
        is_refused,
        is_withdrawn,
        apology_letter_count,
        has_timely_apology_letter,
        has_timely_apology_letter_portal,
        processing_working_days,
        processing_working_days_portal,
        batch_id
    from known_at_period_end

),

-- What a row adds to its period's KPIs (int_dossier_resolution_kpis counts nothing else).
final as (

    select
        classified.*,
        {% if is_incremental() -%}
        case
            when (
                classified.unit_code, classified.procedure_code,
                classified.is_received_in_period, classified.is_finished_in_period,
                classified.deadline_class, classified.deadline_class_portal,
                classified.supplement_request_count, classified.is_refused,
                classified.is_withdrawn, classified.apology_letter_count,
                classified.has_timely_apology_letter, classified.has_timely_apology_letter_portal,
                classified.processing_working_days, classified.processing_working_days_portal
            ) is not distinct from (
                previous.unit_code, previous.procedure_code,
                previous.is_received_in_period, previous.is_finished_in_period,
                previous.deadline_class, previous.deadline_class_portal,
                previous.supplement_request_count, previous.is_refused,
                previous.is_withdrawn, previous.apology_letter_count,
                previous.has_timely_apology_letter, previous.has_timely_apology_letter_portal,
                previous.processing_working_days, previous.processing_working_days_portal
            ) then previous.contribution_batch_id
            else {{ raw_watermark }}
        end as contribution_batch_id,
        {%- else -%}
        {{ raw_watermark }} as contribution_batch_id,
        {%- endif %}
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from classified
    {% if is_incremental() -%}
    -- one probe of the unique index per recomputed row (OFFSET 0 keeps it a probe: the planner
    -- would otherwise hash the whole table for a join it cannot size)
    left join lateral (
        select *
        from {{ this }} as existing
        where existing.dossier_code = classified.dossier_code
            and existing.period_grain = classified.period_grain
            and existing.period_start = classified.period_start
        offset 0
    ) as previous on true
    {%- endif %}

)

select * from final
