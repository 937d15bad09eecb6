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
    The keys of the records with a version in the raw table `source_relation` loaded after the
    newest batch `relation` has seen (its max(batch_id); a batch id is the latest version's,
    carried down from staging). An empty relation has seen nothing: every key. Batch ids grow
    with each load (identity column); a system's loads run one at a time (its ingest DAG has
    max_active_runs=1), so no batch commits below the cursor. The raw tables read this way have
    a BRIN index on batch_id (load/schema.sql), summarised by each load.
-#}
{% macro changed_record_keys(source_relation, relation) -%}
    select distinct changed.record_key
    from {{ source_relation }} as changed
    where changed.batch_id > {{ incremental_cursor('batch_id', relation) }}
{%- endmacro %}

{#- The incremental cursor of the one-stop chain: the codes of the dossiers changed since the
    newest batch `relation` has seen (changed_record_keys of raw_onestop.hoso). -#}
{% macro changed_dossier_codes(relation) -%}
    {{ changed_record_keys(source('onestop', 'hoso'), relation) }}
{%- endmacro %}

{#-
    The staged dossiers (stg_onestop__dossiers) whose codes `codes` (a query of one column)
    returns, read one code at a time: a LATERAL subquery behind an OFFSET 0 fence, so each code
    is one probe of the staged table's unique index. Left to itself the planner may hash the
    whole staged table for a few hundred changed codes.
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

{#-
    The pre-hook of int_documents_classified in an incremental run: delete the rows of every
    document staged since the newest batch the model has seen. The run inserts back those that
    still count in a period; one that no longer does (no issue or arrival date any more) would
    otherwise keep its old row, delete+insert only replacing the keys it inserts.
-#}
{% macro delete_restaged_documents() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as classified
    using {{ ref('stg_eoffice__documents') }} as staged
    where staged.document_id = classified.document_id
        and staged.batch_id > {{ incremental_cursor('batch_id') }}
    {%- endif -%}
{%- endmacro %}

{#-
    The post-hook of int_document_kpis in an incremental run: delete the periods no longer
    reported, before the first or after the last month with a document (delete+insert replaces
    only the periods a run writes).
-#}
{% macro delete_unreported_document_periods() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as kpis
    using (
        select
            date_trunc('month', min(document_date)::timestamp) as first_month,
            date_trunc('month', max(document_date)::timestamp) as last_month
        from {{ ref('int_documents_classified') }}
    ) as bounds
    where kpis.period_start < date_trunc(kpis.period_grain, bounds.first_month)
        or kpis.period_start > date_trunc(kpis.period_grain, bounds.last_month)
        or bounds.first_month is null
    {%- endif -%}
{%- endmacro %}
