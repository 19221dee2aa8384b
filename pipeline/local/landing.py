"""Local stand-in for uploads to the raw bucket: copies inputs into raw/ with arrival times."""

from __future__ import annotations

import filecmp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UsageError


@dataclass(frozen=True)
class LandedFile:
    source: Path
    raw_path: Path
    arrived: bool  # False when the same name and content were already in raw/


def land_inputs(inputs: list[Path], raw_dir: Path) -> list[LandedFile]:
    """Copy each input into raw_dir in arrival order.

    The file's mtime plays the part of S3's LastModified: strictly increasing in input order,
    so a later input wins, exactly as a later upload does in the cloud. Re-supplying a file
    that is already there with the same content is a no-op; new content under the same name is
    a new arrival, as an S3 overwrite would be.
    """
    names = [path.name for path in inputs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"two inputs share the file name {duplicates[0]!r}; raw/ keys must be unique")
    raw_dir.mkdir(parents=True, exist_ok=True)
    latest_ns = max((entry.stat().st_mtime_ns for entry in raw_dir.iterdir() if entry.is_file()), default=0)
    landed = []
    for source in inputs:
        target = raw_dir / source.name
        if target.exists() and filecmp.cmp(source, target, shallow=False):
            landed.append(LandedFile(source, target, arrived=False))
            continue
        shutil.copyfile(source, target)
        # One millisecond apart keeps the order visible on file systems with coarse timestamps.
        latest_ns = max(time.time_ns(), latest_ns + 1_000_000)
        os.utime(target, ns=(latest_ns, latest_ns))
        landed.append(LandedFile(source, target, arrived=True))
    return landed
