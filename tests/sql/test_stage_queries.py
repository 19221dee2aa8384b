"""Each stage query on DuckDB against hand-computed expectations (days counted by hand from the as-of)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.stages import (
    EXPIRING_ACCREDITATIONS,
    FACILITIES_BY_STATE,
    FACILITY_METRICS,
    LAPSED_ACCREDITATIONS,
)

AS_OF = "2026-12-01"  # window end: 2027-06-01
PREVIOUS_SNAPSHOT = "2026-11-01"


@pytest.fixture
def athena(curated_athena, make_facility):
    facility = make_facility
    current_facilities = [
        facility(
            "F01",
            state="TX",
            services=("Emergency Care", "Radiology", "Cardiology"),
            accreditations=[
                ("JC", "JC-0", date(2026, 12, 1)),  # 0 days
                ("DNV", "DNV-30", date(2026, 12, 31)),  # 30 days
                ("CARF", "CARF-31", date(2027, 1, 1)),  # 31 days
            ],
        ),
        facility(
            "F02",
            state="CA",
            accreditations=[
                ("JC", "JC-91", date(2027, 3, 2)),  # 91 days
                ("JC", "JC-60", date(2027, 1, 30)),  # 60 days
                ("DNV", "DNV-90", date(2027, 3, 1)),  # 90 days
                ("DNV", "DNV-61", date(2027, 1, 31)),  # 61 days
            ],
        ),
        facility(
            "F03",
            state="NY",
            accreditations=[
                ("JC", "JC-EDGE", date(2027, 6, 1)),  # as_of + 6 months exactly: 182 days, inside
                ("DNV", "DNV-PAST-EDGE", date(2027, 6, 2)),  # one day past the window
            ],
        ),
        facility(
            "F04",
            state="FL",
            employee_count=None,
            accreditations=[
                ("JC", "JC-BAD-DATE", None),  # invalid date: never renews, lapses or expires
                ("JC", "JC-LAPSED", date(2026, 11, 30)),  # -1 day, lapsed
            ],
        ),
        facility(
            "F05",
            state="WA",
            accreditations=[
                ("JC", "JC-OLD", date(2026, 6, 1)),  # renewed by JC-NEW: not lapsed
                ("JC", "JC-NEW", date(2027, 12, 1)),  # beyond the window
                ("DNV", "DNV-OLD", date(2025, 12, 1)),  # -365 days; CARF's renewal does not cover DNV
                ("CARF", "CARF-NEW", date(2027, 1, 15)),  # 45 days
            ],
        ),
        facility("F06", state="UNKNOWN", services=(), accreditations=()),
        facility("F07", state="UNKNOWN", accreditations=[("JC", "JC-BAD", None)]),
        facility("F08", state="TX", services=None, accreditations=None),
    ]

    # The previous snapshot disagrees with the current one everywhere it could leak.
    previous_facilities = [
        facility(
            "F01",
            state="TX",
            services=("Only Service",),
            accreditations=[
                ("JC", "JC-PREVIOUS", date(2026, 12, 15)),
                ("DNV", "DNV-PREV-LAPSED", date(2026, 1, 1)),
            ],
        ),
        facility("F99", state="OR", accreditations=[("JC", "JC-F99", date(2026, 12, 10))]),
    ]
    return curated_athena({AS_OF: current_facilities, PREVIOUS_SNAPSHOT: previous_facilities})


def expiring_row(facility_id: str, state: str, body: str, ident: str, valid_until: date, days: int) -> dict:
    return {
        "facility_id": facility_id,
        "facility_name": f"Facility {facility_id}",
        "state": state,
        "accreditation_body": body,
        "accreditation_id": ident,
        "valid_until": valid_until,
        "days_until_expiry": days,
    }


def test_facility_metrics(athena, run_stage):
    rows = run_stage(athena, FACILITY_METRICS, as_of=AS_OF)

    assert [tuple(row.values()) for row in rows] == [
        ("F01", "Facility F01", 100, 3, date(2026, 12, 1)),
        ("F02", "Facility F02", 100, 1, date(2027, 1, 30)),
        ("F03", "Facility F03", 100, 1, date(2027, 6, 1)),
        ("F04", "Facility F04", None, 1, date(2026, 11, 30)),
        ("F05", "Facility F05", 100, 1, date(2025, 12, 1)),
        ("F06", "Facility F06", 100, 0, None),
        ("F07", "Facility F07", 100, 1, None),
        ("F08", "Facility F08", 100, 0, None),
    ]
    assert list(rows[0]) == [
        "facility_id",
        "facility_name",
        "employee_count",
        "number_of_offered_services",
        "expiry_date_of_first_accreditation",
    ]


def test_expiring_accreditations_boundaries_and_six_month_edge(athena, run_stage):
    rows = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=AS_OF)

    assert rows == [
        expiring_row("F01", "TX", "JC", "JC-0", date(2026, 12, 1), 0),
        expiring_row("F01", "TX", "DNV", "DNV-30", date(2026, 12, 31), 30),
        expiring_row("F01", "TX", "CARF", "CARF-31", date(2027, 1, 1), 31),
        expiring_row("F05", "WA", "CARF", "CARF-NEW", date(2027, 1, 15), 45),
        expiring_row("F02", "CA", "JC", "JC-60", date(2027, 1, 30), 60),
        expiring_row("F02", "CA", "DNV", "DNV-61", date(2027, 1, 31), 61),
        expiring_row("F02", "CA", "DNV", "DNV-90", date(2027, 3, 1), 90),
        expiring_row("F02", "CA", "JC", "JC-91", date(2027, 3, 2), 91),
        expiring_row("F03", "NY", "JC", "JC-EDGE", date(2027, 6, 1), 182),
    ]


def test_lapsed_accreditations_need_a_renewal_from_the_same_body(athena, run_stage):
    rows = run_stage(athena, LAPSED_ACCREDITATIONS, as_of=AS_OF)

    assert rows == [
        expiring_row("F05", "WA", "DNV", "DNV-OLD", date(2025, 12, 1), -365),
        expiring_row("F04", "FL", "JC", "JC-LAPSED", date(2026, 11, 30), -1),
    ]


def test_facilities_by_state(athena, run_stage):
    rows = run_stage(athena, FACILITIES_BY_STATE, as_of=AS_OF)

    assert [tuple(row.values()) for row in rows] == [
        ("CA", 1, 1),
        ("FL", 1, 0),
        ("NY", 1, 1),
        ("TX", 2, 1),
        ("UNKNOWN", 2, 0),
        ("WA", 1, 1),
    ]
    assert list(rows[0]) == ["state", "facility_count", "accredited_facility_count"]


def test_previous_snapshot_is_read_alone_when_asked_for(athena, run_stage):
    # GIVEN the same table, WHEN the stages read the previous partition, THEN only its rows count.
    expiring = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=PREVIOUS_SNAPSHOT)
    by_state = run_stage(athena, FACILITIES_BY_STATE, as_of=PREVIOUS_SNAPSHOT)
    lapsed = run_stage(athena, LAPSED_ACCREDITATIONS, as_of=PREVIOUS_SNAPSHOT)
    metrics = run_stage(athena, FACILITY_METRICS, as_of=PREVIOUS_SNAPSHOT)

    assert [(row["facility_id"], row["accreditation_id"]) for row in expiring] == [
        ("F99", "JC-F99"),
        ("F01", "JC-PREVIOUS"),
    ]
    assert [tuple(row.values()) for row in by_state] == [("OR", 1, 1), ("TX", 1, 1)]
    assert [row["accreditation_id"] for row in lapsed] == ["DNV-PREV-LAPSED"]
    assert [(row["facility_id"], row["number_of_offered_services"]) for row in metrics] == [
        ("F01", 1),
        ("F99", 1),
    ]


def test_unknown_snapshot_gives_empty_results(athena, run_stage):
    for stage in (FACILITY_METRICS, EXPIRING_ACCREDITATIONS, LAPSED_ACCREDITATIONS, FACILITIES_BY_STATE):
        assert run_stage(athena, stage, as_of="2026-10-01") == []


def test_window_end_clamps_from_august_31_to_february_28(curated_athena, make_facility, run_stage):
    facility = make_facility
    # as_of 2026-08-31 + 6 months = 2027-02-28 (181 days), not March 3.
    as_of = "2026-08-31"
    athena = curated_athena(
        {
            as_of: [
                facility(
                    "C01",
                    accreditations=[
                        ("JC", "JC-FEB-28", date(2027, 2, 28)),
                        ("DNV", "DNV-MAR-01", date(2027, 3, 1)),
                        ("CARF", "CARF-AS-OF", date(2026, 8, 31)),
                    ],
                )
            ]
        }
    )

    rows = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=as_of)

    assert [(row["accreditation_id"], row["days_until_expiry"]) for row in rows] == [
        ("CARF-AS-OF", 0),
        ("JC-FEB-28", 181),
    ]


def test_leap_day_as_of(curated_athena, make_facility, run_stage):
    facility = make_facility
    # as_of 2028-02-29 + 6 months = 2028-08-29 (182 days).
    as_of = "2028-02-29"
    athena = curated_athena(
        {
            as_of: [
                facility(
                    "L01",
                    state="NV",
                    accreditations=[
                        ("JC", "JC-LEAP", date(2028, 2, 29)),
                        ("JC", "JC-EDGE", date(2028, 8, 29)),
                        ("JC", "JC-PAST-EDGE", date(2028, 8, 30)),
                        ("DNV", "DNV-DAY-BEFORE", date(2028, 2, 28)),
                    ],
                )
            ]
        }
    )

    expiring = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=as_of)
    lapsed = run_stage(athena, LAPSED_ACCREDITATIONS, as_of=as_of)
    by_state = run_stage(athena, FACILITIES_BY_STATE, as_of=as_of)
    metrics = run_stage(athena, FACILITY_METRICS, as_of=as_of)

    assert [(row["accreditation_id"], row["days_until_expiry"]) for row in expiring] == [
        ("JC-LEAP", 0),
        ("JC-EDGE", 182),
    ]
    assert [(row["accreditation_id"], row["days_until_expiry"]) for row in lapsed] == [("DNV-DAY-BEFORE", -1)]
    assert [tuple(row.values()) for row in by_state] == [("NV", 1, 1)]
    assert metrics[0]["expiry_date_of_first_accreditation"] == date(2028, 2, 28)


def test_leap_day_valid_until_at_the_clamped_window_end(curated_athena, make_facility, run_stage):
    facility = make_facility
    # as_of 2027-08-31 + 6 months = 2028-02-29 (182 days): the leap day is the last day inside.
    as_of = "2027-08-31"
    athena = curated_athena(
        {
            as_of: [
                facility(
                    "L02",
                    accreditations=[
                        ("JC", "JC-LEAP", date(2028, 2, 29)),
                        ("DNV", "DNV-MAR-01", date(2028, 3, 1)),
                    ],
                )
            ]
        }
    )

    rows = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=as_of)

    assert [(row["valid_until"], row["days_until_expiry"]) for row in rows] == [(date(2028, 2, 29), 182)]


def test_result_types_are_dates_and_integers(athena, run_stage):
    expiring = run_stage(athena, EXPIRING_ACCREDITATIONS, as_of=AS_OF)[0]
    metrics = run_stage(athena, FACILITY_METRICS, as_of=AS_OF)[0]
    by_state = run_stage(athena, FACILITIES_BY_STATE, as_of=AS_OF)[0]

    assert type(expiring["valid_until"]) is date
    assert type(expiring["days_until_expiry"]) is int
    assert type(metrics["expiry_date_of_first_accreditation"]) is date
    assert type(metrics["number_of_offered_services"]) is int
    assert type(by_state["facility_count"]) is int
