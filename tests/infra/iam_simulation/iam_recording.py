"""Records the AWS calls deployed code makes through boto3 (a pytest plugin for the notifier's own tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import botocore.client
import pytest

ROOT = Path(__file__).resolve().parents[3]
NOTIFIER_CODE = ROOT / "lambda" / "accreditation_notifier"
NOTIFIER_TESTS = ROOT / "tests" / "lambda_"
# Where a subprocess run of the notifier's tests writes what it recorded (see record_notifier_tests).
OUTPUT_VARIABLE = "IAM_RECORDING_OUTPUT"
PLUGIN_NAME = "notifier-recording"


@dataclass(frozen=True)
class RecordedCall:
    """One API call as botocore built it: the service's signing name, the operation, its parameters."""

    service: str
    operation: str
    params: dict[str, Any]
    # The error code AWS (here moto) answered with, if any: GetObject's NoSuchKey matters to IAM.
    error_code: str | None
    test: str


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

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self._before)
        client.meta.events.register("after-call", self._after)
        return client

    def _before(self, params: dict, model: Any, context: dict, **_: Any) -> None:
        service = model.service_model.signing_name
        self._pending[id(context)] = {
            "service": service,
            "operation": model.name,
            "params": _jsonable(params),
        }

    def _after(self, parsed: dict, model: Any, context: dict, **_: Any) -> None:
        pending = self._pending.pop(id(context), None)
        if pending is None:
            return
        error = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        self.calls.append(RecordedCall(**pending, error_code=error, test=self.current_test))

    @contextmanager
    def clients_created_by(self, code_root: Path) -> Iterator[None]:
        """Attach to every client that code under `code_root` creates while the block runs."""
        original = botocore.client.ClientCreator.create_client
        recorder = self

        def create_client(creator, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            if _called_from(code_root):
                recorder.attach(client)
            return client

        botocore.client.ClientCreator.create_client = create_client
        try:
            yield
        finally:
            botocore.client.ClientCreator.create_client = original


def _called_from(code_root: Path) -> bool:
    prefix = str(code_root) + os.sep
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(prefix):
            return True
        frame = frame.f_back
    return False


# -- pytest plugin: record while the notifier's own moto tests run -----------------------------------------


class NotifierRecording:
    """Records the notifier's clients during tests/lambda_, in this session or in a child pytest run."""

    def __init__(self, run_last: Path | None = None) -> None:
        self.recorder = CallRecorder()
        self.collected: set[str] = set()
        self.ran: set[str] = set()
        # Tests under this folder read the recording, so they run after everything else.
        self.run_last = run_last
        self._recording = self.recorder.clients_created_by(NOTIFIER_CODE)

    @staticmethod
    def is_notifier_test(item: pytest.Item) -> bool:
        return Path(str(item.path)).is_relative_to(NOTIFIER_TESTS)

    def complete(self) -> bool:
        """Whether every notifier test module was collected and every collected notifier test ran."""
        modules = {nodeid.split("::")[0] for nodeid in self.collected}
        expected = {str(p.relative_to(ROOT)) for p in NOTIFIER_TESTS.glob("test_*.py")}
        return bool(self.collected) and modules == expected and self.collected == self.ran

    def notifier_calls(self) -> list[RecordedCall]:
        return [call for call in self.recorder.calls if call.test]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.collected = {item.nodeid for item in items if self.is_notifier_test(item)}
        if self.run_last is not None:
            last = [item for item in items if Path(str(item.path)).is_relative_to(self.run_last)]
            items[:] = [item for item in items if item not in last] + last
        self._recording.__enter__()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.recorder.current_test = item.nodeid if self.is_notifier_test(item) else ""
        try:
            return (yield)
        finally:
            if self.is_notifier_test(item):
                self.ran.add(item.nodeid)
            self.recorder.current_test = ""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._recording.__exit__(None, None, None)
        output = os.environ.get(OUTPUT_VARIABLE)
        if output:
            document = {"complete": self.complete(), "calls": [asdict(c) for c in self.notifier_calls()]}
            Path(output).write_text(json.dumps(document))


def pytest_configure(config: pytest.Config) -> None:
    """Entry point when a child pytest run loads this module with `-p iam_recording`."""
    if os.environ.get(OUTPUT_VARIABLE) and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(NotifierRecording(), PLUGIN_NAME)


def record_notifier_tests(tmp_dir: Path) -> list[RecordedCall]:
    """Run tests/lambda_ in a child pytest with this plugin; what the notifier's clients called."""
    output = tmp_dir / "notifier_calls.json"
    env = {
        **os.environ,
        OUTPUT_VARIABLE: str(output),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "iam_recording"]
    finished = subprocess.run(
        [*command, str(NOTIFIER_TESTS)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    # A failing notifier test is that test's report; what matters here is that every test ran.
    assert finished.returncode in (0, 1), f"the notifier's tests did not run:\n{finished.stdout[-4000:]}"
    document = json.loads(output.read_text())
    assert document["complete"], "the child run did not run every notifier test"
    return [RecordedCall(**call) for call in document["calls"]]
