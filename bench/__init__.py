"""Benchmarks of zielflow against references measured in the same run; never imported by the product."""
