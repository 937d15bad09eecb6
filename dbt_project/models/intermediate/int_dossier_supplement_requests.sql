{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='dossier_code',
        on_schema_change='fail',
        pre_hook='{{ incremental_run_settings() }}',
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['dossier_code', 'request_number'], 'unique': true},
            {'columns': ['batch_id']},
            {'columns': ['refreshed_at']},
        ]
    )
}}

-- One row per supplement request (yêu cầu bổ sung), unnested from the processing history
-- (QuaTrinhXuLy). A request starts when the status enters 3 (apology letters written during the
-- wait repeat status 3 and are not new requests); the wait ends at the next event with another
-- status: "Nhận hồ sơ bổ sung" (the complete dossier arrived, DOMAIN §3) or an end of processing
-- (withdrawn, refused, stopped: the complete dossier never arrived).
-- Incremental: a run recomputes every request of the dossiers with a version loaded since the
-- newest batch seen here (delete+insert on dossier_code, so a request that disappeared goes too).
-- The post-hook analyzes the table: the next models plan (and the next run deletes) on fresh
-- statistics, not on those of an empty table.
with dossiers as (

    {% if is_incremental() -%}
    {{ staged_dossiers_with_codes(changed_dossier_codes(this)) }}
    {%- else -%}
    select * from {{ ref('stg_onestop__dossiers') }}
    {%- endif %}

),

events as (

    select
        dossiers.dossier_code,
        dossiers.batch_id,
        history.event_number,
        (history.event ->> 'ThoiDiem')::timestamptz as event_at,
        (history.event ->> 'TrangThai')::integer as status_code
    from dossiers
    cross join lateral jsonb_array_elements(dossiers.processing_events)
        with ordinality as history (event, event_number)

),

sequenced as (

    select
        *,
        lag(status_code) over (
            partition by dossier_code order by event_at, event_number
        ) as previous_status_code,
        row_number() over (
            partition by dossier_code order by event_at, event_number
        ) as event_sequence
    from events

),

-- The first later event with another status than 3 ends the wait (window functions, no
-- per-request lookups).
with_wait_end as (

    select
        *,
        min(event_sequence) filter (where status_code <> 3) over (
            partition by dossier_code
            order by event_sequence
            rows between 1 following and unbounded following
        ) as wait_end_sequence
    from sequenced

),

requests as (

    select
        dossier_code,
        batch_id,
        event_sequence,
        event_at as requested_at,
        wait_end_sequence
    from with_wait_end
    where status_code = 3
        and previous_status_code is distinct from 3

),

waits as (

    select
        requests.dossier_code,
        requests.batch_id,
        row_number() over (
            partition by requests.dossier_code order by requests.event_sequence
        )::integer as request_number,
        requests.requested_at,
        wait_end.event_at as wait_ended_at,
        wait_end.status_code as wait_end_status_code
    from requests
    left join sequenced as wait_end
        on requests.dossier_code = wait_end.dossier_code
        and requests.wait_end_sequence = wait_end.event_sequence

)

select
    dossier_code,
    request_number,
    requested_at,
    wait_ended_at,
    -- Statuses 4–8 end processing; any other status after the wait means the dossier was complete.
    case
        when wait_end_status_code not between 4 and 8 then wait_ended_at
    end as supplement_received_at,
    coalesce(wait_end_status_code between 4 and 8, false) as ended_during_wait,
    batch_id,
    -- when this run wrote the row: the data tests check the latest refresh (macro
    -- get_where_subquery)
    '{{ run_started_at }}'::timestamptz as refreshed_at
from waits
