"""Benchmarks that print figures and ratios (``make bench``); never timed assertions in tests."""
