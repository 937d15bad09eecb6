{{
    config(
        indexes=[
            {'columns': ['dossier_code', 'period_year'], 'unique': true},
            {'columns': ['unit_code', 'period_year']},
            {'columns': ['procedure_code', 'period_year']},
        ]
    )
}}

-- One row per dossier and calendar year, from the year of receipt through the year it finished
-- (or the latest year in the data while unfinished), classified at the end of that year by the
-- national portal's rules (DOMAIN §3). All dates are local (Asia/Ho_Chi_Minh).
with dossiers as (

    select * from {{ ref('stg_onestop__dossiers') }}

),

procedures as (

    select * from {{ ref('stg_onestop__procedures') }}

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

dossiers_with_processing_time as (

    select
        dossiers.dossier_code,
        dossiers.unit_code,
        dossiers.procedure_code,
        dossiers.received_at,
        dossiers.source_due_at,
        -- End of processing: processed, returned, stopped, refused or withdrawn (statuses 4–8).
        case
            when dossiers.status_code between 4 and 8
                then coalesce(dossiers.processing_ended_at, dossiers.result_returned_at)
        end as finished_at,
        procedures.processing_time_amount,
        procedures.processing_time_unit
    from dossiers
    left join procedures
        on dossiers.procedure_code = procedures.procedure_code

),

dossiers_with_legal_due_date as (

    {{ select_with_legal_due_date('dossiers_with_processing_time', 'calendar') }}

),

dossier_dates as (

    select
        dossier_code,
        unit_code,
        procedure_code,
        received_at,
        legal_due_date,
        -- Unknown procedure (no legal processing time): fall back to the date the source promised.
        coalesce(legal_due_date, {{ to_local_date('source_due_at') }}) as due_date,
        finished_at,
        {{ to_local_date('finished_at') }} as finished_date,
        extract(year from {{ to_local_date('received_at') }})::integer as received_year,
        extract(year from {{ to_local_date('finished_at') }})::integer as finished_year
    from dossiers_with_legal_due_date

),

data_horizon as (

    select max(greatest(received_year, finished_year)) as last_year
    from dossier_dates

),

dossier_years as (

    select
        dossier_dates.*,
        period_year::integer as period_year,
        make_date(period_year::integer, 1, 1) as period_start,
        make_date(period_year::integer, 12, 31) as period_end
    from dossier_dates
    cross join data_horizon
    cross join lateral generate_series(
        dossier_dates.received_year,
        greatest(
            dossier_dates.received_year,
            coalesce(dossier_dates.finished_year, data_horizon.last_year)
        )
    ) as period_year

),

classified as (

    select
        dossier_code,
        unit_code,
        procedure_code,
        period_year,
        period_start,
        period_end,
        received_at,
        legal_due_date,
        due_date,
        finished_at,
        received_year = period_year as is_received_in_period,
        coalesce(finished_year = period_year, false) as is_finished_in_period,
        case
            when due_date is null then null
            when finished_date <= period_end
                then case when finished_date <= due_date then 'on_time' else 'late' end
            when period_end <= due_date then 'pending_within_deadline'
            else 'overdue'
        end as deadline_class
    from dossier_years

)

select * from classified
