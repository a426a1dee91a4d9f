"""Benchmarks of the pipeline against a plain Keras script (`run.py`)."""
