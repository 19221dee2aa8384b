-- Lapsed accreditations: expired, and not renewed by the same accreditation body.
-- Grain: one row per accreditation (of one facility of the snapshot) with valid_until < as_of
-- whose facility holds no accreditation from the same accreditation_body with
-- valid_until >= as_of. A renewal from another body does not cover a lapse.
-- Parameters, in order:
--   1. snapshot_date  'YYYY-MM-DD', the partition to read
-- as_of is the snapshot's own date (a partition is the registry as of its snapshot_date), read
-- from the rows because Athena takes query parameters only in WHERE clauses.
with facility_snapshot as (
    select
        facility_id,
        facility_name,
        state,
        accreditations,
        cast(snapshot_date as date) as as_of
    from facilities
    where snapshot_date = ?
),

facility_accreditations as (
    select
        facility.facility_id,
        facility.facility_name,
        facility.state,
        facility.as_of,
        accreditation.accreditation_body,
        accreditation.accreditation_id,
        accreditation.valid_until
    from facility_snapshot as facility
    -- Trino expands an array of rows into one column per field.
    cross join unnest(facility.accreditations)
        as accreditation (accreditation_body, accreditation_id, valid_until)
    -- Invalid (NULL) dates neither lapse nor renew.
    where accreditation.valid_until is not null
),

current_bodies as (
    select distinct
        facility_id,
        accreditation_body
    from facility_accreditations
    where valid_until >= as_of
)

select
    facility_accreditations.facility_id,
    facility_accreditations.facility_name,
    facility_accreditations.state,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id,
    facility_accreditations.valid_until,
    date_diff('day', facility_accreditations.as_of, facility_accreditations.valid_until) as days_until_expiry
from facility_accreditations
left join current_bodies
    on facility_accreditations.facility_id = current_bodies.facility_id
    and facility_accreditations.accreditation_body = current_bodies.accreditation_body
where facility_accreditations.valid_until < facility_accreditations.as_of
    and current_bodies.facility_id is null
order by
    days_until_expiry,
    facility_accreditations.facility_id,
    facility_accreditations.accreditation_body,
    facility_accreditations.accreditation_id
