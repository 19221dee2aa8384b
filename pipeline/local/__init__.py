"""Local I/O adapters: folders for buckets, DuckDB for Athena, a file outbox for SNS."""
