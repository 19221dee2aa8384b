"""Fixtures of the report tests: a writable copy of the hand-written production folder and its event."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_testkit import copy_fixture, local_event


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return copy_fixture(tmp_path)


@pytest.fixture
def event(out: Path) -> dict[str, object]:
    return local_event(out)
