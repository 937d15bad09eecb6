{#- The key columns the ranking marts share, in contract order: the methodology and its content,
    the period, and (with `unit`) the unit, then its group. One list for their SELECT and GROUP BY
    clauses (docs/ranking.md, "Models"). -#}
{% macro ranking_key_columns(unit=true) -%}
    methodology_name,
    content_sha256,
    period_grain,
    period_start,
    period_year,
    period_quarter,
    period_month,
    {% if unit -%}
    unit_code,
    unit_name,
    {% endif -%}
    unit_group
{%- endmacro %}
