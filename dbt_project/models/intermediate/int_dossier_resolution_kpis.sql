{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['period_grain', 'period_start'],
        on_schema_change='fail',
        pre_hook=['set local enable_nestloop = off', '{{ incremental_run_settings() }}'],
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['scope', 'period_grain', 'period_start', 'unit_code', 'procedure_code']},
            {'columns': ['period_grain', 'period_start']},
            {'columns': ['source_batch_id']},
        ]
    )
}}

-- enable_nestloop off (pre-hook, SET LOCAL: this model's transaction only): the aggregations
-- run over scaffolds the planner cannot size (CTEs of unknown length), and a nested loop chosen
-- on a one-row estimate ran for minutes where hash and merge joins stay linear.

-- Every one-stop KPI (DOMAIN §4, OS-1a … OS-7) as numerator, denominator and rate, written once
-- for every scope the marts publish: unit × period (month, quarter, year; every department,
-- district and commune that existed in the period, zeros and NULL rates when it had no dossiers),
-- procedure × period (procedures with dossiers of those units) and the province × period (the
-- sum of its units). Dossiers of the province's own unit (level 1, never ranked) are left out.
-- Unsuffixed columns follow the law's supplement convention (the clock restarts when the complete
-- dossier arrives); *_portal columns the national portal's (the supplement interval is
-- subtracted, more than one request counts as late).
-- Incremental (delete+insert on the period): a run recomputes every scope of the periods that
-- hold a dossier-period row whose contribution changed since this table's source_batch_id
-- (int_dossiers_classified_by_period.contribution_batch_id), whose number of dossier-period rows
-- changed (a row that disappeared: a back-dated end of processing), or all of them when the unit
-- history changed (units_fingerprint). A period is recomputed whole, so medians and p90 stay exact.
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

-- Not materialized: every reference reads the table itself, through its indexes.
all_dossier_periods as not materialized (

    select * from {{ ref('int_dossiers_classified_by_period') }}

),

-- Dossier-period rows per period: the periods present, and (stored in dossier_period_count) how
-- an incremental run sees that a period lost a row.
period_counts as (

    select
        period_grain,
        period_start,
        count(*) as dossier_period_count
    from all_dossier_periods
    group by period_grain, period_start

),

-- What of the unit list the scaffolding reads (re-extracted unchanged units do not count).
units_fingerprint as (

    select
        md5(string_agg(
            concat_ws('|', unit_code, unit_level, valid_from, valid_to), ',' order by unit_code
        )) as fingerprint
    from units

),

{% if is_incremental() -%}
touched_periods as (

    select period_counts.period_grain, period_counts.period_start
    from period_counts
    left join {{ this }} as before
        on period_counts.period_grain = before.period_grain
        and period_counts.period_start = before.period_start
        and before.scope = 'province'
    where before.dossier_period_count is distinct from period_counts.dossier_period_count
        or (select units_fingerprint.fingerprint from units_fingerprint)
        is distinct from (select max(seen.units_fingerprint) from {{ this }} as seen)

    union

    select distinct changed.period_grain, changed.period_start
    from all_dossier_periods as changed
    where changed.contribution_batch_id
        > {{ incremental_cursor('source_batch_id') }}

),

dossier_periods as (

    select all_dossier_periods.*
    from all_dossier_periods
    inner join touched_periods
        on all_dossier_periods.period_grain = touched_periods.period_grain
        and all_dossier_periods.period_start = touched_periods.period_start

),
{%- else -%}
dossier_periods as (

    select * from all_dossier_periods

),
{%- endif %}

-- The reported periods of each grain: from the first to the last period in which a dossier was
-- received (a trailing period holding only carried-over dossiers, e.g. January 2018 for data
-- received up to December 2017, is not reported). Per grain, so that the (period_grain,
-- period_start, …) index finds both ends without reading the table.
received_bounds as (

    select
        grains.period_grain,
        (
            select min(received.period_start)
            from all_dossier_periods as received
            where received.period_grain = grains.period_grain and received.is_received_in_period
        ) as first_period_start,
        (
            select max(received.period_start)
            from all_dossier_periods as received
            where received.period_grain = grains.period_grain and received.is_received_in_period
        ) as last_period_start
    from (values ('month'), ('quarter'), ('year')) as grains (period_grain)

),

periods as (

    select
        period_counts.period_grain,
        period_counts.period_start,
        (period_counts.period_start + case period_counts.period_grain
            when 'month' then interval '1 month'
            when 'quarter' then interval '3 months'
            else interval '1 year'
        end - interval '1 day')::date as period_end,
        extract(year from period_counts.period_start)::integer as period_year,
        extract(quarter from period_counts.period_start)::integer as period_quarter,
        extract(month from period_counts.period_start)::integer as period_month,
        period_counts.dossier_period_count
    from period_counts
    inner join received_bounds
        on period_counts.period_grain = received_bounds.period_grain
        and period_counts.period_start
        between received_bounds.first_period_start and received_bounds.last_period_start
    {% if is_incremental() -%}
    inner join touched_periods
        on period_counts.period_grain = touched_periods.period_grain
        and period_counts.period_start = touched_periods.period_start
    {%- endif %}

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
        periods.dossier_period_count,
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
        -- the scope's one member (a unit, a procedure or none) as an equality, so the join can
        -- hash (IS NOT DISTINCT FROM cannot: a nested loop over every pair of rows)
        and coalesce(scope_periods.unit_code, scope_periods.procedure_code, '')
        = coalesce(counts.unit_code, counts.procedure_code, '')

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
        round(os7_p90_portal::numeric, 2)::numeric(9, 2) as os7_p90_working_days_portal,
        -- the incremental cursors (see the header)
        dossier_period_count,
        (select max(cursor.contribution_batch_id) from all_dossier_periods as cursor)
            as source_batch_id,
        (select units_fingerprint.fingerprint from units_fingerprint) as units_fingerprint
    from filled

)

select * from kpis
