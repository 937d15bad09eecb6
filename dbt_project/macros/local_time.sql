{#- The one conversion from an instant to the one-stop system's local calendar (var
    local_timezone, Asia/Ho_Chi_Minh): period boundaries and due dates are local dates. -#}
{% macro to_local_date(timestamp_expression) -%}
    (({{ timestamp_expression }}) at time zone '{{ var("local_timezone") }}')::date
{%- endmacro %}

{% macro to_local_time(timestamp_expression) -%}
    (({{ timestamp_expression }}) at time zone '{{ var("local_timezone") }}')::time
{%- endmacro %}

{#- The e-office's naive local 'dd/MM/yyyy HH:mm:ss' text (SOURCES.md §2) as the instant it
    names in the local zone, whatever the session's TimeZone. -#}
{% macro from_local_text(text_expression) -%}
    ((to_date({{ text_expression }}, 'DD/MM/YYYY') + substr({{ text_expression }}, 12, 8)::time)
        at time zone '{{ var("local_timezone") }}')
{%- endmacro %}
