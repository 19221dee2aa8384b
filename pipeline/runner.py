"""The local twin of the state machine: runs every stage of pipeline.stages on embedded engines."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pipeline import layout
from pipeline.errors import UsageError
from pipeline.settings import DEFAULT_ALERT_POLICY, DEFAULT_CURATION_POLICY, AlertPolicy, CurationPolicy
from pipeline.sql_files import stage_parameters
from pipeline.stages import NOTIFY_ALERTS, PIPELINE_WAVES, PUBLISHED_FILES, Stage, StageKind


@dataclass(frozen=True)
class RunRequest:
    inputs: tuple[Path, ...]
    as_of: date
    out: Path
    rebuild: bool = False
    alert_policy: AlertPolicy = DEFAULT_ALERT_POLICY
    curation_policy: CurationPolicy = DEFAULT_CURATION_POLICY
    state_digest_states: tuple[str, ...] = ()
    send_unchanged_digests: bool = True


@dataclass
class StageRecord:
    name: str
    title: str
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


class StageObserver(Protocol):
    """Told as each timed stage starts and finishes; the progress display is one."""

    def stage_started(self, record: StageRecord) -> None: ...

    def stage_finished(self, record: StageRecord, failed: bool) -> None: ...


class _Unobserved:
    def stage_started(self, record: StageRecord) -> None:
        pass

    def stage_finished(self, record: StageRecord, failed: bool) -> None:
        pass


# Counts of the curation report quoted in run_summary.json and the printed summary.
_REPORT_COUNTS = (
    "input_lines",
    "blank_lines",
    "curated",
    "carried_forward",
    "superseded",
    "quarantined",
    "data_quality_issues",
    "unknown_fields",
    "schema_drift",
    "quarantine_reasons",
)


class PipelineFailed(Exception):
    """A stage failed; the status notification has been sent and the summary written."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage {stage!r} failed: {cause}")
        self.stage = stage
        self.cause = cause


class LocalRun:
    """One execution: the same stages, in the same order, as one state machine execution."""

    def __init__(self, request: RunRequest, observer: StageObserver | None = None) -> None:
        self.request = request
        self.observer = observer or _Unobserved()
        self.as_of = request.as_of.isoformat()
        self.run_id = f"local-{self.as_of}-{uuid.uuid4().hex[:8]}"
        self.layout = layout.LocalLayout(request.out)
        self.records: list[StageRecord] = []
        self.curation_report: dict[str, Any] = {}
        self.query_results: dict[str, dict[str, Any]] = {}  # stage name -> {rows, location}
        self.notifier_summary: dict[str, Any] = {}
        self.report_summary: dict[str, Any] = {}
        self.production_files: dict[str, str] = {}
        self._spark = None
        self._athena = None
        self._handlers: dict[StageKind, Callable[[Stage], dict[str, Any]]] = {
            StageKind.CURATE: self._curate,
            StageKind.CATALOG: self._catalog,
            StageKind.ATHENA_QUERY: self._query,
            StageKind.NOTIFY: self._notify,
            StageKind.PUBLISH: self._publish,
            StageKind.RUN_REPORT: self._run_report,
            StageKind.REPORT: self._report_success,
        }

    # ------------------------------------------------------------------ orchestration
    def execute(self) -> dict[str, Any]:
        from pipeline.local.landing import land_inputs

        failed_stage = "land_inputs"
        try:
            with self._timed("land_inputs", "Land inputs in raw/") as detail:
                landed = land_inputs(list(self.request.inputs), self.layout.zone(layout.RAW))
                detail["arrived"] = [item.raw_path.name for item in landed if item.arrived]
                detail["already_there"] = [item.raw_path.name for item in landed if not item.arrived]
            for wave in PIPELINE_WAVES:
                for stage in wave:
                    failed_stage = stage.name
                    with self._timed(stage.name, stage.title) as detail:
                        detail.update(self._handlers[stage.kind](stage))
        except Exception as error:
            self._report_failure(failed_stage, error)
            summary = self._summary(status="FAILED", failed_stage=failed_stage, error=error)
            self._write_summary(summary)
            raise PipelineFailed(failed_stage, error) from error
        finally:
            self._stop_engines()
        summary = self._summary(status="SUCCEEDED")
        self._write_summary(summary)
        return summary

    @contextmanager
    def _timed(self, name: str, title: str) -> Iterator[dict[str, Any]]:
        # Recorded when the stage starts, so a step timed inside a stage is listed after it.
        record = StageRecord(name, title, 0.0)
        self.records.append(record)
        self.observer.stage_started(record)
        started = time.perf_counter()
        failed = True
        try:
            yield record.detail
            failed = False
        finally:
            record.seconds = round(time.perf_counter() - started, 3)
            self.observer.stage_finished(record, failed)

    def _stop_engines(self) -> None:
        if self._athena is not None:
            self._athena.connection.close()
        if self._spark is not None:
            from pipeline.local.spark import stop_spark

            stop_spark(self._spark)

    # ------------------------------------------------------------------ stages
    def _curate(self, stage: Stage) -> dict[str, Any]:
        from glue_jobs.curation.options import CurationOptions
        from glue_jobs.curation.run import run
        from pipeline.local.catalog import local_adapters
        from pipeline.local.spark import SMALL_INPUT_BYTES, start_spark

        raw_bytes = sum(
            path.stat().st_size for path in self.layout.zone(layout.RAW).iterdir() if path.is_file()
        )
        with self._timed("spark_startup", "  of which: start the local Spark session"):
            self._spark = start_spark(small_input=raw_bytes < SMALL_INPUT_BYTES)
        options = CurationOptions(
            raw_location=self._zone_uri(layout.RAW),
            curated_location=self._zone_uri(layout.CURATED),
            quarantine_location=self._zone_uri(layout.QUARANTINE),
            as_of=self.as_of,
            run_id=self.run_id,
            max_rejected_ratio=self.request.curation_policy.max_rejected_ratio,
            rebuild=self.request.rebuild,
        ).resolved()
        self.curation_report = run(self._spark, options, local_adapters(options))
        counts = self.data_quality_counts()
        accounted = counts["curated"] + counts["quarantined"] + counts["superseded"]
        if accounted != counts["input_lines"]:
            raise RuntimeError(
                f"row conservation broken: {counts['input_lines']} input lines but "
                f"{counts['curated']} curated + {counts['quarantined']} quarantined "
                f"+ {counts['superseded']} superseded = {accounted}"
            )
        return {"rows": self.curation_report["facilities"], **counts}

    def _catalog(self, stage: Stage) -> dict[str, Any]:
        from pipeline.local.athena import LocalAthena
        from pipeline.local.catalog import LocalCatalog, run_local_crawler

        curated = self._zone_uri(layout.CURATED)
        crawled = bool(self.curation_report["crawler_required"])
        if crawled:
            # The crawler's stand-in catalogs the tables from the snapshots the job committed.
            run_local_crawler(curated)
        self._athena = LocalAthena()
        tables = (layout.FACILITIES_TABLE, layout.DATA_QUALITY_TABLE)
        catalog = LocalCatalog(curated)
        for table in tables:
            document = catalog.read_table(table)
            if document is None:
                raise RuntimeError(f"table {table!r} is not in the local catalog under {curated}")
            # Typed as the catalog holds the table, as Athena reads it: never from the files alone.
            self._athena.register_table(table, document["partitions"], document["columns"])
        return {"crawler_ran": crawled, "tables": list(tables)}

    def _query(self, stage: Stage) -> dict[str, Any]:
        assert stage.sql_file is not None
        query_execution_id = f"{self.run_id}-{stage.name}"
        output = self.layout.zone(layout.ATHENA_RESULTS) / f"{query_execution_id}.csv"
        values = {
            "snapshot_date": self.as_of,
            "expiring_window_months": str(self.request.alert_policy.expiring_window_months),
        }
        result = self._athena.run_query(stage.sql_file, stage_parameters(stage, values), output)
        self.query_results[stage.name] = {"rows": result.row_count, "location": str(result.path)}
        return {"rows": result.row_count, "output": str(result.path)}

    def _notify(self, stage: Stage) -> dict[str, Any]:
        from pipeline.local.notifier_adapters import notify_locally

        results_zone = self.layout.zone(layout.ATHENA_RESULTS)
        event = {
            "as_of": self.as_of,
            "run_id": self.run_id,
            "expiring_results": self.query_results["expiring_accreditations"]["location"],
            "lapsed_results": self.query_results["lapsed_accreditations"]["location"],
            "alerts_output": str(results_zone / "notifier" / self.run_id / stage.result_file),
            "production_location": str(
                self.layout.zone(layout.PRODUCTION) / layout.production_prefix(self.as_of)
            ),
        }
        self.notifier_summary = notify_locally(
            event,
            self.layout.root,
            self.request.alert_policy,
            self.request.state_digest_states,
            send_unchanged_digests=self.request.send_unchanged_digests,
        )
        alerts = self.notifier_summary["alerts"]
        return {"rows": sum(alerts.values()), **self.notifier_summary}

    def _publish(self, stage: Stage) -> dict[str, Any]:
        production = self.layout.zone(layout.PRODUCTION)
        notifier_folder = Path(self.notifier_summary["alerts_output"]).parent
        for result_stage, file_name in PUBLISHED_FILES:
            if result_stage is NOTIFY_ALERTS:
                source = notifier_folder / file_name
            else:
                source = Path(self.query_results[result_stage.name]["location"])
            for prefix in (layout.production_prefix(self.as_of), layout.LATEST_PREFIX):
                target = production / prefix / file_name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            self.production_files[file_name] = str(
                production / layout.production_prefix(self.as_of) / file_name
            )
        return {"files": len(self.production_files)}

    def _run_report(self, stage: Stage) -> dict[str, Any]:
        from pipeline.local.report_adapters import report_locally

        production = self.layout.zone(layout.PRODUCTION)
        event = {
            "as_of": self.as_of,
            "run_id": self.run_id,
            "production_location": f"{production / layout.production_prefix(self.as_of)}/",
            "latest_location": f"{production / layout.LATEST_PREFIX}/",
            "curation_report": self.curation_report["report_location"],
            "previous_as_of": self.notifier_summary["previous_as_of"],
        }
        self.report_summary = report_locally(event, self.layout.root, self.request.alert_policy)
        self.production_files["report.html"] = self.report_summary["report"]
        return {"report": self.report_summary["report"], "bytes": self.report_summary["report_bytes"]}

    def _report_success(self, stage: Stage) -> dict[str, Any]:
        from pipeline.local.notifier_adapters import write_outbox_message

        counts = self.data_quality_counts()
        alerts = self.notifier_summary["alerts"]
        subject = f"Accreditation pipeline succeeded for {self.as_of}"
        message = "\n".join(
            [
                f"Run {self.run_id} succeeded for as-of {self.as_of}.",
                f"Facilities: {self.curation_report['facilities']}",
                f"Expiring within {self.request.alert_policy.expiring_window_months} months: "
                f"{self.query_results['expiring_accreditations']['rows']}",
                f"Alerts: critical {alerts['critical']}, high {alerts['high']}, medium {alerts['medium']}",
                f"Lapsed: {self.notifier_summary['lapsed']}",
                f"Quarantined input lines: {counts['quarantined']}",
                f"Run report: {self.report_summary['report']}",
                f"Results: {self.layout.zone(layout.PRODUCTION) / layout.production_prefix(self.as_of)}",
            ]
        )
        path = write_outbox_message(
            self.layout.notifications,
            f"{self.as_of}.status",
            "status",
            subject,
            message,
            {"status": "SUCCEEDED", "as_of": self.as_of},
        )
        return {"notification": path.name}

    def _report_failure(self, failed_stage: str, error: BaseException) -> None:
        from pipeline.local.notifier_adapters import write_outbox_message

        write_outbox_message(
            self.layout.notifications,
            f"{self.as_of}.status",
            "status",
            f"Accreditation pipeline FAILED for {self.as_of} at {failed_stage}"[:100],
            f"Run {self.run_id} failed in state {failed_stage}.\n"
            f"Error: {type(error).__name__}\nCause: {error}",
            {"status": "FAILED", "as_of": self.as_of},
        )

    # ------------------------------------------------------------------ helpers
    def _zone_uri(self, zone: str) -> str:
        return str(self.layout.zone(zone).resolve()) + "/"

    def data_quality_counts(self) -> dict[str, Any]:
        report = self.curation_report
        return {key: report[key] for key in _REPORT_COUNTS if key in report}

    def _summary(self, status: str, failed_stage: str | None = None, error: BaseException | None = None):
        counts = self.data_quality_counts()
        summary: dict[str, Any] = {
            "status": status,
            "as_of": self.as_of,
            "run_id": self.run_id,
            "out": str(self.layout.root),
            "stages": [asdict(record) for record in self.records],
            "data_quality": counts,
            "rows": {name: result["rows"] for name, result in self.query_results.items()},
            "alerts": self.notifier_summary.get("alerts", {}),
            "lapsed": self.notifier_summary.get("lapsed"),
            "previous_as_of": self.notifier_summary.get("previous_as_of"),
            "changes": self.notifier_summary.get("changes", {}),
            "unchanged_digests_not_sent": self.notifier_summary.get("unchanged_digests_not_sent", []),
            "run_report": self.report_summary.get("report"),
            "production_files": self.production_files,
        }
        if failed_stage:
            summary["failed_stage"] = failed_stage
            summary["error"] = f"{type(error).__name__}: {error}"
        return summary

    def _write_summary(self, summary: dict[str, Any]) -> None:
        self.layout.run_summary.parent.mkdir(parents=True, exist_ok=True)
        self.layout.run_summary.write_text(
            json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
        )


def validate_request(request: RunRequest) -> None:
    """Reject what a user can fix before any engine starts."""
    for path in request.inputs:
        if not path.is_file():
            raise UsageError(f"input file not found: {path}")
    try:
        request.out.mkdir(parents=True, exist_ok=True)
        # Named per process: a second run probing the same folder must not remove this one's probe.
        probe = request.out / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UsageError(
            f"cannot write to the out folder {request.out}: {error.strerror or error}"
        ) from error


def run_pipeline(request: RunRequest, observer: StageObserver | None = None) -> dict[str, Any]:
    """Run every stage on the request's out folder, which no other run may use meanwhile."""
    from pipeline.local.lock import out_folder_lock

    validate_request(request)
    with out_folder_lock(request.out):
        return LocalRun(request, observer).execute()
