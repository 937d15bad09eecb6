{#-
    The unit scaffold of the KPI models: every ranked unit (department, district, commune:
    levels 2–4) of `units` in force on some day of each period of `periods` (a relation with
    period_grain, period_start and period_end), one row per unit and period; `where` narrows the
    periods. Units and periods are the models' own CTEs.
-#}
{% macro ranked_units_in_periods(periods, where='true', units='units') -%}
    select
        units.unit_code,
        periods.period_grain,
        periods.period_start
    from {{ units }} as units
    inner join {{ periods }} as periods
        on units.valid_from <= periods.period_end
        and (units.valid_to is null or units.valid_to >= periods.period_start)
    where units.unit_level in (2, 3, 4)
        and {{ where }}
{%- endmacro %}
