"""Benchmarks: scripts that measure against the machine's own limits and print ratios (never tests)."""
