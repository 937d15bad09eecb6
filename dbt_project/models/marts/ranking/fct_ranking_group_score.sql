{{
    config(
        indexes=[
            {
                'columns': [
                    'methodology_name', 'period_grain', 'period_start', 'unit_group', 'unit_code',
                    'group_key',
                ],
                'unique': true,
            },
        ]
    )
}}

-- Criteria-group subtotals of fct_ranking_indicator_score per unit and period. The achievable
-- maximum leaves out the indicators not measured (DOMAIN §5: never silently 0); a not-assessed
-- unit has no points and no achievable maximum.
select
    {{ ranking_key_columns() }},
    group_key,
    group_number,
    group_label_vi,
    group_label_en,
    (case
        when max(not_assessed_reason) is null then coalesce(sum(points), 0)
    end)::numeric(12, 4) as points,
    sum(max_points)::numeric(12, 4) as max_points,
    (case
        when max(not_assessed_reason) is null
            then coalesce(sum(max_points) filter (where status <> 'not_measured'), 0)
    end)::numeric(12, 4) as achievable_max_points
from {{ ref('fct_ranking_indicator_score') }}
group by
    {{ ranking_key_columns() }},
    group_key,
    group_number,
    group_label_vi,
    group_label_en
