"""`python -m pipeline validate`: what the Glue job would make of raw NDJSON files, checked before upload."""

# The rules live in the Glue job's Spark expressions (parse_lines, curate_records): this module reads
# the files with the job's own functions on a local SparkSession and only counts and reports what
# they classify, so a rule changed in the job is a rule changed here. The cost is a Spark start.

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import UsageError

DEFAULT_EXAMPLES = 5
# Quarantined lines are shown up to this many characters: enough to recognise the line.
SHOWN_LINE_CHARS = 120
QUARANTINED, ISSUE, UNKNOWN_FIELD = "quarantined", "issue", "unknown_field"
_KIND_ORDER = {QUARANTINED: 0, ISSUE: 1, UNKNOWN_FIELD: 2}


@dataclass(frozen=True)
class Finding:
    """One thing the job would do to a line other than curate it cleanly."""

    line: int
    kind: str  # quarantined, issue (field-level data-quality issue) or unknown_field (ignored)
    reason: str  # the quarantine reason, the issue (not_a_calendar_date, negative...), or "ignored"
    field: str | None = None
    value: str | None = None  # the raw line (quarantined, shortened) or the raw field value


@dataclass
class FileValidation:
    """What the job would make of one file; counts named as in the job's curation report."""

    path: str
    lines: int = 0
    blank_lines: int = 0
    input_lines: int = 0
    records: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    data_quality_issues: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)  # {field, issue, count}
    unknown_fields: int = 0
    schema_drift: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # the first few, by line

    @property
    def clean(self) -> bool:
        return not (self.quarantined or self.data_quality_issues or self.unknown_fields)


@dataclass(frozen=True)
class Validation:
    files: list[FileValidation]
    spark_start_seconds: float
    check_seconds: float

    @property
    def clean(self) -> bool:
        return all(result.clean for result in self.files)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="raw NDJSON file (plain or .gz)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"offending lines shown per file (default {DEFAULT_EXAMPLES})",
    )


def run(args: argparse.Namespace) -> int:
    paths = checked_paths(args.files)
    if args.examples < 0:
        raise UsageError(f"--examples must be 0 or more, got {args.examples}")
    validation = validate_files(paths, examples=args.examples)
    if args.json:
        print(json.dumps(as_document(validation), indent=2))
    else:
        print_validation(validation)
    return 0 if validation.clean else 1


def checked_paths(paths: list[Path]) -> list[Path]:
    """The files in the order given, each once; a missing or unreadable one is a usage error."""
    unique: dict[Path, Path] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(f"input file not found: {path}")
        try:
            path.open("rb").close()
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror or error}") from error
        if ":" in str(path.resolve()):
            # Hadoop's Path reads what precedes a colon as a URI scheme; the job fails on such a key too.
            raise UsageError(f"Spark cannot read a file whose path contains ':': {path}")
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def validate_files(paths: list[Path], examples: int = DEFAULT_EXAMPLES) -> Validation:
    """Start (or reuse) the local Spark, classify every line of the files as the job does, stop it."""
    from pipeline.local.spark import SMALL_INPUT_BYTES, start_spark, stop_spark

    started = time.perf_counter()
    small = sum(path.stat().st_size for path in paths) < SMALL_INPUT_BYTES
    spark = start_spark(app_name="accreditation-validate", small_input=small)
    spark_started = time.perf_counter()
    try:
        files = classify(spark, paths, examples)
    finally:
        checked = time.perf_counter()
        stop_spark(spark)
    return Validation(files, round(spark_started - started, 3), round(checked - spark_started, 3))


def classify(spark, paths: list[Path], examples: int) -> list[FileValidation]:
    """Per file, the job's classification of its lines: the job's read, parse and curation, counted."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from glue_jobs.curation import lineage, schemas, transforms
    from glue_jobs.curation.storage import StoredObject

    # Read as a run reads newly arrived raw files: one text scan (gz by extension, BOM stripped,
    # LF or CRLF), lines numbered from per-split counts, each line parsed once and classified.
    objects = [
        StoredObject(str(path.resolve()), float(order), path.stat().st_size)
        for order, path in enumerate(paths)
    ]
    scanned = lineage.scan_raw_lines(spark, objects)
    offsets = lineage.line_offsets(lineage.partition_line_counts(scanned).collect())
    lines = lineage.number_lines(lineage.staged_lines(scanned), objects, offsets).cache()
    try:
        kinds = lines.groupBy("source_file").agg(
            F.count(F.lit(1)).alias("lines"),
            *(F.count_if(F.col("line_kind") == kind).alias(kind) for kind in schemas.LINE_KINDS),
        )
        results = {row["source_file"]: _counted(row) for row in kinds.collect()}

        quarantined = lines.where(F.col("line_kind") == "quarantined").select(
            "source_file",
            "source_line",
            F.lit(QUARANTINED).alias("kind"),
            F.col("reason"),
            F.lit(None).cast("string").alias("field"),
            F.substring("value", 1, SHOWN_LINE_CHARS + 1).alias("value"),
        )
        issues = (
            transforms.curate_records(lines)
            .select("source_file", "source_line", F.explode("data_quality_issues").alias("issue"))
            .select(
                "source_file",
                "source_line",
                F.lit(ISSUE).alias("kind"),
                F.col("issue.issue").alias("reason"),
                F.col("issue.field").alias("field"),
                F.col("issue.raw_value").alias("value"),
            )
        )
        unknown = lines.select(
            "source_file", "source_line", F.explode("unknown_fields").alias("field")
        ).select(
            "source_file",
            "source_line",
            F.lit(UNKNOWN_FIELD).alias("kind"),
            F.lit("ignored").alias("reason"),
            "field",
            F.lit(None).cast("string").alias("value"),
        )
        findings = (
            quarantined.unionByName(issues)
            .unionByName(unknown)
            .withColumn(
                # accreditations[3].valid_until and accreditations[0].valid_until are one kind of issue.
                "field_kind",
                F.regexp_replace("field", r"\[[0-9]+\]", "[]"),
            )
        )
        # One job for both: the first findings of each file by line, and a count per kind of finding
        # (carried by the first row of each kind).
        in_file = Window.partitionBy("source_file").orderBy("source_line", _kind_rank(F.col("kind")), "field")
        of_kind = Window.partitionBy("source_file", "kind", "reason", "field_kind")
        ranked = findings.select(
            "*",
            F.row_number().over(in_file).alias("rank_in_file"),
            F.row_number().over(of_kind.orderBy("source_line", "field")).alias("rank_of_kind"),
            F.count(F.lit(1)).over(of_kind).alias("count"),
        )
        wanted = ranked.where((F.col("rank_in_file") <= examples) | (F.col("rank_of_kind") == 1))
        for row in wanted.collect():
            result = results[row["source_file"]]
            if row["rank_of_kind"] == 1:
                _tally(result, row)
            if row["rank_in_file"] <= examples:
                result.findings.append(_finding(row))
    finally:
        lines.unpersist()

    validations = []
    for path, stored in zip(paths, objects, strict=True):
        counted = results.get(stored.uri, FileValidation(path=""))
        counted.path = str(path)
        counted.findings.sort(key=lambda f: (f.line, _KIND_ORDER[f.kind], f.field or ""))
        counted.issues.sort(key=lambda i: (i["field"], i["issue"]))
        counted.quarantine_reasons = dict(sorted(counted.quarantine_reasons.items()))
        counted.schema_drift = dict(sorted(counted.schema_drift.items()))
        validations.append(counted)
    return validations


def _kind_rank(kind):
    from pyspark.sql import functions as F

    return F.when(kind == QUARANTINED, 0).when(kind == ISSUE, 1).otherwise(2)


def _counted(row) -> FileValidation:
    return FileValidation(
        path="",
        lines=row["lines"],
        blank_lines=row["blank"],
        input_lines=row["record"] + row["quarantined"],
        records=row["record"],
        quarantined=row["quarantined"],
    )


def _tally(result: FileValidation, row) -> None:
    count = row["count"]
    if row["kind"] == QUARANTINED:
        result.quarantine_reasons[row["reason"]] = count
    elif row["kind"] == ISSUE:
        result.data_quality_issues += count
        result.issues.append({"field": row["field_kind"], "issue": row["reason"], "count": count})
    else:
        result.unknown_fields += count
        result.schema_drift[row["field_kind"]] = count


def _finding(row) -> Finding:
    value = row["value"]
    if row["kind"] == QUARANTINED and value is not None and len(value) > SHOWN_LINE_CHARS:
        value = value[:SHOWN_LINE_CHARS] + "..."
    return Finding(int(row["source_line"]), row["kind"], row["reason"], row["field"], value)


def as_document(validation: Validation) -> dict[str, Any]:
    """The --json document: every file's counts and first findings, the verdict, and the time taken."""
    files = []
    for result in validation.files:
        entry = asdict(result)
        entry["clean"] = result.clean
        files.append(entry)
    return {
        "clean": validation.clean,
        "files": files,
        "seconds": {"spark_start": validation.spark_start_seconds, "check": validation.check_seconds},
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _describe(finding: Finding) -> str:
    if finding.kind == QUARANTINED:
        return f"quarantined, {finding.reason}: {finding.value or ''}"
    if finding.kind == ISSUE:
        raw = "missing" if finding.value is None else json.dumps(finding.value)
        return f"{finding.field} {finding.reason} (raw value {raw}); the facility is kept"
    return f"unknown field {finding.field!r}, ignored"


def print_validation(validation: Validation, stream=None) -> None:
    stream = stream or sys.stdout
    for result in validation.files:
        verdict = "clean" if result.clean else "would not curate cleanly"
        print(f"{result.path}: {verdict}", file=stream)
        print(
            f"  {_plural(result.lines, 'line')}: {result.records} would be curated, "
            f"{result.quarantined} quarantined, {result.blank_lines} blank (ignored)",
            file=stream,
        )
        if result.quarantine_reasons:
            reasons = ", ".join(f"{reason} {n}" for reason, n in result.quarantine_reasons.items())
            print(f"  quarantined by reason: {reasons}", file=stream)
        if result.issues:
            issues = ", ".join(f"{i['field']} {i['issue']} {i['count']}" for i in result.issues)
            print(f"  field-level issues: {issues}", file=stream)
        if result.schema_drift:
            fields = ", ".join(f"{name} {n}" for name, n in result.schema_drift.items())
            print(f"  unknown fields (ignored): {fields}", file=stream)
        if result.findings:
            shown = len(result.findings)
            total = result.quarantined + result.data_quality_issues + result.unknown_fields
            heading = "offending lines" if shown == total else f"first {shown} of {total} findings"
            print(f"  {heading}:", file=stream)
            for finding in result.findings:
                print(f"    line {finding.line}: {_describe(finding)}", file=stream)
    failing = [result for result in validation.files if not result.clean]
    seconds = validation.spark_start_seconds + validation.check_seconds
    verdict = (
        f"{len(failing)} of {_plural(len(validation.files), 'file')} would not curate cleanly"
        if failing
        else f"{_plural(len(validation.files), 'file')}, every line would be curated with no issue"
    )
    print(
        f"{verdict} ({seconds:.1f} s, of which {validation.spark_start_seconds:.1f} s starting Spark)",
        file=stream,
    )
