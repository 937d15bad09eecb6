{{
    config(
        indexes=[
            {'columns': ['scope', 'period_grain', 'period_start', 'unit_code', 'procedure_code']},
        ]
    )
}}

-- Every one-stop KPI (DOMAIN §4, OS-1a … OS-7) as numerator, denominator and rate, written once
-- for every scope the marts publish: unit × period (month, quarter, year; every department,
-- district and commune that existed in the period, zeros and NULL rates when it had no dossiers),
-- procedure × period (procedures with dossiers of those units) and the province × period (the
-- sum of its units). Dossiers of the province's own unit (level 1, never ranked) are left out. Unsuffixed columns follow the law's supplement convention (the clock
-- restarts when the complete dossier arrives); *_portal columns the national portal's (the
-- supplement interval is subtracted, more than one request counts as late).
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

dossier_periods as (

    select * from {{ ref('int_dossiers_classified_by_period') }}

),

-- The reported periods of each grain: from the first to the last period in which a dossier was
-- received (a trailing period holding only carried-over dossiers, e.g. January 2018 for data
-- received up to December 2017, is not reported).
received_bounds as (

    select
        period_grain,
        min(period_start) as first_period_start,
        max(period_start) as last_period_start
    from dossier_periods
    where is_received_in_period
    group by period_grain

),

periods as (

    select distinct
        dossier_periods.period_grain,
        dossier_periods.period_start,
        dossier_periods.period_end,
        dossier_periods.period_year,
        dossier_periods.period_quarter,
        dossier_periods.period_month
    from dossier_periods
    inner join received_bounds
        on dossier_periods.period_grain = received_bounds.period_grain
        and dossier_periods.period_start
        between received_bounds.first_period_start and received_bounds.last_period_start

),

-- Ranked units (departments, districts, communes: levels 2–4) that existed in the period, or
-- still had dossiers in it (a dissolved unit's last dossiers are not dropped).
units_with_dossiers as (

    select distinct
        unit_code,
        period_grain,
        period_start
    from dossier_periods

),

unit_periods as (

    select
        units.unit_code,
        periods.*
    from units
    inner join periods
        on units.valid_from <= periods.period_end
        and (units.valid_to is null or units.valid_to >= periods.period_start)
    where units.unit_level in (2, 3, 4)

    union

    select
        units.unit_code,
        periods.*
    from units
    inner join units_with_dossiers
        on units.unit_code = units_with_dossiers.unit_code
    inner join periods
        on units_with_dossiers.period_grain = periods.period_grain
        and units_with_dossiers.period_start = periods.period_start
    where units.unit_level in (2, 3, 4)

),

-- Only dossiers of those units count, so the province equals the sum of its units.
scoped_dossier_periods as (

    select dossier_periods.*
    from dossier_periods
    inner join unit_periods
        on dossier_periods.unit_code = unit_periods.unit_code
        and dossier_periods.period_grain = unit_periods.period_grain
        and dossier_periods.period_start = unit_periods.period_start

),

counts as (

    select
        case
            when grouping(unit_code) = 0 then 'unit'
            when grouping(procedure_code) = 0 then 'procedure'
            else 'province'
        end as scope,
        period_grain,
        period_start,
        unit_code,
        procedure_code,
        count(*) filter (where is_received_in_period) as received_count,
        count(*) filter (where is_finished_in_period) as finished_count,
        count(*) filter (
            where is_finished_in_period and deadline_class = 'on_time'
        ) as finished_on_time_count,
        count(*) filter (
            where is_finished_in_period and deadline_class = 'late'
        ) as finished_late_count,
        count(*) filter (
            where is_finished_in_period and deadline_class_portal = 'on_time'
        ) as finished_on_time_count_portal,
        count(*) filter (
            where is_finished_in_period and deadline_class_portal = 'late'
        ) as finished_late_count_portal,
        count(*) filter (
            where deadline_class in ('pending_within_deadline', 'overdue')
        ) as pending_at_end_count,
        count(*) filter (
            where deadline_class = 'pending_within_deadline'
        ) as pending_within_deadline_count,
        count(*) filter (where deadline_class = 'overdue') as overdue_count,
        count(*) filter (
            where deadline_class_portal = 'pending_within_deadline'
        ) as pending_within_deadline_count_portal,
        count(*) filter (where deadline_class_portal = 'overdue') as overdue_count_portal,
        count(*) filter (
            where is_finished_in_period and deadline_class = 'late' and has_timely_apology_letter
        ) as late_with_timely_apology_count,
        count(*) filter (
            where is_finished_in_period and deadline_class_portal = 'late'
                and has_timely_apology_letter_portal
        ) as late_with_timely_apology_count_portal,
        coalesce(sum(apology_letter_count) filter (where is_finished_in_period), 0)::bigint
            as apology_letter_count,
        count(*) filter (
            where is_finished_in_period and apology_letter_count > 1
        ) as rescheduled_more_than_once_count,
        count(*) filter (
            where is_received_in_period and supplement_request_count >= 1
        ) as supplement_requested_count,
        count(*) filter (
            where is_received_in_period and supplement_request_count > 1
        ) as supplement_requested_more_than_once_count,
        count(*) filter (where is_received_in_period and is_refused) as refused_count,
        count(*) filter (where is_finished_in_period and is_withdrawn) as withdrawn_count,
        -- OS-7 covers dossiers finished in the period with a decision (withdrawals excluded).
        count(processing_working_days) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_dossier_count,
        coalesce(sum(processing_working_days) filter (
            where is_finished_in_period and not is_withdrawn
        ), 0)::bigint as os7_total_working_days,
        avg(processing_working_days) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_mean,
        percentile_cont(0.5) within group (order by processing_working_days) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_median,
        percentile_cont(0.9) within group (order by processing_working_days) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_p90,
        count(processing_working_days_portal) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_dossier_count_portal,
        coalesce(sum(processing_working_days_portal) filter (
            where is_finished_in_period and not is_withdrawn
        ), 0)::bigint as os7_total_working_days_portal,
        avg(processing_working_days_portal) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_mean_portal,
        percentile_cont(0.5) within group (order by processing_working_days_portal) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_median_portal,
        percentile_cont(0.9) within group (order by processing_working_days_portal) filter (
            where is_finished_in_period and not is_withdrawn
        ) as os7_p90_portal
    from scoped_dossier_periods
    group by grouping sets (
        (period_grain, period_start, unit_code),
        (period_grain, period_start, procedure_code),
        (period_grain, period_start)
    )

),

-- Units and the province get a row for every period, procedures only where they had dossiers.
scope_periods as (

    select
        'unit' as scope,
        unit_code,
        null::text as procedure_code,
        period_grain,
        period_start
    from unit_periods

    union all

    select
        'procedure' as scope,
        null::text as unit_code,
        procedure_code,
        period_grain,
        period_start
    from counts
    where scope = 'procedure'

    union all

    select
        'province' as scope,
        null::text as unit_code,
        null::text as procedure_code,
        period_grain,
        period_start
    from periods

),

filled as (

    select
        scope_periods.scope,
        scope_periods.unit_code,
        scope_periods.procedure_code,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_year,
        periods.period_quarter,
        periods.period_month,
        coalesce(counts.received_count, 0) as received_count,
        coalesce(counts.finished_count, 0) as finished_count,
        coalesce(counts.finished_on_time_count, 0) as finished_on_time_count,
        coalesce(counts.finished_late_count, 0) as finished_late_count,
        coalesce(counts.finished_on_time_count_portal, 0) as finished_on_time_count_portal,
        coalesce(counts.finished_late_count_portal, 0) as finished_late_count_portal,
        coalesce(counts.pending_at_end_count, 0) as pending_at_end_count,
        coalesce(counts.pending_within_deadline_count, 0) as pending_within_deadline_count,
        coalesce(counts.overdue_count, 0) as overdue_count,
        coalesce(counts.pending_within_deadline_count_portal, 0)
            as pending_within_deadline_count_portal,
        coalesce(counts.overdue_count_portal, 0) as overdue_count_portal,
        coalesce(counts.late_with_timely_apology_count, 0) as late_with_timely_apology_count,
        coalesce(counts.late_with_timely_apology_count_portal, 0)
            as late_with_timely_apology_count_portal,
        coalesce(counts.apology_letter_count, 0) as apology_letter_count,
        coalesce(counts.rescheduled_more_than_once_count, 0) as rescheduled_more_than_once_count,
        coalesce(counts.supplement_requested_count, 0) as supplement_requested_count,
        coalesce(counts.supplement_requested_more_than_once_count, 0)
            as supplement_requested_more_than_once_count,
        coalesce(counts.refused_count, 0) as refused_count,
        coalesce(counts.withdrawn_count, 0) as withdrawn_count,
        coalesce(counts.os7_dossier_count, 0) as os7_dossier_count,
        coalesce(counts.os7_total_working_days, 0) as os7_total_working_days,
        counts.os7_mean,
        counts.os7_median,
        counts.os7_p90,
        coalesce(counts.os7_dossier_count_portal, 0) as os7_dossier_count_portal,
        coalesce(counts.os7_total_working_days_portal, 0) as os7_total_working_days_portal,
        counts.os7_mean_portal,
        counts.os7_median_portal,
        counts.os7_p90_portal
    from scope_periods
    inner join periods
        on scope_periods.period_grain = periods.period_grain
        and scope_periods.period_start = periods.period_start
    left join counts
        on scope_periods.scope = counts.scope
        and scope_periods.period_grain = counts.period_grain
        and scope_periods.period_start = counts.period_start
        and scope_periods.unit_code is not distinct from counts.unit_code
        and scope_periods.procedure_code is not distinct from counts.procedure_code

),

kpis as (

    select
        scope,
        unit_code,
        procedure_code,
        period_grain,
        period_start,
        period_end,
        period_year,
        period_quarter,
        period_month,
        received_count,
        finished_count,
        finished_on_time_count,
        finished_late_count,
        pending_at_end_count,
        pending_within_deadline_count,
        overdue_count,
        finished_on_time_count_portal,
        finished_late_count_portal,
        pending_within_deadline_count_portal,
        overdue_count_portal,
        supplement_requested_count,
        supplement_requested_more_than_once_count,
        refused_count,
        withdrawn_count,
        apology_letter_count,
        rescheduled_more_than_once_count,
        -- OS-1a, resolved basis: finished on time / finished in the period.
        finished_on_time_count as os1a_numerator,
        finished_count as os1a_denominator,
        {{ safe_divide('finished_on_time_count', 'finished_count') }} as os1a_on_time_rate,
        finished_on_time_count_portal as os1a_numerator_portal,
        finished_count as os1a_denominator_portal,
        {{ safe_divide('finished_on_time_count_portal', 'finished_count') }}
            as os1a_on_time_rate_portal,
        -- OS-1b, national-portal basis (QĐ 766 §2.1): on time + pending within deadline at period
        -- end / finished in the period + pending at period end.
        finished_on_time_count + pending_within_deadline_count as os1b_numerator,
        finished_count + pending_at_end_count as os1b_denominator,
        {{ safe_divide(
            'finished_on_time_count + pending_within_deadline_count',
            'finished_count + pending_at_end_count'
        ) }} as os1b_on_time_rate,
        finished_on_time_count_portal + pending_within_deadline_count_portal
            as os1b_numerator_portal,
        finished_count + pending_at_end_count as os1b_denominator_portal,
        {{ safe_divide(
            'finished_on_time_count_portal + pending_within_deadline_count_portal',
            'finished_count + pending_at_end_count'
        ) }} as os1b_on_time_rate_portal,
        -- OS-2: finished late / finished in the period.
        finished_late_count as os2_numerator,
        finished_count as os2_denominator,
        {{ safe_divide('finished_late_count', 'finished_count') }} as os2_late_rate,
        finished_late_count_portal as os2_numerator_portal,
        finished_count as os2_denominator_portal,
        {{ safe_divide('finished_late_count_portal', 'finished_count') }} as os2_late_rate_portal,
        -- OS-3: pending past due at period end / pending at period end.
        overdue_count as os3_numerator,
        pending_at_end_count as os3_denominator,
        {{ safe_divide('overdue_count', 'pending_at_end_count') }} as os3_overdue_rate,
        overdue_count_portal as os3_numerator_portal,
        pending_at_end_count as os3_denominator_portal,
        {{ safe_divide('overdue_count_portal', 'pending_at_end_count') }}
            as os3_overdue_rate_portal,
        -- OS-4 (Decree 61/2018 art. 19): late dossiers with an apology letter made at least one day
        -- before the deadline / dossiers finished late in the period.
        late_with_timely_apology_count as os4_numerator,
        finished_late_count as os4_denominator,
        {{ safe_divide('late_with_timely_apology_count', 'finished_late_count') }}
            as os4_apology_compliance_rate,
        late_with_timely_apology_count_portal as os4_numerator_portal,
        finished_late_count_portal as os4_denominator_portal,
        {{ safe_divide('late_with_timely_apology_count_portal', 'finished_late_count_portal') }}
            as os4_apology_compliance_rate_portal,
        -- OS-5a/5b: dossiers received in the period with ≥ 1 / > 1 supplement requests / received.
        supplement_requested_count as os5a_numerator,
        received_count as os5a_denominator,
        {{ safe_divide('supplement_requested_count', 'received_count') }} as os5a_supplement_rate,
        supplement_requested_more_than_once_count as os5b_numerator,
        received_count as os5b_denominator,
        {{ safe_divide('supplement_requested_more_than_once_count', 'received_count') }}
            as os5b_repeat_supplement_rate,
        -- OS-6: dossiers received in the period and refused / received.
        refused_count as os6_numerator,
        received_count as os6_denominator,
        {{ safe_divide('refused_count', 'received_count') }} as os6_refusal_rate,
        -- OS-7: working days from the effective start to the end of processing; the mean is
        -- numerator / denominator, median and p90 interpolate (percentile_cont).
        os7_total_working_days as os7_numerator,
        os7_dossier_count as os7_denominator,
        round(os7_mean, 2)::numeric(9, 2) as os7_mean_working_days,
        round(os7_median::numeric, 2)::numeric(9, 2) as os7_median_working_days,
        round(os7_p90::numeric, 2)::numeric(9, 2) as os7_p90_working_days,
        os7_total_working_days_portal as os7_numerator_portal,
        os7_dossier_count_portal as os7_denominator_portal,
        round(os7_mean_portal, 2)::numeric(9, 2) as os7_mean_working_days_portal,
        round(os7_median_portal::numeric, 2)::numeric(9, 2) as os7_median_working_days_portal,
        round(os7_p90_portal::numeric, 2)::numeric(9, 2) as os7_p90_working_days_portal
    from filled

)

select * from kpis
