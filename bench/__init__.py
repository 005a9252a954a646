"""Benchmarks of the project's performance figures, run with `python -m bench <figure>`."""
