"""Table names, the raw, curated and data-quality schemas, reason codes and catalog column types."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pyspark.sql import types as T

FACILITIES_TABLE = "facilities"
DATA_QUALITY_TABLE = "data_quality_issues"
TABLES = (FACILITIES_TABLE, DATA_QUALITY_TABLE)
PARTITION_COLUMN = "snapshot_date"
RUN_COLUMN = "run_id"
CORRUPT_COLUMN = "_corrupt_record"

REASON_INVALID_JSON = "invalid_json"
REASON_NOT_OBJECT = "not_a_json_object"
REASON_SCHEMA_MISMATCH = "schema_mismatch"
REASON_MISSING_ID = "missing_facility_id"

REASONS = (REASON_INVALID_JSON, REASON_NOT_OBJECT, REASON_SCHEMA_MISMATCH, REASON_MISSING_ID)
LINE_KINDS = ("blank", "quarantined", "record")

STRINGS = T.StringType()
ACCREDITATION_RAW = T.StructType(
    [
        T.StructField("accreditation_body", STRINGS),
        T.StructField("accreditation_id", STRINGS),
        T.StructField("valid_until", STRINGS),
    ]
)
LAB = T.StructType(
    [T.StructField("lab_name", STRINGS), T.StructField("certifications", T.ArrayType(STRINGS))]
)
# Scalars are read as strings: Spark renders any JSON token as text for a string field, so a wrong
# type never turns a whole line into a corrupt record; the typed checks happen afterwards.
RAW_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", STRINGS),
        T.StructField("facility_name", STRINGS),
        T.StructField(
            "location",
            T.StructType([T.StructField(name, STRINGS) for name in ("address", "city", "state", "zip")]),
        ),
        T.StructField("employee_count", STRINGS),
        T.StructField("services", T.ArrayType(STRINGS)),
        T.StructField("labs", T.ArrayType(LAB)),
        T.StructField("accreditations", T.ArrayType(ACCREDITATION_RAW)),
        T.StructField(CORRUPT_COLUMN, STRINGS),
    ]
)
KNOWN_FIELDS = tuple(f.name for f in RAW_SCHEMA.fields if f.name != CORRUPT_COLUMN)
JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}

ISSUE = T.StructType([T.StructField(name, STRINGS) for name in ("field", "issue", "raw_value")])
ACCREDITATION = T.StructType(
    [
        T.StructField("accreditation_body", STRINGS),
        T.StructField("accreditation_id", STRINGS),
        T.StructField("valid_until", T.DateType()),
    ]
)
FACILITY_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", STRINGS),
        T.StructField("facility_name", STRINGS),
        T.StructField("address", STRINGS),
        T.StructField("city", STRINGS),
        T.StructField("state", STRINGS),
        T.StructField("zip", STRINGS),
        T.StructField("employee_count", T.IntegerType()),
        T.StructField("services", T.ArrayType(STRINGS)),
        T.StructField("labs", T.ArrayType(LAB)),
        T.StructField("accreditations", T.ArrayType(ACCREDITATION)),
        T.StructField("data_quality_issues", T.ArrayType(ISSUE)),
        T.StructField("source_file", STRINGS),
        T.StructField("source_line", T.LongType()),
    ]
)
DATA_QUALITY_SCHEMA = T.StructType(
    [
        T.StructField("facility_id", STRINGS),
        T.StructField("source_file", STRINGS),
        T.StructField("source_line", T.LongType()),
        T.StructField("field", STRINGS),
        T.StructField("issue", STRINGS),
        T.StructField("raw_value", STRINGS),
    ]
)
TABLE_SCHEMAS = {FACILITIES_TABLE: FACILITY_SCHEMA, DATA_QUALITY_TABLE: DATA_QUALITY_SCHEMA}
FACILITY_COLUMNS = tuple(FACILITY_SCHEMA.fieldNames())


def hive_columns(schema: T.StructType) -> list[dict[str, str]]:
    """A table schema as catalog columns: name and Hive type text."""
    return [{"name": f.name, "type": f.dataType.simpleString()} for f in schema.fields]


def _normalized_type(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def same_columns(left: Sequence[dict[str, str]], right: Sequence[dict[str, str]]) -> bool:
    """Whether two catalog column lists agree, ignoring case and whitespace in names and types."""

    def key(columns: Sequence[dict[str, str]]) -> list[tuple[str, str]]:
        return [(c["name"].lower(), _normalized_type(c["type"])) for c in columns]

    return key(left) == key(right)
