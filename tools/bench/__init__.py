"""Benchmarks: ``python -m tools.bench SUB|all [--json] [--quick]`` (see ``common.py``)."""
