"""Denoise tooling: file processing, mixtures, metrics, baselines, evaluation, benchmarks."""
