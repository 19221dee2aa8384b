"""What the Lambda zip carries for the report: pure Python only (it runs on arm64), and enough to run."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from report_testkit import copy_fixture, local_event

from infra.notifications import LAMBDA_DIR, VENDORED_MODULES

REPORT_PACKAGE = "accreditation_report"
REPORT_MODULES = ("pygal", "importlib_metadata", "zipp", "lazy_importer")
# Native code: CPython extension modules and shared libraries, which are built for one platform.
NATIVE_SUFFIXES = {*importlib.machinery.EXTENSION_SUFFIXES, ".so", ".pyd", ".dylib", ".dll"}
MAX_ADDED_ZIP_BYTES = 1_500_000


def module_root(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"{module} is not installed"
    origin = Path(spec.origin)
    return origin.parent if spec.submodule_search_locations else origin


def zipped_files(root: Path) -> list[Path]:
    """The files infra/notifications.py zips for a vendored module or a folder of lambda/."""
    return [root] if root.is_file() else [path for path in sorted(root.rglob("*")) if path.is_file()]


def is_native(path: Path) -> bool:
    return any(path.name.endswith(suffix) for suffix in NATIVE_SUFFIXES) or ".so." in path.name


def test_the_report_and_every_vendored_module_are_pure_python():
    roots = [module_root(module) for module in VENDORED_MODULES] + [LAMBDA_DIR / REPORT_PACKAGE]
    native = [path for root in roots for path in zipped_files(root) if is_native(path)]

    assert set(REPORT_MODULES) <= set(VENDORED_MODULES)
    assert native == []


def test_the_zip_content_alone_builds_a_report(tmp_path):
    """Only the lambda/ packages and the vendored modules on the path (no site-packages): the report runs."""
    staged = tmp_path / "zip"
    staged.mkdir()
    for module in VENDORED_MODULES:
        root = module_root(module)
        if root.is_dir():
            shutil.copytree(root, staged / root.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(root, staged)
    # The zip holds every package of lambda/ (the report reads the notifier's file contract).
    for package in LAMBDA_DIR.iterdir():
        if package.is_dir() and not package.name.startswith((".", "__")):
            shutil.copytree(package, staged / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    out = copy_fixture(tmp_path)
    event = local_event(out)
    script = f"""
import sys
sys.path[:0] = [{str(staged)!r}]
from accreditation_report.collect import collect_report_inputs
from accreditation_report.model import ReportRequest
from accreditation_report.render import render_report
import pygal, importlib_metadata
assert pygal.__file__.startswith({str(staged)!r}), pygal.__file__
assert "lxml" not in sys.modules


class Reader:
    def open_text(self, location):
        return open(location, encoding="utf-8-sig", newline="")

    def read_text(self, location):
        return open(location, encoding="utf-8").read()

    def list_previous_report_data(self, root, as_of, limit):
        return []


page = render_report(collect_report_inputs(Reader(), ReportRequest.from_event({event!r})))
print(page.count("<svg"))
"""
    # -S: no site-packages, so nothing but the standard library and the staged zip content can be imported.
    result = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_the_report_adds_little_to_the_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root in [*(module_root(module) for module in REPORT_MODULES), LAMBDA_DIR / REPORT_PACKAGE]:
            for path in zipped_files(root):
                archive.write(path, path.relative_to(root.parent))
    added = len(buffer.getvalue())

    print(f"report package and its vendored modules add {added:,} bytes to the Lambda zip")
    assert added < MAX_ADDED_ZIP_BYTES
