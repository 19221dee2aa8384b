-- Stage 1: facility metrics.
-- Grain: one row per facility of the snapshot (facilities without accreditations included).
-- Parameters, in order:
--   1. snapshot_date  'YYYY-MM-DD', the partition to read
-- expiry_date_of_first_accreditation is the earliest valid valid_until; NULL (an empty CSV
-- field) when the facility has none. Invalid dates were curated to NULL and are ignored.
with facility_snapshot as (
    select
        facility_id,
        facility_name,
        employee_count,
        services,
        accreditations
    from facilities
    where snapshot_date = ?
),

dated_accreditations as (
    select
        facility.facility_id,
        accreditation.valid_until
    from facility_snapshot as facility
    -- Trino expands an array of rows into one column per field.
    cross join unnest(facility.accreditations)
        as accreditation (accreditation_body, accreditation_id, valid_until)
    where accreditation.valid_until is not null
),

first_expiry as (
    select
        facility_id,
        min(valid_until) as expiry_date_of_first_accreditation
    from dated_accreditations
    group by facility_id
)

select
    facility.facility_id,
    facility.facility_name,
    facility.employee_count,
    coalesce(cardinality(facility.services), 0) as number_of_offered_services,
    first_expiry.expiry_date_of_first_accreditation
from facility_snapshot as facility
left join first_expiry
    on facility.facility_id = first_expiry.facility_id
order by facility.facility_id
