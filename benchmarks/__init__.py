"""Benchmarks of numtorch against PyTorch: ``python -m benchmarks --help``."""
