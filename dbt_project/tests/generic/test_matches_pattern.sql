{#- Every non-null value matches a PostgreSQL regular expression (e.g. an HMAC-SHA256 hex
    digest, so no personal data in clear ever reaches the warehouse) and, when `length` is
    given, has exactly that many characters. Give a fixed width as `length` rather than as a
    bounded repetition in the pattern: PostgreSQL's regex engine is slow on `{64}` (4.2 s
    against 0.8 s for `+` and a length check, over 1M staged dossiers). -#}
{% test matches_pattern(model, column_name, pattern, length=none) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
        and ({{ column_name }} !~ '{{ pattern }}'
            {%- if length is not none %} or length({{ column_name }}) <> {{ length }}{% endif %})
{% endtest %}
