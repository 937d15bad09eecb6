{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dossier_code',
        on_schema_change='fail',
        pre_hook='{{ incremental_run_settings() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['dossier_code'], 'unique': true},
            {'columns': ['batch_id']},
            {'columns': ['refreshed_at']},
            {'columns': ['finished_at']},
            {'columns': ['unit_code']},
            {'columns': ['procedure_code']},
        ]
    )
}}

{#- Joined as a table (not a CTE) so the calendar's indexes serve the date lookups. -#}
{% set calendar = ref('dim_calendar') %}

-- One row per dossier: its due dates under both supplement conventions, supplement requests,
-- outcome, apology letters and processing time (DOMAIN §3). Dates are local (Asia/Ho_Chi_Minh).
-- Incremental (delete+insert on dossier_code): a run recomputes the dossiers whose due dates were
-- recomputed since the newest batch seen here (int_dossier_due_dates: a new version of the
-- dossier or of its procedure); batch_id, the newer of the two batches, is the cursor of the
-- models built from this one.
-- The post-hook analyzes the table: the next models plan (and the next run deletes) on fresh
-- statistics, not on those of an empty table.
with dossiers as (

    {% if is_incremental() -%}
    {{ staged_dossiers_with_codes(
        "select changed.dossier_code from " ~ ref('int_dossier_due_dates') ~ " as changed"
        ~ " where changed.version_number = 0 and changed.batch_id > " ~ incremental_cursor('batch_id')
    ) }}
    {%- else -%}
    select * from {{ ref('stg_onestop__dossiers') }}
    {%- endif %}

),

-- not materialized: read twice below, a materialized CTE would hide the table's statistics
-- (the planner then guesses 200 dossiers for latest_version and nests loops over 200,000)
due_date_versions as not materialized (

    select * from {{ ref('int_dossier_due_dates') }}
    {% if is_incremental() %}
    where dossier_code in (select dossiers.dossier_code from dossiers)
    {% endif %}

),

supplement_requests as (

    select * from {{ ref('int_dossier_supplement_requests') }}
    {% if is_incremental() %}
    where dossier_code in (select dossiers.dossier_code from dossiers)
    {% endif %}

),

receipt_version as (

    select * from due_date_versions where version_number = 0

),

latest_version as (

    select distinct on (dossier_code) *
    from due_date_versions
    order by dossier_code, version_number desc

),

supplements as (

    select
        supplement_requests.dossier_code,
        count(*) as supplement_request_count,
        bool_or(supplement_requests.ended_during_wait) as ended_during_supplement_wait,
        coalesce(sum(wait_end_day.working_day_number - request_day.working_day_number), 0)
            as supplement_wait_working_days
    from supplement_requests
    {{ join_calendar_date(
        calendar, 'request_day', to_local_date('supplement_requests.requested_at')
    ) }}
    {{ join_calendar_date(
        calendar, 'wait_end_day', to_local_date('supplement_requests.wait_ended_at')
    ) }}
    group by supplement_requests.dossier_code

),

dossier_facts as (

    select
        dossiers.dossier_code,
        dossiers.unit_code,
        dossiers.procedure_code,
        dossiers.received_at,
        {{ to_local_date('dossiers.received_at') }} as received_date,
        receipt_version.clock_effective_date as effective_receipt_date,
        receipt_version.legal_due_date,
        receipt_version.due_date as receipt_due_date,
        latest_version.clock_effective_date as clock_effective_date,
        latest_version.due_date,
        -- End of processing: processed, returned, stopped, refused or withdrawn (statuses 4–8).
        case
            when dossiers.status_code between 4 and 8
                then coalesce(dossiers.processing_ended_at, dossiers.result_returned_at)
        end as finished_at,
        case dossiers.status_code
            when 4 then 'processed'
            when 5 then 'returned'
            when 6 then 'stopped'
            when 7 then 'refused'
            when 8 then 'withdrawn'
        end as outcome,
        coalesce(supplements.supplement_request_count, 0) as supplement_request_count,
        coalesce(supplements.supplement_wait_working_days, 0) as supplement_wait_working_days,
        coalesce(supplements.ended_during_supplement_wait, false) as ended_during_supplement_wait,
        dossiers.apology_letters,
        jsonb_array_length(dossiers.apology_letters) as apology_letter_count,
        receipt_version.batch_id
    from dossiers
    inner join receipt_version
        on dossiers.dossier_code = receipt_version.dossier_code
    inner join latest_version
        on dossiers.dossier_code = latest_version.dossier_code
    left join supplements
        on dossiers.dossier_code = supplements.dossier_code

),

with_portal_due_date as (

    select
        dossier_facts.*,
        {{ to_local_date('dossier_facts.finished_at') }} as finished_date,
        -- Portal: every wait for the citizen, including one ended by withdrawal, moves the due date.
        case
            when dossier_facts.supplement_wait_working_days = 0 then dossier_facts.receipt_due_date
            else portal_due_day.calendar_date
        end as due_date_portal
    from dossier_facts
    {{ join_calendar_date(calendar, 'receipt_due_day', 'dossier_facts.receipt_due_date') }}
    {{ join_add_working_days(
        calendar,
        'portal_due_day',
        'receipt_due_day.working_day_number',
        'dossier_facts.supplement_wait_working_days'
    ) }}

),

classified as (

    select
        dossier.dossier_code,
        dossier.unit_code,
        dossier.procedure_code,
        dossier.received_at,
        dossier.received_date,
        dossier.effective_receipt_date,
        dossier.legal_due_date,
        dossier.receipt_due_date,
        dossier.clock_effective_date,
        dossier.due_date,
        dossier.due_date_portal,
        dossier.supplement_request_count,
        dossier.supplement_wait_working_days,
        dossier.ended_during_supplement_wait,
        dossier.finished_at,
        dossier.finished_date,
        dossier.outcome,
        dossier.finished_at is not null as is_finished,
        coalesce(dossier.outcome = 'refused', false) as is_refused,
        coalesce(dossier.outcome = 'withdrawn', false) as is_withdrawn,
        -- Law: the clock stands still while the citizen supplements; a dossier that ends during
        -- that wait (withdrawn, refused, stopped) cannot be late.
        case
            when dossier.finished_at is null or dossier.due_date is null then null
            when dossier.ended_during_supplement_wait then false
            else dossier.finished_date > dossier.due_date
        end as is_late,
        -- Portal: more than one supplement request counts as late.
        case
            when dossier.finished_at is null or dossier.due_date_portal is null then null
            else dossier.supplement_request_count > 1
                or dossier.finished_date > dossier.due_date_portal
        end as is_late_portal,
        dossier.apology_letter_count,
        coalesce(timely_letters.has_timely_apology_letter, false) as has_timely_apology_letter,
        coalesce(timely_letters.has_timely_apology_letter_portal, false)
            as has_timely_apology_letter_portal,
        -- Working days from the effective start to the end of processing (0 = the same day).
        -- Law: from the effective arrival of the complete dossier; portal: from the effective
        -- receipt, minus the working days spent waiting for supplements.
        case
            when dossier.finished_at is not null and not dossier.ended_during_supplement_wait
                then greatest(0, finished_day.working_day_number - clock_day.working_day_number)
        end as processing_working_days,
        case
            when dossier.finished_at is not null
                then greatest(
                    0,
                    finished_day.working_day_number - receipt_day.working_day_number
                    - dossier.supplement_wait_working_days
                )
        end as processing_working_days_portal,
        dossier.batch_id,
        -- when this run wrote the row: the data tests check the latest refresh (macro
        -- get_where_subquery)
        '{{ run_started_at }}'::timestamptz as refreshed_at
    from with_portal_due_date as dossier
    -- Decree 61/2018 art. 19: the letter is due at least one day before the deadline. One
    -- aggregate row per dossier, computed beside it (joining a separate per-letter CTE made the
    -- planner hash the dossiers on a row estimate off by a factor of thousands).
    left join lateral (
        select
            bool_or(
                {{ to_local_date("(letter ->> 'NgayLap')::timestamptz") }} < dossier.due_date
            ) as has_timely_apology_letter,
            bool_or(
                {{ to_local_date("(letter ->> 'NgayLap')::timestamptz") }}
                < dossier.due_date_portal
            ) as has_timely_apology_letter_portal
        from jsonb_array_elements(dossier.apology_letters) as letter
    ) as timely_letters on true
    {{ join_calendar_date(calendar, 'finished_day', 'dossier.finished_date') }}
    {{ join_calendar_date(calendar, 'clock_day', 'dossier.clock_effective_date') }}
    {{ join_calendar_date(calendar, 'receipt_day', 'dossier.effective_receipt_date') }}

)

select * from classified
