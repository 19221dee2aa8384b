"""Dollars per daily run on AWS, this design against the seed design (Athena straight over raw NDJSON)."""

from pipeline.cost.command import add_arguments, run

__all__ = ["add_arguments", "run"]
