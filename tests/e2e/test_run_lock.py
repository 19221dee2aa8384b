"""One run per out folder, on real runs: a killed run's lock does not block the next run, and a second
run on a busy out folder stops at once with exit 2 while the first completes as usual."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.local.lock import LOCK_FILE

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [
    REPO / "sample_data" / "facilities_2026-11-30.ndjson",
    REPO / "sample_data" / "facilities_2026-12-01_updates.ndjson.gz",
]
AS_OF = "2026-12-01"
RESULT_FILES = (
    "facility_metrics.csv",
    "expiring_accreditations.csv",
    "accreditation_alerts.csv",
    "lapsed_accreditations.csv",
    "facilities_by_state.csv",
)
# What rich reads to decide on a terminal besides isatty: these runs are on pipes, and say so.
RICH_OVERRIDES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
ENV = {key: value for key, value in os.environ.items() if key not in RICH_OVERRIDES}


def _command(out: Path) -> list[str]:
    inputs = [arg for path in SAMPLE for arg in ("--input", str(path))]
    return [sys.executable, "-m", "pipeline", "run", *inputs, "--as-of", AS_OF, "--out", str(out)]


def _wait_until_it_holds_the_lock(process: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    """Until the lock file names the process: a holder writes its pid only once it has the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before taking the lock"
        try:
            if json.loads((out / LOCK_FILE).read_text())["pid"] == process.pid:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    pytest.fail(f"run {process.pid} did not take the lock within {timeout} s")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """GIVEN a run killed with SIGKILL while it held the out folder, WHEN a new run starts on the same
    folder, and a third starts while the new one is going, THEN (the tests below)."""
    out = tmp_path_factory.mktemp("lock") / "out"
    killed = subprocess.Popen(
        _command(out), cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_until_it_holds_the_lock(killed, out)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)

    first = subprocess.Popen(
        _command(out), cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_until_it_holds_the_lock(first, out)
        second = subprocess.run(_command(out), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
        still_running = first.poll() is None
        stdout, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    return {
        "out": out,
        "killed": killed,
        "first": first,
        "first_stdout": stdout,
        "first_stderr": stderr,
        "second": second,
        "first_still_running": still_running,
    }


def test_a_run_killed_while_holding_the_out_folder_does_not_block_the_next(runs):
    assert runs["killed"].returncode == -signal.SIGKILL
    assert runs["first"].returncode == 0, runs["first_stderr"][-3000:]


def test_a_second_run_on_a_busy_out_folder_stops_at_once_with_exit_2_and_one_line(runs):
    second, first = runs["second"], runs["first"]
    # Refused while the first was still going: it did not wait for the lock.
    assert runs["first_still_running"]
    assert second.returncode == 2
    assert second.stdout == ""
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert re.fullmatch(
        rf"error: another run is using the out folder {re.escape(str(runs['out']))} "
        rf"\(pid {first.pid} on \S+, started \S+\); wait for it to finish or choose another --out",
        lines[0],
    )


def test_the_first_run_completes_with_its_normal_outputs(runs):
    out = runs["out"]
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "SUCCEEDED"
    assert runs["first_stdout"].startswith(
        f"Accreditation pipeline as-of {AS_OF} run {summary['run_id']}: SUCCEEDED"
    )
    counts = summary["data_quality"]
    assert (counts["input_lines"], counts["quarantined"], counts["curated"]) == (113, 5, 105)
    for prefix in (f"as_of={AS_OF}", "latest"):
        for name in RESULT_FILES:
            assert (out / "production" / prefix / name).stat().st_size > 0, (prefix, name)
    status = json.loads((out / "notifications" / f"{AS_OF}.status.json").read_text())
    assert status["attributes"]["status"] == "SUCCEEDED"
    assert summary["run_id"] in status["message"]


def test_on_a_pipe_each_stage_prints_one_line_as_it_finishes(runs):
    summary = json.loads((runs["out"] / "run_summary.json").read_text())
    finished = re.findall(r"(?m)^done +([0-9]+\.[0-9]{2}) s  (.+)$", runs["first_stderr"])
    # A step timed inside a stage (the Spark start inside curation) finishes before its stage.
    expected = []
    for stage in summary["stages"]:
        rows = stage["detail"].get("rows")
        line = (f"{stage['seconds']:.2f}", stage["title"] + ("" if rows is None else f" ({rows} rows)"))
        if stage["title"].startswith("  of which:"):
            expected.insert(len(expected) - 1, line)
        else:
            expected.append(line)
    assert finished == expected
    assert "\x1b[" not in runs["first_stderr"]  # nothing that redraws
