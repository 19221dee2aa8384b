"""Progress of a local run on stderr: a live display on a terminal, one line per finished stage elsewhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from pipeline.runner import StageRecord


class LineProgress:
    """For a pipe or a CI log: one line per stage as it finishes, nothing that redraws."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def stage_started(self, record: StageRecord) -> None:
        pass

    def stage_finished(self, record: StageRecord, failed: bool) -> None:
        rows = record.detail.get("rows")
        counted = "" if failed or rows is None else f" ({rows} rows)"
        status = "FAILED" if failed else "done"
        print(f"{status:<6} {record.seconds:7.2f} s  {record.title}{counted}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


@dataclass
class _Shown:
    record: StageRecord
    started: float
    finished: bool = False
    failed: bool = False


class LiveProgress:
    """For a terminal: the stages done so far and the running one with its elapsed time, redrawn four
    times a second. It disappears when the run succeeds (the summary follows) and stays when it fails."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._stages: list[_Shown] = []
        self._live: Live | None = None
        self._spinner = Spinner("dots", style="cyan")

    def stage_started(self, record: StageRecord) -> None:
        self._stages.append(_Shown(record, time.perf_counter()))
        if self._live is None:  # started with the first stage: a run refused before it shows nothing
            self._live = Live(
                console=self.console, get_renderable=self._render, transient=True, refresh_per_second=4
            )
            self._live.start()

    def stage_finished(self, record: StageRecord, failed: bool) -> None:
        shown = next(stage for stage in self._stages if stage.record is record)
        shown.finished, shown.failed = True, failed
        if self._live is not None:
            self._live.refresh()

    def close(self) -> None:
        if self._live is None:
            return
        self._live.transient = not any(stage.failed for stage in self._stages)
        self._live.stop()

    def _render(self) -> RenderableType:
        now = time.perf_counter()
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column()
        table.add_column(justify="right")
        table.add_column(justify="right")
        for stage in self._stages:
            record = stage.record
            rows = record.detail.get("rows")
            if not stage.finished:
                status: RenderableType = self._spinner
                seconds = Text(f"running {now - stage.started:5.1f} s", style="cyan")
            else:
                status = Text("✗", style="red") if stage.failed else Text("✓", style="green")
                seconds = Text(f"{record.seconds:.2f} s")
            counted = "" if rows is None or not stage.finished else f"{rows} rows"
            table.add_row(status, record.title, seconds, counted)
        return table


@contextmanager
def stage_progress(console: Console | None = None) -> Iterator[LiveProgress | LineProgress]:
    """The progress display that suits stderr: live on an interactive terminal, lines otherwise."""
    console = console or Console(stderr=True)
    progress = LiveProgress(console) if console.is_interactive else LineProgress(console.file)
    try:
        yield progress
    finally:
        progress.close()
