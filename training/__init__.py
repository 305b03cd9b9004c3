"""The SageMaker training step's code: `train.py` (the entry point) and what it shares.

Run in a training container from this folder (SageMaker's source dir, /opt/ml/code), where
Ultralytics is installed at job start from requirements.txt: it is never part of our code.
"""

# What the training job's source tarball holds (SageMaker's source dir): the entry point, what it
# imports, and the requirements the container installs before running it.
SOURCE_FILES = ("train.py", "contract.py", "metric_lines.py", "requirements.txt")
