{#- The one conversion from an instant to the one-stop system's local calendar (var
    local_timezone, Asia/Ho_Chi_Minh): period boundaries and due dates are local dates. -#}
{% macro to_local_date(timestamp_expression) -%}
    (({{ timestamp_expression }}) at time zone '{{ var("local_timezone") }}')::date
{%- endmacro %}

{% macro to_local_time(timestamp_expression) -%}
    (({{ timestamp_expression }}) at time zone '{{ var("local_timezone") }}')::time
{%- endmacro %}
