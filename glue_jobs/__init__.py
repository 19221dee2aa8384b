"""Glue job scripts; each file is uploaded to S3 as is and imports nothing of this project."""
