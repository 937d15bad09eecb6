{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='document_id',
        on_schema_change='fail',
        pre_hook=[
            '{{ incremental_run_settings() }}',
            '{{ delete_restaged_documents() }}',
        ],
        post_hook='analyze {{ this }}',
        indexes=[
            {'columns': ['document_id'], 'unique': true},
            {'columns': ['unit_code', 'document_date']},
            {'columns': ['batch_id']},
        ]
    )
}}

-- One row per e-office document that counts in a period, with the EO-1 … EO-5 flags (DOMAIN §4)
-- worked out once. A document counts on its local document date: an outgoing one when it is
-- issued (ngay_ban_hanh; drafts and signed-but-unissued documents are not outgoing yet), an
-- incoming one when it arrives (ngay_den). Every flag is true or false, never null.
-- Incremental (delete+insert on document_id): a run reclassifies the documents staged since the
-- newest batch seen here (batch_id, carried from staging); the pre-hook first deletes every row
-- of those documents, so one that no longer counts (e.g. its arrival time was withdrawn) leaves.
-- A change of the holiday calendar (dim_calendar) needs --full-refresh.
with documents as (

    select * from {{ ref('stg_eoffice__documents') }}
    {%- if is_incremental() %}
    where batch_id > {{ incremental_cursor('batch_id') }}
    {%- endif %}

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

dated as (

    select
        document_id,
        unit_code,
        is_outgoing,
        form_code,
        has_electronic_version,
        coalesce(signed_by_person, false) as is_signed_by_person,
        coalesce(signed_by_organisation, false) as is_signed_by_organisation,
        coalesce(sent_via_exchange_axis, false) as is_sent_via_exchange_axis,
        coalesce(recipient_on_exchange_axis, false) as is_recipient_on_exchange_axis,
        {{ to_local_date('signed_at') }} as signed_date,
        {{ to_local_date('issued_at') }} as issued_date,
        {{ to_local_date('arrived_at') }} as arrived_date,
        {{ to_local_date('acknowledged_at') }} as acknowledged_date,
        case
            when is_outgoing then {{ to_local_date('issued_at') }}
            else {{ to_local_date('arrived_at') }}
        end as document_date,
        batch_id
    from documents

),

-- "Signing day + 1 working day" (EO-3): the next working day after the local signing date,
-- through the one working-day calendar (a signature on a day off moves to the next working day
-- after it, e.g. Saturday → Monday).
with_issue_deadline as (

    select
        dated.*,
        issue_deadline_day.calendar_date as issue_deadline_date
    from dated
    {{ join_calendar_date('calendar', 'signing_day', 'dated.signed_date') }}
    {{ join_add_working_days(
        'calendar', 'issue_deadline_day', 'signing_day.working_day_number', 1
    ) }}

),

classified as (

    select
        document_id,
        unit_code,
        case when is_outgoing then 'outgoing' else 'incoming' end as direction,
        form_code,
        document_date,
        signed_date,
        issued_date,
        issue_deadline_date,
        arrived_date,
        acknowledged_date,
        -- EO-1: digitally signed by the signing person AND with the organisation's certificate.
        is_outgoing as is_eo1_outgoing,
        is_outgoing and is_signed_by_person and is_signed_by_organisation
            as is_eo1_signed_by_person_and_organisation,
        -- EO-2: outgoing to a recipient connected to the document exchange axis, and of those
        -- the ones sent electronically over it.
        is_outgoing and is_recipient_on_exchange_axis as is_eo2_to_connected_recipient,
        is_outgoing and is_recipient_on_exchange_axis and is_sent_via_exchange_axis
            and has_electronic_version as is_eo2_sent_via_exchange_axis,
        -- EO-3: issued no later than the working day after the signing day; an issued document
        -- without a signing time cannot be shown on time (denominator only).
        is_outgoing as is_eo3_outgoing,
        coalesce(is_outgoing and issued_date <= issue_deadline_date, false)
            as is_eo3_issued_on_time,
        -- EO-4: incoming documents that exist electronically (paper-only ones are not asked
        -- for an electronic acknowledgement), acknowledged on their local arrival day.
        not is_outgoing and has_electronic_version as is_eo4_incoming_electronic,
        coalesce(
            not is_outgoing and has_electronic_version and acknowledged_date = arrived_date,
            false
        ) as is_eo4_acknowledged_same_day,
        -- EO-5: electronic (dien_tu, or dien_tu_va_giay) among all documents.
        has_electronic_version as is_eo5_electronic,
        batch_id
    from with_issue_deadline
    where document_date is not null

)

select * from classified
