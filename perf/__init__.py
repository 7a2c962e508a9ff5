"""Performance benchmarks of the suite (``nasbench-bench bench <name>``)."""
