"""Where each zone of the pipeline lives: one S3 bucket per zone in the cloud, one folder per zone locally."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Zone names double as the local folder names and as the suffix of the cloud bucket names.
RAW = "raw"
CURATED = "curated"
QUARANTINE = "quarantine"
ATHENA_RESULTS = "athena-results"
PRODUCTION = "production"
ZONES = (RAW, CURATED, QUARANTINE, ATHENA_RESULTS, PRODUCTION)

# Local stand-ins with no bucket of their own.
NOTIFICATIONS = "notifications"  # the SNS outbox: one JSON file per published message
RUN_SUMMARY = "run_summary.json"

FACILITIES_TABLE = "facilities"
DATA_QUALITY_TABLE = "data_quality_issues"


def production_prefix(as_of: str) -> str:
    """Key prefix of one run's results in the production zone."""
    return f"as_of={as_of}/"


LATEST_PREFIX = "latest/"
# Where the notifier writes its CSVs in the athena-results zone, one folder per run id below it.
NOTIFIER_RESULTS_PREFIX = "notifier/"


@dataclass(frozen=True)
class LocalLayout:
    """The out folder of the local runner; mirrors the S3 layout of a deployed stack."""

    root: Path

    def zone(self, name: str) -> Path:
        return self.root / name

    @property
    def notifications(self) -> Path:
        return self.root / NOTIFICATIONS

    @property
    def run_summary(self) -> Path:
        return self.root / RUN_SUMMARY
