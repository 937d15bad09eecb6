{#-
    The `where` config of a data test, as dbt applies it, plus one placeholder: `__this__` names
    the relation under test. The incremental models scope their row-by-row tests to the rows of
    their latest refresh with it (`refreshed_at = (select max(refreshed_at) from
    __this__)`): a refresh then tests what it wrote, not the whole history again, and a full
    refresh tests every row. Uniqueness across refreshes is enforced by each model's unique index.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where | replace('__this__', relation | string) }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
