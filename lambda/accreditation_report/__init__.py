"""The run report: one self-contained HTML page of a run's results, for the people who act on them."""
