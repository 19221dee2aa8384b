"""Lineage of raw lines: exact 1-based line numbers through gzip, BOM, CRLF and split files."""

from __future__ import annotations

import json

import pytest
from local_job import _first_run, _rows

pytestmark = pytest.mark.spark


def test_gzip_bom_and_crlf_input_with_exact_line_numbers(spark, zones):
    text = '{"facility_id": "G1"}\n\n{"facility_id": "G2"}\nnot json\n'
    zones.arrive("plain_bom_crlf.ndjson", text, bom=True, crlf=True)
    zones.arrive("compressed.ndjson.gz", text.replace("G", "Z"), gz=True, bom=True, crlf=True)
    report = _first_run(spark, zones)
    assert (report["input_lines"], report["blank_lines"], report["quarantined"]) == (6, 2, 2)
    lineage = {
        r["facility_id"]: (r["source_file"].rsplit("/", 1)[1], r["source_line"]) for r in _rows(spark, zones)
    }
    assert lineage == {
        "G1": ("plain_bom_crlf.ndjson", 1),
        "G2": ("plain_bom_crlf.ndjson", 3),
        "Z1": ("compressed.ndjson.gz", 1),
        "Z2": ("compressed.ndjson.gz", 3),
    }


def test_line_numbers_stay_exact_when_a_file_is_split_across_partitions(spark, zones):
    lines = [json.dumps({"facility_id": f"S{i:03d}", "facility_name": "x" * 40}) for i in range(1, 201)]
    zones.arrive("big.ndjson", "\n".join(lines) + "\n")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    spark.conf.set("spark.sql.files.openCostInBytes", "0")
    try:
        _first_run(spark, zones)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
        spark.conf.unset("spark.sql.files.openCostInBytes")
    assert [(r["facility_id"], r["source_line"]) for r in _rows(spark, zones)] == [
        (f"S{i:03d}", i) for i in range(1, 201)
    ]
