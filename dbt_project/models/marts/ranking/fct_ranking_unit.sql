{{
    config(
        indexes=[
            {
                'columns': [
                    'methodology_name', 'period_grain', 'period_start', 'unit_group', 'unit_code',
                ],
                'unique': true,
            },
        ]
    )
}}

-- One row per unit of every ranked group and period (docs/ranking.md; DOMAIN §5): its total
-- against the achievable maximum (indicators not measured left out), the tier of that share,
-- and its rank within the group — rank() by score_share descending, so ties share a rank
-- (1, 2, 2, 4) — with the rank of the previous period of the same grain. A not-assessed unit
-- is listed with the reason, never ranked.
with indicator_scores as (

    select * from {{ ref('fct_ranking_indicator_score') }}

),

unit_groups as (

    select * from {{ source('ranking_config', 'methodology_unit_group') }}

),

tiers as (

    select * from {{ source('ranking_config', 'methodology_tier') }}

),

totals as (

    select
        {{ ranking_key_columns() }},
        max(not_assessed_reason) as not_assessed_reason,
        sum(points) as total_points,
        sum(max_points) as max_points,
        sum(max_points) filter (where status <> 'not_measured') as achievable_max_points
    from indicator_scores
    group by
        {{ ranking_key_columns() }}

),

shares as (

    select
        totals.methodology_name,
        totals.content_sha256,
        totals.period_grain,
        totals.period_start,
        totals.period_year,
        totals.period_quarter,
        totals.period_month,
        totals.unit_code,
        totals.unit_name,
        totals.unit_group,
        unit_groups.label_vi as unit_group_label_vi,
        unit_groups.label_en as unit_group_label_en,
        totals.not_assessed_reason is null as is_assessed,
        totals.not_assessed_reason,
        case when totals.not_assessed_reason is null then coalesce(totals.total_points, 0) end
            as total_points,
        totals.max_points,
        case when totals.not_assessed_reason is null then totals.achievable_max_points end
            as achievable_max_points,
        -- rank and tier read the share as stored (6 decimals), so equal shown shares tie
        case
            when totals.not_assessed_reason is null
                then round(coalesce(totals.total_points, 0) / totals.achievable_max_points, 6)
        end as score_share
    from totals
    inner join unit_groups
        on totals.methodology_name = unit_groups.methodology_name
        and totals.content_sha256 = unit_groups.content_sha256
        and totals.unit_group = unit_groups.unit_group

),

ranked as (

    select
        shares.*,
        tier.tier_key,
        tier.label_vi as tier_label_vi,
        tier.label_en as tier_label_en,
        tier.ordinal as tier_ordinal,
        case
            when shares.is_assessed
                then rank() over (
                    partition by
                        shares.methodology_name,
                        shares.period_grain,
                        shares.period_start,
                        shares.unit_group,
                        shares.is_assessed
                    order by shares.score_share desc nulls last
                )
        end as rank_in_group,
        count(*) filter (where shares.is_assessed) over (
            partition by
                shares.methodology_name,
                shares.period_grain,
                shares.period_start,
                shares.unit_group
        ) as ranked_units_in_group
    from shares
    -- the strongest tier whose threshold the share reaches
    left join lateral (
        select
            tiers.tier_key,
            tiers.label_vi,
            tiers.label_en,
            tiers.ordinal
        from tiers
        where tiers.methodology_name = shares.methodology_name
            and tiers.content_sha256 = shares.content_sha256
            and tiers.min_share <= shares.score_share
        order by tiers.ordinal
        limit 1
    ) as tier on true

)

select
    ranked.methodology_name::text as methodology_name,
    ranked.content_sha256::text as content_sha256,
    ranked.period_grain::text as period_grain,
    ranked.period_start::date as period_start,
    ranked.period_year::integer as period_year,
    ranked.period_quarter::integer as period_quarter,
    ranked.period_month::integer as period_month,
    ranked.unit_code::text as unit_code,
    ranked.unit_name::text as unit_name,
    ranked.unit_group::text as unit_group,
    ranked.unit_group_label_vi::text as unit_group_label_vi,
    ranked.unit_group_label_en::text as unit_group_label_en,
    ranked.is_assessed::boolean as is_assessed,
    ranked.not_assessed_reason::text as not_assessed_reason,
    ranked.total_points::numeric(12, 4) as total_points,
    ranked.max_points::numeric(12, 4) as max_points,
    ranked.achievable_max_points::numeric(12, 4) as achievable_max_points,
    ranked.score_share::numeric(9, 6) as score_share,
    ranked.tier_key::text as tier_key,
    ranked.tier_label_vi::text as tier_label_vi,
    ranked.tier_label_en::text as tier_label_en,
    ranked.tier_ordinal::integer as tier_ordinal,
    ranked.rank_in_group::integer as rank_in_group,
    ranked.ranked_units_in_group::integer as ranked_units_in_group,
    previous.rank_in_group::integer as previous_rank,
    (previous.rank_in_group - ranked.rank_in_group)::integer as rank_change
from ranked
-- the same unit in the same group one period earlier (same methodology content)
left join ranked as previous
    on ranked.methodology_name = previous.methodology_name
    and ranked.content_sha256 = previous.content_sha256
    and ranked.period_grain = previous.period_grain
    and ranked.unit_group = previous.unit_group
    and ranked.unit_code = previous.unit_code
    and previous.period_start = (
        ranked.period_start
        - case ranked.period_grain
            when 'month' then interval '1 month'
            when 'quarter' then interval '3 months'
            else interval '1 year'
        end
    )::date
