{{
    config(
        indexes=[
            {
                'columns': [
                    'methodology_name', 'period_grain', 'period_start', 'unit_group', 'tier_key',
                ],
                'unique': true,
            },
        ]
    )
}}

-- How many assessed units of each group fall in each tier, per period (DOMAIN §2: "11 of 20
-- departments rated tốt (55 %)"): every tier of the methodology, zero counts included; the
-- share is of the assessed units of the group (NULL when none is assessed).
with units as (

    select * from {{ ref('fct_ranking_unit') }}

),

tiers as (

    select * from {{ source('ranking_config', 'methodology_tier') }}

),

group_periods as (

    select
        {{ ranking_key_columns(unit=false) }},
        count(*) filter (where is_assessed) as assessed_unit_count
    from units
    group by
        {{ ranking_key_columns(unit=false) }}

),

tier_counts as (

    select
        methodology_name,
        period_grain,
        period_start,
        unit_group,
        tier_key,
        count(*) as unit_count
    from units
    where is_assessed
    group by methodology_name, period_grain, period_start, unit_group, tier_key

)

select
    group_periods.methodology_name::text as methodology_name,
    group_periods.content_sha256::text as content_sha256,
    group_periods.period_grain::text as period_grain,
    group_periods.period_start::date as period_start,
    group_periods.period_year::integer as period_year,
    group_periods.period_quarter::integer as period_quarter,
    group_periods.period_month::integer as period_month,
    group_periods.unit_group::text as unit_group,
    tiers.tier_key::text as tier_key,
    tiers.label_vi::text as tier_label_vi,
    tiers.label_en::text as tier_label_en,
    tiers.ordinal::integer as tier_ordinal,
    coalesce(tier_counts.unit_count, 0)::integer as unit_count,
    group_periods.assessed_unit_count::integer as assessed_unit_count,
    {{ safe_divide('coalesce(tier_counts.unit_count, 0)', 'group_periods.assessed_unit_count') }}
        as unit_share
from group_periods
inner join tiers
    on group_periods.methodology_name = tiers.methodology_name
    and group_periods.content_sha256 = tiers.content_sha256
left join tier_counts
    on group_periods.methodology_name = tier_counts.methodology_name
    and group_periods.period_grain = tier_counts.period_grain
    and group_periods.period_start = tier_counts.period_start
    and group_periods.unit_group = tier_counts.unit_group
    and tiers.tier_key = tier_counts.tier_key
