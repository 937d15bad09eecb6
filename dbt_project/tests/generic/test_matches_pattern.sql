{#- Every non-null value matches a PostgreSQL regular expression (e.g. a 64-hex HMAC, so no
    personal data in clear ever reaches the warehouse). -#}
{% test matches_pattern(model, column_name, pattern) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
        and {{ column_name }} !~ '{{ pattern }}'
{% endtest %}
