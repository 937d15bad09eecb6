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
    where hoso.batch_id > (select coalesce(max(seen.batch_id), -1) from {{ relation }} as seen)
{%- endmacro %}

{#-
    A filter keeping the rows of `column` whose dossier changed since `relation`'s cursor: a
    semi-join, which PostgreSQL carries into the flat stg_onestop__dossiers view down to the raw
    key index, so only the changed dossiers' versions are read.
-#}
{% macro is_changed_dossier(column, relation) -%}
    {{ column }} in ({{ changed_dossier_codes(relation) }})
{%- endmacro %}
