{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dossier_code',
        on_schema_change='fail',
        pre_hook='{{ incremental_run_settings() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['dossier_code', 'version_number'], 'unique': true},
            {'columns': ['batch_id']},
            {'columns': ['refreshed_at']},
            {'columns': ['procedure_code']},
        ]
    )
}}

{#- Joined as a table (not a CTE) so the calendar's indexes serve the date lookups. -#}
{% set calendar = ref('dim_calendar') %}

-- The due dates of each dossier under the two supplement conventions (DOMAIN §3), one row per
-- version: version 0 from receipt, version k from the arrival of the complete dossier after the
-- k-th supplement request. A version applies from its clock_restart_date on, so a pending dossier
-- is classified at a period end by the version in force then.
--   law (Decree 61/2018 art. 15 as amended): the clock restarts when the complete dossier
--     arrives: due = the full processing time counted from that arrival (15:00 rule included);
--   portal (national portal): the supplement interval is subtracted: due = the receipt-based due
--     date moved by the working days between each request and the arrival of the complete dossier.
-- Incremental (delete+insert on dossier_code): a run recomputes every version of the dossiers
-- with a version loaded since the newest batch seen here, and of the dossiers of a procedure
-- loaded since then (its processing time may have changed). batch_id is the newer of the
-- dossier's and its procedure's batch. A change of the holiday calendar needs --full-refresh.
-- The post-hook analyzes the table: the next models plan (and the next run deletes) on fresh
-- statistics, not on those of an empty table.
with procedures as (

    select * from {{ ref('stg_onestop__procedures') }}

),

{% if is_incremental() %}
changed_dossiers as (

    {{ changed_dossier_codes(this) }}

    union

    select seen.dossier_code
    from {{ this }} as seen
    where seen.procedure_code in (
        select procedures.procedure_code
        from procedures
        where procedures.batch_id > {{ incremental_cursor('batch_id') }}
    )

),
{% endif %}

dossiers as (

    {% if is_incremental() -%}
    {{ staged_dossiers_with_codes('select distinct record_key from changed_dossiers') }}
    {%- else -%}
    select * from {{ ref('stg_onestop__dossiers') }}
    {%- endif %}

),

supplement_requests as (

    select * from {{ ref('int_dossier_supplement_requests') }}
    {% if is_incremental() %}
    where dossier_code in (select dossiers.dossier_code from dossiers)
    {% endif %}

),

dossiers_with_processing_time as (

    select
        dossiers.dossier_code,
        dossiers.procedure_code,
        greatest(dossiers.batch_id, procedures.batch_id) as batch_id,
        dossiers.received_at,
        dossiers.source_due_at,
        procedures.processing_time_amount,
        procedures.processing_time_unit
    from dossiers
    left join procedures
        on dossiers.procedure_code = procedures.procedure_code

),

dossiers_with_legal_due_date as (

    {{ select_with_legal_due_date('dossiers_with_processing_time', calendar) }}

),

receipt_versions as (

    select
        dossier_code,
        procedure_code,
        batch_id,
        processing_time_amount,
        processing_time_unit,
        received_at,
        effective_receipt_date,
        legal_due_date,
        -- Unknown procedure (no legal processing time): fall back to the date the source promised.
        coalesce(legal_due_date, {{ to_local_date('source_due_at') }}) as receipt_due_date
    from dossiers_with_legal_due_date

),

-- Working days each wait took: the ordinal of the day it ended minus that of the request day.
closed_waits as (

    select
        supplement_requests.dossier_code,
        supplement_requests.request_number,
        supplement_requests.supplement_received_at,
        sum(wait_end_day.working_day_number - request_day.working_day_number) over (
            partition by supplement_requests.dossier_code
            order by supplement_requests.request_number
        ) as cumulative_wait_working_days
    from supplement_requests
    {{ join_calendar_date(
        calendar, 'request_day', to_local_date('supplement_requests.requested_at')
    ) }}
    {{ join_calendar_date(
        calendar, 'wait_end_day', to_local_date('supplement_requests.wait_ended_at')
    ) }}
    where supplement_requests.wait_ended_at is not null

),

restarts as (

    select
        closed_waits.dossier_code,
        closed_waits.request_number,
        closed_waits.supplement_received_at,
        closed_waits.cumulative_wait_working_days,
        receipt_versions.procedure_code,
        receipt_versions.batch_id,
        receipt_versions.processing_time_amount,
        receipt_versions.processing_time_unit,
        receipt_versions.receipt_due_date
    from closed_waits
    inner join receipt_versions
        on closed_waits.dossier_code = receipt_versions.dossier_code
    where closed_waits.supplement_received_at is not null

),

restarts_with_legal_due_date as (

    {{ select_with_legal_due_date('restarts', calendar, received_at='supplement_received_at') }}

),

restart_versions as (

    select
        restarts.dossier_code,
        restarts.request_number as version_number,
        restarts.supplement_received_at as clock_restarted_at,
        restarts.effective_receipt_date as clock_effective_date,
        restarts.legal_due_date,
        coalesce(restarts.legal_due_date, restarts.receipt_due_date) as due_date,
        case
            when restarts.cumulative_wait_working_days = 0 then restarts.receipt_due_date
            else portal_due_day.calendar_date
        end as due_date_portal,
        restarts.cumulative_wait_working_days,
        restarts.procedure_code,
        restarts.batch_id
    from restarts_with_legal_due_date as restarts
    {{ join_calendar_date(calendar, 'receipt_due_day', 'restarts.receipt_due_date') }}
    {{ join_add_working_days(
        calendar,
        'portal_due_day',
        'receipt_due_day.working_day_number',
        'restarts.cumulative_wait_working_days'
    ) }}

),

versions as (

    select
        dossier_code,
        0 as version_number,
        received_at as clock_restarted_at,
        effective_receipt_date as clock_effective_date,
        legal_due_date,
        receipt_due_date as due_date,
        receipt_due_date as due_date_portal,
        0::bigint as cumulative_wait_working_days,
        procedure_code,
        batch_id
    from receipt_versions

    union all

    select * from restart_versions

)

select
    dossier_code,
    version_number,
    clock_restarted_at,
    {{ to_local_date('clock_restarted_at') }} as clock_restart_date,
    clock_effective_date,
    legal_due_date,
    due_date,
    due_date_portal,
    cumulative_wait_working_days,
    procedure_code,
    batch_id,
    -- when this run wrote the row: the data tests check the latest refresh (macro
    -- get_where_subquery)
    '{{ run_started_at }}'::timestamptz as refreshed_at
from versions
