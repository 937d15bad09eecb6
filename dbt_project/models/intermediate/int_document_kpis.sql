{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['period_grain', 'period_start'],
        on_schema_change='fail',
        pre_hook=['set local enable_nestloop = off', '{{ incremental_run_settings() }}'],
        post_hook=['{{ delete_unreported_document_periods() }}', 'analyze {{ this }}'],
        indexes=[
            {'columns': ['scope', 'period_grain', 'period_start', 'unit_code']},
            {'columns': ['period_grain', 'period_start']},
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
-- Every count is additive: documents are counted per unit and month, and a unit's quarter and
-- year are the sums of its months.
-- Incremental (delete+insert on the period): a run recounts the months holding a document
-- classified since this table's source_batch_id, the months whose number of documents changed
-- (document_period_count: a document left the month), every month when the unit history changed
-- (units_fingerprint), and reported periods not here yet; the quarters and years holding a
-- recounted month are summed again from their months, the others' stored here. A post-hook
-- deletes periods no longer reported (the first or last month lost its documents).

{#- (count column, condition over int_documents_classified, the column of this model holding it) -#}
{%- set counts = [
    ('document_count', 'true', 'document_count'),
    ('outgoing_count', 'is_eo1_outgoing', 'outgoing_count'),
    ('incoming_count', 'not is_eo1_outgoing', 'incoming_count'),
    ('eo1_signed_count', 'is_eo1_signed_by_person_and_organisation', 'eo1_numerator'),
    ('eo2_connected_count', 'is_eo2_to_connected_recipient', 'eo2_denominator'),
    ('eo2_via_axis_count', 'is_eo2_sent_via_exchange_axis', 'eo2_numerator'),
    ('eo3_outgoing_count', 'is_eo3_outgoing', 'eo3_denominator'),
    ('eo3_on_time_count', 'is_eo3_issued_on_time', 'eo3_numerator'),
    ('eo4_incoming_electronic_count', 'is_eo4_incoming_electronic', 'eo4_denominator'),
    ('eo4_same_day_count', 'is_eo4_acknowledged_same_day', 'eo4_numerator'),
    ('eo5_electronic_count', 'is_eo5_electronic', 'eo5_numerator'),
] %}
with units as (

    select * from {{ ref('stg_onestop__units') }}

),

-- Not materialized: every reference reads the table itself.
all_documents as not materialized (

    select * from {{ ref('int_documents_classified') }}

),

-- Documents per month, every unit: the months present, and (stored in document_period_count)
-- how an incremental run sees that a month lost a document.
month_counts as (

    select
        date_trunc('month', document_date::timestamp)::date as period_start,
        count(*) as document_period_count
    from all_documents
    group by 1

),

-- What of the unit list the scaffolding reads (re-extracted unchanged units do not count).
units_fingerprint as (

    select
        md5(string_agg(
            concat_ws('|', unit_code, unit_level, valid_from, valid_to), ',' order by unit_code
        )) as fingerprint
    from units

),

grains (period_grain, period_length) as (

    values
        ('month', interval '1 month'),
        ('quarter', interval '3 months'),
        ('year', interval '1 year')

),

-- The reported periods of each grain: every period from the first to the last one with a
-- document (none skipped).
all_periods as (

    select
        grains.period_grain,
        series.period_start::date as period_start,
        (series.period_start + grains.period_length - interval '1 day')::date as period_end,
        extract(year from series.period_start)::integer as period_year,
        extract(quarter from series.period_start)::integer as period_quarter,
        extract(month from series.period_start)::integer as period_month
    from grains
    cross join (
        select
            min(period_start) as first_month,
            max(period_start) as last_month
        from month_counts
    ) as bounds
    cross join lateral generate_series(
        date_trunc(grains.period_grain, bounds.first_month::timestamp),
        date_trunc(grains.period_grain, bounds.last_month::timestamp),
        grains.period_length
    ) as series (period_start)

),

{% if is_incremental() -%}
touched_months as (

    select month_counts.period_start
    from month_counts
    left join {{ this }} as before
        on before.scope = 'province'
        and before.period_grain = 'month'
        and before.period_start = month_counts.period_start
    where before.document_period_count is distinct from month_counts.document_period_count
        or (select units_fingerprint.fingerprint from units_fingerprint)
        is distinct from (select max(seen.units_fingerprint) from {{ this }} as seen)

    union

    select distinct date_trunc('month', changed.document_date::timestamp)::date
    from all_documents as changed
    where changed.batch_id > {{ incremental_cursor('source_batch_id') }}

),

-- The periods recomputed: those holding a recounted month, and reported periods not here yet
-- (a month without documents between two with documents).
periods as (

    select all_periods.*
    from all_periods
    where exists (
        select
        from touched_months
        where touched_months.period_start
            between all_periods.period_start and all_periods.period_end
    )
        or not exists (
            select
            from {{ this }} as before
            where before.scope = 'province'
                and before.period_grain = all_periods.period_grain
                and before.period_start = all_periods.period_start
        )

),
{%- else -%}
periods as (

    select * from all_periods

),
{%- endif %}

months as (

    select * from periods where period_grain = 'month'

),

-- Ranked units (departments, districts, communes: levels 2–4) that existed in the month, or
-- still had documents in it (a dissolved unit's last documents are not dropped), with the
-- month's counts (zeros without documents). Only documents of those units count, so the
-- province equals the sum of its units.
unit_month_counts as (

    select
        documents.unit_code,
        months.period_start,
        {%- for name, condition, _ in counts %}
        count(*) filter (where {{ condition }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from all_documents as documents
    inner join months
        on date_trunc('month', documents.document_date::timestamp)::date = months.period_start
    group by documents.unit_code, months.period_start

),

unit_months as (

    {{ ranked_units_in_periods('months') }}

    union

    select
        units.unit_code,
        'month' as period_grain,
        unit_month_counts.period_start
    from units
    inner join unit_month_counts
        on units.unit_code = unit_month_counts.unit_code
    where units.unit_level in (2, 3, 4)

),

month_rows as (

    select
        unit_months.unit_code,
        unit_months.period_grain,
        unit_months.period_start,
        {%- for name, _, _ in counts %}
        coalesce(unit_month_counts.{{ name }}, 0) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from unit_months
    left join unit_month_counts
        on unit_months.unit_code = unit_month_counts.unit_code
        and unit_months.period_start = unit_month_counts.period_start

),

-- Every unit month the quarters and years are summed from: the recounted ones, and (in an
-- incremental run) the others, as stored here.
all_month_rows as (

    select * from month_rows

    {% if is_incremental() -%}
    union all

    select
        stored.unit_code,
        stored.period_grain,
        stored.period_start,
        {%- for name, _, column in counts %}
        stored.{{ column }} as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored
    where stored.scope = 'unit'
        and stored.period_grain = 'month'
        and not exists (
            select
            from months
            where months.period_start = stored.period_start
        )
    {%- endif %}

),

-- Each unit month under its quarter and its year.
month_rows_in_longer_periods as (

    select
        all_month_rows.*,
        longer.period_grain as longer_period_grain,
        date_trunc(longer.period_grain, all_month_rows.period_start::timestamp)::date
            as longer_period_start
    from all_month_rows
    cross join (values ('quarter'), ('year')) as longer (period_grain)

),

-- A unit's quarter or year: units that existed in it, or had a month row in it (documents in a
-- month they did not exist), with the sums of their months.
unit_longer_periods as (

    {{ ranked_units_in_periods('periods', where="periods.period_grain in ('quarter', 'year')") }}

    union

    select
        month_rows_in_longer_periods.unit_code,
        periods.period_grain,
        periods.period_start
    from month_rows_in_longer_periods
    inner join periods
        on month_rows_in_longer_periods.longer_period_grain = periods.period_grain
        and month_rows_in_longer_periods.longer_period_start = periods.period_start

),

longer_rows as (

    select
        unit_longer_periods.unit_code,
        unit_longer_periods.period_grain,
        unit_longer_periods.period_start,
        {%- for name, _, _ in counts %}
        coalesce(sum(month_rows_in_longer_periods.{{ name }}), 0)::bigint
            as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from unit_longer_periods
    left join month_rows_in_longer_periods
        on unit_longer_periods.unit_code = month_rows_in_longer_periods.unit_code
        and unit_longer_periods.period_grain = month_rows_in_longer_periods.longer_period_grain
        and unit_longer_periods.period_start = month_rows_in_longer_periods.longer_period_start
    group by
        unit_longer_periods.unit_code,
        unit_longer_periods.period_grain,
        unit_longer_periods.period_start

),

unit_rows as (

    select * from month_rows
    union all
    select * from longer_rows

),

-- Units and the province get a row for every reported period; the province is the sum of its
-- units.
filled as (

    select
        'unit' as scope,
        unit_rows.unit_code,
        unit_rows.period_grain,
        unit_rows.period_start,
        {%- for name, _, _ in counts %}
        unit_rows.{{ name }}::bigint as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from unit_rows

    union all

    select
        'province' as scope,
        null::text as unit_code,
        periods.period_grain,
        periods.period_start,
        {%- for name, _, _ in counts %}
        coalesce(sum(unit_rows.{{ name }}), 0)::bigint as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    from periods
    left join unit_rows
        on periods.period_grain = unit_rows.period_grain
        and periods.period_start = unit_rows.period_start
    group by periods.period_grain, periods.period_start

),

kpis as (

    select
        filled.scope,
        filled.unit_code,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_year,
        periods.period_quarter,
        periods.period_month,
        filled.document_count,
        filled.outgoing_count,
        filled.incoming_count,
        -- EO-1: outgoing documents signed digitally by the person and the organisation / outgoing.
        filled.eo1_signed_count as eo1_numerator,
        filled.outgoing_count as eo1_denominator,
        {{ safe_divide('filled.eo1_signed_count', 'filled.outgoing_count') }} as eo1_signed_rate,
        -- EO-2: sent electronically over the document exchange axis / outgoing to recipients
        -- connected to it.
        filled.eo2_via_axis_count as eo2_numerator,
        filled.eo2_connected_count as eo2_denominator,
        {{ safe_divide('filled.eo2_via_axis_count', 'filled.eo2_connected_count') }}
            as eo2_exchange_axis_rate,
        -- EO-3: issued no later than the working day after the signing day / outgoing.
        filled.eo3_on_time_count as eo3_numerator,
        filled.eo3_outgoing_count as eo3_denominator,
        {{ safe_divide('filled.eo3_on_time_count', 'filled.eo3_outgoing_count') }}
            as eo3_issued_on_time_rate,
        -- EO-4: receipt acknowledged on the arrival day / incoming electronic documents.
        filled.eo4_same_day_count as eo4_numerator,
        filled.eo4_incoming_electronic_count as eo4_denominator,
        {{ safe_divide('filled.eo4_same_day_count', 'filled.eo4_incoming_electronic_count') }}
            as eo4_same_day_acknowledgement_rate,
        -- EO-5: electronic documents (electronic only, or electronic and paper) / all documents.
        filled.eo5_electronic_count as eo5_numerator,
        filled.document_count as eo5_denominator,
        {{ safe_divide('filled.eo5_electronic_count', 'filled.document_count') }}
            as eo5_electronic_share,
        -- the incremental cursors (see the header); document_period_count on month rows only
        case
            when periods.period_grain = 'month' then coalesce(month_counts.document_period_count, 0)
        end as document_period_count,
        (select max(cursor.batch_id) from all_documents as cursor) as source_batch_id,
        (select units_fingerprint.fingerprint from units_fingerprint) as units_fingerprint
    from filled
    inner join periods
        on filled.period_grain = periods.period_grain
        and filled.period_start = periods.period_start
    left join month_counts
        on periods.period_grain = 'month'
        and periods.period_start = month_counts.period_start

)

select * from kpis
