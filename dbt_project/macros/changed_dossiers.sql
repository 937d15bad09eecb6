{#-
    The cursor of an incremental model: max(`column`) of `relation` (default: the model itself),
    -1 when it is empty, read when the model compiles and written into its SQL as a literal, so
    the planner estimates "batch_id > <cursor>" from the column's statistics (a few changed rows,
    found by index) rather than guessing a third of the table for an unknown parameter.
-#}
{% macro incremental_cursor(column, relation=none) -%}
    {%- set relation = relation if relation is not none else this -%}
    {%- if execute -%}
        {%- set result = run_query('select coalesce(max(' ~ column ~ '), -1) from ' ~ relation) -%}
        {{- result.columns[0].values()[0] -}}
    {%- else -%}
        -1
    {%- endif -%}
{%- endmacro %}

{#-
    The incremental cursor of the one-stop chain: the codes of dossiers with a version in
    raw_onestop.hoso loaded after the newest batch `relation` has seen (its max(batch_id); a
    batch id is the latest version's, carried down from staging). An empty relation has seen
    nothing: every dossier. Batch ids grow with each load (identity column); one-stop loads
    run one at a time (ingest_onestop, max_active_runs=1), so no batch commits below the cursor.
-#}
{% macro changed_dossier_codes(relation) -%}
    select distinct hoso.record_key
    from {{ source('onestop', 'hoso') }} as hoso
    where hoso.batch_id > {{ incremental_cursor('batch_id', relation) }}
{%- endmacro %}

{#-
    The staged dossiers (stg_onestop__dossiers) whose codes `codes` (a query of one column)
    returns, read one code at a time: a LATERAL subquery behind an OFFSET 0 fence, so each code
    is one probe of the raw key index (the latest version, see the staging model). Left to
    itself the planner may scan every version of every dossier first (it cannot size the
    staging view's latest-version filter), which costs a full refresh.
-#}
{% macro staged_dossiers_with_codes(codes) -%}
    select staged.*
    from (
        {{ codes }}
    ) as changed (dossier_code)
    cross join lateral (
        select *
        from {{ ref('stg_onestop__dossiers') }} as dossier
        where dossier.dossier_code = changed.dossier_code
        offset 0
    ) as staged
{%- endmacro %}

{#-
    Session settings of an incremental run (a pre-hook: SET LOCAL, the model's transaction only).
    JIT off: the planner cannot size the CTEs of these models (estimates 10-100x the rows of a
    refresh), so JIT compiled and optimised hundreds of functions for a query over a few hundred
    thousand rows: 1-5 s a model (EXPLAIN ANALYZE, dbt_refresh bench). A full refresh keeps the
    server's default.
-#}
{% macro incremental_run_settings() -%}
    {%- if is_incremental() -%}
    set local jit = off
    {%- endif -%}
{%- endmacro %}
