-- One row per (assessment year, unit): the state of its self-assessment return (SOURCES.md §4),
-- renamed. A unit is assessed for a year only with a usable return (loaded, or loaded with
-- errors: a missing item is then scored as unanswered); not_submitted and rejected are not.
select
    year::integer as assessment_year,
    unit_code::text as unit_code,
    status::text as return_status,
    status in ('loaded', 'loaded_with_errors') as has_usable_return,
    path::text as file_path,
    sha256::text as file_sha256,
    rows_loaded::integer as rows_loaded,
    problems::integer as problem_count,
    reason::text as rejection_reason,
    first_seen_at::timestamptz as first_seen_at,
    batch_id::bigint as batch_id
from {{ source('raw_files', 'assessment_file_status') }}
