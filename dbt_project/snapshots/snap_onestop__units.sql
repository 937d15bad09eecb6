{#- SCD type 2 history of the one-stop units; configuration and columns in
    snap_onestop__units.yml. This SQL exists for one reason: the timestamp strategy needs
    updated_at as `timestamp without time zone` (the type of postgres__snapshot_get_time), or
    dbt raises SnapshotTimestampWarning; NgayCapNhat lands as timestamptz, so it is restated
    here as the one-stop system's local wall-clock time (var local_timezone). -#}
{% snapshot snap_onestop__units %}

    select
        unit_code,
        unit_name,
        unit_level,
        parent_unit_code,
        valid_from,
        valid_to,
        successor_unit_code,
        source_updated_at,
        (source_updated_at at time zone '{{ var("local_timezone") }}') as source_updated_at_local
    from {{ ref('stg_onestop__units') }}

{% endsnapshot %}
