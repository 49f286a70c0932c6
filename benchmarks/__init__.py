"""Benchmarks that report speed as ratios against a plain reference run in the same process."""
