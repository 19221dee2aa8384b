"""One run per out folder: an exclusive flock on a file in it, released by the kernel however the run ends."""

# Why flock rather than a pid file: the kernel drops a flock when the last descriptor of its open file
# closes, which happens however the process ends (exit, exception, kill -9, the OOM killer). A lock
# left by a killed run therefore never blocks the next one, with nothing to guess: a pid file needs
# staleness heuristics (is the pid alive, is it still the same process after pid reuse, on which
# host) that a lock held by the kernel does not. The file's content only names the holder (pid, host,
# start time) for the refusal message; it is not what locks.
#
# The lock file is never deleted: a run that unlinked it on exit could let a second run lock the old,
# unlinked file while a third creates and locks a new one, and both would run. The descriptor is not
# inherited by child processes (Spark's JVM), so the lock ends with this process, not with its children.

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import UsageError

LOCK_FILE = ".pipeline-run.lock"


class OutFolderBusy(UsageError):
    """Another run holds the out folder's lock."""


@contextmanager
def out_folder_lock(out: Path) -> Iterator[None]:
    """Hold the out folder's lock while the block runs; raises OutFolderBusy at once if it is taken."""
    path = out / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise UsageError(f"cannot write to the out folder {out}: {error.strerror or error}") from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutFolderBusy(
                f"another run is using the out folder {out} ({_holder(descriptor)}); "
                "wait for it to finish or choose another --out"
            ) from None
        _record_holder(descriptor)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _record_holder(descriptor: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, (json.dumps(holder) + "\n").encode("utf-8"), 0)


def _holder(descriptor: int) -> str:
    """Who holds the lock, as its holder recorded it; the holder may not have written it yet."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode("utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its holder is not recorded yet"
