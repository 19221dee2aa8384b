"""The Glue benchmark's plumbing: what a variant's process prints is what the orchestrator reads."""

from __future__ import annotations

import json

import pytest

from bench.glue_transform import RESULT_PREFIX, count_lines
from bench.steps import GlueRun, glue_results


def test_the_orchestrator_reads_every_timed_run_of_each_feed_in_order():
    printed = [
        "ours feed-100000 run 1: 10.0 s, 10,000 records/s (99,000 facilities, 600 quarantined)",
        RESULT_PREFIX
        + json.dumps({"variant": "ours", "feed": "/w/feed-100000", "lines": 100, "seconds": 4.0}),
        "some Spark warning",
        RESULT_PREFIX
        + json.dumps({"variant": "ours", "feed": "/w/feed-100000", "lines": 100, "seconds": 2.0}),
        RESULT_PREFIX
        + json.dumps({"variant": "floor", "feed": "/w/feed-100000", "lines": 100, "seconds": 1.0}),
        RESULT_PREFIX
        + json.dumps({"variant": "ours", "feed": "/w/feed-1000000", "lines": 1000, "seconds": 8.0}),
    ]
    assert glue_results("\n".join(printed), "ours") == {
        "/w/feed-100000": [(4.0, 25.0), (2.0, 50.0)],
        "/w/feed-1000000": [(8.0, 125.0)],
    }
    assert glue_results("\n".join(printed), "floor") == {"/w/feed-100000": [(1.0, 100.0)]}


def test_the_speed_up_is_our_rate_over_the_naive_rate_and_the_floor_ratio_our_time_over_the_floors():
    run = GlueRun(ours_seconds=2.0, ours_rate=50.0, naive_seconds=4.0, naive_rate=25.0, floor_seconds=0.8)
    assert (run.speedup, run.floor_ratio) == (2.0, 2.5)


def test_input_lines_are_counted_over_every_file_of_the_feed(tmp_path):
    (tmp_path / "0-registry.ndjson").write_text('{"a": 1}\n{"a": 2}\n\n', encoding="utf-8")
    (tmp_path / "1-delta.ndjson").write_text('{"a": 3}\n', encoding="utf-8")
    assert count_lines(tmp_path) == 4


def test_a_last_line_without_its_newline_counts_as_spark_counts_it(tmp_path):
    (tmp_path / "feed.ndjson").write_bytes(b'{"a": 1}\n{"a": 2}')
    assert count_lines(tmp_path) == 2


@pytest.mark.parametrize("size", [0, 1, 5])
def test_a_feed_of_n_lines_counts_n(tmp_path, size):
    (tmp_path / "feed.ndjson").write_bytes(b"{}\n" * size)
    assert count_lines(tmp_path) == size
