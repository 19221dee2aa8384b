"""The job's errors, typed options and argument parsing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class CurationError(RuntimeError):
    """A run refused or failed for a reason an operator can act on; the message says which."""


def _is_calendar_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class CurationOptions:
    """Job arguments; every one has a default so a console "Run job" without overrides works."""

    raw_location: str = ""
    curated_location: str = ""
    quarantine_location: str = ""
    as_of: str = "today"
    run_id: str = "manual"
    max_rejected_ratio: float = 0.05
    database: str = ""
    rebuild: bool = False
    # Where the run's counts go as CloudWatch metrics (the stack sets both; empty: no metric lines).
    metrics_namespace: str = ""
    metrics_stack: str = ""

    def resolved(self, job_run_id: str | None = None, today: dt.date | None = None) -> CurationOptions:
        """Replace the symbolic defaults ("today", "manual") and validate; raises CurationError."""
        for name in ("raw_location", "curated_location", "quarantine_location"):
            if not getattr(self, name):
                raise CurationError(f"--{name} is required (the zone root, e.g. s3://bucket/)")
        as_of = self.as_of.strip().lower()
        if as_of == "today":
            as_of = (today or dt.datetime.now(dt.UTC).date()).isoformat()
        elif not _is_calendar_date(as_of):
            raise CurationError(f"--as_of must be a calendar date YYYY-MM-DD or 'today', got {self.as_of!r}")
        run_id = self.run_id.strip()
        if run_id in ("", "manual"):
            run_id = job_run_id or f"manual-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", run_id):
            raise CurationError(f"--run_id may only contain letters, digits, '_', '.', '-', got {run_id!r}")
        if not 0 <= self.max_rejected_ratio <= 1:
            raise CurationError(f"--max_rejected_ratio must be within 0..1, got {self.max_rejected_ratio}")
        return dataclasses.replace(self, as_of=as_of, run_id=run_id)


_OPTION_FIELDS = {f.name: f for f in dataclasses.fields(CurationOptions)}


def options_from_args(resolved_args: dict[str, Any]) -> CurationOptions:
    """Typed options from a getResolvedOptions dict; unknown keys (JOB_NAME, ...) are ignored."""
    values: dict[str, Any] = {}
    for name, field in _OPTION_FIELDS.items():
        raw = resolved_args.get(name)
        if raw is None:
            continue
        if field.type in ("bool", bool):
            text = str(raw).strip().lower()
            if text not in ("true", "false"):
                raise CurationError(f"--{name} must be true or false, got {raw!r}")
            values[name] = text == "true"
        elif field.type in ("float", float):
            try:
                values[name] = float(raw)
            except ValueError:
                raise CurationError(f"--{name} must be a number, got {raw!r}") from None
        else:
            values[name] = str(raw)
    return CurationOptions(**values)


def parse_arguments(argv: Sequence[str]) -> tuple[CurationOptions, dict[str, Any]]:
    """Options plus getResolvedOptions' dict (JOB_NAME, JOB_RUN_ID); absent options keep defaults."""
    from awsglue.utils import getResolvedOptions

    # getResolvedOptions makes every listed option required, so only ask for those present.
    present = [name for name in (*_OPTION_FIELDS, "JOB_NAME") if f"--{name}" in argv]
    resolved = getResolvedOptions(list(argv), present)
    return options_from_args(resolved), resolved
