{#- Read access for BI tools (ARCHITECTURE.md, "Schemas and roles"): role bi_reader_role() may
    read the schemas marts and published, and nothing else. The role is cluster-wide and
    created with the warehouse (govkpi.roles); grants are per database and done here:
      - SELECT on each mart: the `+grants` config of models/marts in dbt_project.yml;
      - the rest (this macro, on-run-end): USAGE on marts and published, SELECT on every table
        and view of published (written by the publisher, outside dbt), and default privileges so
        that tables this user creates later in either schema are readable at once.
    Catalog writes happen only when a privilege is missing and under an advisory lock, so
    Cosmos tasks running this hook side by side do not collide ("tuple concurrently updated"). -#}
{% macro grant_bi_reader_access() -%}
create schema if not exists published;
do $grant_bi_reader_access$
declare
    reader constant text := {{ dbt.string_literal(bi_reader_role()) }};
    schema_name text;
    table_oid oid;
begin
    perform pg_advisory_xact_lock(hashtext('govkpi.grant_bi_reader_access'));
    for schema_name in
        select nspname from pg_namespace where nspname in ('marts', 'published') order by nspname
    loop
        if not has_schema_privilege(reader, schema_name, 'USAGE') then
            execute format('grant usage on schema %I to %I', schema_name, reader);
        end if;
        if not exists (
            select
            from pg_default_acl as d
            cross join lateral aclexplode(d.defaclacl) as acl
            where d.defaclnamespace = schema_name::regnamespace
                and d.defaclrole = current_user::regrole
                and d.defaclobjtype = 'r'
                and acl.grantee = reader::regrole
                and acl.privilege_type = 'SELECT'
        ) then
            execute format(
                'alter default privileges in schema %I grant select on tables to %I',
                schema_name, reader
            );
        end if;
    end loop;
    for table_oid in
        select c.oid
        from pg_class as c
        where c.relnamespace = 'published'::regnamespace
            and c.relkind in ('r', 'p', 'v', 'm', 'f')
            and not has_table_privilege(reader, c.oid, 'SELECT')
    loop
        execute format('grant select on %s to %I', table_oid::regclass, reader);
    end loop;
end
$grant_bi_reader_access$;
{%- endmacro %}


{#- on-run-start: stop at once, saying what to do, when the role is missing (the grants of the
    marts would otherwise fail model by model with "role ... does not exist"). -#}
{% macro require_bi_reader_role() -%}
    {%- if execute -%}
        {%- set role = bi_reader_role() -%}
        {%- set found = run_query(
            "select 1 from pg_roles where rolname = " ~ dbt.string_literal(role)) -%}
        {%- if found.rows | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "role " ~ role ~ " does not exist on this server: run `govkpi warehouse` as a "
                ~ "user with CREATEROLE, or ask a DBA to run `create role " ~ role
                ~ " nologin;` (README.md, BI access)") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The NOLOGIN group role of BI tools: bi_reader (govkpi.roles.BI_READER_ROLE), or var
    bi_reader_role; dbt_project.yml's +grants of the marts reads the same var and default. -#}
{% macro bi_reader_role() -%}
    {{- return(var('bi_reader_role', 'bi_reader')) -}}
{%- endmacro %}
