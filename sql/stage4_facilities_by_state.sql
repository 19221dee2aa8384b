-- Stage 4: facilities per state.
-- Grain: one row per state with at least one facility in the snapshot (missing states were
-- curated to 'UNKNOWN'). A facility is accredited when at least one of its accreditations has
-- valid_until >= as_of; invalid (NULL) dates never count.
-- Parameters, in order:
--   1. snapshot_date  'YYYY-MM-DD', the partition to read
-- as_of is the snapshot's own date (a partition is the registry as of its snapshot_date), read
-- from the rows because Athena takes query parameters only in WHERE clauses.
with facility_snapshot as (
    select
        facility_id,
        state,
        accreditations,
        cast(snapshot_date as date) as as_of
    from facilities
    where snapshot_date = ?
),

accredited_facilities as (
    select distinct facility.facility_id
    from facility_snapshot as facility
    -- Trino expands an array of rows into one column per field.
    cross join unnest(facility.accreditations)
        as accreditation (accreditation_body, accreditation_id, valid_until)
    where accreditation.valid_until >= facility.as_of
)

select
    facility.state,
    count(distinct facility.facility_id) as facility_count,
    count(distinct accredited_facilities.facility_id) as accredited_facility_count
from facility_snapshot as facility
left join accredited_facilities
    on facility.facility_id = accredited_facilities.facility_id
group by facility.state
order by facility.state
