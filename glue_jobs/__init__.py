"""The curation Glue job: its entry script and the `curation` package, which import nothing else of ours."""
