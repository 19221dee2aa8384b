"""Pulumi components that provision the pipeline on AWS."""
