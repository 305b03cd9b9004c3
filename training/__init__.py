"""The SageMaker training step's code: `train.py` (the entry point) and what it shares.

Run in a training container from this folder (SageMaker's source dir, /opt/ml/code), where
Ultralytics is installed at job start from requirements.txt: it is never part of our code.
"""
