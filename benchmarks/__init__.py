"""`make bench`: gt2yolo against the seed blog's algorithm and a bare-parse floor.

Run with `python -m benchmarks.run` (PYTHONPATH=lambdas:.); see benchmarks/README.md.
"""
