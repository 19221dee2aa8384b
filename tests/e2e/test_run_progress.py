"""Live progress of `python -m pipeline run` in a pseudo-terminal: the stages done, the running one and
its elapsed time while the run goes, then the usual summary."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [
    REPO / "sample_data" / "facilities_2026-11-30.ndjson",
    REPO / "sample_data" / "facilities_2026-12-01_updates.ndjson.gz",
]
AS_OF = "2026-12-01"
# What rich reads to decide on a terminal besides isatty; the test decides instead.
RICH_OVERRIDES = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(command: list[str], timeout: float = 600) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on one pseudo-terminal of 40 x 120; returns (exit code, output)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {key: value for key, value in os.environ.items() if key not in RICH_OVERRIDES}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, cwd=REPO, env=env)
    os.close(terminal)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            pytest.fail(f"no end of output within {timeout} s")
        return process.wait(timeout=60), b"".join(chunks).decode("utf-8", errors="replace")
    finally:
        os.close(controller)


@pytest.fixture(scope="module")
def terminal_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("progress") / "out"
    inputs = [arg for path in SAMPLE for arg in ("--input", str(path))]
    code, output = run_in_pty(
        [sys.executable, "-m", "pipeline", "run", *inputs, "--as-of", AS_OF, "--out", str(out)]
    )
    assert code == 0, output[-3000:]
    return out, output


def test_while_it_runs_the_terminal_shows_the_running_stage_its_elapsed_time_and_the_stages_done(
    terminal_run,
):
    _, output = terminal_run
    plain = ANSI.sub("", output)
    running = [
        float(seconds) for seconds in re.findall(r"Glue job: curate raw NDJSON +running +([0-9.]+) s", plain)
    ]
    # Redrawn as the stage runs (four times a second; curation takes seconds): the time goes up.
    assert len(set(running)) >= 3
    assert running == sorted(running)
    assert re.search(r"✓ Land inputs in raw/ +[0-9.]+ s\s+\S Glue job: curate raw NDJSON +running", plain)
    # Once Spark is up, the nested step is listed as done while its stage still runs.
    assert re.search(r"✓   of which: start the local Spark session +[0-9.]+ s", plain)
    # Each later stage is seen done, with its rows.
    assert re.search(r"✓ Stage 2: accreditations expiring within the window +[0-9.]+ s +36 rows", plain)


def test_then_the_display_is_cleared_and_the_usual_summary_follows(terminal_run):
    out, output = terminal_run
    summary = json.loads((out / "run_summary.json").read_text())
    header = f"Accreditation pipeline as-of {AS_OF} run {summary['run_id']}: SUCCEEDED"
    plain = ANSI.sub("", output)
    assert header in plain
    start = output.index("Accreditation pipeline")
    stopped = output.rindex("\x1b[?25h", 0, start)  # the display shows the cursor again as it stops
    # Then it erases its last frame, one line per stage (cursor up, clear line), before the summary.
    erased = output[stopped:start]
    assert ANSI.sub("", erased).strip() == ""
    assert erased.count("\x1b[1A\x1b[2K") == len(summary["stages"])
    printed = output[start:]
    assert "running" not in printed and "Where the outputs went" in printed
    assert "Stages" in printed and "Data quality" in printed
    assert not re.search(r"(?m)^done +[0-9.]+ s", plain)  # no line-per-stage output on a terminal
