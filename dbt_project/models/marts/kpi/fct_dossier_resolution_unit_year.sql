{{
    config(
        indexes=[
            {'columns': ['unit_code', 'period_year'], 'unique': true},
            {'columns': ['period_year']},
        ]
    )
}}

-- Dossier resolution KPIs per unit and year (DOMAIN §4 OS-1a, OS-1b, OS-2), kept as numerator and
-- denominator. Every department, district and commune that existed in a year gets a row, with
-- zeros and NULL rates when it had no dossiers.
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

dossier_years as (

    select * from {{ ref('int_dossiers_classified_by_deadline') }}

),

years as (

    select distinct period_year
    from dossier_years
    where is_received_in_period

),

unit_years as (

    select
        units.unit_code,
        years.period_year
    from units
    inner join years
        on units.valid_from <= make_date(years.period_year, 12, 31)
        and (units.valid_to is null or units.valid_to >= make_date(years.period_year, 1, 1))
    where units.unit_level in (2, 3, 4)

),

counts as (

    select
        unit_code,
        period_year,
        count(*) filter (where is_received_in_period) as received_count,
        count(*) filter (where is_finished_in_period) as finished_count,
        count(*) filter (
            where is_finished_in_period and deadline_class = 'on_time'
        ) as finished_on_time_count,
        count(*) filter (
            where is_finished_in_period and deadline_class = 'late'
        ) as finished_late_count,
        count(*) filter (
            where deadline_class in ('pending_within_deadline', 'overdue')
        ) as pending_at_end_count,
        count(*) filter (
            where deadline_class = 'pending_within_deadline'
        ) as pending_within_deadline_count,
        count(*) filter (where deadline_class = 'overdue') as overdue_count
    from dossier_years
    group by unit_code, period_year

),

filled as (

    select
        unit_years.unit_code,
        unit_years.period_year,
        coalesce(counts.received_count, 0) as received_count,
        coalesce(counts.finished_count, 0) as finished_count,
        coalesce(counts.finished_on_time_count, 0) as finished_on_time_count,
        coalesce(counts.finished_late_count, 0) as finished_late_count,
        coalesce(counts.pending_at_end_count, 0) as pending_at_end_count,
        coalesce(counts.pending_within_deadline_count, 0) as pending_within_deadline_count,
        coalesce(counts.overdue_count, 0) as overdue_count
    from unit_years
    left join counts
        on unit_years.unit_code = counts.unit_code
        and unit_years.period_year = counts.period_year

),

kpis as (

    select
        unit_code,
        period_year,
        received_count,
        finished_count,
        finished_on_time_count,
        finished_late_count,
        pending_at_end_count,
        pending_within_deadline_count,
        overdue_count,
        -- OS-1a, resolved basis: finished on time / finished in the period.
        finished_on_time_count as os1a_numerator,
        finished_count as os1a_denominator,
        {{ safe_divide('finished_on_time_count', 'finished_count') }} as os1a_on_time_rate,
        -- OS-1b, national-portal basis (QĐ 766 §2.1): on time + pending within deadline at period
        -- end / finished in the period + pending at period end.
        finished_on_time_count + pending_within_deadline_count as os1b_numerator,
        finished_count + pending_at_end_count as os1b_denominator,
        {{ safe_divide(
            'finished_on_time_count + pending_within_deadline_count',
            'finished_count + pending_at_end_count'
        ) }} as os1b_on_time_rate,
        -- OS-2: finished late / finished in the period.
        finished_late_count as os2_numerator,
        finished_count as os2_denominator,
        {{ safe_divide('finished_late_count', 'finished_count') }} as os2_late_rate
    from filled

)

select * from kpis
