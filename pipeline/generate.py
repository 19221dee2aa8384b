"""Synthetic facility registries (NDJSON) for benchmarks and load tests, deterministic for a seed."""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

# 2020 census resident population (thousands) and the 3-digit ZIP prefix range of each state.
# Facilities follow population, so the state histogram looks like a real national registry.
_STATES: tuple[tuple[str, int, int, int], ...] = (
    ("CA", 39538, 900, 961), ("TX", 29146, 750, 799), ("FL", 21538, 320, 349),
    ("NY", 20201, 100, 149), ("PA", 13003, 150, 196), ("IL", 12812, 600, 629),
    ("OH", 11799, 430, 459), ("GA", 10712, 300, 319), ("NC", 10439, 270, 289),
    ("MI", 10077, 480, 499), ("NJ", 9289, 70, 89), ("VA", 8631, 220, 246),
    ("WA", 7705, 980, 994), ("AZ", 7152, 850, 865), ("MA", 7030, 10, 27),
    ("TN", 6911, 370, 385), ("IN", 6786, 460, 479), ("MD", 6177, 206, 219),
    ("MO", 6154, 630, 658), ("WI", 5894, 530, 549), ("CO", 5774, 800, 816),
    ("MN", 5706, 550, 567), ("SC", 5119, 290, 299), ("AL", 5024, 350, 369),
    ("LA", 4658, 700, 714), ("KY", 4506, 400, 427), ("OR", 4237, 970, 979),
    ("OK", 3959, 730, 749), ("CT", 3606, 60, 69), ("UT", 3272, 840, 847),
    ("IA", 3190, 500, 528), ("NV", 3105, 889, 898), ("AR", 3012, 716, 729),
    ("MS", 2961, 386, 397), ("KS", 2938, 660, 679), ("NM", 2118, 870, 884),
    ("NE", 1962, 680, 693), ("ID", 1839, 832, 838), ("WV", 1794, 247, 268),
    ("HI", 1455, 967, 968), ("NH", 1377, 30, 38), ("ME", 1362, 39, 49),
    ("RI", 1097, 28, 29), ("MT", 1084, 590, 599), ("DE", 990, 197, 199),
    ("SD", 887, 570, 577), ("ND", 779, 580, 588), ("AK", 733, 995, 999),
    ("DC", 690, 200, 205), ("VT", 643, 50, 59), ("WY", 577, 820, 831),
)

# Town names that exist in many states; cheaper than a per-state gazetteer and still plausible.
_CITIES = (
    "Springfield", "Franklin", "Greenville", "Bristol", "Clinton", "Fairview", "Salem", "Madison",
    "Georgetown", "Arlington", "Ashland", "Burlington", "Manchester", "Oxford", "Jackson", "Milton",
    "Riverside", "Auburn", "Dayton", "Lexington", "Centerville", "Winchester", "Newport", "Marion",
    "Kingston", "Dover", "Hudson", "Lebanon", "Columbia", "Monroe", "Plymouth", "Lancaster",
)
_STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Church",
    "River", "Highland", "Lincoln", "Jefferson", "Sunset", "Ridge", "Meadow", "Walnut", "Spring",
)
_STREET_SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Way", "Pkwy")
_NAME_PREFIXES = (
    "St. Mary's", "Mercy", "Good Samaritan", "Providence", "Sacred Heart", "Valley", "Lakeside",
    "Riverside", "Summit", "Harbor View", "Pine Ridge", "Cedar Creek", "Northside", "Southwest",
    "Memorial", "Baptist", "Methodist", "Unity", "Hope", "Heritage", "Bayview", "Prairie",
    "Green Valley", "Mountain View", "Eastside", "Westview", "Bridgeport", "Oak Park",
)


@dataclass(frozen=True)
class _FacilityType:
    label: str
    weight: int
    # Employee count ~ lognormal(median, spread): a few very large facilities, many small ones.
    median_employees: int
    employee_spread: float


_FACILITY_TYPES = (
    _FacilityType("Regional Hospital", 10, 900, 0.7),
    _FacilityType("Medical Center", 12, 600, 0.8),
    _FacilityType("Community Hospital", 10, 250, 0.6),
    _FacilityType("Family Clinic", 22, 25, 0.7),
    _FacilityType("Surgery Center", 10, 60, 0.5),
    _FacilityType("Urgent Care", 12, 30, 0.5),
    _FacilityType("Behavioral Health Center", 8, 80, 0.6),
    _FacilityType("Rehabilitation Center", 6, 90, 0.6),
    _FacilityType("Imaging Center", 5, 20, 0.5),
    _FacilityType("Dialysis Center", 5, 35, 0.4),
)

_SERVICES = (
    "Emergency Care", "Primary Care", "Pediatrics", "Maternity", "Surgery", "Radiology", "Laboratory",
    "Cardiology", "Oncology", "Orthopedics", "Neurology", "Behavioral Health", "Physical Therapy",
    "Dialysis", "Urgent Care", "Dermatology", "Gastroenterology", "Pulmonology", "Ophthalmology",
    "Obstetrics and Gynecology", "Geriatrics", "Telehealth", "Pharmacy", "Sleep Medicine",
    "Wound Care", "Hospice", "Substance Use Treatment", "Occupational Therapy",
)
_LAB_NAMES = (
    "Hematology Lab", "Microbiology Lab", "Clinical Chemistry Lab", "Pathology Lab",
    "Molecular Diagnostics Lab", "Immunology Lab", "Toxicology Lab", "Cytology Lab", "Blood Bank",
    "Genetics Lab",
)
_LAB_CERTIFICATIONS = ("CAP", "COLA", "AABB", "ISO 15189", "CLEP")

# Body, accreditation-id prefix, relative frequency: The Joint Commission dominates hospitals.
_ACCREDITATION_BODIES = (
    ("Joint Commission", "JC", 34),
    ("NCQA", "NCQA", 14),
    ("CARF", "CARF", 10),
    ("DNV", "DNV", 8),
    ("AAAHC", "AAAHC", 10),
    ("CAP", "CAP", 8),
    ("ACHC", "ACHC", 7),
    ("CHAP", "CHAP", 5),
    ("URAC", "URAC", 4),
)

# valid_until spreads from two years before the anchor date to three years after it.
_PAST_DAYS = 730
_FUTURE_DAYS = 1095
# Accreditation cycles are about three years; a renewal is issued that long after the lapsed one.
_RENEWAL_CYCLE_DAYS = 1095
# Share of facilities with two or more accreditations whose first one lapsed and was renewed.
_RENEWAL_SHARE = 0.4

QUARANTINE_KINDS = ("invalid_json", "non_object", "missing_facility_id", "blank_facility_id")
DATA_QUALITY_KINDS = ("invalid_valid_until", "negative_employee_count")
MALFORMED_KINDS = QUARANTINE_KINDS + DATA_QUALITY_KINDS

_INVALID_DATES = ("2026-02-30", "2027-13-01", "31/12/2026", "2026-6-1", "", "soon", "2025-04-31")
_BLANK_IDS = ("", "   ", None, "\t")


def _cumulative(weights: list[int]) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


_STATE_CUM = _cumulative([row[1] for row in _STATES])
_TYPE_CUM = _cumulative([kind.weight for kind in _FACILITY_TYPES])
_BODY_CUM = _cumulative([body[2] for body in _ACCREDITATION_BODIES])
_SERVICE_COUNT_CUM = _cumulative([8, 14, 18, 18, 15, 12, 9, 6])  # 1..8 services, most facilities 2-5
_LAB_COUNT_CUM = _cumulative([30, 35, 20, 10, 5])  # 0..4 labs
_ACCREDITATION_COUNT_CUM = _cumulative([10, 40, 28, 15, 7])  # 0..4 accreditations


# Records are fresh trees of dicts and lists, never cyclic: skipping the cycle check makes encoding faster.
_encode = json.JSONEncoder(check_circular=False).encode


def generate_facilities(
    count: int, seed: int = 0, bad_ratio: float = 0.01, anchor_date: date | None = None
) -> Iterator[str]:
    """NDJSON lines (without the newline) of `count` facilities; round(count * bad_ratio) are malformed.

    Malformed lines replace the facility at a random position and cycle through MALFORMED_KINDS:
    invalid JSON, a non-object, a missing or blank facility_id (all quarantined by curation),
    an accreditation with an invalid valid_until and a negative employee_count (curated, with a
    data-quality issue). The same arguments always give the same lines.
    """
    for line, _kind in _generate(count, seed, bad_ratio, anchor_date or _utc_today()):
        yield line


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _generate(count: int, seed: int, bad_ratio: float, anchor: date) -> Iterator[tuple[str, str | None]]:
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    if not 0.0 <= bad_ratio <= 1.0:
        raise ValueError(f"bad_ratio must be within [0, 1], got {bad_ratio}")
    rng = random.Random(seed)
    bad_total = round(count * bad_ratio)
    bad_positions = set(rng.sample(range(count), bad_total)) if bad_total else set()
    # One ISO string per day of the valid_until range, formatted once instead of per record.
    first_day = anchor - timedelta(days=_PAST_DAYS)
    iso_days = [
        (first_day + timedelta(days=offset)).isoformat() for offset in range(_PAST_DAYS + _FUTURE_DAYS + 1)
    ]
    id_width = max(7, len(str(count)))
    bad_seen = 0
    for index in range(count):
        record = _facility(rng, f"FAC{index + 1:0{id_width}d}", iso_days)
        if index in bad_positions:
            kind = MALFORMED_KINDS[bad_seen % len(MALFORMED_KINDS)]
            bad_seen += 1
            yield _malformed(rng, record, kind), kind
        else:
            yield _encode(record), None


def _facility(rng: random.Random, facility_id: str, iso_days: list[str]) -> dict:
    # random() and bisect on cumulative weights: randrange/choices/sample cost several times more per
    # call, and a record takes about 25 draws.
    uniform = rng.random
    state, _population, zip_low, zip_high = _STATES[bisect(_STATE_CUM, uniform() * _STATE_CUM[-1])]
    kind = _FACILITY_TYPES[bisect(_TYPE_CUM, uniform() * _TYPE_CUM[-1])]
    service_count = 1 + bisect(_SERVICE_COUNT_CUM, uniform() * _SERVICE_COUNT_CUM[-1])
    lab_count = bisect(_LAB_COUNT_CUM, uniform() * _LAB_COUNT_CUM[-1])
    accreditation_count = bisect(_ACCREDITATION_COUNT_CUM, uniform() * _ACCREDITATION_COUNT_CUM[-1])
    employees = int(kind.median_employees * math.exp(rng.gauss(0.0, kind.employee_spread))) + 1
    labs = []
    for lab_name in _distinct(uniform, _LAB_NAMES, lab_count):
        # Every US clinical lab needs a CLIA certificate; accreditations on top vary.
        certifications = ["CLIA", *_distinct(uniform, _LAB_CERTIFICATIONS, int(uniform() * 3))]
        labs.append({"lab_name": lab_name, "certifications": certifications})
    return {
        "facility_id": facility_id,
        "facility_name": f"{_pick(uniform, _NAME_PREFIXES)} {kind.label}",
        "location": {
            "address": f"{1 + int(uniform() * 9998)} {_pick(uniform, _STREETS)} "
            f"{_pick(uniform, _STREET_SUFFIXES)}",
            "city": _pick(uniform, _CITIES),
            "state": state,
            "zip": f"{zip_low + int(uniform() * (zip_high - zip_low + 1)):03d}{int(uniform() * 100):02d}",
        },
        "employee_count": employees,
        "services": _distinct(uniform, _SERVICES, service_count),
        "labs": labs,
        "accreditations": _accreditations(uniform, accreditation_count, iso_days),
    }


def _pick(uniform: Callable[[], float], options: Sequence[str]) -> str:
    return options[int(uniform() * len(options))]


def _distinct(uniform: Callable[[], float], options: Sequence[str], count: int) -> list[str]:
    """`count` distinct options in random order (count is far below len(options), so retries are rare)."""
    chosen: dict[str, None] = {}
    size = len(options)
    while len(chosen) < count:
        chosen[options[int(uniform() * size)]] = None
    return list(chosen)


def _accreditations(uniform: Callable[[], float], count: int, iso_days: list[str]) -> list[dict]:
    if count == 0:
        return []
    day_count = len(iso_days)
    renewed = count >= 2 and uniform() < _RENEWAL_SHARE
    accreditations: list[dict] = []
    for position in range(count):
        body, prefix, _weight = _ACCREDITATION_BODIES[bisect(_BODY_CUM, uniform() * _BODY_CUM[-1])]
        if renewed and position == 1:
            # A renewal: the previous accreditation from the same body lapsed, a newer one follows.
            first = accreditations[0]
            body, prefix = first["accreditation_body"], first["accreditation_id"].split("-")[0]
            lapsed_day = int(uniform() * _PAST_DAYS)
            first["valid_until"] = iso_days[lapsed_day]
            day = min(lapsed_day + _RENEWAL_CYCLE_DAYS, day_count - 1)
        else:
            day = int(uniform() * day_count)
        accreditations.append(
            {
                "accreditation_body": body,
                "accreditation_id": f"{prefix}-{100000 + int(uniform() * 900000)}",
                "valid_until": iso_days[day],
            }
        )
    return accreditations


def _malformed(rng: random.Random, record: dict, kind: str) -> str:
    if kind == "invalid_json":
        text = json.dumps(record)
        return text[: rng.randrange(1, len(text) - 1)]
    if kind == "non_object":
        return json.dumps(rng.choice([[record], record["facility_id"], None, 42]))
    if kind == "missing_facility_id":
        del record["facility_id"]
    elif kind == "blank_facility_id":
        record["facility_id"] = rng.choice(_BLANK_IDS)
    elif kind == "invalid_valid_until":
        if not record["accreditations"]:
            record["accreditations"].append(
                {"accreditation_body": "Joint Commission", "accreditation_id": "JC-000000", "valid_until": ""}
            )
        rng.choice(record["accreditations"])["valid_until"] = rng.choice(_INVALID_DATES)
    elif kind == "negative_employee_count":
        record["employee_count"] = -rng.randrange(1, 500)
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return json.dumps(record)


def write_facilities(
    path: Path, count: int, seed: int = 0, bad_ratio: float = 0.01, anchor_date: date | None = None
) -> Counter[str]:
    """Write the registry to `path` (gzip when it ends with .gz).

    Returns the number of lines of each kind: 'valid' and the names of MALFORMED_KINDS.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    kinds: Counter[str] = Counter()
    buffer: list[str] = []
    with _open_output(path) as output:
        for line, kind in _generate(count, seed, bad_ratio, anchor_date or _utc_today()):
            kinds[kind or "valid"] += 1
            buffer.append(line)
            if len(buffer) >= 10_000:
                output.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            output.write("\n".join(buffer) + "\n")
    return kinds


def _open_output(path: Path) -> TextIO | nullcontext:
    if path.name.endswith(".gz"):
        # mtime=0 keeps the gzip header, and so the whole file, identical for the same seed.
        binary = gzip.GzipFile(filename=path, mode="wb", compresslevel=6, mtime=0)
        return _TextGzip(binary)
    return path.open("w", encoding="utf-8", newline="\n")


class _TextGzip:
    """UTF-8 text writer over a GzipFile that owns and closes it."""

    def __init__(self, binary: gzip.GzipFile) -> None:
        self._binary = binary

    def write(self, text: str) -> None:
        self._binary.write(text.encode("utf-8"))

    def __enter__(self) -> _TextGzip:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._binary.close()


def _anchor(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be non-negative, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m pipeline generate`."""
    parser.add_argument("--facilities", type=_count, required=True, help="number of NDJSON lines to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same file")
    parser.add_argument(
        "--bad-ratio", type=_ratio, default=0.01, help="share of malformed lines, 0..1 (default 0.01)"
    )
    parser.add_argument(
        "--anchor-date",
        type=_anchor,
        default=None,
        help="valid_until dates spread from 2 years before to 3 years after this day (default: today, UTC)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output file; gzip-compressed when it ends with .gz"
    )


def run(args: argparse.Namespace) -> int:
    """Generate the file described by parsed `args`; prints one summary line."""
    kinds = write_facilities(args.out, args.facilities, args.seed, args.bad_ratio, args.anchor_date)
    malformed = ", ".join(f"{kind} {kinds[kind]}" for kind in MALFORMED_KINDS if kinds[kind])
    malformed_total = sum(kinds.values()) - kinds["valid"]
    detail = f": {malformed}" if malformed else ""
    print(f"wrote {args.facilities} facilities to {args.out} ({malformed_total} malformed{detail})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline generate", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
