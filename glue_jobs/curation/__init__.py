"""Curation of raw facility NDJSON into snapshot Parquet: shipped to Glue as a zip on --extra-py-files."""
