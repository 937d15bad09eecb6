{{
    config(
        pre_hook='set local enable_nestloop = off',
        indexes=[
            {'columns': ['scope', 'period_grain', 'period_start', 'unit_code']},
        ]
    )
}}

-- enable_nestloop off (pre-hook, SET LOCAL: this model's transaction only): the aggregations
-- run over scaffolds the planner cannot size (CTEs of unknown length), and a nested loop chosen
-- on a one-row estimate ran for minutes where hash and merge joins stay linear.

-- Every e-office KPI (DOMAIN §4, EO-1 … EO-5) as numerator, denominator and rate, written once
-- for every scope the marts publish: unit × period (month, quarter, year; every department,
-- district and commune that existed in the period, zeros and NULL rates when it had no
-- documents) and the province × period (the sum of its units). As for the one-stop KPIs,
-- documents of the province's own unit (level 1, never ranked) are left out, so the province
-- equals the sum of its units. A document counts in the period of its document date
-- (int_documents_classified: outgoing when issued, incoming when it arrived).
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

documents as (

    select * from {{ ref('int_documents_classified') }}

),

grains (period_grain, period_length) as (

    values
        ('month', interval '1 month'),
        ('quarter', interval '3 months'),
        ('year', interval '1 year')

),

document_periods as (

    select
        documents.*,
        grains.period_grain,
        date_trunc(grains.period_grain, documents.document_date::timestamp)::date as period_start
    from documents
    cross join grains

),

-- The reported periods of each grain: every period from the first to the last one with a
-- document (none skipped).
periods as (

    select
        grains.period_grain,
        series.period_start::date as period_start,
        (series.period_start + grains.period_length - interval '1 day')::date as period_end,
        extract(year from series.period_start)::integer as period_year,
        extract(quarter from series.period_start)::integer as period_quarter,
        extract(month from series.period_start)::integer as period_month
    from grains
    inner join (
        select
            period_grain,
            min(period_start) as first_period_start,
            max(period_start) as last_period_start
        from document_periods
        group by period_grain
    ) as bounds
        on grains.period_grain = bounds.period_grain
    cross join lateral generate_series(
        bounds.first_period_start::timestamp,
        bounds.last_period_start::timestamp,
        grains.period_length
    ) as series (period_start)

),

-- Ranked units (departments, districts, communes: levels 2–4) that existed in the period, or
-- still had documents in it (a dissolved unit's last documents are not dropped).
unit_periods as (

    select
        units.unit_code,
        periods.period_grain,
        periods.period_start
    from units
    inner join periods
        on units.valid_from <= periods.period_end
        and (units.valid_to is null or units.valid_to >= periods.period_start)
    where units.unit_level in (2, 3, 4)

    union

    select distinct
        units.unit_code,
        document_periods.period_grain,
        document_periods.period_start
    from units
    inner join document_periods
        on units.unit_code = document_periods.unit_code
    where units.unit_level in (2, 3, 4)

),

counts as (

    select
        case when grouping(document_periods.unit_code) = 0 then 'unit' else 'province' end
            as scope,
        document_periods.period_grain,
        document_periods.period_start,
        document_periods.unit_code,
        count(*) as document_count,
        count(*) filter (where is_eo1_outgoing) as outgoing_count,
        count(*) filter (where not is_eo1_outgoing) as incoming_count,
        count(*) filter (where is_eo1_signed_by_person_and_organisation) as eo1_signed_count,
        count(*) filter (where is_eo2_to_connected_recipient) as eo2_connected_count,
        count(*) filter (where is_eo2_sent_via_exchange_axis) as eo2_via_axis_count,
        count(*) filter (where is_eo3_outgoing) as eo3_outgoing_count,
        count(*) filter (where is_eo3_issued_on_time) as eo3_on_time_count,
        count(*) filter (where is_eo4_incoming_electronic) as eo4_incoming_electronic_count,
        count(*) filter (where is_eo4_acknowledged_same_day) as eo4_same_day_count,
        count(*) filter (where is_eo5_electronic) as eo5_electronic_count
    from document_periods
    -- Only documents of ranked units count, so the province equals the sum of its units.
    inner join unit_periods
        on document_periods.unit_code = unit_periods.unit_code
        and document_periods.period_grain = unit_periods.period_grain
        and document_periods.period_start = unit_periods.period_start
    group by grouping sets (
        (document_periods.period_grain, document_periods.period_start, document_periods.unit_code),
        (document_periods.period_grain, document_periods.period_start)
    )

),

-- Units and the province get a row for every reported period.
scope_periods as (

    select
        'unit' as scope,
        unit_code,
        period_grain,
        period_start
    from unit_periods

    union all

    select
        'province' as scope,
        null::text as unit_code,
        period_grain,
        period_start
    from periods

),

filled as (

    select
        scope_periods.scope,
        scope_periods.unit_code,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_year,
        periods.period_quarter,
        periods.period_month,
        coalesce(counts.document_count, 0) as document_count,
        coalesce(counts.outgoing_count, 0) as outgoing_count,
        coalesce(counts.incoming_count, 0) as incoming_count,
        coalesce(counts.eo1_signed_count, 0) as eo1_signed_count,
        coalesce(counts.eo2_connected_count, 0) as eo2_connected_count,
        coalesce(counts.eo2_via_axis_count, 0) as eo2_via_axis_count,
        coalesce(counts.eo3_outgoing_count, 0) as eo3_outgoing_count,
        coalesce(counts.eo3_on_time_count, 0) as eo3_on_time_count,
        coalesce(counts.eo4_incoming_electronic_count, 0) as eo4_incoming_electronic_count,
        coalesce(counts.eo4_same_day_count, 0) as eo4_same_day_count,
        coalesce(counts.eo5_electronic_count, 0) as eo5_electronic_count
    from scope_periods
    inner join periods
        on scope_periods.period_grain = periods.period_grain
        and scope_periods.period_start = periods.period_start
    left join counts
        on scope_periods.scope = counts.scope
        and scope_periods.period_grain = counts.period_grain
        and scope_periods.period_start = counts.period_start
        -- an equality, so the join can hash (IS NOT DISTINCT FROM cannot)
        and coalesce(scope_periods.unit_code, '') = coalesce(counts.unit_code, '')

),

kpis as (

    select
        scope,
        unit_code,
        period_grain,
        period_start,
        period_end,
        period_year,
        period_quarter,
        period_month,
        document_count,
        outgoing_count,
        incoming_count,
        -- EO-1: outgoing documents signed digitally by the person and the organisation / outgoing.
        eo1_signed_count as eo1_numerator,
        outgoing_count as eo1_denominator,
        {{ safe_divide('eo1_signed_count', 'outgoing_count') }} as eo1_signed_rate,
        -- EO-2: sent electronically over the document exchange axis / outgoing to recipients
        -- connected to it.
        eo2_via_axis_count as eo2_numerator,
        eo2_connected_count as eo2_denominator,
        {{ safe_divide('eo2_via_axis_count', 'eo2_connected_count') }} as eo2_exchange_axis_rate,
        -- EO-3: issued no later than the working day after the signing day / outgoing.
        eo3_on_time_count as eo3_numerator,
        eo3_outgoing_count as eo3_denominator,
        {{ safe_divide('eo3_on_time_count', 'eo3_outgoing_count') }} as eo3_issued_on_time_rate,
        -- EO-4: receipt acknowledged on the arrival day / incoming electronic documents.
        eo4_same_day_count as eo4_numerator,
        eo4_incoming_electronic_count as eo4_denominator,
        {{ safe_divide('eo4_same_day_count', 'eo4_incoming_electronic_count') }}
            as eo4_same_day_acknowledgement_rate,
        -- EO-5: electronic documents (electronic only, or electronic and paper) / all documents.
        eo5_electronic_count as eo5_numerator,
        document_count as eo5_denominator,
        {{ safe_divide('eo5_electronic_count', 'document_count') }} as eo5_electronic_share
    from filled

)

select * from kpis
