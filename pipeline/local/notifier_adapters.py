"""Local adapters of the notifier core: result files of the out folder and the notifications/ outbox."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlparse

from accreditation_notifier.core import run_notifier
from accreditation_notifier.model import (
    Digest,
    DigestKey,
    NotifierPolicy,
    NotifierRequest,
    ResultsNotFoundError,
)
from accreditation_notifier.publication import PublicationRecords

from pipeline.layout import NOTIFICATIONS, ZONES
from pipeline.local.publication_records import MemoryPublicationStore
from pipeline.settings import AlertPolicy


def resolve_location(location: str, out_dir: Path) -> Path:
    """The file behind a location: a path, a file:// URI, or s3://<zone>/<key> read as <out>/<zone>/<key>."""
    parsed = urlparse(location)
    if parsed.scheme == "s3":
        if parsed.netloc not in ZONES:
            raise ValueError(f"{location!r}: a local s3:// location must name a zone bucket, one of {ZONES}")
        return out_dir / parsed.netloc / unquote(parsed.path.lstrip("/"))
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(location)


@contextmanager
def open_local_text(
    location: str, out_dir: Path, missing: Callable[[str], Exception], what: str
) -> Iterator[TextIO]:
    """A result file of the out folder as the cloud readers give it (BOM dropped, newline=''), or
    `missing("<what> not found: ...")` when there is none."""
    path = resolve_location(location, out_dir)
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise missing(f"{what} not found: {location} ({path})") from None
    with stream:
        yield stream


class LocalResultsReader:
    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir

    def open_text(self, location: str) -> AbstractContextManager[TextIO]:
        return open_local_text(location, self._out_dir, ResultsNotFoundError, "results file")

    def list_folders(self, location: str, name_prefix: str) -> list[str]:
        folder = resolve_location(location, self._out_dir)
        if not folder.is_dir():
            return []
        children = sorted(
            child.name for child in folder.iterdir() if child.is_dir() and child.name.startswith(name_prefix)
        )
        return [f"{location.rstrip('/')}/{name}/" for name in children]


class LocalAlertsWriter:
    """Writes next to the target and renames on success, so a failed run leaves no partial CSV."""

    def __init__(self, out_dir: Path) -> None:
        self._out_dir = out_dir

    @contextmanager
    def open_sink(self, location: str) -> Iterator[TextIO]:
        path = resolve_location(location, self._out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_path = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        try:
            with open(handle, "w", encoding="utf-8", newline="") as sink:
                yield sink
            os.replace(temp_path, path)
        except BaseException:
            os.unlink(temp_path)
            raise


def write_outbox_message(
    notifications_dir: Path,
    file_stem: str,
    topic: str,
    subject: str,
    message: str,
    attributes: Mapping[str, str],
) -> Path:
    """One outbox file, the stand-in for one SNS Publish; the same stem overwrites (idempotent reruns)."""
    notifications_dir.mkdir(parents=True, exist_ok=True)
    path = notifications_dir / f"{file_stem}.json"
    document = {"topic": topic, "subject": subject, "message": message, "attributes": dict(attributes)}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def outbox_file_stem(key: DigestKey) -> str:
    """E.g. 2026-12-01.critical.all or 2026-12-01.critical.state.TX."""
    return key.id.replace("#", ".")


class OutboxPublisher:
    def __init__(self, notifications_dir: Path) -> None:
        self._notifications_dir = notifications_dir

    def publish(self, digest: Digest) -> str:
        path = write_outbox_message(
            self._notifications_dir,
            outbox_file_stem(digest.key),
            digest.topic,
            digest.subject,
            digest.message,
            digest.attributes,
        )
        return path.name


def notifier_policy(
    policy: AlertPolicy, state_digest_states: Sequence[str] = (), send_unchanged_digests: bool = True
) -> NotifierPolicy:
    return NotifierPolicy(
        critical_max_days=policy.critical_max_days,
        high_max_days=policy.high_max_days,
        medium_max_days=policy.medium_max_days,
        state_digest_states=tuple(state_digest_states),
        send_unchanged_digests=send_unchanged_digests,
    )


def notify_locally(
    event: Mapping[str, object],
    out_dir: Path,
    policy: AlertPolicy,
    state_digest_states: Sequence[str] = (),
    *,
    send_unchanged_digests: bool = True,
) -> dict[str, object]:
    """Stage 3 on the local twin: the same event and core as the Lambda, with file adapters.

    Locations in the event may be paths, file:// URIs or s3://<zone>/<key> (read under out_dir/<zone>/).
    Digests land in out_dir/notifications/ as one JSON file per message; the publication records live as
    long as the run (publication_records.py says why).
    """
    out_dir = Path(out_dir)
    request = NotifierRequest.from_event(event)
    return run_notifier(
        request,
        notifier_policy(policy, state_digest_states, send_unchanged_digests),
        reader=LocalResultsReader(out_dir),
        alerts_writer=LocalAlertsWriter(out_dir),
        publisher=OutboxPublisher(out_dir / NOTIFICATIONS),
        records=PublicationRecords(MemoryPublicationStore()),
    )
