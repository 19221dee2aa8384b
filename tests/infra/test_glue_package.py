"""The Glue job deploys as its entry script plus the curation package on --extra-py-files, and imports it.

Glue's documented form of the argument ("AWS Glue job parameters",
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html, `--extra-py-files`;
"Using Python libraries with AWS Glue",
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html, "Including Python
files with PySpark native features" and "Zipping libraries for inclusion"): a comma-separated list of Amazon
S3 paths, without spaces, to .py files or .zip archives, which Glue adds to the Python path before it runs
the script; an archive holds its packages at its root (a package's folder is a top-level entry), and only
pure Python can be imported from it. Nothing local checks any of that: a local run imports the package from
the working tree, so a module left out of the archive, or one that imports code that is not shipped, fails
only on Glue.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyspark
from program_mocks import ROOT

from infra.etl import PACKAGE_KEY, SCRIPT_PATH, package_archive

# One S3 path, to a zip: no comma (which would split it into two paths) and no space.
EXTRA_PY_FILES = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^,\s]+\.zip$")
SITE_PACKAGES = Path(pyspark.__file__).resolve().parents[1]
# Run with -S (no site, so neither .pth files nor the editable install of this repository apply) and a path of
# the script's folder, the archive and the third-party packages only, as Glue lays out a job run.
IMPORT_FROM_ARCHIVE = """
import importlib, json, sys, zipfile
script_folder, archive, site_packages = sys.argv[1:4]
standard_library = [p for p in sys.path if p and "site-packages" not in p]
sys.path[:] = [script_folder, archive, *standard_library, site_packages]
import curate_facilities
modules = [
    name[: -len(".py")].removesuffix("/__init__").replace("/", ".")
    for name in zipfile.ZipFile(archive).namelist()
]
loaded = {name: importlib.import_module(name).__file__ for name in modules}
from glue_jobs.curation.run import run
try:
    import pipeline
    repository_importable = True
except ModuleNotFoundError:
    repository_importable = False
print(json.dumps({
    "loaded": loaded,
    "entry_runs_the_package": curate_facilities.run is run and callable(curate_facilities.main),
    "repository_importable": repository_importable,
    "ours_outside_the_archive": sorted(
        name for name, module in sys.modules.items()
        if name.split(".")[0] in ("glue_jobs", "pipeline", "infra", "bench")
        and not (getattr(module, "__file__", None) or "").startswith(archive)
    ),
}))
"""


def test_the_deployed_job_names_the_uploaded_archive_in_the_documented_form(deployment):
    (job,) = deployment.of_type("aws:glue/job:Job")
    value = job.inputs["defaultArguments"]["--extra-py-files"]
    assert EXTRA_PY_FILES.match(value), value
    (package,) = [
        o for o in deployment.of_type("aws:s3/bucketObject:BucketObject") if o.inputs["key"] == PACKAGE_KEY
    ]
    assert value == f"s3://{package.inputs['bucket']}/{PACKAGE_KEY}"


def test_the_archive_holds_the_package_at_its_root_as_python_sources_and_is_the_same_every_time():
    archive = package_archive(ROOT)
    names = set(zipfile.ZipFile(io.BytesIO(archive)).namelist())
    assert archive == package_archive(ROOT)
    assert {"glue_jobs/__init__.py", "glue_jobs/curation/__init__.py", "glue_jobs/curation/run.py"} <= names
    assert all(name.startswith("glue_jobs/curation/") or name == "glue_jobs/__init__.py" for name in names)
    assert all(name.endswith(".py") for name in names)
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "glue_jobs" / "curation").rglob("*.py")}
    assert on_disk <= names


def test_the_entry_script_imports_the_job_from_the_archive_alone(tmp_path):
    """GIVEN the script in a folder of its own and the archive, WHEN Python imports the script with those and
    the third-party packages only on its path, THEN every module of the package loads from the archive, the
    script runs the package's run(), and nothing of ours comes from anywhere else."""
    archive = _write(package_archive(ROOT), tmp_path / "curation.zip")
    script_folder = tmp_path / "script"
    script_folder.mkdir()
    (script_folder / SCRIPT_PATH.name).write_bytes(SCRIPT_PATH.read_bytes())

    completed = subprocess.run(
        [sys.executable, "-S", "-c", IMPORT_FROM_ARCHIVE, *map(str, (script_folder, archive, SITE_PACKAGES))],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert "glue_jobs.curation.transforms" in result["loaded"]
    assert all(path.startswith(f"{archive}/") for path in result["loaded"].values()), result["loaded"]
    assert result["entry_runs_the_package"]
    assert not result["repository_importable"]
    assert result["ours_outside_the_archive"] == []


def _write(archive: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive)
    return path
