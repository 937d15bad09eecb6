{{
    config(
        indexes=[
            {'columns': ['calendar_date'], 'unique': true},
            {'columns': ['working_day_number', 'is_working_day']},
        ]
    )
}}

-- The civil-service working-day calendar (DOMAIN §3). Precedence, as in govkpi.calendar:
-- hand corrections > generated holiday exceptions > the Monday–Friday rule.
with exceptions as (

    select * from {{ ref('vn_calendar_exceptions') }}

),

corrections as (

    select * from {{ ref('calendar_corrections') }}

),

dates as (

    select day::date as calendar_date
    from generate_series(
        date '{{ var("calendar_start_date") }}',
        date '{{ var("calendar_end_date") }}',
        interval '1 day'
    ) as day

),

classified as (

    select
        dates.calendar_date,
        coalesce(
            corrections.is_working_day,
            exceptions.is_working_day,
            extract(isodow from dates.calendar_date) < 6
        ) as is_working_day,
        case
            when corrections.calendar_date is not null then corrections.reason
            when exceptions.calendar_date is not null then exceptions.reason
            when extract(isodow from dates.calendar_date) < 6 then 'weekday'
            else 'weekend'
        end as reason,
        case
            when corrections.calendar_date is not null then corrections.source
            when exceptions.calendar_date is not null then exceptions.source
            -- Decision 188/1999/QĐ-TTg: civil servants work Monday to Friday.
            else 'five-day week'
        end as source
    from dates
    left join exceptions
        on dates.calendar_date = exceptions.calendar_date
    left join corrections
        on dates.calendar_date = corrections.calendar_date

),

numbered as (

    select
        *,
        -- Cumulative count of working days up to and including this date: a working day carries
        -- its own ordinal, a day off the ordinal of the last working day before it.
        count(*) filter (where is_working_day) over (
            order by calendar_date
            rows between unbounded preceding and current row
        )::integer as working_day_number
    from classified

)

select * from numbered
