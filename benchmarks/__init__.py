"""Benchmarks of rgym's hot paths; run each as ``python -m benchmarks.<name>`` (see README.md)."""
