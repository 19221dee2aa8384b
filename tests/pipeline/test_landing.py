"""Landing inputs in raw/: arrival order, idempotent re-supply, overwrite as a new arrival."""

import gzip

import pytest

from pipeline.errors import UsageError
from pipeline.local.landing import land_inputs


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_arrival_times_follow_input_order(tmp_path):
    inputs = [_write(tmp_path / f"in{n}.ndjson", f'{{"facility_id": "F{n}"}}\n') for n in (3, 1, 2)]
    landed = land_inputs(inputs, tmp_path / "raw")
    mtimes = [item.raw_path.stat().st_mtime_ns for item in landed]
    assert [item.raw_path.name for item in landed] == ["in3.ndjson", "in1.ndjson", "in2.ndjson"]
    assert mtimes == sorted(mtimes) and len(set(mtimes)) == 3


def test_resupplying_the_same_file_is_a_no_op(tmp_path):
    source = _write(tmp_path / "day1.ndjson", '{"facility_id": "F1"}\n')
    first = land_inputs([source], tmp_path / "raw")[0]
    before = first.raw_path.stat().st_mtime_ns
    again = land_inputs([source], tmp_path / "raw")[0]
    assert first.arrived and not again.arrived
    assert again.raw_path.stat().st_mtime_ns == before


def test_new_content_under_the_same_name_is_a_later_arrival(tmp_path):
    raw = tmp_path / "raw"
    other = _write(tmp_path / "other.ndjson", '{"facility_id": "F2"}\n')
    source = _write(tmp_path / "day1.ndjson", '{"facility_id": "F1"}\n')
    land_inputs([source, other], raw)
    _write(source, '{"facility_id": "F1", "facility_name": "renamed"}\n')
    changed = land_inputs([source], raw)[0]
    assert changed.arrived
    assert changed.raw_path.stat().st_mtime_ns > (raw / "other.ndjson").stat().st_mtime_ns
    assert "renamed" in changed.raw_path.read_text()


def test_compressed_inputs_are_copied_byte_for_byte(tmp_path):
    source = tmp_path / "day1.ndjson.gz"
    source.write_bytes(gzip.compress(b'{"facility_id": "F1"}\n'))
    landed = land_inputs([source], tmp_path / "raw")[0]
    assert landed.raw_path.read_bytes() == source.read_bytes()


def test_two_inputs_with_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _write(tmp_path / "a" / "same.ndjson", "{}\n")
    second = _write(tmp_path / "b" / "same.ndjson", "{}\n")
    with pytest.raises(UsageError, match=r"same\.ndjson"):
        land_inputs([first, second], tmp_path / "raw")
