"""Mistakes a user can make get one line on stderr and exit code 2, before any engine starts."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "facilities_2026-11-30.ndjson"


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--input", "does-not-exist.ndjson"], "input file not found: does-not-exist.ndjson"),
        (["run", "--input", str(SAMPLE), "--as-of", "2026-02-30"], "not a calendar date"),
        (["run", "--input", str(SAMPLE), "--as-of", "12/01/2026"], "not a calendar date"),
        (["run", "--input", str(SAMPLE), "--max-rejected-ratio", "1.5"], "a ratio between 0 and 1"),
        (["run"], "required: --input"),
    ],
)
def test_user_errors_exit_2_with_one_line(tmp_path, args, message):
    result = (
        _run(*args, "--out", str(tmp_path / "out"), cwd=tmp_path) if args[1:] else _run(*args, cwd=tmp_path)
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unwritable_out_dir_exits_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _run("run", "--input", str(SAMPLE), "--out", str(blocker / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write to the out folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
