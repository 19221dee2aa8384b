"""Benchmarks of the pipeline (`make bench` runs `python -m bench`, which writes bench/RESULTS.md)."""
