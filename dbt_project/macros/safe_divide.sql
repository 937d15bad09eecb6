{#- DOMAIN §4: a zero or missing denominator gives NULL (no data), never 0% and never an error.
    The ratio is rounded to `scale` decimals and typed numeric(3 + scale, scale): numeric(7,4). -#}
{% macro safe_divide(numerator, denominator, scale=4) -%}
    (
        case
            when ({{ denominator }}) is null or ({{ denominator }}) = 0 then null
            else round(({{ numerator }})::numeric / ({{ denominator }}), {{ scale }})
        end
    )::numeric({{ 3 + scale }}, {{ scale }})
{%- endmacro %}
