"""Progress of a local run: which display a console gets, what each shows, and what the runner tells it."""

from __future__ import annotations

import io
from datetime import date

import pytest
from rich.console import Console

from pipeline.progress import LineProgress, LiveProgress, stage_progress
from pipeline.runner import LocalRun, PipelineFailed, RunRequest, StageRecord


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, bool | None]] = []

    def stage_started(self, record: StageRecord) -> None:
        self.events.append(("started", record.name, None))

    def stage_finished(self, record: StageRecord, failed: bool) -> None:
        self.events.append(("finished", record.name, failed))


def test_the_runner_reports_each_stage_as_it_starts_and_finishes_and_which_failed(tmp_path):
    """GIVEN an input that vanished after the request was checked, WHEN the run lands its inputs,
    THEN the observer hears that stage start and finish as failed, and nothing after it."""
    recorder = Recorder()
    request = RunRequest(inputs=(tmp_path / "gone.ndjson",), as_of=date(2026, 12, 1), out=tmp_path / "out")
    with pytest.raises(PipelineFailed):
        LocalRun(request, recorder).execute()
    assert recorder.events == [("started", "land_inputs", None), ("finished", "land_inputs", True)]


def _record(name: str, title: str, seconds: float = 0.0, **detail: object) -> StageRecord:
    return StageRecord(name, title, seconds, dict(detail))


def test_a_pipe_gets_one_line_per_finished_stage():
    stream = io.StringIO()
    progress = LineProgress(stream)
    land = _record("land_inputs", "Land inputs in raw/", 0.004)
    curate = _record("curate", "Glue job: curate raw NDJSON", 15.93, rows=105)
    progress.stage_started(land)
    assert stream.getvalue() == ""  # nothing until a stage finishes
    progress.stage_finished(land, failed=False)
    progress.stage_started(curate)
    progress.stage_finished(curate, failed=False)
    failed = _record("stage_1", "Stage 1: per-facility metrics", 0.25, rows=7)
    progress.stage_started(failed)
    progress.stage_finished(failed, failed=True)
    assert stream.getvalue().splitlines() == [
        "done      0.00 s  Land inputs in raw/",
        "done     15.93 s  Glue job: curate raw NDJSON (105 rows)",
        "FAILED    0.25 s  Stage 1: per-facility metrics",
    ]


def _terminal(stream: io.StringIO) -> Console:
    return Console(file=stream, force_terminal=True, force_interactive=True, width=100, color_system=None)


def test_a_terminal_sees_the_stages_done_and_the_running_one_with_its_elapsed_time():
    stream = io.StringIO()
    progress = LiveProgress(_terminal(stream))
    land = _record("land_inputs", "Land inputs in raw/", 0.004)
    curate = _record("curate", "Glue job: curate raw NDJSON")
    progress.stage_started(land)
    progress.stage_finished(land, failed=False)
    progress.stage_started(curate)
    frame = Console(file=io.StringIO(), width=100, color_system=None)
    with frame.capture() as captured:
        frame.print(progress._render())
    lines = captured.get().splitlines()
    assert lines[0].split() == ["✓", "Land", "inputs", "in", "raw/", "0.00", "s"]
    assert lines[1].split()[1:6] == ["Glue", "job:", "curate", "raw", "NDJSON"]
    assert lines[1].split()[-3::2] == ["running", "s"]
    progress.close()


@pytest.mark.parametrize(("failed", "kept"), [(False, False), (True, True)])
def test_the_display_disappears_after_success_and_stays_after_a_failure(failed, kept):
    stream = io.StringIO()
    progress = LiveProgress(_terminal(stream))
    stage = _record("curate", "Glue job: curate raw NDJSON", 1.5, rows=105)
    progress.stage_started(stage)
    progress.stage_finished(stage, failed=failed)
    progress.close()
    output = stream.getvalue()
    assert "Glue job: curate raw NDJSON" in output
    erased = output.rstrip("\n").endswith("\x1b[2K")  # the cursor went back up, clearing each line
    assert erased is not kept
    if failed:
        assert "✗" in output


def test_a_run_refused_before_its_first_stage_shows_nothing_on_a_terminal():
    stream = io.StringIO()
    LiveProgress(_terminal(stream)).close()
    assert stream.getvalue() == ""


def test_the_display_follows_the_console():
    with stage_progress(_terminal(io.StringIO())) as progress:
        assert isinstance(progress, LiveProgress)
    with stage_progress(Console(file=io.StringIO())) as progress:
        assert isinstance(progress, LineProgress)
    dumb = Console(file=io.StringIO(), force_terminal=True, _environ={"TERM": "dumb"})
    with stage_progress(dumb) as progress:
        assert isinstance(progress, LineProgress)
