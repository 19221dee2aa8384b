"""Records the AWS calls deployed code makes through boto3 (a pytest plugin for the code's own moto tests)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import botocore.client
import pytest

ROOT = Path(__file__).resolve().parents[3]
# Where a child run of a source's tests writes what it recorded (see record_tests).
OUTPUT_VARIABLE = "IAM_RECORDING_OUTPUT"
PLUGIN_NAME = "code-recording"


@dataclass(frozen=True)
class Source:
    """Deployed code whose boto3 clients are recorded while its own tests run."""

    name: str
    code: Path
    tests: Path


SOURCES = (
    Source("notifier", ROOT / "lambda" / "accreditation_notifier", ROOT / "tests" / "lambda_"),
    Source("report", ROOT / "lambda" / "accreditation_report", ROOT / "tests" / "report"),
)


@dataclass(frozen=True)
class RecordedCall:
    """One API call as botocore built it: the service's signing name, the operation, its parameters."""

    service: str
    operation: str
    params: dict[str, Any]
    # The error code AWS (here moto) answered with, if any: GetObject's NoSuchKey matters to IAM.
    error_code: str | None
    test: str
    # Which Source made it ("" when the recorder was attached by hand).
    source: str = ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # Bodies, streams and datetimes say nothing about permissions.
    return f"<{type(value).__name__}>"


@dataclass
class CallRecorder:
    """Attaches to boto3 clients and keeps every call they make.

    `before-parameter-build` sees the parameters as the caller passed them; `after-call` sees the
    answer. Both share the request's `context` dict, which links a call to its outcome.
    """

    calls: list[RecordedCall] = field(default_factory=list)
    current_test: str = ""
    _pending: dict[int, dict[str, Any]] = field(default_factory=dict)

    def attach(self, client: Any, source: str = "") -> Any:
        client.meta.events.register("before-parameter-build", functools.partial(self._before, source))
        client.meta.events.register("after-call", self._after)
        return client

    def _before(self, source: str, params: dict, model: Any, context: dict, **_: Any) -> None:
        self._pending[id(context)] = {
            "service": model.service_model.signing_name,
            "operation": model.name,
            "params": _jsonable(params),
            "source": source,
        }

    def _after(self, parsed: dict, model: Any, context: dict, **_: Any) -> None:
        pending = self._pending.pop(id(context), None)
        if pending is None:
            return
        error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        self.calls.append(RecordedCall(**pending, error_code=error, test=self.current_test))

    @contextmanager
    def clients_created_by(self, code_roots: Mapping[str, Path]) -> Iterator[None]:
        """Attach to every client that code under one of `code_roots` creates while the block runs."""
        original = botocore.client.ClientCreator.create_client
        recorder = self

        def create_client(creator, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            source = _created_by(code_roots)
            if source is not None:
                recorder.attach(client, source)
            return client

        botocore.client.ClientCreator.create_client = create_client
        try:
            yield
        finally:
            botocore.client.ClientCreator.create_client = original


def _created_by(code_roots: Mapping[str, Path]) -> str | None:
    """The name of the code root one of the calling frames belongs to, if any."""
    prefixes = {str(root) + os.sep: name for name, root in code_roots.items()}
    frame = sys._getframe(1)
    while frame is not None:
        for prefix, name in prefixes.items():
            if frame.f_code.co_filename.startswith(prefix):
                return name
        frame = frame.f_back
    return None


# -- pytest plugin: record while the code's own moto tests run --------------------------------------------


class CodeRecording:
    """Records each Source's clients while its tests run, in this session or in a child pytest run."""

    def __init__(self, run_last: Path | None = None) -> None:
        self.recorder = CallRecorder()
        self.collected: dict[str, set[str]] = {source.name: set() for source in SOURCES}
        self.ran: dict[str, set[str]] = {source.name: set() for source in SOURCES}
        # Tests under this folder read the recording, so they run after everything else.
        self.run_last = run_last
        self._recording = self.recorder.clients_created_by({source.name: source.code for source in SOURCES})

    @staticmethod
    def source_of(item: pytest.Item) -> Source | None:
        path = Path(str(item.path))
        return next((source for source in SOURCES if path.is_relative_to(source.tests)), None)

    def complete(self, source: Source) -> bool:
        """Whether every test module of `source` was collected and every collected test of it ran."""
        collected = self.collected[source.name]
        modules = {nodeid.split("::")[0] for nodeid in collected}
        expected = {str(p.relative_to(ROOT)) for p in source.tests.glob("test_*.py")}
        return bool(collected) and modules == expected and collected == self.ran[source.name]

    def calls(self, source: Source) -> list[RecordedCall]:
        return [call for call in self.recorder.calls if call.test and call.source == source.name]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            source = self.source_of(item)
            if source is not None:
                self.collected[source.name].add(item.nodeid)
        if self.run_last is not None:
            last = [item for item in items if Path(str(item.path)).is_relative_to(self.run_last)]
            items[:] = [item for item in items if item not in last] + last
        self._recording.__enter__()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        source = self.source_of(item)
        self.recorder.current_test = item.nodeid if source else ""
        try:
            return (yield)
        finally:
            if source is not None:
                self.ran[source.name].add(item.nodeid)
            self.recorder.current_test = ""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._recording.__exit__(None, None, None)
        output = os.environ.get(OUTPUT_VARIABLE)
        if output:
            document = {
                source.name: {
                    "complete": self.complete(source),
                    "calls": [asdict(c) for c in self.calls(source)],
                }
                for source in SOURCES
            }
            Path(output).write_text(json.dumps(document))


def pytest_configure(config: pytest.Config) -> None:
    """Entry point when a child pytest run loads this module with `-p iam_recording`."""
    if os.environ.get(OUTPUT_VARIABLE) and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(CodeRecording(), PLUGIN_NAME)


def record_tests(source: Source, tmp_dir: Path) -> list[RecordedCall]:
    """Run the tests of `source` in a child pytest with this plugin; what its clients called."""
    output = tmp_dir / f"{source.name}_calls.json"
    env = {
        **os.environ,
        OUTPUT_VARIABLE: str(output),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "iam_recording"]
    finished = subprocess.run(
        [*command, str(source.tests)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    # A failing test there is that test's report; what matters here is that every test ran.
    assert finished.returncode in (0, 1), f"the {source.name} tests did not run:\n{finished.stdout[-4000:]}"
    recorded = json.loads(output.read_text())[source.name]
    assert recorded["complete"], f"the child run did not run every {source.name} test"
    return [RecordedCall(**call) for call in recorded["calls"]]
