"""Matte tooling: file processing, synthetic composites, metrics, evaluation, benchmarks."""
